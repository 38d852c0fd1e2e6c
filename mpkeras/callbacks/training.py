"""Keras callbacks for runs that survive crashes.

- :class:`StopOnNaN` stops training the moment the loss stops being finite,
  before a bad epoch can overwrite the last good checkpoint.
- :class:`ShuffleEpoch` tells per-epoch shuffles which epoch is starting, so a
  resumed run sees the same data order as an uninterrupted one.
"""

import math

import keras

from mpkeras.data import shuffling


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


class StopOnNaN(keras.callbacks.Callback):
    """Raise :class:`TrainingDiverged` as soon as a batch loss is not finite.

    Unlike ``keras.callbacks.TerminateOnNaN``, which lets ``fit`` end normally
    (and so lets ``BackupAndRestore`` delete or overwrite its checkpoint), this
    aborts ``fit`` from inside the epoch: the checkpoint of the last completed
    epoch stays on disk.

    Args:
        monitor: the log entry to watch.
    """

    def __init__(self, monitor="loss"):
        super().__init__()
        self.monitor = monitor
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and not math.isfinite(float(value)):
            raise TrainingDiverged(
                f"{self.monitor} became {float(value)} at epoch {self._epoch + 1}, batch {batch + 1}"
            )


class ShuffleEpoch(keras.callbacks.Callback):
    """Set the epoch that ``mpkeras.data`` per-epoch shuffles draw their order from."""

    def on_epoch_begin(self, epoch, logs=None):
        shuffling.set_epoch(epoch)
