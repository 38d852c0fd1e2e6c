"""Training datasets count their own passes: a new order and new noise each epoch.

No callback is needed in a plain script; ``set_epoch`` / ``ShuffleEpoch``
move the pass counters so that a resumed fit sees the uninterrupted fit's data.
"""

import gc
import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
import mpkeras.data as data
from mpkeras.callbacks import ShuffleEpoch
from mpkeras.data import shuffling


class _Recorder(keras.Model):
    """Records the batches fit feeds it, one list per epoch; trains nothing."""

    def __init__(self):
        inputs = keras.Input((8, 8, 1))
        super().__init__(inputs, keras.layers.Flatten()(inputs))
        self.epochs_seen = []

    def train_step(self, batch):
        x, y = batch
        self.epochs_seen[-1].append((np.asarray(x), np.asarray(y)))
        return {"examples": len(x)}


class _NewEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.model.epochs_seen.append([])


def seen_by_fit(dataset, callbacks=(), **fit_kwargs):
    """What ``model.fit(dataset, ...)`` trains on: per epoch, (x, y) stacked."""
    model = _Recorder()
    model.compile(run_eagerly=True)
    model.fit(dataset, verbose=0, callbacks=[_NewEpoch(), *callbacks], **fit_kwargs)
    return [tuple(np.concatenate(part) for part in zip(*batches)) for batches in model.epochs_seen]


def _load(data_dir, **options):
    options = {"batch_size": 300, "task": "denoising", "seed": 5, **options}
    return data.load("digits", data_dir=data_dir, **options)


def test_plain_fit_sees_a_new_order_and_new_noise_each_epoch(data_dir):
    epochs = seen_by_fit(_load(data_dir), epochs=3)
    assert len(epochs) == 3
    clean, _ = data.load_arrays("digits", data_dir=data_dir)
    flat = np.sort(clean.reshape(len(clean), -1), axis=0)
    for i, (noisy, target) in enumerate(epochs):
        # Every epoch is a permutation of the split ...
        np.testing.assert_array_equal(np.sort(target.reshape(len(target), -1), axis=0), flat)
        for j, (other_noisy, other_target) in enumerate(epochs[:i]):
            # ... in a new order, with new noise on each example.
            assert not np.array_equal(target, other_target), (i, j)
            order = np.lexsort(target.reshape(len(target), -1).T)
            other_order = np.lexsort(other_target.reshape(len(other_target), -1).T)
            noise = (noisy - target)[order]
            other_noise = (other_noisy - other_target)[other_order]
            assert np.mean(noise != other_noise) > 0.5, (i, j)
    # A fresh pipeline with the same seed replays the same epochs.
    for (x, y), (x2, y2) in zip(epochs, seen_by_fit(_load(data_dir), epochs=3)):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    other_seed = seen_by_fit(_load(data_dir, seed=6), epochs=1)[0]
    assert not np.array_equal(other_seed[1], epochs[0][1])


_CHILD = """
import hashlib, json, sys
import numpy as np
import mpkeras.data as data
dataset = data.load("digits", data_dir=sys.argv[1], batch_size=300, task="denoising", seed=5)
digests = []
for _ in range(3):
    h = hashlib.sha256()
    for x, y in dataset:
        h.update(np.asarray(x).tobytes())
        h.update(np.asarray(y).tobytes())
    digests.append(h.hexdigest())
print("DIGESTS", json.dumps(digests))
"""


@pytest.mark.slow  # a TensorFlow import in a subprocess
def test_a_fresh_process_sees_the_same_passes(data_dir):
    import hashlib

    dataset = _load(data_dir)
    expected = []
    for _ in range(3):
        h = hashlib.sha256()
        for x, y in dataset:
            h.update(np.asarray(x).tobytes())
            h.update(np.asarray(y).tobytes())
        expected.append(h.hexdigest())
    assert len(set(expected)) == 3
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, data_dir], check=True, capture_output=True, text=True
    ).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("DIGESTS")][-1]
    assert json.loads(line.split(" ", 1)[1]) == expected


