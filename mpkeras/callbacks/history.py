"""A per-epoch history that survives a killed and resumed run."""

import json
import math
from pathlib import Path

import keras


class ResumableHistory(keras.callbacks.Callback):
    """Keep every epoch's logs in a JSON file, so a resumed fit knows its past.

    ``keras.callbacks.History`` starts empty when ``BackupAndRestore`` resumes
    a fit at epoch k (or skips a fit that had finished), so a metric taken
    over all epochs (the fewest mistakes in any epoch, the best validation
    loss) would silently cover only the epochs after the restart. This
    callback writes the logs of each finished epoch to ``path``; at the start
    of a fit it reloads them, and the first epoch the fit runs (the epoch
    training resumes at, the ``epoch`` Keras passes to ``on_epoch_begin``)
    cuts them back to the epochs before it. A fit that had finished runs no
    epoch and keeps them all.

    Attributes:
        history: ``{name: [value per epoch]}`` over every epoch, before and
            after any restart.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.history = {}
        self._first_epoch = True

    def on_train_begin(self, logs=None):
        self.history = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self._first_epoch = True

    def on_epoch_begin(self, epoch, logs=None):
        if self._first_epoch:
            self.history = {name: values[:epoch] for name, values in self.history.items()}
            self._first_epoch = False

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            value = float(value)
            self.history.setdefault(name, []).append(value if math.isfinite(value) else None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.tmp")
        temp.write_text(json.dumps(self.history))
        temp.replace(self.path)
