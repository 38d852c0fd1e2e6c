"""mpkeras: the Machine Perception course notes as Keras 3 components.

Importing ``mpkeras`` is cheap: TensorFlow and Keras are imported only when a
submodule that needs them (``mpkeras.layers``, ``mpkeras.models``, ...) is
first touched, so that ``mpkeras --help`` starts fast.
"""

import importlib
import os

from mpkeras import _workarounds
from mpkeras._backend import ensure_tensorflow_backend

__version__ = "0.1.0"

# Before anything can import keras; costs nothing if keras is never imported.
ensure_tensorflow_backend()
# TensorFlow's C++ INFO and WARNING lines would drown Keras's progress bars.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TensorFlow 2.21 writes some of them while `import tensorflow` loads its
# libraries, before it reads the variable: see mpkeras._workarounds.
_workarounds.quiet_tensorflow_import()

# Submodules reachable as attributes (mpkeras.models, ...), imported on first use.
_SUBMODULES = (
    "callbacks",
    "data",
    "losses",
    "models",
    "plotting",
    "runner",
    "saving",
    "specs",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"mpkeras.{name}")
    raise AttributeError(f"module 'mpkeras' has no attribute '{name}'")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
