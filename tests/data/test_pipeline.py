"""load(): tasks, options, seeded per-epoch shuffling, pipeline shape, bad input."""

import numpy as np
import pytest

import mpkeras.data as data


def _batches(dataset):
    return [(np.asarray(x), np.asarray(y)) for x, y in dataset]


def _stack(dataset):
    xs, ys = zip(*_batches(dataset))
    return np.concatenate(xs), np.concatenate(ys)


def test_classification_default_task(data_dir):
    x, y = next(iter(data.load("digits", batch_size=32, data_dir=data_dir)))
    assert tuple(x.shape) == (32, 8, 8, 1) and x.dtype.name == "float32"
    assert tuple(y.shape) == (32,) and y.dtype.name == "int64"


def test_reconstruction_targets_are_inputs(data_dir):
    x, y = _stack(data.load("digits", "test", 64, task="reconstruction", data_dir=data_dir))
    np.testing.assert_array_equal(x, y)
    clean, _ = data.load_arrays("digits", split="test", data_dir=data_dir)
    np.testing.assert_array_equal(y, clean)


def test_denoising_adds_clipped_gaussian_noise(data_dir):
    x, y = _stack(
        data.load("digits", "test", 64, task="denoising", noise_level=0.2, data_dir=data_dir)
    )
    assert x.shape == y.shape and 0.0 <= x.min() and x.max() <= 1.0
    interior = (y > 0.3) & (y < 0.7)  # away from the clipping bounds
    np.testing.assert_allclose((x - y)[interior].std(), 0.2, rtol=0.1)
    np.testing.assert_allclose((x - y)[interior].mean(), 0.0, atol=0.02)


def test_denoising_binary_flips_pixels(data_dir):
    x, y = _stack(
        data.load(
            "sprites/small",
            task="denoising",
            noise_level=0.1,
            shuffle=False,
            batch_size=256,
            data_dir=data_dir,
        )
    )
    assert set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_allclose((x != y).mean(), 0.1, atol=0.005)


def test_inpainting_zeroes_one_square_hole(data_dir):
    x, y = _stack(
        data.load("shapes", "test", 50, task="inpainting", hole_size=16, data_dir=data_dir)
    )
    for masked, clean in zip(x, y):
        rows, cols = np.nonzero(np.any(masked != clean, axis=-1))
        assert rows.max() - rows.min() < 16 and cols.max() - cols.min() < 16
        assert np.all(masked[rows, cols] == 0.0)
        # The hole is the only difference and covers a 16x16 square.
        assert np.sum(np.all(masked == 0.0, axis=-1)) >= 16 * 16 - 1


def test_static_binarization_is_fixed_dynamic_resamples(data_dir):
    static = data.load("digits", batch_size=2000, binarize="static", seed=3, data_dir=data_dir)
    dynamic = data.load("digits", batch_size=2000, binarize="dynamic", seed=3, data_dir=data_dir)
    clean, _ = data.load_arrays("digits", data_dir=data_dir)
    s0, d0 = _stack(static)[0], _stack(dynamic)[0]  # pass 0
    s1, d1 = _stack(static)[0], _stack(dynamic)[0]  # pass 1
    for arr in (s0, s1, d0, d1):
        assert set(np.unique(arr)) <= {0.0, 1.0}
        # Bernoulli(p) samples: the mean matches the grey level's mean.
        np.testing.assert_allclose(arr.mean(), clean.mean(), atol=0.01)
    # The shuffle order changed between passes; compare as sorted sets of rows.
    key = lambda a: np.sort(a.reshape(len(a), -1).sum(axis=1))  # noqa: E731
    np.testing.assert_array_equal(key(s0), key(s1))
    assert np.any(key(d0) != key(d1))


def test_binarize_rejects_unknown_mode(data_dir):
    with pytest.raises(ValueError, match="binarize"):
        data.load("digits", binarize="always", data_dir=data_dir)


