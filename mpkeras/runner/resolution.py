"""Resolve a spec into the experiment and its typed config, and check the config.

Every check here runs before a run directory is made, so a typo fails with
one line and leaves nothing behind. Reading the spec and the ``--set``
syntax needs no TensorFlow; the typed config does, because it lives in the
experiment's module (which imports Keras).
"""

import dataclasses

from mpkeras import specs, typed_config


def experiment_for(spec):
    """The registered experiment a spec names (a :class:`specs.SpecError` if none)."""
    from mpkeras_experiments import registry

    try:
        return registry.get(spec.experiment)
    except KeyError as error:
        raise specs.SpecError(f"{spec.path}: {error.args[0]}") from None


def resolve(spec_name, overrides=(), quick=False):
    """Load a spec and resolve its typed config. Returns ``(spec, experiment, config)``.

    Args:
        spec_name: a bundled spec's name, a path to a TOML spec, or a
            :class:`specs.Spec`.
        overrides: ``"key=value"`` strings, applied after the ``[quick]``
            budget.
        quick: apply the spec's ``[quick]`` budget.

    Raises:
        specs.SpecError: an unknown name, key or dataset, a value of the
            wrong type or out of range, an optimizer Keras does not know, or
            a config the experiment cannot run.
    """
    spec = spec_name if isinstance(spec_name, specs.Spec) else specs.load(spec_name)
    parsed = [typed_config.parse_override(text) for text in overrides]
    experiment = experiment_for(spec)
    experiment.check_expectations(spec)
    config = typed_config.resolve_config(
        experiment.config_class, spec, quick=quick, overrides=parsed
    )
    check_config(experiment, config)
    return spec, experiment, config


def check_config(experiment, config):
    """What the config's types cannot say: names that must exist, and the
    experiment's own checks (a dataset it cannot use, ...)."""
    check_datasets(config)
    # The experiment's own checks: a dataset it cannot train on, ...
    try:
        experiment.validate(config)
    except specs.SpecError:
        raise
    except ValueError as error:
        raise specs.SpecError(f"Invalid config for {experiment.name!r}: {error}") from None


def _fields_named(config, name, prefix=""):
    """``(dotted key, value)`` of every field called ``name``, nested ones included."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            yield from _fields_named(value, name, prefix=f"{prefix}{field.name}.")
        elif field.name == name:
            yield prefix + field.name, value


def check_datasets(config):
    """Every config field called ``dataset`` must name a dataset mpkeras knows.

    Checked with the registry (no TensorFlow) before any work, so a typo
    fails at once instead of after a first model has trained.
    """
    from mpkeras.data import registry

    for key, value in _fields_named(config, "dataset"):
        if isinstance(value, str):
            try:
                registry.resolve(value)
            except ValueError as error:
                raise specs.SpecError(f"Invalid value for {key!r}: {error}") from None
