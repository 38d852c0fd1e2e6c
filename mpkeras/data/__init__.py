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
  data_dir=None)`` builds a dataset in the data dir; ``is_prepared(name,
  data_dir=None)`` says whether there is anything left to build.
* ``set_epoch(epoch)`` / ``advance_epoch(epoch)``: move every live training
  dataset to a given pass (resuming, see ``mpkeras.data.shuffling``).
* ``DatasetUnavailableError``: a remote dataset cannot be had offline, or a
  prepared copy is corrupted.

Names, configs and tasks are listed in ``mpkeras.data.registry``. Importing
this package, ``names()`` and ``DatasetUnavailableError`` do not import
TensorFlow; the other functions import it on first call.
"""

from mpkeras._lazy import lazy_exports
from mpkeras.data.errors import DatasetUnavailableError
from mpkeras.data.registry import TASKS, names

_EXPORTS = {
    "load": "pipeline",
    "load_arrays": "pipeline",
    "info": "sources",
    "describe": "sources",
    "prepare": "sources",
    "is_prepared": "sources",
    "set_epoch": "shuffling",
    "advance_epoch": "shuffling",
}

__all__ = ["DatasetUnavailableError", "TASKS", "names", *_EXPORTS]
__getattr__, _lazy_dir = lazy_exports(__name__, _EXPORTS)


def __dir__():
    return sorted(set(globals()) | set(_lazy_dir()))
