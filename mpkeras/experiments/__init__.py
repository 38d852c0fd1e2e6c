"""Experiments: one module per chapter, each experiment a function (config, context) -> Results."""

from mpkeras.experiments.registry import get, names, register
from mpkeras.experiments.results import Results
from mpkeras.experiments.training import TrainConfig

__all__ = ["Results", "TrainConfig", "get", "names", "register"]
