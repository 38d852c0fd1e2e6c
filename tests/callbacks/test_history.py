"""ResumableHistory: the per-epoch logs of a fit survive a restart under BackupAndRestore."""

import json

import keras
import numpy as np

from mpkeras.callbacks import ResumableHistory


class StopAfter(keras.callbacks.Callback):
    """Simulate a kill: stop the fit after ``epochs`` epochs (the checkpoint stays)."""

    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


def _fit(tmp_path, epochs, extra=()):
    keras.utils.set_random_seed(0)
    x = np.linspace(-1, 1, 32, dtype="float32")[:, None]
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = ResumableHistory(tmp_path / "history.json")
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), delete_checkpoint=False)
    model.fit(
        x, 2 * x, epochs=epochs, batch_size=32, verbose=0, callbacks=[backup, history, *extra]
    )
    return history.history


def test_history_covers_the_epochs_before_a_restart(tmp_path):
    whole = _fit(tmp_path / "whole", 5)
    first = _fit(tmp_path / "killed", 5, extra=[StopAfter(2)])
    assert len(first["loss"]) == 2
    resumed = _fit(tmp_path / "killed", 5)
    assert len(resumed["loss"]) == 5
    np.testing.assert_allclose(resumed["loss"], whole["loss"], rtol=1e-6)
    # A finished fit resumed again trains no epoch and still knows all five.
    assert _fit(tmp_path / "killed", 5)["loss"] == resumed["loss"]
    assert json.loads((tmp_path / "killed" / "history.json").read_text())["loss"] == resumed["loss"]


def test_a_fresh_fit_ignores_a_stale_history_file(tmp_path):
    (tmp_path / "history.json").write_text(json.dumps({"loss": [9.0, 9.0]}))
    assert len(_fit(tmp_path, 3)["loss"]) == 3
