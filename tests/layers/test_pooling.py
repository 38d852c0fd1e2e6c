"""MaxPoolingWithArgmax1D/2D/3D and MaxUnpooling1D/2D/3D as Keras layers (claim F1).

The kernels are tested in tests/ops (test_max_pool_with_argmax.py,
test_max_unpool.py, test_pool_properties.py); here: the notes' figures, the
layer contract, and every failure measured in issue 18 section 1.
"""

import ast
import doctest
import inspect
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import (
    MaxPoolingWithArgmax1D,
    MaxPoolingWithArgmax2D,
    MaxPoolingWithArgmax3D,
    MaxUnpooling1D,
    MaxUnpooling2D,
    MaxUnpooling3D,
    pooling,
)

POOL = {1: MaxPoolingWithArgmax1D, 2: MaxPoolingWithArgmax2D, 3: MaxPoolingWithArgmax3D}
UNPOOL = {1: MaxUnpooling1D, 2: MaxUnpooling2D, 3: MaxUnpooling3D}

# The notes' Figure 7 input is not in the text; this 4x4 image has Figure 7's
# pooled maxima 6, 8 / 4, 8 at the positions Figure 10 puts them back.
FIGURE_7_INPUT = np.array([[1, 3, 2, 1], [2, 6, 5, 8], [3, 2, 8, 1], [4, 1, 0, 3]], dtype="float32")
FIGURE_7_POOLED = np.array([[6, 8], [4, 8]], dtype="float32")
FIGURE_10 = np.array([[0, 0, 0, 0], [0, 6, 0, 8], [0, 0, 8, 0], [4, 0, 0, 0]], dtype="float32")


def scatter_first(values, indices, size):
    """NumPy reference: out[b, p] = the first values[b, j] (row-major) with indices[b, j] = p."""
    batch, channels = values.shape[0], values.shape[-1]
    out = np.zeros((batch, int(np.prod(size)) * channels), values.dtype)
    v, i = values.reshape(batch, -1)[:, ::-1], indices.reshape(batch, -1)[:, ::-1]
    for b in range(batch):
        out[b, i[b]] = v[b]  # the last assignment wins: reversed, the first entry
    return out.reshape((batch, *size, channels))


def maxima_in_place(x, values):
    """x where x is one of the pooled maxima (distinct values), zeros elsewhere."""
    return np.where(np.isin(x, np.asarray(values)), x, 0)


def distinct(shape, seed=0):
    """Distinct values: a round trip must put each maximum back exactly where it was."""
    return (
        np.random.default_rng(seed)
        .permutation(int(np.prod(shape)))
        .reshape(shape)
        .astype("float32")
    )


def pool_unpool_model(input_shape, pool_args=(2,), unpool_args=None, padding="valid", **kw):
    inputs = keras.Input(input_shape)
    values, indices = MaxPoolingWithArgmax2D(*pool_args, padding=padding)(inputs)
    unpool = MaxUnpooling2D(*(unpool_args or pool_args), padding=padding)
    return keras.Model(inputs, [values, indices, unpool(values, indices, **kw)])


# ---------------------------------------------------------------------------
# The notes' worked example (Figures 7, 8 and 10)
# ---------------------------------------------------------------------------


def test_f1_figures_7_and_10_max_pool_then_unpool():
    x = FIGURE_7_INPUT.reshape(1, 4, 4, 1)
    values, indices = MaxPoolingWithArgmax2D(2)(x)
    np.testing.assert_array_equal(values.numpy()[0, ..., 0], FIGURE_7_POOLED)
    np.testing.assert_array_equal(indices.numpy()[0, ..., 0], [[5, 7], [12, 10]])
    np.testing.assert_array_equal(MaxUnpooling2D(2)(values, indices)[0, ..., 0], FIGURE_10)


