"""Preparing a dataset leaves the global random state alone (same seed, same run)."""

import random

import numpy as np

from mpkeras import data


def test_preparing_does_not_consume_global_random_state(tmp_path):
    # Importing TensorFlow may draw from `random`; the runner imports it
    # before seeding, and so does this warm-up.
    data.load("toy2d/xor", data_dir=tmp_path / "warm-up")
    random.seed(123)
    np.random.seed(123)
    expected = (random.random(), np.random.random())
    random.seed(123)
    np.random.seed(123)
    data.load("toy2d/xor", data_dir=tmp_path / "fresh")  # prepares into an empty data dir
    assert (random.random(), np.random.random()) == expected
