"""Keras callbacks for runs that survive crashes.

- :class:`StopOnNaN` stops training the moment the loss stops being finite,
  before a bad epoch can overwrite the last good checkpoint.
- :class:`ShuffleEpoch` tells per-pass training datasets which epoch is
  starting, so a resumed run sees the same data as an uninterrupted one.
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
    """Tell ``mpkeras.data`` training datasets which epoch is starting.

    Training datasets from ``mpkeras.data.load`` count their own passes, so
    a plain ``fit`` needs no callback to get a new order and new noise each
    epoch. This callback makes the pass of an epoch equal to the epoch even
    when a fit does not start at pass 0: at the first epoch of each ``fit``
    (epoch k when ``keras.callbacks.BackupAndRestore`` resumes at k) it sets
    every live training dataset to pass k (``mpkeras.data.set_epoch``), so a
    resumed run sees exactly the data of the uninterrupted one, and a second
    fit on the same dataset starts at pass 0 again. At later epochs it only
    advances datasets that are behind (``advance_epoch``): with
    ``dataset.repeat()`` and ``steps_per_epoch`` the next pass has already
    been started by prefetching, and resetting it would repeat a pass. See
    ``mpkeras.data.shuffling``.
    """

    def __init__(self):
        super().__init__()
        self._first_epoch = True

    def on_train_begin(self, logs=None):
        self._first_epoch = True

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch:
            shuffling.set_epoch(epoch)
            self._first_epoch = False
        else:
            shuffling.advance_epoch(epoch)
