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
    of a fit it reloads them, keeping the epochs before the one training
    resumes at (``model._initial_epoch``, which BackupAndRestore sets, so this
    callback must come after it).

    Attributes:
        history: ``{name: [value per epoch]}`` over every epoch, before and
            after any restart.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.history = {}

    def on_train_begin(self, logs=None):
        start = getattr(self.model, "_initial_epoch", None) or 0
        stored = json.loads(self.path.read_text()) if start and self.path.is_file() else {}
        self.history = {name: values[:start] for name, values in stored.items()}

    def on_epoch_end(self, epoch, logs=None):
        for name, value in (logs or {}).items():
            value = float(value)
            self.history.setdefault(name, []).append(value if math.isfinite(value) else None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_name(f".{self.path.name}.tmp")
        temp.write_text(json.dumps(self.history))
        temp.replace(self.path)
