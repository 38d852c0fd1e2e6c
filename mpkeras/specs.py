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
:func:`mpkeras.typed_config.resolve_config`, which checks every key and value against the
dataclass. What only the experiment knows (its metrics, its datasets) is
checked by ``mpkeras_experiments.registry.Experiment`` before any work.
"""

import dataclasses
import importlib.resources
import math
import operator
import os
import sys
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
            "other": self.other,
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
