"""ExplicitConv2D: Conv2D with gradients from the notes' formulas (C4)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import ExplicitConv2D


def _pair(**kwargs):
    """A Conv2D and an ExplicitConv2D with the same weights."""
    reference = keras.layers.Conv2D(**kwargs)
    explicit = ExplicitConv2D(**kwargs)
    return reference, explicit


def _gradients(layer, inputs, upstream):
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs)
    grads = tape.gradient(outputs, [inputs] + layer.trainable_weights, output_gradients=upstream)
    return outputs, grads


@pytest.mark.parametrize("channels", [1, 3, 8])
@pytest.mark.parametrize("size", [(7, 7), (8, 6)])
@pytest.mark.parametrize("strides", [1, 2])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_gradients_equal_conv2d_autodiff_C4(padding, strides, size, channels):
    rng = np.random.default_rng(0)
    kwargs = dict(
        filters=5,
        kernel_size=(3, 2),
        strides=strides,
        padding=padding,
        activation="tanh",
    )
    reference, explicit = _pair(**kwargs)
    inputs = tf.constant(rng.normal(size=(3, *size, channels)).astype(np.float32))
    reference.build(inputs.shape)
    explicit.build(inputs.shape)
    explicit.set_weights(
        [rng.normal(size=w.shape).astype(np.float32) for w in reference.get_weights()]
    )
    reference.set_weights(explicit.get_weights())
    shape = reference.compute_output_shape(inputs.shape)
    upstream = tf.constant(rng.normal(size=shape).astype(np.float32))
    ref_out, ref_grads = _gradients(reference, inputs, upstream)
    out, grads = _gradients(explicit, inputs, upstream)
    np.testing.assert_allclose(out.numpy(), ref_out.numpy(), rtol=1e-5, atol=1e-5)
    assert len(grads) == 3  # inputs, kernel, bias
    for got, expected in zip(grads, ref_grads):
        scale = np.abs(expected.numpy()).max()
        np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5 * scale)


def test_gradients_do_not_come_from_autodiff_of_the_convolution_C4():
    layer = ExplicitConv2D(4, 3, padding="same", use_bias=False)
    layer.build((None, 6, 6, 2))

    @tf.function
    def grads(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) ** 2)
        return tape.gradient(loss, [x, layer.kernel])

    graph = grads.get_concrete_function(tf.TensorSpec((2, 6, 6, 2))).graph
    op_types = {op.type for op in graph.get_operations()}
    assert "Conv2D" in op_types
    assert not op_types & {"Conv2DBackpropInput", "Conv2DBackpropFilter"}


def test_without_bias_and_in_float64():
    rng = np.random.default_rng(1)
    reference, explicit = _pair(
        filters=2,
        kernel_size=3,
        strides=2,
        padding="same",
        use_bias=False,
        dtype="float64",
    )
    inputs = tf.constant(rng.normal(size=(2, 9, 8, 3)))
    reference.build(inputs.shape)
    explicit.build(inputs.shape)
    explicit.set_weights(reference.get_weights())
    upstream = tf.constant(rng.normal(size=(2, 5, 4, 2)))
    _, ref_grads = _gradients(reference, inputs, upstream)
    _, grads = _gradients(explicit, inputs, upstream)
    assert len(grads) == 2
    for got, expected in zip(grads, ref_grads):
        np.testing.assert_allclose(got.numpy(), expected.numpy(), atol=1e-12)


def test_contract_symbolic_eager_config_and_fit():
    layer = ExplicitConv2D(
        4,
        3,
        strides=2,
        padding="same",
        activation="relu",
        kernel_initializer="he_normal",
        name="conv",
    )
    symbolic = layer(keras.Input((9, 9, 2)))
    assert tuple(symbolic.shape) == (None, 5, 5, 4)
    assert layer.compute_output_shape((None, 9, 9, 2)) == (None, 5, 5, 4)
    eager = layer(np.zeros((3, 9, 9, 2), np.float32))
    assert tuple(eager.shape) == (3, 5, 5, 4)

    config = layer.get_config()
    for key in (
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "activation",
        "use_bias",
        "kernel_initializer",
        "bias_initializer",
    ):
        assert key in config
    clone = ExplicitConv2D.from_config(config)
    assert clone.get_config() == config
    assert keras.saving.get_registered_name(ExplicitConv2D) == "mpkeras>ExplicitConv2D"

    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            ExplicitConv2D(2, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 8, 8, 1)).astype(np.float32)
    before = model.layers[0].get_weights()[0].copy()
    history = model.fit(x, np.ones((4, 1)), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(model.layers[0].get_weights()[0], before)


def test_keras_round_trip_gives_identical_outputs(tmp_path):
    inputs = keras.Input((8, 8, 3))
    outputs = ExplicitConv2D(4, (3, 2), strides=(2, 1), padding="same", activation="tanh")(inputs)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(3).normal(size=(2, 8, 8, 3)).astype(np.float32)
    path = tmp_path / "explicit.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.layers[-1], ExplicitConv2D)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_trains_like_conv2d_from_the_same_weights_C4():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(16, 8, 8, 1)).astype(np.float32)
    y = rng.integers(0, 3, 16)
    models = []
    for conv in (keras.layers.Conv2D, ExplicitConv2D):
        inputs = keras.Input((8, 8, 1))
        h = conv(4, 3, activation="relu")(inputs)
        h = keras.layers.Flatten()(h)
        model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    losses = [[float(m.train_on_batch(x, y)) for _ in range(5)] for m in models]
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            dict(data_format="channels_first"),
            r"Received an invalid value for `data_format`, expected 'channels_last' .*"
            r"Received: data_format='channels_first'",
        ),
        (
            dict(dilation_rate=2),
            r"Received an invalid value for `dilation_rate`, expected 1 .* Received: dilation_rate=2",
        ),
        (
            dict(groups=2),
            r"Received an invalid value for `groups`, expected 1 .* Received: "
            r"groups=2",
        ),
        # Keras's own Conv2D checks these, in its wording.
        (dict(padding="full"), "padding"),
        (dict(strides=0), "strides"),
        (dict(filters=0), "filters"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(kwargs, match):
    args = dict(filters=2, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ExplicitConv2D(**args)


def test_channel_mismatch_on_call_raises():
    layer = ExplicitConv2D(2, 3)
    layer.build((None, 8, 8, 3))
    with pytest.raises(ValueError):
        layer(np.zeros((1, 8, 8, 2), np.float32))
