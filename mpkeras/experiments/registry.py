"""The registry of experiment functions, looked up by the name a spec gives.

An experiment is a function ``(config, context) -> Results``: ``config`` is the
experiment's own dataclass (resolved from the spec), ``context`` is the run's
:class:`mpkeras.runner.RunContext` (callbacks, figures, run directory).
"""

import dataclasses
import importlib

# One module per chapter of the notes; importing one registers its experiments.
CHAPTER_MODULES = ("neural_networks",)

_REGISTRY = {}


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    function: object
    config_class: type


def register(name, config_class):
    """Decorator: register ``function`` under ``name`` with its config dataclass."""

    def decorator(function):
        if name in _REGISTRY:
            raise ValueError(f"Experiment {name!r} is registered twice")
        _REGISTRY[name] = Experiment(name, function, config_class)
        return function

    return decorator


def _import_chapters():
    for module in CHAPTER_MODULES:
        importlib.import_module(f"mpkeras.experiments.{module}")


def get(name):
    """The registered :class:`Experiment` called ``name``."""
    _import_chapters()
    if name not in _REGISTRY:
        raise KeyError(f"No experiment function {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def names():
    _import_chapters()
    return sorted(_REGISTRY)
