"""Remote TFDS names through load() (mocked), and failing fast without them."""

import json
import os
import socket
import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

import mpkeras.data as data
from mpkeras.data import remote


@pytest.mark.parametrize(
    "name, task, input_shape, target_shape, target_dtype",
    [
        ("mnist", None, (28, 28, 1), (), "int64"),
        ("fashion_mnist", "denoising", (28, 28, 1), (28, 28, 1), "float32"),
        ("binarized_mnist", None, (28, 28, 1), (28, 28, 1), "float32"),
        ("dsprites", "factors", (64, 64, 1), (5,), "int64"),
        ("dsprites", "classification", (64, 64, 1), (), "int64"),
        ("oxford_iiit_pet", None, (128, 128, 3), (128, 128), "int32"),
        ("oxford_iiit_pet", "classification", (128, 128, 3), (), "int64"),
    ],
)
def test_remote_images_with_mock_data(
    name, task, input_shape, target_shape, target_dtype, fresh_data_dir
):
    with tfds.testing.mock_data(num_examples=6):
        dataset = data.load(name, batch_size=4, task=task, data_dir=fresh_data_dir)
        batches = [(np.asarray(x), np.asarray(y)) for x, y in dataset]
    assert [len(x) for x, _ in batches] == [4, 2]
    x, y = batches[0]
    assert x.shape[1:] == input_shape and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert y.shape[1:] == target_shape and y.dtype == np.dtype(target_dtype)


def test_imdb_reviews_with_mock_data(fresh_data_dir):
    with tfds.testing.mock_data(num_examples=3):
        x, y = next(iter(data.load("imdb_reviews", batch_size=3, data_dir=fresh_data_dir)))
    assert x.dtype.name == "string" and tuple(x.shape) == (3,)
    assert y.dtype.name == "int64"


def test_remote_task_it_cannot_serve(fresh_data_dir):
    with pytest.raises(ValueError, match=r"'imdb_reviews' cannot serve task 'reconstruction'"):
        data.load("imdb_reviews", task="reconstruction", data_dir=fresh_data_dir)


def test_unreachable_remote_fails_fast_with_instructions(fresh_data_dir, monkeypatch):
    probed = []

    def unreachable(host, port=443, timeout=remote.PROBE_TIMEOUT_SECONDS):
        probed.append(host)
        return False

    monkeypatch.setattr(remote, "host_reachable", unreachable)
    start = time.perf_counter()
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.load("fashion_mnist", data_dir=fresh_data_dir)
    assert time.perf_counter() - start < 15
    message = str(err.value)
    assert "'fashion_mnist'" in message and fresh_data_dir in message
    assert "mpkeras prepare fashion_mnist" in message and "copy" in message
    assert "Offline alternative: digits" in message
    assert probed == list(remote.DOWNLOAD_HOSTS["fashion_mnist"])
    assert isinstance(err.value, RuntimeError)


def test_download_false_never_probes(fresh_data_dir, monkeypatch):
    monkeypatch.setattr(remote, "host_reachable", lambda *a, **k: pytest.fail("probed"))
    with pytest.raises(data.DatasetUnavailableError, match="mnist"):
        data.load("mnist", data_dir=fresh_data_dir, download=False)


def test_host_probe_is_quick_and_correct():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        assert remote.host_reachable("127.0.0.1", port, timeout=1.0)
    finally:
        server.close()
    start = time.perf_counter()
    assert not remote.host_reachable("127.0.0.1", port, timeout=1.0)
    assert not remote.host_reachable("host.invalid", 443, timeout=1.0)
    assert time.perf_counter() - start < 5


def _prepared_copy(fresh_data_dir):
    path = data.prepare("toy2d/blobs", data_dir=fresh_data_dir)
    shards = sorted(f for f in os.listdir(path) if "train.tfrecord" in f)
    return path, os.path.join(path, shards[0])


def test_truncated_shard_is_reported_as_corrupted(fresh_data_dir):
    path, shard = _prepared_copy(fresh_data_dir)
    with open(shard, "r+b") as f:
        f.truncate(os.path.getsize(shard) // 2)
    expected = r"corrupted.*mpkeras prepare toy2d/blobs --force"
    with pytest.raises(data.DatasetUnavailableError, match=expected):
        data.load("toy2d/blobs", data_dir=fresh_data_dir)
    data.prepare("toy2d/blobs", force=True, data_dir=fresh_data_dir)
    x, _ = data.load_arrays("toy2d/blobs", data_dir=fresh_data_dir)
    assert x.shape == (200, 2)


def test_broken_dataset_info_is_reported_as_corrupted(fresh_data_dir):
    path, _ = _prepared_copy(fresh_data_dir)
    with open(os.path.join(path, "dataset_info.json"), "w") as f:
        f.write("{not json")
    with pytest.raises(data.DatasetUnavailableError, match=r"--force"):
        data.load("toy2d/blobs", data_dir=fresh_data_dir)
    data.prepare("toy2d/blobs", force=True, data_dir=fresh_data_dir)
    with open(os.path.join(path, "dataset_info.json")) as f:
        assert json.load(f)["name"] == "toy2d"


def test_missing_shard_is_reported_as_corrupted(fresh_data_dir):
    _, shard = _prepared_copy(fresh_data_dir)
    os.remove(shard)
    with pytest.raises(data.DatasetUnavailableError, match="missing file"):
        data.load_arrays("toy2d/blobs", data_dir=fresh_data_dir)
