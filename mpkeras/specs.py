"""Experiment specs: TOML files that state a claim of the notes and how to check it.

A spec ships beside the experiment it configures,
``experiments/<chapter>/<name>.toml`` next to ``<name>.py`` (installed as the
package ``mpkeras_experiments``): its file name is the experiment's name, its
folder the chapter (``mpkeras_experiments.CHAPTERS``). It holds the claim ids
it reproduces and the expected results; the settings are the defaults of the
experiment's config dataclass::

    seed = 0                        # default for --seed
    data = "toy2d/xor"              # what it trains on, shown by `mpkeras list`
    claims = ["N2"]
    title = "The perceptron cannot solve XOR; a one-hidden-layer MLP can"
    figures = ["decision_boundaries"]  # key figures (figures/<name>.png) for the report

    [config]                        # optional: only where the spec deliberately
    hidden = [4]                    # differs from the dataclass defaults

    [quick]                         # dotted overrides applied by --quick
    "train.epochs" = 150

    [[expectations]]
    claim = "N2"
    metric = "mlp_accuracy"
    op = ">="
    value = 1.0
    quick_value = 1.0               # optional; a looser bound for --quick

    [[expectations]]                # two measured metrics compared: the row
    claim = "N7"                    # reports by how much it holds (margin)
    metric = "deep_max_error"
    op = "<"
    other = "shallow_max_error"

A spec file of your own (``mpkeras run ./mine.toml``) says which experiment it
configures with ``experiment = "xor"`` (default: its file name).

This module reads TOML only (no TensorFlow), so `mpkeras list` stays fast.
:func:`parse` checks every key and type of the spec itself; turning
``[config]`` into the experiment's typed config happens in
:func:`resolve_config`, which checks every key and value against the
dataclass. What only the experiment knows (its metrics, its datasets) is
checked by ``mpkeras_experiments.registry.Experiment`` before any work.
"""

import dataclasses
import importlib.resources
import math
import operator
import os
import sys
import types
import typing
from pathlib import Path

from mpkeras import validation

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
    """One checkable claim: ``metric op value`` (``mlp_accuracy >= 1.0``) or
    ``metric op other`` between two measured metrics (``deep_error < shallow_error``).
    """

    claim: str
    metric: str
    op: str
    value: float | None = None
    quick_value: float | None = None
    other: str | None = None
    description: str = ""

    def __post_init__(self):
        for name in ("claim", "metric"):
            if not (isinstance(getattr(self, name), str) and getattr(self, name)):
                raise validation.invalid(name, "a non-empty string", getattr(self, name))
        if self.op not in OPERATORS:
            raise validation.invalid(
                "op", f"one of {', '.join(repr(op) for op in OPERATORS)}", self.op
            )
        for name in ("value", "quick_value"):
            number = getattr(self, name)
            if number is not None and not validation.is_real(number):
                raise validation.invalid(name, "a finite number", number)
        if self.other is not None and not (isinstance(self.other, str) and self.other):
            raise validation.invalid("other", "a metric name", self.other)
        if not isinstance(self.description, str):
            raise validation.invalid("description", "a string", self.description)
        if (self.value is None) == (self.other is None):
            raise ValueError("give exactly one of `value` (a number) and `other` (a metric name)")
        if self.other is not None and self.quick_value is not None:
            raise ValueError("`quick_value` applies to `value`, not to a comparison with `other`")

    def threshold(self, quick):
        return self.quick_value if quick and self.quick_value is not None else self.value

    def check(self, metrics, quick):
        """Return a dict row: claim, metric, expected, measured, margin, holds.

        ``margin`` is how far inside its bound the measurement is (positive
        when it holds, negative by how much it misses); for a comparison of
        two metrics, the bound is the other metric's measured value.
        """
        measured = metrics.get(self.metric)
        if self.other is None:
            bound = self.threshold(quick)
            expected = f"{self.op} {bound:g}"
        else:
            bound = metrics.get(self.other)
            shown = "missing" if bound is None else f"{bound:.4g}"
            expected = f"{self.op} {self.other} ({shown})"
        comparable = _is_number(measured) and _is_number(bound)
        holds = comparable and bool(OPERATORS[self.op](measured, bound))
        return {
            "claim": self.claim,
            "metric": self.metric,
            "expected": expected,
            "measured": measured,
            "margin": _margin(self.op, measured, bound) if comparable else None,
            "holds": holds,
            "description": self.description,
        }


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _margin(op, measured, bound):
    if op in ("<", "<="):
        return bound - measured
    if op in (">", ">="):
        return measured - bound
    return 0.0 - abs(measured - bound)  # 0.0 - 0.0 is +0.0, not -0.0


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
    figures: tuple = ()


def bundled():
    """The specs shipped with mpkeras: name -> path, one per experiment.

    They are package data of ``mpkeras_experiments``, found with
    importlib.resources in its chapter folders, so a regular (non-editable)
    install has them and the current directory never changes what a name
    means.
    """
    from mpkeras_experiments import CHAPTERS

    root = importlib.resources.files("mpkeras_experiments")
    found = {}
    for chapter in root.iterdir():
        if not chapter.is_dir():
            continue
        for entry in chapter.iterdir():
            if entry.name.endswith(".toml"):
                if chapter.name not in CHAPTERS:
                    raise SpecError(
                        f"{entry}: the folder {chapter.name!r} is no chapter of "
                        f"mpkeras_experiments.CHAPTERS ({', '.join(CHAPTERS)})"
                    )
                name = entry.name[: -len(".toml")]
                if name in found:
                    raise SpecError(
                        f"Two bundled specs are called {name!r}: {found[name]} and {entry}"
                    )
                found[name] = Path(str(entry))
    return found


