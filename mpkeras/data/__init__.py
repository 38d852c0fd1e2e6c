"""Datasets for every experiment: offline TFDS builders, remote TFDS names.

Public API:

* ``load(name, split="train", batch_size=32, task=None, data_dir=None, ...)``
  -> ``tf.data.Dataset`` of ``(inputs, targets)`` batches for ``model.fit``.
* ``load_arrays(name, split="train", task=None, data_dir=None)`` -> numpy
  ``(inputs, targets)`` for a whole split.
* ``info(name, data_dir=None)`` -> ``tfds.core.DatasetInfo`` (metadata such as
  the blobs margin in ``.metadata``).
* ``names()`` -> every loadable ``name[/config]``; ``describe(data_dir=None)``
  -> one dict per name (source, prepared, size); ``prepare(name, force=False,
  data_dir=None)`` builds a dataset in the data dir.
* ``DatasetUnavailableError``: a remote dataset cannot be had offline, or a
  prepared copy is corrupted.

Names, configs and tasks are listed in ``mpkeras.data.registry``. Importing
this package, ``names()`` and ``DatasetUnavailableError`` do not import
TensorFlow; the other functions import it on first call.
"""

import importlib

from mpkeras.data.errors import DatasetUnavailableError
from mpkeras.data.registry import TASKS, names

_LAZY = {
    "load": "mpkeras.data.pipeline",
    "load_arrays": "mpkeras.data.pipeline",
    "info": "mpkeras.data.sources",
    "describe": "mpkeras.data.sources",
    "prepare": "mpkeras.data.sources",
    "shuffle_per_epoch": "mpkeras.data.shuffling",
    "set_epoch": "mpkeras.data.shuffling",
    "advance_epoch": "mpkeras.data.shuffling",
}

__all__ = ["DatasetUnavailableError", "TASKS", "names", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mpkeras.data' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
