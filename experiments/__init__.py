"""Experiments: every claim of the notes as a function that trains, measures and checks itself.

Layout: one package per chapter of the notes (``neural_networks``, ``cnn``,
``fcn``, ``rnn``, ``autoencoders``, ``vae``), one module per experiment, and
its spec beside it::

    experiments/neural_networks/xor.py     the config and the function
    experiments/neural_networks/xor.toml   claims, quick budget, expectations

The module holds a dataclass config whose defaults ARE the full budget (the
only place settings are written) and the experiment function::

    @dataclasses.dataclass
    class XorConfig:
        dataset: str = "toy2d/xor"
        hidden: list[int] = dataclasses.field(default_factory=lambda: [8])
        train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(epochs=100))

        def __post_init__(self):           # ranges and choices, checked before any work
            require_positive(self, ...)

    @register("xor", XorConfig)
    def xor(config, context):
        model = build_mlp(...)
        model.compile(...)
        context.fit(model, data.load(...), tag="mlp", epochs=config.train.epochs, figure=draw)
        context.save_figure("decision_boundaries", fig)
        premise(params_deep <= params_shallow, "...")   # true by construction: stops the run if not
        return Results(metrics={...}, model=model)

Rules: train only through ``context.fit`` (TensorBoard, BackupAndRestore, NaN
stop, per-epoch data); figures through ``context.save_figure``; statements true
by construction are ``premise`` checks, claims that could fail are
expectations in the spec; reusable numerics, builders and figures live in the
library (``mpkeras.models``, ``metrics``, ``diagnostics``, ``plotting``).
Config fields may be ``Literal[...]`` choices, lists, dicts and nested
dataclasses; ``--set key=value`` overrides are type-checked against them.

The spec (TOML, read without TensorFlow so ``mpkeras list`` is instant)::

    experiment = "xor"
    chapter = 1
    claims = ["N2"]
    title = "XOR: the perceptron fails, a one-hidden-layer MLP solves it"
    data = "toy2d/xor"               # what it trains on, for `mpkeras list`
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

Modules are found by walking this package: nothing to register by hand.
"""

from mpkeras_experiments.registry import get, names, register
from mpkeras_experiments.results import PremiseError, Results, premise
from mpkeras_experiments.training import StepBudget, TrainConfig, require_positive

__all__ = [
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
