"""Fixtures shared by the experiment tests (tests/experiments/test_*.py).

Each test module defines ``TINY``: spec name -> overrides giving a budget of
a few seconds. It then asks for

- ``tiny_runs`` (module scope): every entry of the module's ``TINY`` run
  once, ``{name: RunOutcome}``. While building it, every key figure the spec
  declares (``specs.load(name).figures``, written as ``figures/<name>.png``
  and shown in REPORT.md) must have been written by the tiny run; if one is
  missing the fixture fails, naming the experiment and the figure, so a TINY
  budget that skips a key figure cannot go unnoticed.
- ``run_quick`` (session scope): the function
  ``run_quick(name, root, overrides=(), quick=True) -> RunOutcome`` for tests
  that run an experiment with other overrides (remote data under mock data,
  another corruption, a bad config). It runs quietly, with the run and its
  models under ``root``. It does not prepend ``TINY[name]``: callers that
  want the tiny budget pass ``[*TINY[name], ...]``. Every run it makes (the
  tiny runs too) fails the test if its Results hold a metric the experiment
  does not declare (``@register(..., metrics=...)``), so the declaration that
  specs are checked against cannot go stale.
- ``finite`` (session scope): ``finite(value)`` is True when ``value`` (a
  number or a list of numbers) holds only finite ints/floats.

``finite`` is a fixture rather than an importable function on purpose: the
tests are collected with ``--import-mode=importlib`` and the tests
directories have no ``__init__.py``, so neither this conftest nor a helper
module next to it can be imported by name from a test module without
editing ``sys.path``; a fixture needs no import at all.
"""

import math

import pytest
from mpkeras_experiments import registry

from mpkeras import runner, specs


def _run_quick(name, root, overrides=(), quick=True):
    outcome = runner.run(
        name,
        quick=quick,
        overrides=list(overrides),
        run_dir=root / "run",
        models_dir=root / "models",
        verbose=0,
        report=lambda line: None,
    )
    experiment = registry.get(specs.load(name).experiment)
    undeclared = experiment.undeclared(outcome.results["metrics"])
    if undeclared:
        pytest.fail(
            f"experiment {name!r} reported metric(s) {undeclared} that its @register(..., metrics=...) "
            f"does not declare ({', '.join(experiment.metrics)})",
            pytrace=False,
        )
    return outcome


def _finite(value):
    values = value if isinstance(value, list) else [value]
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


@pytest.fixture(scope="session")
def run_quick():
    return _run_quick


@pytest.fixture(scope="session")
def finite():
    return _finite


class _TinyRuns(dict):
    """name -> RunOutcome, each run on first access (the default suite reads few)."""

    def __init__(self, tiny, tmp_path_factory):
        super().__init__()
        self.tiny, self.tmp_path_factory = tiny, tmp_path_factory

    def __missing__(self, name):
        overrides = self.tiny[name]
        outcome = _run_quick(name, self.tmp_path_factory.mktemp(name), overrides)
        _, missing = runner.key_figures(specs.load(name), outcome.run_dir)
        if missing:
            written = sorted(p.name for p in (outcome.run_dir / "figures").glob("*.png"))
            pytest.fail(
                f"experiment {name!r}: the tiny run (TINY[{name!r}] = {overrides!r}) did not write "
                f"the key figure(s) the spec declares: "
                f"{', '.join(f'figures/{f}.png' for f in missing)}; it wrote {written}",
                pytrace=False,
            )
        self[name] = outcome
        return outcome


@pytest.fixture(scope="module")
def tiny_runs(request, tmp_path_factory):
    """Each entry of the test module's ``TINY``, run once when first read: name -> RunOutcome."""
    tiny = getattr(request.module, "TINY", None)
    if not tiny:
        pytest.fail(
            f"{request.module.__name__} uses `tiny_runs` but defines no TINY dict "
            "(spec name -> overrides)",
            pytrace=False,
        )
    return _TinyRuns(tiny, tmp_path_factory)
