"""adding and copy: the targets really are the sums / the copied symbols."""

import numpy as np
import pytest

import mpkeras.data as data
from mpkeras.data.builders import _sequence, adding, copy


def test_adding_target_is_sum_of_the_two_marked_values(data_dir):
    x, y = data.load_arrays("adding/t10", split="validation", data_dir=data_dir)
    assert x.shape == (1000, 10, 2) and x.dtype == np.float32
    assert y.shape == (1000,) and y.dtype == np.float32
    values, markers = x[..., 0], x[..., 1]
    assert np.all(markers.sum(axis=1) == 2)
    # One mark in each half.
    assert np.all(markers[:, :5].sum(axis=1) == 1)
    np.testing.assert_allclose(y, (values * markers).sum(axis=1), rtol=1e-6, atol=1e-6)
    assert values.min() >= 0.0 and values.max() <= 1.0


@pytest.mark.parametrize("length", [10, 50, 100, 200])
def test_adding_generator_for_every_length(length):
    values, markers, targets = adding.adding_arrays(length, "test")
    assert values.shape == (1000, length)
    np.testing.assert_allclose(targets, (values * markers).sum(axis=1), rtol=1e-6)
    # Constant prediction 1 has MSE close to the stated baseline 1/6.
    np.testing.assert_allclose(np.mean((targets - 1.0) ** 2), adding.BASELINE_MSE, atol=0.02)


def test_copy_targets_repeat_the_symbols_after_the_delay(data_dir):
    x, y = data.load_arrays("copy/t10", split="test", data_dir=data_dir)
    n, length = 1000, 10 + 2 * copy.NUM_SYMBOLS
    assert x.shape == (n, length, copy.NUM_TOKENS) and x.dtype == np.float32
    assert y.shape == (n, length) and y.dtype == np.int32
    np.testing.assert_array_equal(x.sum(axis=-1), 1.0)  # one-hot
    tokens = x.argmax(axis=-1)
    symbols = tokens[:, : copy.NUM_SYMBOLS]
    assert symbols.min() >= 1 and symbols.max() <= copy.NUM_CATEGORIES
    np.testing.assert_array_equal(y[:, -copy.NUM_SYMBOLS :], symbols)
    assert np.all(y[:, : -copy.NUM_SYMBOLS] == copy.BLANK)
    assert np.all(tokens[:, copy.NUM_SYMBOLS + 10 - 1] == copy.DELIMITER)
    # Everything but the symbols and the delimiter is blank.
    assert np.all((tokens == copy.BLANK).sum(axis=1) == length - copy.NUM_SYMBOLS - 1)


def test_sequence_split_sizes(data_dir):
    info = data.info("adding/t10", data_dir=data_dir, prepare=True)
    for split, n in _sequence.SPLIT_SIZES.items():
        assert info.splits[split].num_examples == n
    assert info.metadata["sequence_length"] == 10


def test_sequence_batches(data_dir):
    x, y = next(iter(data.load("adding/t10", batch_size=16, data_dir=data_dir)))
    assert tuple(x.shape) == (16, 10, 2) and tuple(y.shape) == (16,)
