"""mpkeras.ops.max_pool_with_argmax: Keras's values, TensorFlow's indices, any rank (F1, C5)."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.ops import argmax_pooling, fusion, max_pool2d_backward, max_pool_with_argmax

CASES_2D = [
    # (H, W), pool_size, strides, padding
    ((4, 4), 2, None, "valid"),
    ((7, 5), 2, None, "valid"),  # odd sizes: the last row/column is dropped
    ((7, 5), 2, None, "same"),
    ((9, 7), 3, 3, "same"),  # padding before and after
    ((8, 6), 2, 3, "valid"),  # stride > pool size: gaps between windows
    ((7, 7), 3, 2, "valid"),  # overlapping windows
    ((6, 9), 3, 2, "same"),
    ((7, 6), (2, 3), (1, 2), "same"),
    ((5, 5), 1, 1, "valid"),
]


def with_ties(shape, seed=0):
    """Small integers: many windows hold their maximum more than once."""
    return np.random.default_rng(seed).integers(0, 4, size=shape).astype("float32")


@pytest.mark.parametrize("size,pool_size,strides,padding", CASES_2D)
def test_2d_values_are_keras_and_indices_are_tensorflows(size, pool_size, strides, padding):
    x = with_ties((2, *size, 3))
    values, indices = max_pool_with_argmax(x, pool_size, strides, padding)
    s = strides if strides is not None else pool_size
    tf_values, tf_indices = tf.nn.max_pool_with_argmax(
        x, pool_size, s, padding.upper(), include_batch_in_index=False
    )
    assert indices.dtype == tf.int64
    np.testing.assert_array_equal(values, keras.ops.max_pool(x, pool_size, strides, padding))
    np.testing.assert_array_equal(values, tf_values)
    np.testing.assert_array_equal(indices, tf_indices)  # ties: the first maximum, row-major


@pytest.mark.parametrize(
    "shape,pool_size,strides,padding",
    [
        ((2, 9, 2), 2, None, "valid"),
        ((2, 9, 2), 3, 2, "same"),
        ((2, 8, 2), 2, 3, "valid"),
        ((2, 5, 4, 5, 2), 2, None, "same"),
        ((2, 5, 5, 4, 2), 3, 2, "same"),
        ((1, 4, 6, 5, 2), (1, 2, 3), (1, 2, 3), "valid"),
    ],
)
def test_1d_3d_equal_tensorflow_on_the_flattened_2d_case(shape, pool_size, strides, padding):
    # A 1D pooling is a 2D one of height 1; a 3D one with pool 1 along depth
    # is 2D per slice. Cross-check 1D against tf.nn.max_pool_with_argmax that
    # way, and 3D values against Keras and indices against a direct search.
    x = with_ties(shape, seed=len(shape))
    values, indices = max_pool_with_argmax(x, pool_size, strides, padding)
    np.testing.assert_array_equal(values, keras.ops.max_pool(x, pool_size, strides, padding))
    if len(shape) == 3:
        s = strides if strides is not None else pool_size
        _, expected = tf.nn.max_pool_with_argmax(
            x[:, None], (1, pool_size), (1, s), padding.upper(), include_batch_in_index=False
        )
        np.testing.assert_array_equal(indices, expected[:, 0])
    # Every index names a cell of its window that holds the window's maximum.
    flat = x.reshape(x.shape[0], -1)
    picked = np.take_along_axis(flat, indices.numpy().reshape(x.shape[0], -1), axis=1)
    np.testing.assert_array_equal(picked.reshape(values.shape), values)


def test_ties_go_to_the_first_cell_and_padding_never_wins():
    x = np.array([[0, 5], [5, 5]], "float32").reshape(1, 2, 2, 1)
    assert int(max_pool_with_argmax(x, 2)[1][0, 0, 0, 0]) == 1
    x = np.full((1, 3, 3, 1), -np.inf, "float32")  # "same": the padding cannot win
    _, indices = max_pool_with_argmax(x, 2, padding="same")
    np.testing.assert_array_equal(indices[0, ..., 0], [[0, 2], [6, 8]])


def test_a_nan_wins_its_window():
    # A NaN in the input is never hidden: its window's value is NaN, the index
    # that of the first NaN. (tf.nn.max_pool drops NaNs, Keras's too.)
    x = np.array([[1, np.nan], [np.nan, 2], [5, 4], [3, 0]], "float32").reshape(1, 4, 2, 1)
    values, indices = max_pool_with_argmax(x, 2)
    assert np.isnan(values[0, 0, 0, 0]) and int(indices[0, 0, 0, 0]) == 1
    assert float(values[0, 1, 0, 0]) == 5 and int(indices[0, 1, 0, 0]) == 4


@pytest.mark.parametrize("size,pool_size,strides,padding", CASES_2D)
def test_gradient_is_the_max_pool_backward_C5(size, pool_size, strides, padding):
    x = tf.constant(with_ties((2, *size, 3), seed=2))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        values, _ = max_pool_with_argmax(x, pool_size, strides, padding)
        keras_values = keras.ops.max_pool(x, pool_size, strides, padding)
    upstream = tf.constant(np.random.default_rng(0).normal(size=values.shape), tf.float32)
    grad = tape.gradient(values, x, output_gradients=upstream)
    np.testing.assert_allclose(
        grad, max_pool2d_backward(x, upstream, pool_size, strides, padding), atol=1e-6
    )
    np.testing.assert_allclose(
        grad, tape.gradient(keras_values, x, output_gradients=upstream), atol=1e-6
    )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64", "int32"])
def test_dtypes(dtype):
    x = tf.cast(with_ties((2, 7, 6, 3)), dtype)
    values, indices = max_pool_with_argmax(x, 2, padding="same")
    assert values.dtype == dtype and indices.dtype == tf.int64
    _, expected = tf.nn.max_pool_with_argmax(tf.cast(x, "float32"), 2, 2, "SAME")
    np.testing.assert_array_equal(indices, expected)


@pytest.mark.parametrize("pool_size,strides,padding", [(2, None, "same"), (3, 2, "valid")])
def test_same_answer_eager_graph_of_unknown_size_xla_and_fused(
    monkeypatch, pool_size, strides, padding
):
    x = with_ties((2, 9, 7, 3), seed=3)
    eager = max_pool_with_argmax(x, pool_size, strides, padding)
    graph = tf.function(
        lambda t: max_pool_with_argmax(t, pool_size, strides, padding),
        input_signature=[tf.TensorSpec([None, None, None, 3])],
    )
    xla = tf.function(
        lambda t: max_pool_with_argmax(t, pool_size, strides, padding), jit_compile=True
    )
    monkeypatch.setattr(fusion, "XLA_MIN_ELEMENTS", 1)  # the fused kernel on a small tensor
    fused = max_pool_with_argmax(x, pool_size, strides, padding)
    for result in (graph(x), xla(x), fused):
        for a, b in zip(eager, result):
            np.testing.assert_array_equal(a, b)


def test_in_a_functional_model():
    inputs = keras.Input((None, None, 2))
    values, indices = max_pool_with_argmax(inputs, 2, padding="same")
    assert values.shape == (None, None, None, 2) and indices.dtype == "int64"
    model = keras.Model(inputs, [values, indices])
    x = with_ties((2, 5, 7, 2), seed=5)
    for a, b in zip(model(x), max_pool_with_argmax(x, 2, padding="same")):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "args,match",
    [
        (((1, 4, 4),), "`pool_size`"),
        (((1, 4, 4, 4, 4, 1),), "rank 3, 4 or 5"),
        (((1, 4, 4, 1), 0), "pool_size"),
        (((1, 4, 4, 1), 2, -1), "strides"),
        (((1, 4, 4, 1), 2, None, "full"), "padding"),
        (((1, 4, 4, 1), 5), "at least the pool size"),
    ],
)
def test_bad_arguments(args, match):
    shape, *rest = args
    rest = rest or [(2, 2)]
    with pytest.raises(ValueError, match=match):
        max_pool_with_argmax(np.zeros(shape, "float32"), *rest)


def test_docstring_example():
    runner = doctest.DocTestRunner()
    globs = {"np": np, "max_pool_with_argmax": max_pool_with_argmax}
    for test in doctest.DocTestFinder().find(argmax_pooling.max_pool_with_argmax, globs=globs):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