def test_f1_figure_8_nearest_neighbour_is_keras_upsampling():
    up = keras.layers.UpSampling2D(2, interpolation="nearest")
    out = up(FIGURE_7_POOLED.reshape(1, 2, 2, 1)).numpy()[0, ..., 0]
    np.testing.assert_array_equal(out, [[6, 6, 8, 8], [6, 6, 8, 8], [4, 4, 8, 8], [4, 4, 8, 8]])


# ---------------------------------------------------------------------------
# Issue 18, section 1: each measured failure
# ---------------------------------------------------------------------------


def test_issue18_default_size_after_an_odd_valid_pooling_raises_in_predict():
    # 33x35 pooled to 16x17 "unpools" by default to 32x34, a grid the indices
    # (which count in rows of 35) do not fit: main kept 80 of 1,632 maxima.
    x = distinct((2, 33, 35, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match="output_size"):
        pool_unpool_model((33, 35, 3)).predict(x, verbose=0)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("input_shape", [(33, 35, 3), (None, None, 3)])
def test_issue18_the_pre_pooling_tensor_gives_the_size(padding, input_shape):
    inputs = keras.Input(input_shape)
    values, indices = MaxPoolingWithArgmax2D(2, padding=padding)(inputs)
    restored = MaxUnpooling2D(2, padding=padding)(values, indices, output_size=inputs)
    assert restored.shape[1:3] == input_shape[:2]
    model = keras.Model(inputs, [values, restored])
    x = distinct((2, 33, 35, 3))
    v, out = model.predict(x, verbose=0)
    assert out.shape == x.shape
    np.testing.assert_array_equal(out, maxima_in_place(x, v))  # every maximum back in place


def test_issue18_same_padding_default_places_every_value_at_its_index():
    # 33x35 with "same" pools to 17x18 and unpools by default to 34x36: the
    # indices name positions in rows of 34 x 36, and each value lands there
    # (Addons' and PyTorch's rule); main kept 84 of 1,836 values.
    x = distinct((2, 33, 35, 3), seed=1)
    values, indices, out = pool_unpool_model((33, 35, 3), padding="same").predict(x, verbose=0)
    assert out.shape == (2, 34, 36, 3)
    np.testing.assert_array_equal(out, scatter_first(values, indices, (34, 36)))
    assert np.count_nonzero(out) == values.size


def test_issue18_unknown_size_fed_an_odd_image_raises_with_the_default_size():
    x = distinct((2, 33, 35, 3), seed=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="output_size"):
        pool_unpool_model((None, None, 3)).predict(x, verbose=0)


def test_issue18_unpooling_with_another_pool_size_is_refused_or_exact():
    x = distinct((1, 8, 8, 2), seed=3)
    values, indices = MaxPoolingWithArgmax2D(2)(x)
    with pytest.raises(ValueError, match="pool_size"):
        MaxUnpooling2D(3)(values, indices, output_size=x)  # 8 pooled by 3 is not 4
    inputs = keras.Input((8, 8, 2))
    v, i = MaxPoolingWithArgmax2D(2)(inputs)
    with pytest.raises(ValueError, match="pool_size"):
        MaxUnpooling2D(3)(v, i, output_size=inputs)  # while the model is built
    # Without output_size the 3x3 grid's 12x12 image is assumed; every value
    # still goes where its index says (main kept 3 of 32).
    out = MaxUnpooling2D(3)(values, indices)
    assert out.shape == (1, 12, 12, 2)
    np.testing.assert_array_equal(out, scatter_first(values.numpy(), indices.numpy(), (12, 12)))


def test_issue18_out_of_range_indices_raise_in_a_functional_model():
    values = keras.Input((2, 2, 1))
    indices = keras.Input((2, 2, 1), dtype="int64")
    model = keras.Model([values, indices], MaxUnpooling2D(2)(values, indices))
    v = np.ones((1, 2, 2, 1), "float32")
    with pytest.raises(tf.errors.InvalidArgumentError, match="must lie in"):
        model.predict([v, np.full((1, 2, 2, 1), 100)], verbose=0)  # main: all zeros
    with pytest.raises(ValueError, match="must lie in"):
        model([v, np.full((1, 2, 2, 1), 100)])


def test_issue18_addons_vectors_through_the_layer():
    # Values 1..8 at indices that leave their windows (Addons' test_strides2x2).
    values = np.arange(1, 9, dtype="float32").reshape(1, 2, 4, 1)
    indices = np.array([0, 5, 10, 13, 19, 20, 27, 31]).reshape(1, 2, 4, 1)
    expected = np.zeros(32, "float32")
    expected[indices.ravel()] = values.ravel()
    for unpool in (MaxUnpooling2D(padding="same"), tf.function(MaxUnpooling2D(padding="same"))):
        out = unpool(values, indices)
        np.testing.assert_array_equal(out, expected.reshape(1, 4, 8, 1))


def test_issue18_a_shape_with_unknown_entries_says_to_pass_the_tensor():
    inputs = keras.Input((None, None, 3))
    values, indices = MaxPoolingWithArgmax2D(2)(inputs)
    with pytest.raises(ValueError, match="tensor before pooling itself"):
        MaxUnpooling2D(2)(values, indices, output_size=keras.ops.shape(inputs))


# ---------------------------------------------------------------------------
# The same answer everywhere
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rank,size,pool_size,strides,padding",
    [(1, (10,), 3, 2, "same"), (2, (8, 7), 3, 2, "valid"), (3, (5, 4, 5), 2, None, "same")],
)
def test_same_answer_eager_tf_function_xla_and_functional(rank, size, pool_size, strides, padding):
    x = distinct((2, *size, 2), seed=rank)
    pool, unpool = (
        POOL[rank](pool_size, strides, padding),
        UNPOOL[rank](pool_size, strides, padding),
    )

    def round_trip(t):
        values, indices = pool(t)
        return values, indices, unpool(values, indices, output_size=t)

    expected = round_trip(x)
    static = keras.Input(x.shape[1:])
    unknown = keras.Input((None,) * rank + (2,))
    results = [
        tf.function(round_trip)(x),
        tf.function(round_trip, jit_compile=True)(x),
        keras.Model(static, list(round_trip(static)))(x),
        keras.Model(unknown, list(round_trip(unknown))).predict(x, verbose=0),
    ]
    for result in results:
        for a, b in zip(expected, result):
            np.testing.assert_array_equal(a, b)
    kept = expected[2].numpy() != 0
    if all(np.broadcast_to(strides or pool_size, rank) >= pool_size):  # no overlap
        np.testing.assert_array_equal(expected[2].numpy()[kept], x[kept])


