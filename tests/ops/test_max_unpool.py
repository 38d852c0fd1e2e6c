"""mpkeras.ops.max_unpool: every value at the position its index names, or an error (F1)."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.ops import fusion, max_pool_with_argmax, max_unpool, unpooling


def scatter_first(values, indices, size):
    """NumPy reference: out[b, p] = the first values[b, j] (row-major) with indices[b, j] = p."""
    batch, channels = values.shape[0], values.shape[-1]
    out = np.zeros((batch, int(np.prod(size)) * channels), values.dtype)
    # Fancy assignment keeps the last of repeated positions: reverse, so the first wins.
    v, i = values.reshape(batch, -1)[:, ::-1], indices.reshape(batch, -1)[:, ::-1]
    for b in range(batch):
        out[b, i[b]] = v[b]
    return out.reshape((batch, *size, channels))


def as_image(flat, shape):
    return np.asarray(flat).reshape(shape)


# TensorFlow Addons' published MaxUnpooling2D test vectors
# (tensorflow_addons/layers/tests/max_unpooling_2d_test.py), indices as integers:
# (values, indices, shape, layer arguments, expected output).
ADDONS_VECTORS = [
    ([13, 4], [1, 6], (1, 1, 2, 1), {"padding": "same"}, (1, 2, 4, 1), [0, 13, 0, 0, 0, 0, 4, 0]),
    (
        range(1, 9),
        [0, 3, 4, 7, 8, 11, 12, 15],
        (1, 2, 2, 2),
        {"strides": (2, 1), "padding": "same"},
        (1, 4, 2, 2),
        [1, 0, 0, 2, 3, 0, 0, 4, 5, 0, 0, 6, 7, 0, 0, 8],
    ),
    (
        range(1, 9),
        [0, 5, 10, 13, 19, 20, 27, 31],
        (1, 2, 4, 1),
        {"padding": "same"},
        (1, 4, 8, 1),
        [
            1,
            0,
            0,
            0,
            0,
            2,
            0,
            0,
            0,
            0,
            3,
            0,
            0,
            4,
            0,
            0,
            0,
            0,
            0,
            5,
            6,
            0,
            0,
            0,
            0,
            0,
            0,
            7,
            0,
            0,
            0,
            8,
        ],
    ),
]
BATCH_VALUES = list(range(1, 33))
BATCH_INDICES = [
    2,
    23,
    8,
    9,
    12,
    15,
    40,
    43,
    44,
    47,
    72,
    75,
    80,
    79,
    62,
    65,
    0,
    1,
    30,
    7,
    14,
    35,
    42,
    21,
    68,
    69,
    50,
    51,
    56,
    5,
    86,
    63,
]


@pytest.mark.parametrize("values,indices,shape,kwargs,out_shape,expected", ADDONS_VECTORS)
def test_addons_test_vectors(values, indices, shape, kwargs, out_shape, expected):
    v = as_image(values, shape).astype("float32")
    i = as_image(indices, shape).astype("int64")
    out = max_unpool(v, i, 2, **kwargs)
    assert out.shape == out_shape
    np.testing.assert_array_equal(out, as_image(expected, out_shape))


@pytest.mark.parametrize("padding,width", [("same", 12), ("valid", 11)])
def test_addons_batch_vectors_follow_the_flat_index(padding, width):
    # Addons' test_batch / test_batch_and_padding_valid: strides (2, 3), two
    # images, indices all over the image (none in its own window).
    v = as_image(BATCH_VALUES, (2, 2, 4, 2)).astype("float32")
    i = as_image(BATCH_INDICES, (2, 2, 4, 2)).astype("int64")
    out = max_unpool(v, i, 2, strides=(2, 3), padding=padding)
    assert out.shape == (2, 4, width, 2)
    np.testing.assert_array_equal(out, scatter_first(v, i, (4, width)))
    assert np.count_nonzero(out) == 32  # every value placed


@pytest.mark.parametrize(
    "pool_size,strides,padding,shape",
    [
        (2, 2, "same", (1, 2, 4, 1)),
        (2, 2, "same", (1, 4, 4, 1)),
        (2, 4, "same", (1, 4, 4, 1)),
        (2, 2, "valid", (1, 4, 4, 1)),
        ((2, 3), 2, "valid", (1, 4, 5, 1)),
    ],
)
def test_addons_vectors_with_tf_pooling(pool_size, strides, padding, shape):
    x = np.random.default_rng(sum(shape)).permutation(np.prod(shape)).reshape(shape) + 1.0
    values, indices = tf.nn.max_pool_with_argmax(
        x.astype("float32"), pool_size, strides, padding.upper()
    )
    out = max_unpool(values, indices, pool_size, strides, padding)
    expected = np.where(np.isin(x, values.numpy()), x, 0)  # distinct values: each max in place
    np.testing.assert_array_equal(out, expected)


def test_round_trip_keeps_each_maximum_in_place():
    x = np.random.default_rng(0).normal(size=(2, 7, 9, 3)).astype("float32")
    values, indices = max_pool_with_argmax(x, 2, padding="same")
    out = max_unpool(values, indices, 2, padding="same", output_size=x).numpy()
    kept = out != 0
    assert kept.sum() == values.numpy().size
    np.testing.assert_array_equal(out[kept], x[kept])


def test_overlapping_windows_write_a_shared_maximum_once():
    x = np.array([1, 2, 9, 3, 4], "float32").reshape(1, 5, 1)
    values, indices = max_pool_with_argmax(x, 3, 1)
    np.testing.assert_array_equal(indices[0, :, 0], [2, 2, 2])
    values = tf.constant(values)
    with tf.GradientTape() as tape:
        tape.watch(values)
        out = max_unpool(values, indices, 3, 1)
    np.testing.assert_array_equal(out[0, :, 0], [0, 0, 9, 0, 0])  # once, not 27
    grad = tape.gradient(out, values, output_gradients=tf.ones_like(out))
    np.testing.assert_array_equal(grad[0, :, 0], [1, 0, 0])  # only the writer
    other = max_unpool(tf.constant([[[1.0], [2.0], [3.0]]]), indices, 3, 1)
    np.testing.assert_array_equal(other[0, :, 0], [0, 0, 1, 0, 0])  # the first one


@pytest.mark.parametrize("indices", [[[5, 7], [13, 15]], [[0, 15], [3, 3]]])
def test_gradient_reads_the_upstream_at_each_index(indices):
    # In-window indices (the block path) and arbitrary ones with a duplicate.
    values = tf.constant(np.arange(1, 5, dtype="float32").reshape(1, 2, 2, 1))
    indices = np.array(indices).reshape(1, 2, 2, 1)
    upstream = np.arange(16, dtype="float32").reshape(1, 4, 4, 1) + 100
    with tf.GradientTape() as tape:
        tape.watch(values)
        out = max_unpool(values, indices, 2)
    grad = tape.gradient(out, values, output_gradients=tf.constant(upstream)).numpy().ravel()
    flat = indices.ravel()
    first = np.zeros(4, bool)
    first[np.unique(flat, return_index=True)[1]] = True
    np.testing.assert_array_equal(grad, np.where(first, upstream.ravel()[flat], 0))


def test_inf_and_nan_values_are_copied_exactly():
    indices = np.array([3, 0]).reshape(1, 1, 2, 1)
    out = max_unpool(np.array([np.inf, np.nan], "float32").reshape(1, 1, 2, 1), indices, 2)
    np.testing.assert_array_equal(out.numpy().ravel(), [np.nan, 0, 0, np.inf, 0, 0, 0, 0])


@pytest.mark.parametrize(
    "output_size",
    [
        (7, 9),
        [7, 9],
        (None, 7, 9, 3),
        tf.TensorShape([2, 7, 9, 3]),
        np.array([7, 9]),
        np.array([2, 7, 9, 3]),
        "tensor",
        "tf.shape",
    ],
)
def test_output_size_forms(output_size):
    x = np.random.default_rng(1).normal(size=(2, 7, 9, 3)).astype("float32")
    output_size = {"tensor": tf.constant(x), "tf.shape": tf.shape(x)}.get(
        output_size if isinstance(output_size, str) else None, output_size
    )
    values, indices = max_pool_with_argmax(x, 2)
    out = max_unpool(values, indices, 2, output_size=output_size)
    np.testing.assert_array_equal(out, scatter_first(values.numpy(), indices.numpy(), (7, 9)))


def test_output_size_as_a_tensor_in_a_graph_of_unknown_size():
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 2])])
    def round_trip(x):
        values, indices = max_pool_with_argmax(x, 3, 2, "same")
        return max_unpool(values, indices, 3, 2, "same", output_size=x), values, indices

    for size in [(5, 7), (8, 8), (1, 3)]:
        x = np.random.default_rng(sum(size)).normal(size=(2, *size, 2)).astype("float32")
        out, values, indices = round_trip(x)
        assert out.shape == (2, *size, 2)
        np.testing.assert_array_equal(out, scatter_first(values.numpy(), indices.numpy(), size))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"output_size": (2, 2)}, "does not match the pooling"),
        ({"output_size": (4, -4)}, "output_size"),
        ({"output_size": (4,)}, "output_size"),
        ({"output_size": "big"}, "output_size"),
        ({"output_size": (None, None, None, 2)}, "tensor before pooling itself"),
        ({"pool_size": 0}, "pool_size"),
        ({"padding": "full"}, "padding"),
    ],
)
def test_bad_arguments_say_what_to_pass(kwargs, match):
    x = np.zeros((1, 4, 4, 2), "float32")
    values, indices = max_pool_with_argmax(x, 2)
    with pytest.raises(ValueError, match=match):
        max_unpool(values, indices, **{"pool_size": 2, **kwargs})


def test_bad_inputs():
    values, indices = max_pool_with_argmax(np.zeros((1, 4, 4, 2), "float32"), 2)
    with pytest.raises(ValueError, match="same shape"):
        max_unpool(values, indices[:, :1], 2)
    with pytest.raises(ValueError, match="integer"):
        max_unpool(values, tf.cast(indices, "float32"), 2)
    with pytest.raises(ValueError, match="rank 3, 4 or 5"):
        max_unpool(values[0, 0, 0], indices[0, 0, 0], 2)


def test_an_index_naming_a_padded_cell_of_its_block_goes_where_it_names():
    # 4x4 pooled 3x3 "same": one padded row and column before. The block of
    # window (1, 0) starts at (row 2, column -1), whose flat index 7 is (1, 3),
    # a position of window (0, 1)'s block: the value goes to (1, 3).
    values = np.array([1, 2, 3, 4], "float32").reshape(1, 2, 2, 1)
    indices = np.array([0, 2, 7, 15]).reshape(1, 2, 2, 1)
    out = max_unpool(values, indices, 3, padding="same", output_size=(4, 4))
    np.testing.assert_array_equal(out, scatter_first(values, indices, (4, 4)))
    # In 1D the padded cell's flat index is -1: out of range, not dropped.
    with pytest.raises(ValueError, match="must lie in"):
        max_unpool(
            np.ones((1, 2, 1), "float32"),
            np.array([-1, 3]).reshape(1, 2, 1),
            3,
            padding="same",
            output_size=(4,),
        )


def _out_of_range():
    values = np.ones((1, 2, 2, 1), "float32")
    return values, np.array([0, 1, 4, 16]).reshape(1, 2, 2, 1)  # 16 is past a 4x4 image


def test_out_of_range_index_raises_eagerly():
    values, indices = _out_of_range()
    with pytest.raises(ValueError, match=r"must lie in \[0, 16\).*Received: indices in \[0, 16\]"):
        max_unpool(values, indices, 2)
    with pytest.raises(ValueError, match="must lie in"):
        max_unpool(values, -indices, 2)


def test_out_of_range_index_raises_in_a_graph():
    values, indices = _out_of_range()
    graph = tf.function(lambda v, i: max_unpool(v, i, 2))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must lie in"):
        graph(values, indices)


def test_out_of_range_index_gives_nan_under_xla():
    # XLA ignores Assert: the output is NaN, never a plausible wrong result.
    values, indices = _out_of_range()
    out = tf.function(lambda v, i: max_unpool(v, i, 2), jit_compile=True)(values, indices)
    assert np.isnan(out.numpy()).all()


def test_a_dynamic_output_size_that_does_not_match_raises_in_a_graph():
    values, indices = max_pool_with_argmax(np.ones((1, 4, 4, 1), "float32"), 2)
    graph = tf.function(
        lambda v, i, size: max_unpool(v, i, 2, output_size=size),
        input_signature=[
            tf.TensorSpec([1, 2, 2, 1]),
            tf.TensorSpec([1, 2, 2, 1], tf.int64),
            tf.TensorSpec([2], tf.int32),
        ],
    )
    np.testing.assert_array_equal(
        graph(values, indices, [5, 5]), scatter_first(values.numpy(), indices.numpy(), (5, 5))
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="does not pool to the values"):
        graph(values, indices, [7, 7])


def test_same_result_eager_graph_xla_and_unfused(monkeypatch):
    x = np.random.default_rng(2).normal(size=(2, 9, 7, 3)).astype("float32")
    values, indices = max_pool_with_argmax(x, 3, 3, "same")
    arbitrary = np.random.default_rng(3).integers(0, 9 * 7 * 3, size=indices.shape)
    for i in (indices, arbitrary):
        eager = max_unpool(values, i, 3, 3, "same", output_size=(9, 7))
        graph = tf.function(lambda v, i: max_unpool(v, i, 3, 3, "same", output_size=(9, 7)))
        xla = tf.function(graph.python_function, jit_compile=True)
        monkeypatch.setattr(fusion, "XLA_MIN_ELEMENTS", 1)  # fuse even this small size
        fused = max_unpool(values, i, 3, 3, "same", output_size=(9, 7))
        monkeypatch.undo()
        expected = scatter_first(values.numpy(), np.asarray(i), (9, 7))
        for out in (eager, graph(values, i), xla(values, i), fused):
            np.testing.assert_array_equal(out, expected)


def test_in_a_functional_model_records_the_layer():
    inputs = keras.Input((None, 6, 2))
    values, indices = max_pool_with_argmax(inputs, 2)
    model = keras.Model(inputs, max_unpool(values, indices, 2, output_size=inputs))
    x = np.random.default_rng(4).normal(size=(3, 5, 6, 2)).astype("float32")
    v, i = max_pool_with_argmax(x, 2)
    np.testing.assert_array_equal(model(x), max_unpool(v, i, 2, output_size=x))


def test_docstring_example():
    globs = {"np": np, "max_pool_with_argmax": max_pool_with_argmax, "max_unpool": max_unpool}
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner()
    for test in finder.find(unpooling.max_unpool, "max_unpool", globs=globs):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0


def test_fused_kernels_with_an_unknown_batch_match_eager(monkeypatch):
    # Large tensors of known spatial size are XLA-compiled even when the batch
    # is unknown (compiled per batch size at run time): forward and gradients.
    x = tf.constant(np.random.default_rng(5).normal(size=(3, 9, 7, 2)).astype("float32"))

    def round_trip(t):
        with tf.GradientTape() as tape:
            tape.watch(t)
            values, indices = max_pool_with_argmax(t, 2, padding="same")
            out = max_unpool(values * 2, indices, 2, padding="same", output_size=t)
        return out, tape.gradient(out, t, output_gradients=t)

    expected = round_trip(x)
    monkeypatch.setattr(fusion, "XLA_MIN_ELEMENTS", 1)
    graph = tf.function(round_trip, input_signature=[tf.TensorSpec([None, 9, 7, 2])])
    for a, b in zip(graph(x), expected):
        np.testing.assert_array_equal(a, b)
