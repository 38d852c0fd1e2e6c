"""build_cnn: conv/pool blocks and a dense head (C7), parameter counts (C6)."""

import re

import keras
import numpy as np
import pytest

from mpkeras.layers import ExplicitConv2D
from mpkeras.models import build_cnn


def keras_mnist_convnet():
    """The model of keras.io/examples/vision/mnist_convnet, verbatim."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def _summary_total(model):
    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    text = "\n".join(lines)
    match = re.search(r"Total params:\s*([\d,]+)", text)
    assert match, text
    return int(match.group(1).replace(",", ""))


def test_defaults_are_the_keras_mnist_convnet_C7():
    model = build_cnn((28, 28, 1), 10)
    example = keras_mnist_convnet()
    ours = [(type(layer).__name__, tuple(w.shape for w in layer.weights)) for layer in model.layers]
    theirs = [
        (type(layer).__name__, tuple(w.shape for w in layer.weights)) for layer in example.layers
    ]
    assert ours[0][0] == "InputLayer"
    assert ours[1:] == theirs
    assert model.count_params() == example.count_params() == 34826
    assert model.layers[-2].rate == 0.5
    assert model.layers[-1].activation is keras.activations.softmax
    assert not model.compiled  # uncompiled


def test_layer_names_and_probabilities_out():
    model = build_cnn((16, 16, 3), 4, filters=(4, 8), dense=(6,), name="net")
    assert [layer.name for layer in model.layers] == [
        "net_input",
        "net_conv0",
        "net_pool0",
        "net_conv1",
        "net_pool1",
        "net_flatten",
        "net_dense0",
        "net_dropout",
        "net_output",
    ]
    x = np.random.default_rng(0).random((5, 16, 16, 3), dtype=np.float32)
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (5, 4)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert (probabilities >= 0).all()


@pytest.mark.parametrize("size", [8, 9, 10, 13, 31])
def test_any_input_size_from_8x8_up(size):
    model = build_cnn((size, size + 1, 1), 10)
    out = model(np.zeros((2, size, size + 1, 1), np.float32))
    assert tuple(out.shape) == (2, 10)


def test_small_inputs_skip_a_pool_that_would_not_fit():
    # 8x8: conv 6x6, pool 3x3, conv 1x1, the second pool is left out.
    model = build_cnn((8, 8, 1), 10)
    assert [layer.name for layer in model.layers if "pool" in layer.name] == ["cnn_pool0"]
    same = build_cnn((8, 8, 1), 10, padding="same")
    assert [layer.name for layer in same.layers if "pool" in layer.name] == [
        "cnn_pool0",
        "cnn_pool1",
    ]
    assert tuple(same.get_layer("cnn_flatten").output.shape) == (None, 2 * 2 * 64)


def test_conv_layer_parameters_are_k_k_cin_cout_plus_cout_C6():
    for input_shape in [(8, 8, 1), (28, 28, 1), (256, 256, 3)]:
        model = build_cnn(input_shape, 10, filters=(16, 32), kernel_size=5, padding="same")
        c_in = input_shape[-1]
        for i, c_out in enumerate((16, 32)):
            layer = model.get_layer(f"cnn_conv{i}")
            # Independent of the image size: the kernel is shared (locality).
            assert layer.count_params() == 5 * 5 * c_in * c_out + c_out
            c_in = c_out
        head = model.get_layer("cnn_output")
        convs = sum(model.get_layer(f"cnn_conv{i}").count_params() for i in range(2))
        assert _summary_total(model) == convs + head.count_params()


def test_dense_explosion_for_a_256x256x3_image_C6():
    # The notes: mapping a 256x256x3 image to a 1-D output with a dense
    # layer "would already require nearly 2 million parameters". A dense map
    # to one unit has 196,609; to 10 units (or through a 10-unit hidden
    # layer) 1,966,090 -- the notes' "nearly 2 million". One 3x3 conv layer
    # with 3 -> 16 channels has 448, whatever the image size.
    pixels = 256 * 256 * 3
    one = keras.Sequential(
        [keras.Input((256, 256, 3)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    ten = keras.Sequential(
        [keras.Input((256, 256, 3)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    conv = keras.Sequential([keras.Input((256, 256, 3)), keras.layers.Conv2D(16, 3)])
    assert _summary_total(one) == pixels + 1 == 196_609
    assert _summary_total(ten) == 10 * pixels + 10 == 1_966_090
    assert 1.9e6 < _summary_total(ten) < 2e6
    assert _summary_total(conv) == 3 * 3 * 3 * 16 + 16 == 448
    assert _summary_total(ten) / _summary_total(conv) > 4000


def test_explicit_conv_switch_same_outputs_and_same_training_C4_C7():
    rng = np.random.default_rng(1)
    x = rng.random((16, 12, 12, 1), dtype=np.float32)
    y = rng.integers(0, 3, 16)
    models = []
    for conv in ("keras", "explicit"):
        model = build_cnn((12, 12, 1), 3, filters=(4, 8), dropout=0.0, conv=conv)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
        models.append(model)
    keras_model, explicit_model = models
    assert all(
        isinstance(explicit_model.get_layer(f"cnn_conv{i}"), ExplicitConv2D) for i in range(2)
    )
    assert not isinstance(keras_model.get_layer("cnn_conv0"), ExplicitConv2D)
    explicit_model.set_weights(keras_model.get_weights())
    np.testing.assert_allclose(
        explicit_model.predict(x, verbose=0), keras_model.predict(x, verbose=0), rtol=1e-5
    )
    losses = [[float(m.train_on_batch(x, y)) for _ in range(4)] for m in models]
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)


def test_explicit_cnn_keras_round_trip(tmp_path):
    model = build_cnn((10, 10, 2), 3, filters=(4,), conv="explicit", dropout=0.25, seed=3)
    x = np.random.default_rng(2).random((3, 10, 10, 2), dtype=np.float32)
    path = tmp_path / "cnn.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert isinstance(restored.get_layer("cnn_conv0"), ExplicitConv2D)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            dict(input_shape=(7, 8, 1)),
            r"`input_shape`, expected an image of at least 8x8\. Received: input_shape=\(7, 8, 1\)",
        ),
        (
            dict(input_shape=(28, 28)),
            r"`input_shape`, expected \(height, width, channels\)\. Received: input_shape=\(28, 28\)",
        ),
        (dict(num_classes=1), r"`num_classes`, expected an integer >= 2\. Received: num_classes=1"),
        (dict(filters=()), r"`filters`, expected positive integers\. Received: filters=\(\)"),
        (
            dict(filters=(8, 0)),
            r"`filters`, expected positive integers\. Received: filters=\(8, "
            r"0\)",
        ),
        (
            dict(kernel_size=0),
            r"`kernel_size`, expected a positive integer or tuple of 2\. Received: kernel_size=0",
        ),
        (dict(pool_size=(2, 2, 2)), r"`pool_size`, expected a positive integer or tuple of 2"),
        (
            dict(padding="full"),
            r"`padding`, expected one of \('valid', 'same'\)\. Received: "
            r"padding='full'",
        ),
        (
            dict(conv="torch"),
            r"`conv`, expected one of \('keras', 'explicit'\)\. Received: "
            r"conv='torch'",
        ),
        (dict(dropout=1.0), r"`dropout`, expected a float in \[0, 1\)\. Received: dropout=1\.0"),
        (
            dict(input_shape=(8, 8, 1), filters=(4, 8, 16)),
            r"block 2 does not fit its 1x1 input .* fewer `filters` blocks",
        ),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(kwargs, match):
    args = dict(input_shape=(28, 28, 1), num_classes=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        build_cnn(**args)