def test_train_shuffles_per_pass_reproducibly(data_dir, epoch_zero):
    stored, _ = data.load_arrays("toy2d/blobs", data_dir=data_dir)

    def load(seed):
        return data.load("toy2d/blobs", batch_size=50, seed=seed, data_dir=data_dir)

    first = load(7)
    a0 = _stack(first)[0]
    assert not np.array_equal(a0, stored)
    np.testing.assert_array_equal(np.sort(a0, axis=0), np.sort(stored, axis=0))
    a1 = _stack(first)[0]  # the next pass: a new order
    assert not np.array_equal(a1, a0)
    np.testing.assert_array_equal(np.sort(a1, axis=0), np.sort(stored, axis=0))
    again = load(7)  # a fresh pipeline counts from pass 0 again
    np.testing.assert_array_equal(_stack(again)[0], a0)
    np.testing.assert_array_equal(_stack(again)[0], a1)
    assert not np.array_equal(_stack(load(8))[0], a0)
    # set_epoch moves every live training dataset to a pass (resumed runs).
    epoch_zero.set_epoch(1)
    np.testing.assert_array_equal(_stack(first)[0], a1)
    np.testing.assert_array_equal(_stack(again)[0], a1)
    epoch_zero.set_epoch(0)
    np.testing.assert_array_equal(_stack(first)[0], a0)


def test_evaluation_splits_are_not_shuffled(data_dir):
    stored, _ = data.load_arrays("toy2d/blobs", split="test", data_dir=data_dir)
    x, _ = _stack(data.load("toy2d/blobs", "test", 16, data_dir=data_dir))
    np.testing.assert_array_equal(x, stored)


def _graph(dataset):
    from tensorflow.core.framework import graph_pb2

    graph = graph_pb2.GraphDef()
    graph.ParseFromString(dataset._as_serialized_graph().numpy())
    # Nodes are in topological order: source first, output last.
    return graph, [node.op for node in graph.node if "Dataset" in node.op]


def _one_pass_ops(graph):
    (one_pass,) = [f for f in graph.library.function if "one_pass" in f.signature.name]
    return [n.op for n in one_pass.node_def]


def test_pipeline_order_and_cardinality(data_dir):
    # A training split that fits in memory: cached whole, batches gathered.
    dataset = data.load("digits", batch_size=100, data_dir=data_dir)
    assert int(dataset.cardinality()) == 13  # ceil(1257 / 100)
    graph, ops = _graph(dataset)
    assert "ParallelMapDatasetV2" in ops[: ops.index("BatchDatasetV2")]  # the per-example map
    whole = ops.index("BatchDatasetV2")  # the split as one batch, then cached
    assert ops[whole + 1] == "CacheDatasetV2"
    per_pass = ops.index("FlatMapDataset", whole)  # shuffling.per_pass's flat_map
    after = ops.index("ParallelMapDatasetV2", per_pass)  # gather and per-batch map
    assert ops.index("ZipDataset", whole) < after
    assert ops[-1] == "PrefetchDataset"
    # Inside the flat_map: the pass index, read and incremented once per
    # pass from the dataset's own counter, seeds a shuffle of positions.
    inner = _one_pass_ops(graph)
    assert "AssignAddVariableOp" in inner
    assert inner.index("RangeDataset") < inner.index("ShuffleDatasetV3")
    assert "ZipDataset" not in inner  # classification draws nothing from the pass index
    assert "ZipDataset" in _one_pass_ops(
        _graph(data.load("digits", task="denoising", data_dir=data_dir))[0]
    )


def test_streamed_pipeline_order(data_dir):
    # Not cached in memory: cache -> per-pass shuffle of examples -> batch -> map.
    dataset = data.load("digits", batch_size=100, cache=False, data_dir=data_dir)
    assert int(dataset.cardinality()) == 13
    graph, ops = _graph(dataset)
    per_pass = ops.index("FlatMapDataset", ops.index("ParallelMapDatasetV2") + 1)
    batch = ops.index("ParallelBatchDataset", per_pass)
    after_batch = ops.index("ParallelMapDatasetV2", batch)
    assert per_pass < batch < after_batch
    assert ops[-1] == "PrefetchDataset"
    inner = _one_pass_ops(graph)
    assert "AssignAddVariableOp" in inner
    assert inner.index("ShuffleDatasetV3") < inner.index("ZipDataset")


