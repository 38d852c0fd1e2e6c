"""ResumableHistory learns the resumed epoch from Keras's public ``on_epoch_begin``.

It used to read the private ``model._initial_epoch``, which BackupAndRestore
sets in its own ``on_train_begin``: placed before BackupAndRestore, it saw 0
and lost the epochs before a restart.
"""

import keras
import numpy as np

from mpkeras.callbacks import ResumableHistory


class StopAfter(keras.callbacks.Callback):
    def __init__(self, epochs):
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 >= self.epochs:
            self.model.stop_training = True


def _fit(folder, epochs, extra=()):
    keras.utils.set_random_seed(0)
    x = np.linspace(-1, 1, 32, dtype="float32")[:, None]
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    history = ResumableHistory(folder / "history.json")
    backup = keras.callbacks.BackupAndRestore(str(folder / "backup"), delete_checkpoint=False)
    # The history first: it must not depend on BackupAndRestore having run.
    model.fit(
        x, 2 * x, epochs=epochs, batch_size=32, verbose=0, callbacks=[history, backup, *extra]
    )
    return history.history


def test_the_history_needs_no_particular_callback_order(tmp_path):
    whole = _fit(tmp_path / "whole", 4)
    assert len(_fit(tmp_path / "killed", 4, extra=[StopAfter(2)])["loss"]) == 2
    resumed = _fit(tmp_path / "killed", 4)
    assert len(resumed["loss"]) == 4
    np.testing.assert_allclose(resumed["loss"], whole["loss"], rtol=1e-6)
