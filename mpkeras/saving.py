"""Saving models so that a reader never sees half a file, and loading them safely."""

import importlib
import os
import pkgutil
import tempfile
import zipfile
from pathlib import Path

# Packages whose modules register classes or functions for Keras serialisation.
_REGISTERING_PACKAGES = ("mpkeras.layers", "mpkeras.models", "mpkeras.metrics")


class ModelFileError(ValueError):
    """A model file is missing, not a .keras archive, or cannot be deserialised."""


def save_model_atomic(model, path):
    """Write ``model`` to ``path`` (a ``.keras`` file) all at once.

    Keras writes the archive piece by piece; a crash half way would leave a
    truncated file under the final name. We write to a hidden temporary file
    in the same directory and ``os.replace`` it into place, which is atomic on
    one filesystem: the final name holds either the old model or the new one.
    """
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"Model files must end in .keras. Received: path={path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".keras")
    os.close(handle)
    try:
        model.save(temp_name, overwrite=True)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def register_all():
    """Import every mpkeras module that registers a class or a loss with Keras.

    ``keras.saving.load_model`` finds a registered name only once the module
    defining it has run; walking the packages means no list to keep by hand.
    """
    importlib.import_module("mpkeras.losses")
    for package_name in _REGISTERING_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            importlib.import_module(module.name)


def check_model_file(path):
    """Raise :class:`ModelFileError` unless ``path`` is a zip archive (no TensorFlow).

    Returns:
        ``path`` as a ``Path``.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"Model file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"Not a .keras model archive (corrupt or wrong file): {path}")
    return path


def load_model(path, compile=True):
    """Load a ``.keras`` model with ``safe_mode`` on, with one-line errors.

    ``safe_mode`` refuses to deserialise lambdas (arbitrary code) from a file.
    """
    import keras

    path = check_model_file(path)
    register_all()
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as error:  # Keras raises many kinds; the user needs one line.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFileError(f"Cannot load model {path}: {reason}") from error
