"""The registry of experiment functions: name -> :class:`Experiment`.

An experiment is a function ``(config, context) -> Results`` in
``experiments/<chapter>/<name>.py``: ``config`` is the experiment's own
dataclass (its defaults are the full budget), ``context`` is the run's
:class:`mpkeras.runner.RunContext`. It registers itself with
:func:`register` when its module is imported, under the module's file name;
:func:`get` imports every module of the package first, so a new experiment
or chapter needs no list kept by hand.

What an experiment declares when it registers is checked before any work:
the metrics its Results can hold (a spec's expectation naming another
metric is refused) and the datasets it can train on (:meth:`Experiment.validate`).
"""

import dataclasses
import fnmatch
import importlib
import pkgutil
import re

PACKAGE = __name__.rpartition(".")[0]

_REGISTRY = {}
_DISCOVERED = False

# A placeholder in a declared metric name: "max_error_m{m}" stands for
# max_error_m1, max_error_m2, ... (the part that depends on the config).
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _metric_pattern(declared):
    parts = _PLACEHOLDER.split(declared)
    return re.compile("[A-Za-z0-9_]+".join(re.escape(part) for part in parts))


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A registered experiment.

    Attributes:
        name: the name specs and ``mpkeras run`` use (the module's file name).
        function: ``(config, context) -> Results``.
        config_class: the config dataclass; its defaults are the full budget.
        metrics: the metric names its Results can hold, ``{...}`` standing for
            a part that depends on the config; None if undeclared (then a
            spec's metric names are only checked after the run).
        datasets: config field -> the dataset names (or ``fnmatch`` patterns
            such as ``"adding/t*"``) that field accepts.
    """

    name: str
    function: object
    config_class: type
    metrics: tuple = None
    datasets: dict = dataclasses.field(default_factory=dict)

    def produces(self, metric):
        """Whether ``metric`` is a name this experiment's Results can hold."""
        if self.metrics is None:
            return True
        return any(_metric_pattern(declared).fullmatch(metric) for declared in self.metrics)

    def undeclared(self, metrics):
        """The names in ``metrics`` (a Results' dict) that :attr:`metrics` does not declare."""
        return sorted(name for name in metrics if not self.produces(name))

    def check_expectations(self, spec):
        """Raise SpecError if an expectation of ``spec`` names a metric never produced here."""
        from mpkeras.specs import SpecError

        for index, expectation in enumerate(spec.expectations, start=1):
            for key in ("metric", "other"):
                name = getattr(expectation, key)
                if name is not None and not self.produces(name):
                    raise SpecError(
                        f"Expectation #{index} in {spec.path} names {key} {name!r}, which "
                        f"experiment {self.name!r} never produces. It produces: "
                        f"{', '.join(self.metrics)}"
                    )

    def validate(self, config):
        """Raise SpecError (a ValueError) naming the field of ``config`` this experiment cannot use.

        Checked before any work: each dataset field holds a dataset the
        experiment declared it trains on; each ``*_split`` field names a
        split of the config's ``dataset``; each ``optimizer`` field (nested
        too, e.g. ``train.optimizer``) names an optimizer Keras knows.
        """
        from mpkeras.specs import SpecError

        try:
            self._check_datasets(config)
            _check_splits(config)
            _check_optimizers(config, prefix="")
        except ValueError as error:
            raise SpecError(str(error)) from None

    def _check_datasets(self, config):
        from mpkeras import validation
        from mpkeras.data import registry

        for field, accepted in self.datasets.items():
            value = getattr(config, field)
            known = isinstance(value, str) and any(fnmatch.fnmatchcase(value, p) for p in accepted)
            if not known:
                expected = f"a dataset experiment {self.name!r} trains on ({', '.join(accepted)})"
                raise validation.invalid(field, expected, value)
            try:
                registry.resolve(value)
            except ValueError as error:
                raise ValueError(f"Received an invalid value for `{field}`: {error}") from None


def _check_splits(config):
    from mpkeras import validation
    from mpkeras.data import registry

    dataset = getattr(config, "dataset", None)
    if not isinstance(dataset, str):
        return
    spec, _ = registry.resolve(dataset)
    for field in dataclasses.fields(config):
        if field.name.endswith("_split"):
            value = getattr(config, field.name)
            try:
                registry.check_split(spec, value)
            except ValueError:
                raise validation.invalid(
                    field.name,
                    f"a split of {dataset!r} ({', '.join(spec.splits)}; slices such as "
                    f"'train[:90%]' too)",
                    value,
                ) from None


def _check_optimizers(config, prefix):
    from mpkeras import validation

    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            _check_optimizers(value, prefix=f"{prefix}{field.name}.")
        elif field.name == "optimizer" and isinstance(value, str) and not _is_optimizer_name(value):
            expected = "the name of a Keras optimizer, such as 'adam', 'sgd' or 'rmsprop'"
            raise validation.invalid(prefix + field.name, expected, value)


def _is_optimizer_name(name):
    """Whether ``keras.optimizers.get(name)`` builds an optimizer.

    Asked inside a throwaway graph, so that no variable touches TensorFlow's
    eager runtime before a multi-worker strategy is set up. The question must
    go to ``keras.optimizers.get`` itself: some optimizer classes it exports
    (``Lamb``, ``LossScaleOptimizer``, ``MultiOptimizer``) it cannot build by
    name.
    """
    import keras
    import tensorflow as tf

    with tf.Graph().as_default():
        try:
            keras.optimizers.get(name)
        except (ValueError, KeyError, TypeError):
            return False
    return True


def _name_of(function, name):
    """The registered name: a bundled experiment's module file name, else ``name``."""
    module = function.__module__
    if module.startswith(PACKAGE + "."):
        parts = module.split(".")
        if name is not None:
            raise TypeError(
                f"Experiment {module}.{function.__name__} is named by its file "
                f"({parts[-1]!r}); drop name={name!r}"
            )
        if len(parts) != 3:
            raise TypeError(
                f"Experiment module {module} must be {PACKAGE}.<chapter>.<name> "
                f"(experiments/<chapter>/<name>.py)"
            )
        return parts[-1]
    if not isinstance(name, str) or not name:
        raise TypeError(
            f"Experiment {module}.{function.__name__} is defined outside {PACKAGE}; "
            f"give it name=..."
        )
    return name


def _names(values):
    """Whether ``values`` is a tuple or list of non-empty strings."""
    return isinstance(values, (tuple, list)) and all(isinstance(v, str) and v for v in values)


def _datasets_by_field(config_class, datasets):
    if datasets is None:
        return {}
    if not isinstance(datasets, dict):
        datasets = {"dataset": datasets}
    fields = {f.name for f in dataclasses.fields(config_class)}
    normalised = {}
    for field, accepted in datasets.items():
        if field not in fields:
            raise TypeError(
                f"datasets names {field!r}, which is not a field of {config_class.__name__}"
            )
        if not (_names(accepted) and accepted):
            raise TypeError(
                f"datasets[{field!r}] must be a non-empty tuple of dataset names, got {accepted!r}"
            )
        normalised[field] = tuple(accepted)
    return normalised


def register(config_class, *, metrics=None, datasets=None, name=None):
    """Decorator: register an experiment function with its config dataclass.

    Args:
        config_class: the experiment's config dataclass.
        metrics: every metric name its Results can hold, e.g.
            ``("mlp_accuracy", "max_error_m{m}")``; ``{...}`` stands for a part
            that depends on the config. A spec's expectation naming another
            metric is refused before any work. Required of the bundled
            experiments (a test checks).
        datasets: the datasets it trains on: a tuple of names or ``fnmatch``
            patterns for its ``dataset`` field (``("digits", "mnist")``,
            ``("adding/t*",)``), or a dict from each config field that names
            a dataset to such a tuple. :meth:`Experiment.validate` refuses
            any other. A field typed ``Literal[...]`` needs none.
        name: only for an experiment defined outside ``experiments/`` (a
            test, a notebook); a bundled one is named by its module's file.
    """
    if not dataclasses.is_dataclass(config_class):
        raise TypeError(f"The config of an experiment must be a dataclass, got {config_class!r}")
    if metrics is not None and not _names(metrics):
        raise TypeError(f"metrics must be a tuple of metric names, got {metrics!r}")
    by_field = _datasets_by_field(config_class, datasets)

    def decorator(function):
        key = _name_of(function, name)
        known = _REGISTRY.get(key)
        # The same function again is its module imported a second time (a reload).
        same = known is not None and (known.function.__module__, known.function.__qualname__) == (
            function.__module__,
            function.__qualname__,
        )
        if known is not None and not same:
            raise ValueError(f"Experiment {key!r} is registered twice")
        _REGISTRY[key] = Experiment(
            key, function, config_class, None if metrics is None else tuple(metrics), by_field
        )
        return function

    return decorator


def _discover():
    """Import every module of every chapter package."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    package = importlib.import_module(PACKAGE)
    for module in pkgutil.walk_packages(package.__path__, prefix=PACKAGE + "."):
        importlib.import_module(module.name)
    _DISCOVERED = True


def get(name):
    """The registered :class:`Experiment` called ``name``."""
    if name not in _REGISTRY:
        _discover()
    if name not in _REGISTRY:
        raise KeyError(
            f"No experiment function {name!r} (a spec file names the one it "
            f'configures with experiment = "NAME", by default its file name); '
            f"registered: {', '.join(sorted(_REGISTRY))}"
        )
    return _REGISTRY[name]


def names():
    _discover()
    return sorted(_REGISTRY)
