"""Experiment specs: TOML files that state a claim of the notes and how to check it.

A spec names the experiment function, the claim ids it reproduces, its
settings and the expected results::

    experiment = "xor"              # a function registered in mpkeras.experiments
    chapter = 1
    seed = 0                        # default for --seed
    # data = "synthetic"            # what `mpkeras list` shows when the config
                                    # names no `dataset`
    claims = ["N2"]
    title = "The perceptron cannot solve XOR; a one-hidden-layer MLP can"

    [config]                        # fields of the experiment's config dataclass
    hidden = [4]
    [config.train]
    epochs = 300

    [quick]                         # dotted overrides applied by --quick
    "train.epochs" = 150

    [[expectations]]
    claim = "N2"
    metric = "mlp_accuracy"
    op = ">="
    value = 1.0
    quick_value = 1.0               # optional; a looser bound for --quick

This module reads TOML only (no TensorFlow), so `mpkeras list` stays fast.
Turning ``[config]`` into the experiment's typed config happens in
:func:`resolve_config`, which checks every key and value against the dataclass.
"""

import dataclasses
import operator
import sys
import types
import typing
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class SpecError(ValueError):
    """A spec or an override is invalid; the message is one line for the user."""


OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclasses.dataclass(frozen=True)
class Expectation:
    """One checkable claim: ``metric op value``, e.g. ``mlp_accuracy >= 1.0``."""

    claim: str
    metric: str
    op: str
    value: float
    quick_value: typing.Optional[float] = None
    description: str = ""

    def threshold(self, quick):
        return self.quick_value if quick and self.quick_value is not None else self.value

    def check(self, metrics, quick):
        """Return a dict row: claim, metric, expected, measured, holds."""
        expected = self.threshold(quick)
        measured = metrics.get(self.metric)
        holds = measured is not None and bool(OPERATORS[self.op](measured, expected))
        return {
            "claim": self.claim,
            "metric": self.metric,
            "expected": f"{self.op} {expected:g}",
            "measured": measured,
            "holds": holds,
            "description": self.description,
        }


@dataclasses.dataclass(frozen=True)
class Spec:
    """A parsed experiment spec (not yet resolved against the config class)."""

    name: str
    path: Path
    experiment: str
    chapter: int
    claims: tuple
    title: str
    config: dict
    quick: dict
    expectations: tuple
    default_dataset: str
    seed: int = 0


def specs_dir():
    """The folder of bundled specs: ``./experiments`` if present, else the repo's."""
    local = Path.cwd() / "experiments"
    if local.is_dir() and any(local.glob("*.toml")):
        return local
    return Path(__file__).resolve().parent.parent / "experiments"


def available():
    """Names of the bundled specs, sorted."""
    return sorted(path.stem for path in specs_dir().glob("*.toml"))


def find(name_or_path):
    """Resolve ``NAME`` (experiments/NAME.toml) or a path to a TOML file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise SpecError(f"Spec file not found: {name_or_path}")
        return candidate
    path = specs_dir() / f"{name_or_path}.toml"
    if not path.is_file():
        names = ", ".join(available()) or "none"
        raise SpecError(f"Unknown experiment {name_or_path!r}. Available: {names}")
    return path


def load(name_or_path):
    """Read and validate a spec file into a :class:`Spec`."""
    path = find(name_or_path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"Cannot read spec {path}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"Invalid TOML in {path}: {error}") from None
    return parse(raw, path)


def parse(raw, path):
    """Validate the top-level structure of a spec dict."""
    where = f"in {path}"
    known = {"experiment", "chapter", "claims", "title", "seed", "data", "config", "quick", "expectations"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SpecError(f"Unknown top-level key(s) {unknown} {where}; expected {sorted(known)}")
    if not isinstance(raw.get("experiment"), str):
        raise SpecError(f"Missing or invalid `experiment` (a registered name) {where}")
    config = raw.get("config", {})
    quick = raw.get("quick", {})
    if not isinstance(config, dict) or not isinstance(quick, dict):
        raise SpecError(f"`config` and `quick` must be tables {where}")
    expectations = []
    for index, entry in enumerate(raw.get("expectations", [])):
        try:
            expectation = Expectation(**entry)
        except TypeError as error:
            raise SpecError(f"Invalid expectation #{index + 1} {where}: {error}") from None
        if expectation.op not in OPERATORS:
            raise SpecError(
                f"Invalid op {expectation.op!r} in expectation #{index + 1} {where}; "
                f"expected one of {sorted(OPERATORS)}"
            )
        expectations.append(expectation)
    return Spec(
        name=Path(path).stem,
        path=Path(path),
        experiment=raw["experiment"],
        chapter=int(raw.get("chapter", 0)),
        claims=tuple(raw.get("claims", ())),
        title=str(raw.get("title", "")),
        config=config,
        quick=quick,
        expectations=tuple(expectations),
        # A dataset name from the config, else the spec's word for its data.
        default_dataset=str(config.get("dataset") or raw.get("data", "")),
        seed=int(raw.get("seed", 0)),
    )


# -- typed configs ---------------------------------------------------------


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
    the error names the key and what was expected.
    """
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
        kwargs[name] = _coerce(hints[name], value, prefix + name)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise SpecError(f"Invalid config{' ' + prefix.rstrip('.') if prefix else ''}: {error}") from None


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
