"""The registry of experiment functions, looked up by the name a spec gives.

An experiment is a function ``(config, context) -> Results``: ``config`` is the
experiment's own dataclass (its defaults are the full budget), ``context`` is
the run's :class:`mpkeras.runner.RunContext`. Experiments register themselves
with :func:`register` when their module is imported; :func:`get` imports every
module under ``mpkeras_experiments`` first, so a new chapter package needs no
list to be kept by hand.
"""

import dataclasses
import importlib
import pkgutil

_REGISTRY = {}
_DISCOVERED = False


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    function: object
    config_class: type


def register(name, config_class):
    """Decorator: register ``function`` under ``name`` with its config dataclass."""
    if not dataclasses.is_dataclass(config_class):
        raise TypeError(f"The config of experiment {name!r} must be a dataclass, got {config_class!r}")

    def decorator(function):
        if name in _REGISTRY and _REGISTRY[name].function is not function:
            raise ValueError(f"Experiment {name!r} is registered twice")
        _REGISTRY[name] = Experiment(name, function, config_class)
        return function

    return decorator


def _discover():
    """Import every module of every chapter package under mpkeras_experiments."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    import mpkeras_experiments as package

    for module in pkgutil.walk_packages(package.__path__, prefix="mpkeras_experiments."):
        importlib.import_module(module.name)
    _DISCOVERED = True


def get(name):
    """The registered :class:`Experiment` called ``name``."""
    if name not in _REGISTRY:
        _discover()
    if name not in _REGISTRY:
        raise KeyError(f"No experiment function {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def names():
    _discover()
    return sorted(_REGISTRY)