# ---------------------------------------------------------------------------
# Keras contract: config, shapes, dtypes, training, .keras round trip
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_config_round_trip_and_output_shapes(rank):
    pool = POOL[rank](pool_size=3, strides=2, padding="same", name="p")
    config = pool.get_config()
    assert config["pool_size"] == (3,) * rank and config["strides"] == (2,) * rank
    assert config["padding"] == "same"
    assert POOL[rank].from_config(config).get_config() == config
    unpool = UNPOOL[rank].from_config(UNPOOL[rank](3, 2, "same").get_config())
    size = (7, 6, 5)[:rank]
    inputs = keras.Input((*size, 4))
    values, indices = pool(inputs)
    pooled = tuple(-(-n // 2) for n in size)
    assert values.shape == (None, *pooled, 4) and indices.shape == (None, *pooled, 4)
    assert indices.dtype == "int64"
    assert pool.compute_output_shape((None, *size, 4)) == ((None, *pooled, 4),) * 2
    assert unpool(values, indices, output_size=size).shape == (None, *size, 4)
    assert unpool(values, indices, output_size=inputs).shape == (None, *size, 4)
    assert unpool(values, indices).shape == (None, *(2 * p for p in pooled), 4)
    assert unpool.compute_output_shape((None, *pooled, 4), output_size=size) == (None, *size, 4)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_dtypes(dtype):
    x = tf.cast(distinct((2, 7, 6, 3)), dtype)
    values, indices = MaxPoolingWithArgmax2D(2, dtype=dtype)(x)
    assert values.dtype == dtype and indices.dtype == tf.int64
    out = MaxUnpooling2D(2, dtype=dtype)(values, indices, output_size=x)
    assert out.dtype == dtype
    np.testing.assert_array_equal(
        tf.cast(out, "float32"), maxima_in_place(tf.cast(x, "float32"), tf.cast(values, "float32"))
    )


def test_segnet_style_functional_model_of_unknown_size_trains_saves_and_reloads(tmp_path):
    inputs = keras.Input((None, None, 2))
    features = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    values, indices = MaxPoolingWithArgmax2D(2, name="pool")(features)
    decoded = keras.layers.Conv2D(4, 1)(values)
    unpooled = MaxUnpooling2D(2, name="unpool")(decoded, indices, output_size=features)
    model = keras.Model(inputs, keras.layers.Conv2D(1, 1)(unpooled))
    x = np.random.default_rng(0).normal(size=(4, 7, 9, 2)).astype("float32")
    model.compile("sgd", "mse")
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(x, x[..., :1], epochs=1, batch_size=4, verbose=0)
    assert all(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.trainable_weights))
    model.save(tmp_path / "segnet.keras")
    loaded = keras.saving.load_model(tmp_path / "segnet.keras")
    assert isinstance(loaded.get_layer("unpool"), MaxUnpooling2D)
    for batch in (x, x[:1, :5, :6]):
        np.testing.assert_array_equal(loaded(batch), model(batch))


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"pool_size": 0}, "pool_size"),
        ({"pool_size": (2, 2, 2)}, "pool_size"),
        ({"strides": -1}, "strides"),
        ({"padding": "full"}, "padding"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MaxPoolingWithArgmax2D(**kwargs)
    with pytest.raises(ValueError, match=match):
        MaxUnpooling2D(**kwargs)


def test_bad_call_arguments():
    x = distinct((1, 4, 4, 2))
    values, indices = MaxPoolingWithArgmax2D(2)(x)
    unpool = MaxUnpooling2D(2)
    with pytest.raises(ValueError, match="`values` and `indices`"):
        unpool(values, indices[:, :1])
    with pytest.raises(ValueError, match="integer"):
        unpool(values, tf.cast(indices, "float32"))
    with pytest.raises(ValueError, match="does not match the pooling"):
        unpool(values, indices, output_size=(2, 2))
    with pytest.raises(ValueError, match="must lie in"):
        unpool(values, indices + 1000, output_size=(4, 4))
    with pytest.raises(ValueError, match="`output_size`"):
        unpool(values, indices, output_size=(4, -4))
    with pytest.raises(ValueError, match="rank 4"):
        unpool(values[0], indices[0])  # rank 3 for a 2D layer
    with pytest.raises(ValueError, match="rank 4"):
        unpool(keras.Input((4, 4)), keras.Input((4, 4), dtype="int64"))
    with pytest.raises(ValueError, match="expected ndim=4"):
        MaxPoolingWithArgmax2D(2)(x[0])
    with pytest.raises(ValueError, match="at least the pool size"):
        MaxPoolingWithArgmax2D(5)(x)


@pytest.mark.parametrize(
    "name",
    [f"{kind}{rank}D" for kind in ("MaxPoolingWithArgmax", "MaxUnpooling") for rank in (1, 2, 3)],
)
def test_each_docstring_example_runs_in_its_own_rank(name):
    cls = getattr(pooling, name)
    rank = cls.rank
    # Written out in the source, not filled in from a template at import.
    source = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0]
    assert ast.get_docstring(source) == inspect.cleandoc(cls.__doc__)
    assert f"MaxPoolingWithArgmax{rank}D(" in cls.__doc__
    for other in {1, 2, 3} - {rank}:
        assert f"{other}D(" not in cls.__doc__
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(cls, name, globs={"np": np, **vars(pooling)}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries >= 2
