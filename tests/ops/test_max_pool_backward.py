"""Max pooling's backward pass routes the gradient to the argmax only (C5).

(Named test_max_pool_backward.py, not test_pooling.py: the tests directories
have no __init__.py, so basenames must be unique across tests/ and
tests/layers/test_pooling.py belongs to chapter 3.)
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.ops import max_pool2d_backward


def _autodiff(inputs, upstream, pool_size, strides, padding):
    inputs = tf.constant(inputs)
    layer = keras.layers.MaxPooling2D(pool_size, strides, padding=padding, dtype=inputs.dtype.name)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs)
    return tape.gradient(
        outputs, inputs, output_gradients=tf.constant(upstream, inputs.dtype)
    ).numpy()


def _pooled_shape(shape, pool_size, strides, padding):
    layer = keras.layers.MaxPooling2D(pool_size, strides, padding=padding)
    return layer.compute_output_shape(shape)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(
    "pool_size,strides",
    [(2, None), (3, 1), (3, 2), ((2, 3), (1, 2)), (2, 3)],  # overlapping, gaps
)
@pytest.mark.parametrize("size", [(6, 6), (7, 5)])
def test_equals_autodiff_of_keras_max_pooling_with_ties_C5(padding, pool_size, strides, size):
    rng = np.random.default_rng(0)
    # Three values only: most windows hold their maximum several times.
    inputs = rng.integers(-1, 2, size=(2, *size, 3)).astype(np.float32)
    shape = _pooled_shape(inputs.shape, pool_size, strides, padding)
    upstream = rng.normal(size=shape).astype(np.float32)
    np.testing.assert_allclose(
        max_pool2d_backward(inputs, upstream, pool_size, strides, padding).numpy(),
        _autodiff(inputs, upstream, pool_size, strides, padding),
        rtol=1e-6,
        atol=1e-6,
    )


def test_equals_autodiff_without_ties_float64_C5():
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(3, 9, 8, 4))
    upstream = rng.normal(size=(3, 4, 3, 4))
    np.testing.assert_allclose(
        max_pool2d_backward(inputs, upstream, 3, 2, "valid").numpy(),
        _autodiff(inputs, upstream, 3, 2, "valid"),
        atol=1e-12,
    )


def test_hand_computed_example_routes_to_argmax_only_C5():
    # The notes' Figure 7 style: 4x4 input, 2x2 windows, stride 2.
    image = np.array(
        [
            [1.0, 1.0, 2.0, 4.0],
            [5.0, 6.0, 7.0, 8.0],
            [3.0, 2.0, 1.0, 0.0],
            [1.0, 2.0, 3.0, 4.0],
        ]
    ).reshape(1, 4, 4, 1)
    upstream = np.array([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 2, 2, 1)
    expected = np.array(
        [
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 10.0, 0.0, 20.0],
            [30.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 40.0],
        ]
    )
    got = max_pool2d_backward(image, upstream, 2).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(got, expected)


def test_tie_rule_first_maximum_in_row_major_order_C5():
    # Overlapping 2x2 windows, stride 1, all values equal: every window sends
    # its gradient to its top-left pixel.
    image = np.ones((1, 3, 3, 1))
    upstream = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    got = max_pool2d_backward(image, upstream, 2, 1).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(got, [[1, 2, 0], [3, 4, 0], [0, 0, 0]])
    # A maximum shared by overlapping windows collects both gradients.
    image = np.array([[0.0, 9.0, 0.0], [0.0, 0.0, 0.0]]).reshape(1, 2, 3, 1)
    got = max_pool2d_backward(image, np.array([2.0, 3.0]).reshape(1, 1, 2, 1), 2, 1)
    np.testing.assert_array_equal(got.numpy()[0, :, :, 0], [[0, 5, 0], [0, 0, 0]])


def test_same_padding_never_routes_to_the_padding_C5():
    # All-negative input: zero padding would win the max; -inf padding cannot.
    inputs = -1.0 - np.arange(25.0).reshape(1, 5, 5, 1)
    upstream = np.ones((1, 3, 3, 1))
    got = max_pool2d_backward(inputs, upstream, 2, 2, "same").numpy()
    np.testing.assert_allclose(got.sum(), 9.0)
    np.testing.assert_allclose(got, _autodiff(inputs, upstream, 2, 2, "same"))


def test_max_pooling_has_no_parameters_C5():
    layer = keras.layers.MaxPooling2D(2)
    layer.build((None, 8, 8, 3))
    assert layer.count_params() == 0


def test_works_inside_tf_function_with_dynamic_batch():
    fn = tf.function(
        lambda x, g: max_pool2d_backward(x, g, 2),
        input_signature=[
            tf.TensorSpec((None, 4, 4, 2), tf.float32),
            tf.TensorSpec((None, 2, 2, 2), tf.float32),
        ],
    )
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 4, 2)).astype(np.float32)
    g = rng.normal(size=(3, 2, 2, 2)).astype(np.float32)
    np.testing.assert_allclose(fn(x, g).numpy(), _autodiff(x, g, 2, None, "valid"), atol=1e-6)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(pool_size=0), "pool_size"),
        (dict(pool_size=(2, 2, 2)), "pool_size"),
        (dict(strides=0), "strides"),
        (dict(padding="full"), "padding"),
        (dict(pool_size=5), "pool_size"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        max_pool2d_backward(np.zeros((1, 4, 4, 1)), np.zeros((1, 2, 2, 1)), **kwargs)


def test_upstream_of_the_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="upstream"):
        max_pool2d_backward(np.zeros((1, 4, 4, 1)), np.zeros((1, 3, 3, 1)), 2)
