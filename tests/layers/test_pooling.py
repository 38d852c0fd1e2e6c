"""MaxPoolingWithArgmax1D/2D/3D and MaxUnpooling1D/2D/3D (claim F1)."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import mpkeras.layers.pooling as pooling
from mpkeras.layers import (
    MaxPoolingWithArgmax1D,
    MaxPoolingWithArgmax2D,
    MaxPoolingWithArgmax3D,
    MaxUnpooling1D,
    MaxUnpooling2D,
    MaxUnpooling3D,
)

POOL = {1: MaxPoolingWithArgmax1D, 2: MaxPoolingWithArgmax2D, 3: MaxPoolingWithArgmax3D}
UNPOOL = {1: MaxUnpooling1D, 2: MaxUnpooling2D, 3: MaxUnpooling3D}
KERAS_POOL = {1: keras.layers.MaxPooling1D, 2: keras.layers.MaxPooling2D, 3: keras.layers.MaxPooling3D}

# The notes' Figure 7 input is not in the text; this 4x4 image has Figure 7's
# pooled maxima 6, 8 / 4, 8 at the positions Figure 10 puts them back.
FIGURE_7_INPUT = np.array(
    [[1, 3, 2, 1],
     [2, 6, 5, 8],
     [3, 2, 8, 1],
     [4, 1, 0, 3]], dtype="float32")
FIGURE_7_POOLED = np.array([[6, 8], [4, 8]], dtype="float32")
FIGURE_10 = np.array(
    [[0, 0, 0, 0],
     [0, 6, 0, 8],
     [0, 0, 8, 0],
     [4, 0, 0, 0]], dtype="float32")


# ---------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------


def reference_pool(x, k, s, padding):
    """(values, indices): TF's max_pool_with_argmax, first max in row-major window order."""
    batch, *spatial, channels = x.shape
    rank = len(spatial)
    if padding == "valid":
        out = [(n - kk) // ss + 1 for n, kk, ss in zip(spatial, k, s)]
        pad = [0] * rank
    else:
        out = [-(-n // ss) for n, ss in zip(spatial, s)]
        pad = [max((o - 1) * ss + kk - n, 0) // 2 for o, n, kk, ss in zip(out, spatial, k, s)]
    values = np.zeros([batch, *out, channels], x.dtype)
    indices = np.zeros([batch, *out, channels], np.int64)
    strides = [int(np.prod(spatial[d + 1:])) for d in range(rank)]
    for b, c in itertools.product(range(batch), range(channels)):
        for i in itertools.product(*[range(o) for o in out]):
            best, where = None, None
            for cell in itertools.product(*[range(kk) for kk in k]):
                pos = [i[d] * s[d] + cell[d] - pad[d] for d in range(rank)]
                if any(p < 0 or p >= n for p, n in zip(pos, spatial)):
                    continue
                v = x[(b, *pos, c)]
                if best is None or v > best:
                    best, where = v, pos
            values[(b, *i, c)] = best
            indices[(b, *i, c)] = sum(p * st for p, st in zip(where, strides)) * channels + c
    return values, indices


def reference_unpool(values, indices, size):
    """Take-one placement: the first pooled entry (row-major) naming a position writes it."""
    batch, channels = values.shape[0], values.shape[-1]
    out = np.zeros([batch, int(np.prod(size)) * channels], values.dtype)
    seen = np.zeros(out.shape, bool)
    flat_v, flat_i = values.reshape(batch, -1), indices.reshape(batch, -1)
    for b in range(batch):
        for v, i in zip(flat_v[b], flat_i[b]):
            if not seen[b, i]:
                out[b, i], seen[b, i] = v, True
    return out.reshape([batch, *size, channels])


def with_ties(shape, seed=0):
    """Small integers: many windows hold their maximum twice."""
    return np.random.default_rng(seed).integers(0, 4, size=shape).astype("float32")


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


# ---------------------------------------------------------------------------
# The notes' worked example (Figures 7, 8, 9, 10)
# ---------------------------------------------------------------------------


def test_f1_figures_7_and_10_max_pool_then_unpool():
    x = FIGURE_7_INPUT.reshape(1, 4, 4, 1)
    values, indices = MaxPoolingWithArgmax2D(2)(x)
    np.testing.assert_array_equal(values.numpy()[0, ..., 0], FIGURE_7_POOLED)
    np.testing.assert_array_equal(indices.numpy()[0, ..., 0], [[5, 7], [12, 10]])
    unpooled = MaxUnpooling2D(2)(values, indices)
    np.testing.assert_array_equal(unpooled.numpy()[0, ..., 0], FIGURE_10)


def test_f1_figure_8_nearest_neighbour_is_keras_upsampling():
    up = keras.layers.UpSampling2D(2, interpolation="nearest")
    out = up(FIGURE_7_POOLED.reshape(1, 2, 2, 1)).numpy()[0, ..., 0]
    np.testing.assert_array_equal(
        out, [[6, 6, 8, 8], [6, 6, 8, 8], [4, 4, 8, 8], [4, 4, 8, 8]]
    )


# ---------------------------------------------------------------------------
# Pooling: values equal Keras's, indices equal TensorFlow's
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("size,pool_size,strides,padding", CASES_2D)
def test_pool_2d_matches_tf_and_keras(size, pool_size, strides, padding):
    x = with_ties((2, *size, 3))
    values, indices = MaxPoolingWithArgmax2D(pool_size, strides, padding)(x)
    keras_values = keras.layers.MaxPooling2D(pool_size, strides, padding)(x)
    s = strides if strides is not None else pool_size
    tf_values, tf_indices = tf.nn.max_pool_with_argmax(
        x, pool_size, s, padding.upper(), include_batch_in_index=False
    )
    assert indices.dtype == tf.int64
    np.testing.assert_array_equal(values, keras_values)
    np.testing.assert_array_equal(values, tf_values)
    np.testing.assert_array_equal(indices, tf_indices)  # ties: first max, row-major


@pytest.mark.parametrize(
    "rank,size,pool_size,strides,padding",
    [
        (1, (9,), 2, None, "valid"),
        (1, (9,), 3, 2, "same"),
        (1, (8,), 2, 3, "valid"),
        (3, (5, 4, 5), 2, None, "valid"),
        (3, (5, 4, 5), 2, None, "same"),
        (3, (5, 5, 4), 3, 2, "same"),
    ],
)
def test_pool_1d_3d_match_reference_and_keras(rank, size, pool_size, strides, padding):
    x = with_ties((2, *size, 2), seed=rank)
    values, indices = POOL[rank](pool_size, strides, padding)(x)
    k = (pool_size,) * rank
    s = (strides if strides is not None else pool_size,) * rank
    ref_values, ref_indices = reference_pool(x, k, s, padding)
    np.testing.assert_array_equal(values, ref_values)
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_array_equal(values, KERAS_POOL[rank](pool_size, strides, padding)(x))


def test_pool_ties_pick_first_in_row_major_window_order():
    x = np.array([[0, 5], [5, 5]], "float32").reshape(1, 2, 2, 1)
    _, indices = MaxPoolingWithArgmax2D(2)(x)
    assert int(indices[0, 0, 0, 0]) == 1  # (0, 1), not (1, 0) or (1, 1)
    x = np.full((1, 3, 3, 1), 7.0, "float32")  # "same": padding never wins
    _, indices = MaxPoolingWithArgmax2D(2, padding="same")(x)
    np.testing.assert_array_equal(indices[0, ..., 0], [[0, 2], [6, 8]])


def test_pool_all_minus_infinity_window_points_inside_the_image():
    x = np.full((1, 3, 3, 1), -np.inf, "float32")
    _, indices = MaxPoolingWithArgmax2D(2, padding="same")(x)
    _, tf_indices = tf.nn.max_pool_with_argmax(x, 2, 2, "SAME")
    np.testing.assert_array_equal(indices, tf_indices)


# ---------------------------------------------------------------------------
# Unpooling
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("size,pool_size,strides,padding", CASES_2D)
def test_unpool_2d_places_each_value_at_its_index(size, pool_size, strides, padding):
    x = with_ties((2, *size, 3), seed=1)
    s = strides if strides is not None else pool_size
    # Indices straight from TensorFlow's op, as Addons-era code has them.
    values, indices = tf.nn.max_pool_with_argmax(x, pool_size, s, padding.upper())
    out = MaxUnpooling2D(pool_size, strides, padding)(values, indices, output_size=size)
    np.testing.assert_array_equal(out, reference_unpool(values.numpy(), indices.numpy(), size))
    # Non-overlapping windows: every pooled maximum is back where it was.
    if all(a >= b for a, b in zip(np.broadcast_to(s, 2), np.broadcast_to(pool_size, 2))):
        kept = out.numpy() != 0
        np.testing.assert_array_equal(out.numpy()[kept], x[kept])


@pytest.mark.parametrize(
    "rank,size,pool_size,strides,padding",
    [
        (1, (9,), 2, None, "valid"),
        (1, (9,), 3, 2, "same"),
        (3, (5, 4, 5), 2, None, "same"),
        (3, (5, 5, 4), 3, 2, "valid"),
        (3, (4, 6, 5), (1, 2, 3), (1, 2, 3), "same"),
    ],
)
def test_unpool_1d_3d_match_reference(rank, size, pool_size, strides, padding):
    x = with_ties((2, *size, 2), seed=rank + 5)
    values, indices = POOL[rank](pool_size, strides, padding)(x)
    out = UNPOOL[rank](pool_size, strides, padding)(values, indices, output_size=size)
    np.testing.assert_array_equal(out, reference_unpool(values.numpy(), indices.numpy(), size))


def test_unpool_default_output_size():
    x = with_ties((1, 6, 8, 2))
    values, indices = MaxPoolingWithArgmax2D(2)(x)
    assert MaxUnpooling2D(2)(values, indices).shape == (1, 6, 8, 2)
    values, indices = MaxPoolingWithArgmax2D(3, 2)(x[:, :5, :7])
    assert MaxUnpooling2D(3, 2)(values, indices).shape == (1, 5, 7, 2)  # (h-1)*s + k
    values, indices = MaxPoolingWithArgmax2D(2, padding="same")(x)
    assert MaxUnpooling2D(2, padding="same")(values, indices).shape == (1, 6, 8, 2)  # h*s


def test_unpool_overlapping_windows_write_a_shared_maximum_once():
    # 1D, pool 3, stride 1: the 9 at position 2 is the max of three windows.
    x = np.array([1, 2, 9, 3, 4], "float32").reshape(1, 5, 1)
    values, indices = MaxPoolingWithArgmax1D(3, 1)(x)
    np.testing.assert_array_equal(indices[0, :, 0], [2, 2, 2])
    values = tf.constant(values)
    with tf.GradientTape() as tape:
        tape.watch(values)
        out = MaxUnpooling1D(3, 1)(values, indices)
    np.testing.assert_array_equal(out[0, :, 0], [0, 0, 9, 0, 0])  # once, not 27
    # Take-one: the first window writes, so only it receives the gradient.
    grad = tape.gradient(out, values, output_gradients=tf.ones_like(out))
    np.testing.assert_array_equal(grad[0, :, 0], [1, 0, 0])
    # Deterministic: different values sharing a position -> the first one.
    other = MaxUnpooling1D(3, 1)(tf.constant([[[1.0], [2.0], [3.0]]]), indices)
    np.testing.assert_array_equal(other[0, :, 0], [0, 0, 1, 0, 0])


def test_unpool_keeps_inf_and_nan_values_exact():
    x = np.array([[1, 2], [3, 4]], "float32").reshape(1, 2, 2, 1)
    _, indices = MaxPoolingWithArgmax2D(2)(x)
    out = MaxUnpooling2D(2)(tf.constant([[[[np.inf]]]]), indices).numpy()[0, ..., 0]
    np.testing.assert_array_equal(out, [[0, 0], [0, np.inf]])  # no nan leaking in


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_dtypes(dtype):
    x = tf.cast(with_ties((2, 7, 6, 3)), dtype)
    values, indices = MaxPoolingWithArgmax2D(2, dtype=dtype)(x)
    assert values.dtype == dtype and indices.dtype == tf.int64
    np.testing.assert_array_equal(
        tf.cast(values, "float32"), keras.layers.MaxPooling2D(2)(tf.cast(x, "float32"))
    )
    out = MaxUnpooling2D(2, dtype=dtype)(values, indices, output_size=(7, 6))
    assert out.dtype == dtype
    ref = reference_unpool(
        tf.cast(values, "float32").numpy(), indices.numpy(), (7, 6)
    )
    np.testing.assert_array_equal(tf.cast(out, "float32"), ref)
    for pool_size, strides in [(2, None), (3, 2)]:  # scatter path too
        v, i = MaxPoolingWithArgmax2D(pool_size, strides, dtype=dtype)(x)
        out = MaxUnpooling2D(pool_size, strides, dtype=dtype)(v, i, output_size=(7, 6))
        assert out.dtype == dtype


@pytest.mark.parametrize(
    "pool_size,strides,padding", [(2, None, "valid"), (2, None, "same"), (3, 2, "same")]
)
def test_dynamic_shapes_in_tf_function(pool_size, strides, padding):
    pool = MaxPoolingWithArgmax2D(pool_size, strides, padding)
    unpool = MaxUnpooling2D(pool_size, strides, padding)

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def round_trip(x):
        values, indices = pool(x)
        return values, indices, unpool(values, indices, output_size=tf.shape(x)[1:3])

    for size in [(7, 5), (8, 8), (3, 9)]:
        x = with_ties((2, *size, 3), seed=sum(size))
        values, indices, out = round_trip(x)
        s = strides if strides is not None else pool_size
        tf_values, tf_indices = tf.nn.max_pool_with_argmax(x, pool_size, s, padding.upper())
        np.testing.assert_array_equal(values, tf_values)
        np.testing.assert_array_equal(indices, tf_indices)
        np.testing.assert_array_equal(
            out, reference_unpool(values.numpy(), indices.numpy(), size)
        )


@pytest.mark.parametrize("pool_size,strides,padding", [(3, 3, "same")])
def test_xla_fused_kernels_give_identical_results(monkeypatch, pool_size, strides, padding):
    # Large static shapes run the kernels XLA-compiled; force it on small ones.
    x = with_ties((2, 9, 7, 3), seed=3)
    plain = MaxPoolingWithArgmax2D(pool_size, strides, padding)(x)
    plain_out = MaxUnpooling2D(pool_size, strides, padding)(*plain, output_size=(9, 7))
    monkeypatch.setattr(pooling, "XLA_MIN_ELEMENTS", 1)
    fused = MaxPoolingWithArgmax2D(pool_size, strides, padding)(x)
    fused_out = MaxUnpooling2D(pool_size, strides, padding)(*fused, output_size=(9, 7))
    for a, b in zip(plain + (plain_out,), fused + (fused_out,)):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("size,pool_size,strides,padding", CASES_2D)
def test_pool_gradient_is_the_max_pool_backward(size, pool_size, strides, padding):
    from mpkeras.ops import max_pool2d_backward

    x = tf.constant(with_ties((2, *size, 3), seed=2))
    upstream = None
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        values, _ = MaxPoolingWithArgmax2D(pool_size, strides, padding)(x)
        keras_values = keras.layers.MaxPooling2D(pool_size, strides, padding)(x)
    upstream = tf.constant(np.random.default_rng(0).normal(size=values.shape), tf.float32)
    grad = tape.gradient(values, x, output_gradients=upstream)
    expected = max_pool2d_backward(x, upstream, pool_size, strides, padding)
    np.testing.assert_allclose(grad, expected, atol=1e-6)
    np.testing.assert_allclose(
        grad, tape.gradient(keras_values, x, output_gradients=upstream), atol=1e-6
    )


@pytest.mark.parametrize("size,pool_size,strides,padding", CASES_2D)
def test_unpool_of_upstream_at_argmax_is_the_max_pool_backward(size, pool_size, strides, padding):
    # Unpooling is max pooling's backward pass (non-overlapping windows; with
    # overlaps the backward sums where unpooling writes once).
    s = np.broadcast_to(strides if strides is not None else pool_size, 2)
    if any(s < np.broadcast_to(pool_size, 2)):
        pytest.skip("overlapping windows: backward sums, unpooling takes one")
    from mpkeras.ops import max_pool2d_backward

    x = with_ties((2, *size, 3), seed=4)
    values, indices = MaxPoolingWithArgmax2D(pool_size, strides, padding)(x)
    upstream = np.random.default_rng(1).normal(size=values.shape).astype("float32")
    out = MaxUnpooling2D(pool_size, strides, padding)(upstream, indices, output_size=size)
    expected = max_pool2d_backward(x, upstream, pool_size, strides, padding)
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("pool_size,strides", [(2, None), (3, 2)])
def test_unpool_gradient_reads_upstream_at_each_index(rank, pool_size, strides):
    size = {1: (9,), 2: (7, 6), 3: (5, 4, 5)}[rank]
    x = np.random.default_rng(rank).normal(size=(2, *size, 2)).astype("float32")
    values, indices = POOL[rank](pool_size, strides)(x)
    values = tf.constant(values)
    upstream = np.random.default_rng(9).normal(size=x.shape).astype("float32")
    with tf.GradientTape() as tape:
        tape.watch(values)
        out = UNPOOL[rank](pool_size, strides)(values, indices, output_size=size)
    grad = tape.gradient(out, values, output_gradients=tf.constant(upstream))
    # A gather; where overlapping windows share a maximum only the first
    # (which wrote it) gets the gradient.
    flat = indices.numpy().reshape(2, -1)
    first = np.zeros(flat.shape, bool)
    for b in range(2):
        first[b, np.unique(flat[b], return_index=True)[1]] = True
    expected = np.where(
        first, np.take_along_axis(upstream.reshape(2, -1), flat, axis=1), 0
    ).reshape(values.shape)
    np.testing.assert_array_equal(grad, expected)


# ---------------------------------------------------------------------------
# Keras contract: config, functional model, .keras round trip, training
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_config_round_trip_and_output_shapes(rank):
    pool = POOL[rank](pool_size=3, strides=2, padding="same", name="p")
    unpool = UNPOOL[rank].from_config(
        UNPOOL[rank](pool_size=3, strides=2, padding="same").get_config()
    )
    config = pool.get_config()
    assert config["pool_size"] == (3,) * rank and config["strides"] == (2,) * rank
    assert config["padding"] == "same"
    clone = POOL[rank].from_config(config)
    assert clone.get_config() == config
    size = (7, 6, 5)[:rank]
    inputs = keras.Input((*size, 4))
    values, indices = clone(inputs)
    pooled = tuple(-(-n // 2) for n in size)
    assert values.shape == (None, *pooled, 4) and indices.shape == (None, *pooled, 4)
    assert indices.dtype == "int64"
    assert pool.compute_output_shape((None, *size, 4)) == ((None, *pooled, 4),) * 2
    assert unpool(values, indices, output_size=size).shape == (None, *size, 4)
    assert unpool(values, indices).shape == (None, *(2 * p for p in pooled), 4)


def test_segnet_style_functional_model_saves_and_trains(tmp_path):
    inputs = keras.Input((7, 9, 2))
    features = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    values, indices = MaxPoolingWithArgmax2D(2, name="pool")(features)
    decoded = keras.layers.Conv2D(4, 1)(values)
    unpooled = MaxUnpooling2D(2, name="unpool")(decoded, indices, output_size=(7, 9))
    outputs = keras.layers.Conv2D(1, 1)(unpooled)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).normal(size=(4, 7, 9, 2)).astype("float32")
    model.compile("sgd", "mse")
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(x, x[..., :1], epochs=1, batch_size=4, verbose=0)
    assert any(
        not np.array_equal(a, b.numpy()) for a, b in zip(before, model.trainable_weights)
    )
    path = tmp_path / "segnet.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(loaded.get_layer("unpool"), MaxUnpooling2D)


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
    x = with_ties((1, 4, 4, 2))
    values, indices = MaxPoolingWithArgmax2D(2)(x)
    unpool = MaxUnpooling2D(2)
    with pytest.raises(ValueError, match="`values` and `indices`"):
        unpool(values, indices[:, :1])
    with pytest.raises(ValueError, match="`indices`"):
        unpool(values, tf.cast(indices, "float32"))
    with pytest.raises(ValueError, match="`output_size`"):
        unpool(values, indices, output_size=(2, 2))  # too small for 2x2 pooled values
    with pytest.raises(ValueError, match="`indices`"):
        unpool(values, indices + 1000, output_size=(4, 4))  # indices beyond output_size
    with pytest.raises(ValueError, match="`output_size`"):
        unpool(values, indices, output_size=(4, -4))
    with pytest.raises(ValueError, match="`values`"):
        unpool(values[0], indices[0])  # rank 3 for a 2D layer
    with pytest.raises(ValueError, match="`values`"):
        unpool(keras.Input((4, 4)), keras.Input((4, 4), dtype="int64"))
    with pytest.raises(ValueError):
        MaxPoolingWithArgmax2D(2)(x[0])  # rank 3 for a 2D layer
    with pytest.raises(ValueError, match="pool size"):
        MaxPoolingWithArgmax2D(5)(x)  # "valid" window larger than the image
