"""Experiments: every claim of the notes as a function that trains, measures and checks itself.

This folder (``experiments/`` at the top of the repository) installs as the
package ``mpkeras_experiments``: shipped with mpkeras so ``mpkeras run xor``
works after a regular install, but no part of the library (nothing in
``mpkeras`` imports it except the runner and the spec finder).

Layout: a folder per chapter of the notes, a module and its spec per
experiment. The module's file name is the experiment's name, the folder gives
its chapter (:data:`CHAPTERS`, the one place chapters are numbered)::

    experiments/neural_networks/xor.py     the config and the function
    experiments/neural_networks/xor.toml   claims, quick budget, expectations

To add an experiment ``NAME`` to a chapter, touch these files:

1. ``experiments/<chapter>/NAME.py``: a dataclass config whose defaults ARE
   the full budget (the only place settings are written) and the function,
   registered with the metrics its Results can hold and the datasets it
   trains on::

       @dataclasses.dataclass
       class XorConfig:
           dataset: str = "toy2d/xor"
           hidden: list[int] = dataclasses.field(default_factory=lambda: [8])
           train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(epochs=100))

           def __post_init__(self):           # ranges and choices, checked before any work
               require_positive(self, ("hidden",))

       @register(XorConfig, metrics=("mlp_accuracy", "mlp_loss"), datasets=("toy2d/xor",))
       def xor(config, context):
           model = build_mlp(...)
           model.compile(...)
           context.fit(model, data.load(...), tag="mlp", epochs=config.train.epochs, figure=draw)
           context.save_figure("decision_boundaries", fig)
           premise(deep_params <= shallow_params, "...")   # true by construction, else it stops
           return Results(metrics={...}, model=model)

   ``metrics`` may hold ``{...}`` for a part that depends on the config
   (``"max_error_m{m}"``); ``datasets`` takes names or patterns
   (``"adding/t*"``), or a dict ``{field: names}`` where a config has several
   dataset fields. A spec naming another metric, or a run asking for another
   dataset, is refused before any work.
2. ``experiments/<chapter>/NAME.toml``: the spec (no ``experiment`` or
   ``chapter`` key: the file and folder say them)::

       claims = ["N2"]
       title = "XOR: the perceptron fails, a one-hidden-layer MLP solves it"
       data = "toy2d/xor"               # what it trains on, for `mpkeras list`
       figures = ["decision_boundaries"]
       [quick]                          # dotted overrides: under a minute on 2 cores
       "train.epochs" = 60
       [[expectations]]                 # metric op value (quick_value under --quick)
       claim = "N2"
       metric = "mlp_accuracy"
       op = ">="
       value = 1.0
       [[expectations]]                 # or metric op other: two measured metrics
       claim = "N7"
       metric = "deep_max_error"
       op = "<"
       other = "shallow_max_error"
3. ``tests/experiments/test_<chapter>.py``: an entry in its ``TINY`` dict
   (NAME -> overrides for a run of a few seconds). The shared fixture
   ``tiny_runs`` runs it, checks the key figures and that its metrics are all
   declared; ``tests/test_resume.py`` kills it mid-fit and resumes it.

A new chapter is a folder with an ``__init__.py`` (its docstring lists the
claims) and an entry in :data:`CHAPTERS`. Nothing else is registered by
hand: the registry imports every module of this package.

Rules: train only through ``context.fit`` (TensorBoard, BackupAndRestore, NaN
stop, per-epoch data); figures through ``context.save_figure``; statements true
by construction are ``premise`` checks, claims that could fail are
expectations in the spec; reusable numerics, builders and figures live in the
library (``mpkeras.models``, ``metrics``, ``diagnostics``, ``plotting``).
Config fields may be ``Literal[...]`` choices, lists, dicts and nested
dataclasses; ``--set key=value`` overrides are type-checked against them.
"""

from mpkeras_experiments.registry import get, names, register
from mpkeras_experiments.results import PremiseError, Results, premise
from mpkeras_experiments.training import StepBudget, TrainConfig, require_positive

# Chapter folder -> the chapter of the notes it executes (5a and 5b are both 5).
CHAPTERS = {
    "neural_networks": 1,
    "cnn": 2,
    "fcn": 3,
    "rnn": 4,
    "autoencoders": 5,
    "vae": 5,
}

__all__ = [
    "CHAPTERS",
    "PremiseError",
    "Results",
    "StepBudget",
    "TrainConfig",
    "get",
    "names",
    "premise",
    "register",
    "require_positive",
]