@pytest.mark.parametrize(
    "name, options",
    [
        ("digits", {}),
        ("digits", {"task": "denoising"}),
        ("digits", {"binarize": "dynamic", "drop_remainder": True, "batch_size": 50}),
        ("digits", {"shuffle_buffer": 100}),
        ("toy2d/xor", {}),  # one batch a pass
    ],
)
def test_gathered_batches_are_the_streamed_ones(data_dir, name, options):
    # Held in memory or streamed from the cache, a training split gives the
    # same batches, pass after pass: same order, same noise.
    options = {"batch_size": 32, **options}
    gathered = data.load(name, seed=5, data_dir=data_dir, **options)
    streamed = data.load(name, seed=5, cache=False, data_dir=data_dir, **options)
    assert gathered.element_spec == streamed.element_spec
    for _ in range(3):
        a, b = _batches(gathered), _batches(streamed)
        assert len(a) == len(b) == int(gathered.cardinality())
        for (xa, ya), (xb, yb) in zip(a, b):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)


@pytest.mark.parametrize("name", ["digits", "toy2d/xor"])
def test_gathered_split_is_read_once(data_dir, monkeypatch, name):
    # The whole-split cache is finished by the first pass (also when a pass
    # is a single batch), so later passes do not decode the source again.
    import tensorflow as tf

    from mpkeras.data import tasks

    reads = []
    element_fn = tasks.element_fn

    def counting(*args, **kwargs):
        fn = element_fn(*args, **kwargs)

        def counted(index, example):
            count = tf.py_function(lambda: reads.append(1) or 0, [], tf.int32)
            with tf.control_dependencies([count]):
                return tf.nest.map_structure(tf.identity, fn(index, example))

        return counted

    monkeypatch.setattr(tasks, "element_fn", counting)
    dataset = data.load(name, data_dir=data_dir)
    n = len(data.load_arrays(name, data_dir=data_dir)[0])
    reads.clear()
    for _ in range(3):
        _batches(dataset)
    assert len(reads) == n


def test_augment_runs_on_batches_after_cache(data_dir):
    calls = []

    def flip(x, y):
        calls.append(x.shape.rank)
        return x[:, :, ::-1, :], y

    x, _ = next(iter(data.load("digits", "test", 10, augment=flip, data_dir=data_dir)))
    clean, _ = data.load_arrays("digits", split="test", data_dir=data_dir)
    np.testing.assert_array_equal(np.asarray(x), clean[:10, :, ::-1, :])
    assert calls == [4]


def test_image_size_resizes(data_dir):
    x, _ = next(iter(data.load("digits", batch_size=4, image_size=(16, 16), data_dir=data_dir)))
    assert tuple(x.shape) == (4, 16, 16, 1)


@pytest.mark.parametrize("batch_size", [0, -1, 1.5, True, "8"])
def test_bad_batch_size(data_dir, batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        data.load("toy2d/xor", batch_size=batch_size, data_dir=data_dir)


def test_bad_split_task_and_name(data_dir):
    with pytest.raises(ValueError, match=r"Unknown split 'dev'.*train, validation, test"):
        data.load("digits", split="dev", data_dir=data_dir)
    with pytest.raises(ValueError, match=r"Unknown task 'clustering'"):
        data.load("digits", task="clustering", data_dir=data_dir)
    with pytest.raises(ValueError, match=r"'digits' cannot serve task 'segmentation'"):
        data.load("digits", task="segmentation", data_dir=data_dir)
    with pytest.raises(ValueError, match=r"Unknown dataset 'cifar10'.*digits.*toy2d/xor"):
        data.load("cifar10", data_dir=data_dir)
    with pytest.raises(ValueError, match="image datasets"):
        data.load("toy2d/xor", binarize="static", data_dir=data_dir)


def test_load_arrays_whole_split(data_dir):
    x, y = data.load_arrays("toy2d/blobs", split="validation", data_dir=data_dir)
    assert x.shape == (100, 2) and y.shape == (100,)


def test_train_order_ignores_the_global_seed(data_dir, epoch_zero):
    # Runs call keras.utils.set_random_seed(seed) first (0 included); the
    # order must still be a function of load()'s seed and the epoch only.
    import keras

    orders = []
    try:
        for global_seed in (0, 5):
            keras.utils.set_random_seed(global_seed)
            dataset = data.load("toy2d/blobs", batch_size=50, seed=1, data_dir=data_dir)
            orders.append(_stack(dataset)[0])
    finally:
        keras.utils.set_random_seed(12345)
    np.testing.assert_array_equal(orders[0], orders[1])
