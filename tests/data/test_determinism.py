"""Every offline builder prepares to the same data twice (fresh data dirs)."""

import hashlib
import os

import numpy as np
import pytest

import mpkeras.data as data

CONFIGS = [
    "toy2d/xor",
    "toy2d/blobs",
    "digits",
    "sprites/small",
    "shapes",
    "adding/t10",
    "copy/t10",
]


def _shard_digests(path):
    digests = {}
    for name in sorted(os.listdir(path)):
        if ".tfrecord" in name:
            with open(os.path.join(path, name), "rb") as f:
                digests[name] = hashlib.sha256(f.read()).hexdigest()
    return digests


@pytest.mark.parametrize("name", CONFIGS)
def test_two_prepares_give_identical_data(name, data_dir, fresh_data_dir):
    first = data.prepare(name, data_dir=data_dir)
    second = data.prepare(name, data_dir=fresh_data_dir)
    assert first != second
    digests = _shard_digests(first)
    assert digests, f"no shards in {first}"
    assert digests == _shard_digests(second)
    x1, y1 = data.load_arrays(name, data_dir=data_dir)
    x2, y2 = data.load_arrays(name, data_dir=fresh_data_dir)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