def available():
    """Names of the bundled specs, sorted."""
    return sorted(bundled())


def is_path(name_or_path):
    """Whether ``name_or_path`` is meant as a file: it ends in .toml or names a folder."""
    text = str(name_or_path)
    return text.endswith(".toml") or os.sep in text or "/" in text


def find(name_or_path):
    """Resolve a bundled spec ``NAME`` or a path to a TOML file.

    A bare name always means the bundled spec, whatever lies in the current
    directory; a path (``./xor.toml``, ``specs/mine.toml``) means that file.
    """
    if is_path(name_or_path):
        candidate = Path(name_or_path)
        if not candidate.is_file():
            raise SpecError(f"Spec file not found: {name_or_path}")
        return candidate
    specs = bundled()
    if name_or_path not in specs:
        names = ", ".join(sorted(specs)) or "none"
        raise SpecError(f"Unknown experiment {name_or_path!r}. Available: {names}")
    return specs[name_or_path]


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


KEYS = (
    "experiment",
    "claims",
    "title",
    "seed",
    "data",
    "figures",
    "config",
    "quick",
    "expectations",
)
EXPECTATION_KEYS = tuple(field.name for field in dataclasses.fields(Expectation))


def _chapter_of(path):
    """The chapter of a bundled spec (from its folder), or None for a file outside the bundle."""
    from mpkeras_experiments import CHAPTERS

    resolved = Path(path).resolve()
    for bundled_path in bundled().values():
        if bundled_path.resolve() == resolved:
            return CHAPTERS[bundled_path.parent.name]
    return None


def parse(raw, path):
    """Check every key and type of a spec dict and build the :class:`Spec`.

    A bundled spec is named by its file and its chapter is its folder's; a
    spec file elsewhere configures the experiment its ``experiment`` key
    names (default: its file name), in that experiment's chapter.
    """
    where = f"in {path}"
    path = Path(path)
    chapter = _chapter_of(path)
    if "chapter" in raw:
        raise SpecError(
            f"Remove `chapter` {where}: the chapter is the experiment's folder "
            f"(experiments/<chapter>/)"
        )
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise SpecError(f"Unknown top-level key(s) {unknown} {where}; expected {sorted(KEYS)}")
    if chapter is not None:
        if "experiment" in raw:
            raise SpecError(
                f"Remove `experiment` {where}: a bundled spec configures the experiment "
                f"of its file name, {path.stem!r}"
            )
        experiment = path.stem
    else:
        experiment = raw.get("experiment", path.stem)
        if not (isinstance(experiment, str) and experiment):
            raise SpecError(
                f"Invalid `experiment` {where}: expected the name of an experiment "
                f"(`mpkeras list`), got {experiment!r}"
            )
        bundled_path = bundled().get(experiment)
        chapter = _chapter_of(bundled_path) if bundled_path else 0
    checks = (
        ("claims", list, lambda v: all(isinstance(c, str) and c for c in v), "a list of claim ids"),
        ("title", str, None, "a string"),
        ("data", str, None, "a string naming what it trains on"),
        ("seed", int, lambda v: not isinstance(v, bool) and v >= 0, "a non-negative integer"),
        (
            "figures",
            list,
            lambda v: all(isinstance(f, str) and f for f in v),
            "a list of figure names (as in figures/<name>.png)",
        ),
        ("config", dict, None, "a table"),
        ("quick", dict, None, "a table of dotted overrides"),
        ("expectations", list, lambda v: all(isinstance(e, dict) for e in v), "an array of tables"),
    )
    for key, kind, condition, expected in checks:
        if key in raw and not (
            isinstance(raw[key], kind) and (condition is None or condition(raw[key]))
        ):
            raise SpecError(f"Invalid `{key}` {where}: expected {expected}, got {raw[key]!r}")
    claims = tuple(raw.get("claims", ()))
    expectations = []
    for index, entry in enumerate(raw.get("expectations", []), start=1):
        unknown = sorted(set(entry) - set(EXPECTATION_KEYS))
        if unknown:
            raise SpecError(
                f"Invalid expectation #{index} {where}: unknown key(s) {unknown}; "
                f"expected {list(EXPECTATION_KEYS)}"
            )
        try:
            expectation = Expectation(**entry)
        except (TypeError, ValueError) as error:
            raise SpecError(f"Invalid expectation #{index} {where}: {error}") from None
        if expectation.claim not in claims:
            raise SpecError(
                f"Invalid expectation #{index} {where}: its claim {expectation.claim!r} "
                f"is not among the spec's `claims` {list(claims)}"
            )
        expectations.append(expectation)
    config = raw.get("config", {})
    return Spec(
        name=path.stem,
        path=path,
        experiment=experiment,
        chapter=chapter,
        claims=claims,
        title=raw.get("title", ""),
        config=config,
        quick=raw.get("quick", {}),
        expectations=tuple(expectations),
        # A dataset name from the config, else the spec's word for its data.
        default_dataset=str(config.get("dataset") or raw.get("data", "")),
        seed=raw.get("seed", 0),
        figures=tuple(raw.get("figures", ())),
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
