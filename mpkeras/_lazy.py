"""Package exports: a package names its public objects and the module of each.

A package ``__init__`` declares ``_EXPORTS = {"Name": "module", ...}``, its
whole public API in one place, and binds
``__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)``: a name is looked
up in its module on first access.

That alone keeps ``import mpkeras.ops`` cheap, but it is wrong for packages
whose modules register classes with Keras (``@register_keras_serializable``):
``keras.saving.load_model`` finds ``"mpkeras>MaxUnpooling2D"`` only once the
module defining it has run, so after a plain ``import mpkeras.layers`` a saved
model would not load. Such packages also call
``import_modules(__name__, _EXPORTS)``: importing the package imports all of
its modules, which registers everything it exports. ``import mpkeras`` itself
imports none of them (``mpkeras --help`` stays free of TensorFlow).
"""

import importlib
import pkgutil
import sys


def lazy_exports(package, exports):
    """Return ``(__getattr__, __dir__)`` for ``package`` exporting ``exports``."""

    def __getattr__(name):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__


def import_modules(package, exports):
    """Import every module of ``package``: those ``exports`` names, then the rest.

    "The rest" are the package's other public modules (no leading underscore),
    e.g. ``mpkeras.models.rnn``, whose classes must register too even when no
    name of ``exports`` points into them. Returns the imported modules' names.
    """
    names = list(dict.fromkeys(exports.values()))
    path = sys.modules[package].__path__
    names += sorted(
        info.name
        for info in pkgutil.iter_modules(path)
        if not info.name.startswith("_") and info.name not in names
    )
    for name in names:
        importlib.import_module(f"{package}.{name}")
    return names
