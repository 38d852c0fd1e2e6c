"""Upsampling (F1): bed of nails (Figure 9), and transposed convolution = M^T (F2)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import BedOfNails2D, MaxUnpooling2D

FIGURE_8_9_INPUT = np.array([[6, 8], [4, 8]], "float32").reshape(1, 2, 2, 1)
FIGURE_9 = np.array([[6, 0, 8, 0], [0, 0, 0, 0], [4, 0, 8, 0], [0, 0, 0, 0]], "float32")


def test_f1_figure_9_bed_of_nails():
    out = BedOfNails2D(2)(FIGURE_8_9_INPUT)
    np.testing.assert_array_equal(out.numpy()[0, ..., 0], FIGURE_9)


@pytest.mark.parametrize("size", [2, (3, 2), (1, 4)])
def test_bed_of_nails_matches_numpy(size):
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 4)).astype("float32")
    a, b = (size, size) if isinstance(size, int) else size
    expected = np.zeros((2, 3 * a, 5 * b, 4), "float32")
    expected[:, ::a, ::b] = x
    layer = BedOfNails2D(size)
    np.testing.assert_array_equal(layer(x), expected)
    assert layer.compute_output_shape((None, 3, 5, 4)) == (None, 3 * a, 5 * b, 4)


def test_bed_of_nails_is_unpooling_at_the_first_cell():
    x = np.random.default_rng(1).normal(size=(2, 4, 6, 3)).astype("float32")
    values = keras.layers.MaxPooling2D(2)(x)
    # Index of every window's top-left cell: (2i * W + 2j) * C + c.
    i, j, c = np.meshgrid(np.arange(2), np.arange(3), np.arange(3), indexing="ij")
    indices = np.broadcast_to(((2 * i * 6 + 2 * j) * 3 + c), values.shape).astype("int64")
    np.testing.assert_array_equal(BedOfNails2D(2)(values), MaxUnpooling2D(2)(values, indices))


def test_bed_of_nails_dynamic_shape_gradient_and_dtypes():
    layer = BedOfNails2D(2)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 2], tf.float32)])
    def up(x):
        return layer(x)

    x = tf.constant(np.random.default_rng(2).normal(size=(3, 5, 3, 2)).astype("float32"))
    assert up(x).shape == (3, 10, 6, 2)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x)
    upstream = tf.constant(np.random.default_rng(3).normal(size=out.shape).astype("float32"))
    np.testing.assert_array_equal(
        tape.gradient(out, x, output_gradients=upstream), upstream[:, ::2, ::2]
    )
    for dtype in ["float16", "bfloat16"]:
        assert BedOfNails2D(2, dtype=dtype)(tf.cast(x, dtype)).dtype == dtype


def test_bed_of_nails_config_and_keras_round_trip(tmp_path):
    layer = BedOfNails2D((2, 3), name="nails")
    config = layer.get_config()
    assert config["size"] == (2, 3)
    assert BedOfNails2D.from_config(config).get_config() == config
    inputs = keras.Input((4, 4, 2))
    outputs = keras.layers.Conv2D(1, 3, padding="same")(BedOfNails2D((2, 3))(inputs))
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(4).normal(size=(2, 4, 4, 2)).astype("float32")
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((2, 8, 12, 1), "float32"), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("size", [0, (2,), "2", (2, -1)])
def test_bed_of_nails_bad_size(size):
    with pytest.raises(ValueError, match="size"):
        BedOfNails2D(size)


def test_bed_of_nails_bad_rank():
    with pytest.raises(ValueError):
        BedOfNails2D(2)(np.zeros((2, 4, 4), "float32"))


@pytest.mark.parametrize(
    "kernel_size,strides,padding,size",
    [
        (3, 1, "valid", (5, 4)),
        (3, 2, "valid", (3, 4)),
        (2, 2, "valid", (3, 3)),
        (4, 2, "same", (3, 2)),
    ],
)
def test_f2_transposed_convolution_is_the_transposed_conv_matrix(
    kernel_size, strides, padding, size
):
    # Conv2DTranspose(y) = M^T vec(y), M the conv_matrix of the convolution
    # it transposes: a correlation with the same kernel mapping (H, W, F) to
    # the size of y (claim F2).
    from mpkeras.ops import conv_matrix

    filters, in_channels = 2, 3
    layer = keras.layers.Conv2DTranspose(
        filters, kernel_size, strides=strides, padding=padding, use_bias=False
    )
    y = np.random.default_rng(5).normal(size=(1, *size, in_channels)).astype("float32")
    out = layer(y).numpy()[0]
    kernel = layer.kernel.numpy()  # (k, k, filters, in_channels)
    matrix = conv_matrix(kernel, out.shape, mode=padding, strides=strides, sparse=False)
    assert matrix.shape == (y[0].size, out.size)
    # The forward convolution maps the transposed output back to y's size.
    np.testing.assert_allclose(
        (matrix.T @ y[0].reshape(-1)).reshape(out.shape), out, rtol=1e-5, atol=1e-5
    )
