"""Lazy re-exports: a package names its public objects and the module of each.

A package ``__init__`` declares ``_EXPORTS = {"Name": "module", ...}`` and
binds ``__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)``. The module is
imported on first access, so ``import mpkeras.layers`` stays cheap and a
package lists its whole public API in one place.
"""

import importlib


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
