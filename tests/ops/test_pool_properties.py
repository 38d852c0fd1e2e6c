"""Property tests: argmax pooling and unpooling against NumPy references (hypothesis).

Random rank 1-3, sizes 1..40, pool sizes and strides 1..4 (overlapping
windows, gaps, both paddings), values with and without ties, indices from a
pooling and arbitrary in-range ones; eagerly, in a tf.function of unknown
sizes and in a functional model. Kept to a few seconds: few examples, and the
graph-mode tests trace once per geometry (sizes are dynamic, so the drawn
sizes and indices do not retrace).
"""

import keras
import numpy as np
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from mpkeras.ops import max_pool_with_argmax, max_unpool

# No example database: a test run leaves no files behind.
SETTINGS = settings(max_examples=25, deadline=None, database=None)
MAX_ELEMENTS = 6000  # per image: keeps every example a few milliseconds


def np_pool(x, k, s, padding):
    """NumPy reference: (values, indices) with TensorFlow's SAME padding and tie rule."""
    _, *spatial, channels = x.shape
    rank = len(spatial)
    if padding == "valid":
        out = [(n - kk) // ss + 1 for n, kk, ss in zip(spatial, k, s)]
    else:
        out = [-(-n // ss) for n, ss in zip(spatial, s)]
    total = [max((o - 1) * ss + kk - n, 0) for o, n, kk, ss in zip(out, spatial, k, s)]
    before = [t // 2 for t in total]
    padded = np.pad(
        x,
        [(0, 0)] + [(b, t - b) for b, t in zip(before, total)] + [(0, 0)],
        constant_values=-np.inf,
    )
    windows = sliding_window_view(padded, k, axis=tuple(range(1, rank + 1)))
    windows = windows[(slice(None),) + tuple(slice(None, o * ss, ss) for o, ss in zip(out, s))]
    flat = windows.reshape(*windows.shape[: rank + 2], -1)  # (batch, *out, C, cells)
    first = flat.argmax(axis=-1)  # the first maximum in row-major window order
    cell = np.unravel_index(first, k)
    coords = [
        np.arange(o).reshape([1] * (d + 1) + [-1] + [1] * (rank - d)) * ss - b + cell[d]
        for d, (o, ss, b) in enumerate(zip(out, s, before))
    ]
    position = np.ravel_multi_index(coords, spatial)
    indices = position * channels + np.arange(channels)
    return flat.max(axis=-1), indices.astype(np.int64)


def np_unpool(values, indices, size):
    """NumPy reference: out[b, p] = the first values[b, j] (row-major) with indices[b, j] = p."""
    batch, channels = values.shape[0], values.shape[-1]
    out = np.zeros((batch, int(np.prod(size)) * channels), values.dtype)
    v, i = values.reshape(batch, -1)[:, ::-1], indices.reshape(batch, -1)[:, ::-1]
    for b in range(batch):
        out[b, i[b]] = v[b]  # the last assignment wins: reversed, the first entry
    return out.reshape((batch, *size, channels))


@st.composite
def geometries(draw, rank=None):
    rank = rank or draw(st.integers(1, 3))
    k = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    s = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    padding = draw(st.sampled_from(["valid", "same"]))
    return k, s, padding


@st.composite
def sizes(draw, k, padding):
    channels = draw(st.integers(1, 3))
    size, budget = [], MAX_ELEMENTS // channels
    for d, kk in enumerate(k):
        low = kk if padding == "valid" else 1
        remaining = len(k) - d - 1
        high = min(40, budget // int(np.prod(size, dtype=int)) // (4**remaining))
        size.append(draw(st.integers(low, max(low, high))))
    return draw(st.integers(1, 2)), tuple(size), channels


@st.composite
def examples(draw):
    k, s, padding = draw(geometries())
    batch, size, channels = draw(sizes(k, padding))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = (batch, *size, channels)
    if draw(st.booleans()):
        x = rng.integers(0, 3, size=shape).astype("float32")  # ties everywhere
    else:
        x = rng.normal(size=shape).astype("float32")
    return x, k, s, padding, rng


@SETTINGS
@given(examples())
def test_pooling_matches_the_numpy_reference(example):
    x, k, s, padding, _ = example
    values, indices = max_pool_with_argmax(x, k, s, padding)
    ref_values, ref_indices = np_pool(x, k, s, padding)
    np.testing.assert_array_equal(values, ref_values)
    np.testing.assert_array_equal(indices, ref_indices)


@SETTINGS
@given(examples(), st.sampled_from(["pooled", "arbitrary", "mixed", "nudged"]))
def test_unpooling_matches_the_numpy_scatter(example, kind):
    x, k, s, padding, rng = example
    size = x.shape[1:-1]
    values, indices = np_pool(x, k, s, padding)
    if kind == "nudged":
        # A few indices moved by one position along one axis: just outside
        # (or still inside) their window, where an off-by-one would show.
        strides = [int(np.prod(size[d + 1 :], dtype=int)) * x.shape[-1] for d in range(len(size))]
        step = rng.choice(strides, size=indices.shape) * rng.choice([-1, 1], size=indices.shape)
        moved = np.clip(indices + step, 0, x[0].size - 1)
        indices = np.where(rng.random(indices.shape) < 0.2, moved, indices)
    elif kind != "pooled":
        arbitrary = rng.integers(0, x[0].size, size=indices.shape)
        keep = rng.random(indices.shape) < (0.0 if kind == "arbitrary" else 0.9)
        indices = np.where(keep, indices, arbitrary)
    out = max_unpool(values, indices, k, s, padding, output_size=size)
    np.testing.assert_array_equal(out, np_unpool(values, indices, size))


# Graph modes: one traced function per geometry, shapes left unknown.
GRAPH_GEOMETRIES = [
    ((3,), (1,), "same"),
    ((2, 2), (2, 2), "same"),
    ((2, 3), (3, 1), "valid"),
    ((3, 1, 2), (2, 1, 3), "same"),
]
_GRAPHS = {}


def _graph(geometry):
    if geometry not in _GRAPHS:
        k, s, padding = geometry
        spec = tf.TensorSpec([None] * (len(k) + 2), tf.float32)

        @tf.function(input_signature=[spec, tf.TensorSpec(spec.shape, tf.int64), spec])
        def unpool_graph(values, indices, like):
            return max_unpool(values, indices, k, s, padding, output_size=like)

        inputs = keras.Input([None] * len(k) + [None])
        pooled, argmax = max_pool_with_argmax(inputs, k, s, padding)
        model = keras.Model(
            inputs, [pooled, argmax, max_unpool(pooled, argmax, k, s, padding, output_size=inputs)]
        )
        _GRAPHS[geometry] = unpool_graph, model
    return _GRAPHS[geometry]


@settings(max_examples=15, deadline=None, database=None)
@given(st.sampled_from(GRAPH_GEOMETRIES), st.data())
def test_graph_and_functional_model_match_the_references(geometry, data):
    k, s, padding = geometry
    batch, size, channels = data.draw(sizes(k, padding))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(0, 3, size=(batch, *size, channels)).astype("float32")
    unpool_graph, model = _graph(geometry)
    ref_values, ref_indices = np_pool(x, k, s, padding)
    values, indices, unpooled = model(x)
    np.testing.assert_array_equal(values, ref_values)
    np.testing.assert_array_equal(indices, ref_indices)
    np.testing.assert_array_equal(unpooled, np_unpool(ref_values, ref_indices, size))
    arbitrary = rng.integers(0, x[0].size, size=ref_indices.shape)
    out = unpool_graph(ref_values, arbitrary, x)
    np.testing.assert_array_equal(out, np_unpool(ref_values, arbitrary, size))
