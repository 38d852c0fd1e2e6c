"""An experiment's typed config: dataclass defaults <- spec <- --quick <- --set.

A spec's ``[config]`` and ``[quick]`` tables and the ``--set key=value``
overrides are plain TOML values; :func:`resolve_config` turns them into the
experiment's config dataclass, checking every key against its fields and
every value against its type annotation (int, float, bool, str, Literal,
Optional, list, tuple, dict, nested dataclasses), so a typo fails with the
key named before any work starts. No TensorFlow.
"""

import dataclasses
import sys
import types
import typing

from mpkeras.specs import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def parse_override(text):
    """Split ``key=value``; the value is read as TOML, else kept as a string."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SpecError(f"Invalid --set {text!r}: expected key=value")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key, parsed


def _set_dotted(tree, dotted, value):
    *parents, leaf = dotted.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
        if not isinstance(tree, dict):
            raise SpecError(f"Cannot set {dotted!r}: {part!r} is not a table")
    tree[leaf] = value


def resolve_config(config_class, spec, quick=False, overrides=()):
    """Build the typed config: dataclass defaults <- spec <- quick <- overrides.

    Every key must name a field and every value must fit the field's type;
    the error names the key and what was expected. The spec's ``[quick]``
    table is checked on every run, quick or not, so a mistake in it cannot
    wait for the first ``--quick`` run.
    """
    if spec.quick and not quick:
        try:
            resolve_config(config_class, spec, quick=True)
        except SpecError as error:
            raise SpecError(f"In [quick] of {spec.path}: {error}") from None
    tree = _deep_copy(spec.config)
    if quick:
        for key, value in spec.quick.items():
            _set_dotted(tree, key, value)
    for key, value in overrides:
        _set_dotted(tree, key, value)
    return build_dataclass(config_class, tree, prefix="")


def _deep_copy(tree):
    return {k: _deep_copy(v) if isinstance(v, dict) else v for k, v in tree.items()}


def build_dataclass(cls, values, prefix):
    """Build dataclass ``cls`` from a (nested) dict, checking keys and types.

    ``prefix`` is the dotted path of ``values`` inside the whole config, used
    to name the offending key in errors ("train." for the train table).
    """
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        names = ", ".join(prefix + name for name in sorted(fields))
        raise SpecError(f"Unknown config key {prefix + unknown[0]!r}; known keys: {names}")
    kwargs = {}
    for name, value in values.items():
        default = _default_of(fields[name])
        if isinstance(value, dict):
            # A table overrides some keys of the field's default (e.g.
            # XorConfig's TrainConfig(learning_rate=0.1), or a dict's
            # entries), not of the nested class's own defaults.
            if dataclasses.is_dataclass(default):
                value = {**dataclasses.asdict(default), **value}
            elif isinstance(default, dict):
                value = {**default, **value}
        kwargs[name] = _coerce(hints[name], value, prefix + name)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise SpecError(
            f"Invalid config{' ' + prefix.rstrip('.') if prefix else ''}: {error}"
        ) from None


def _default_of(field):
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _type_name(tp):
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(tp, value, key):
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise SpecError(f"Invalid value for {key!r}: expected a table, got {value!r}")
        return build_dataclass(tp, value, prefix=key + ".")
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() == "none"):
            if type(None) in args:
                return None
        for option in args:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, key)
            except SpecError:
                pass
        raise SpecError(f"Invalid value for {key!r}: expected {_type_name(tp)}, got {value!r}")
    if origin is typing.Literal:
        if value in args and type(value) is type(args[args.index(value)]):
            return value
        choices = ", ".join(repr(a) for a in args)
        raise SpecError(f"Invalid value for {key!r}: expected one of {choices}, got {value!r}")
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise SpecError(f"Invalid value for {key!r}: expected a table, got {value!r}")
        key_type, value_type = args if args else (str, typing.Any)
        if key_type is not str:
            raise SpecError(f"Config field {key!r}: only str keys are supported")
        return {k: _coerce(value_type, v, f"{key}.{k}") for k, v in value.items()}
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise SpecError(f"Invalid value for {key!r}: expected a list, got {value!r}")
        item_type = args[0] if args else typing.Any
        return origin(_coerce(item_type, item, f"{key}[{i}]") for i, item in enumerate(value))
    if tp is typing.Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    raise SpecError(f"Invalid value for {key!r}: expected {_type_name(tp)}, got {value!r}")


def to_dict(config):
    """A JSON-ready dict of a resolved config."""
    return dataclasses.asdict(config)