def test_resumed_fit_sees_the_uninterrupted_fits_data(data_dir, epoch_zero):
    whole = seen_by_fit(_load(data_dir), callbacks=[ShuffleEpoch()], epochs=3)
    # A fresh process resuming at epoch 1 (as BackupAndRestore does).
    resumed = seen_by_fit(_load(data_dir), callbacks=[ShuffleEpoch()], epochs=3, initial_epoch=1)
    assert len(resumed) == 2
    for (x, y), (x2, y2) in zip(whole[1:], resumed):
        np.testing.assert_array_equal(x, x2)
        np.testing.assert_array_equal(y, y2)
    # Without the callback the same plain fit sees the same data.
    for (x, _y), (x2, _y2) in zip(whole, seen_by_fit(_load(data_dir), epochs=3)):
        np.testing.assert_array_equal(x, x2)


def test_second_fit_on_one_dataset_starts_at_pass_zero(data_dir, epoch_zero):
    dataset = _load(data_dir)
    first = seen_by_fit(dataset, callbacks=[ShuffleEpoch()], epochs=2)
    second = seen_by_fit(dataset, callbacks=[ShuffleEpoch()], epochs=2)
    for (x, _), (x2, _) in zip(first, second):
        np.testing.assert_array_equal(x, x2)
    # Without the callback a dataset just keeps counting.
    third = seen_by_fit(dataset, epochs=1)
    assert not np.array_equal(third[0][1], first[0][1])
    assert not np.array_equal(third[0][1], first[1][1])


def test_repeat_with_steps_per_epoch_never_repeats_a_pass(data_dir, epoch_zero):
    # Keras keeps one iterator for the whole fit and tf.data prefetches the
    # next repetition early; each epoch must still be the next pass.
    plain = seen_by_fit(_load(data_dir), epochs=3)
    steps = 5  # ceil(1257 / 300)
    for callbacks in ([], [ShuffleEpoch()]):
        repeated = seen_by_fit(
            _load(data_dir).repeat(), callbacks=callbacks, epochs=3, steps_per_epoch=steps
        )
        for (x, y), (x2, y2) in zip(plain, repeated):
            np.testing.assert_array_equal(y, y2)
            np.testing.assert_array_equal(x, x2)
    resumed = seen_by_fit(
        _load(data_dir).repeat(),
        callbacks=[ShuffleEpoch()],
        epochs=3,
        steps_per_epoch=steps,
        initial_epoch=2,
    )
    np.testing.assert_array_equal(resumed[0][0], plain[2][0])


def test_evaluation_splits_see_the_same_data_every_pass(data_dir):
    test = data.load("digits", "test", 100, task="denoising", seed=5, data_dir=data_dir)
    first = [np.asarray(x) for x, _ in test]
    for _ in range(2):
        for a, (b, _) in zip(first, test):
            np.testing.assert_array_equal(a, np.asarray(b))
    # shuffle=False on a training split: fixed too.
    fixed = data.load("digits", batch_size=400, task="denoising", shuffle=False, data_dir=data_dir)
    a, b = [np.concatenate([np.asarray(x) for x, _ in fixed]) for _ in range(2)]
    np.testing.assert_array_equal(a, b)


def test_counter_lives_with_the_dataset_and_not_longer(data_dir, epoch_zero):
    gc.collect()
    before = len(shuffling._COUNTERS)
    dataset = _load(data_dir).take(1)  # only a derived dataset is kept
    gc.collect()
    assert len(shuffling._COUNTERS) == before + 1
    ((x, _),) = list(dataset)
    shuffling.set_epoch(0)
    ((x2, _),) = list(dataset)
    np.testing.assert_array_equal(np.asarray(x), np.asarray(x2))
    del dataset, x, x2
    gc.collect()
    assert len(shuffling._COUNTERS) == before


def test_set_epoch_rejects_bad_epochs():
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="Received: epoch="):
            shuffling.set_epoch(bad)
        with pytest.raises(ValueError, match="Received: epoch="):
            shuffling.advance_epoch(bad)
