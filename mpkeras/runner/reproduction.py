"""``mpkeras reproduce``: every spec, one run each, and the report of the notes' claims.

The loop is generic: a list of :class:`RunPlan` points, each run by
:func:`run_point` into a directory of its own, failures becoming rows. Seeds
(``reproduce --seeds N``) and settings (a sweep) are more points of the same
loop: ``plan(spec, overrides=point, seed=seed)`` for each.
"""

import contextlib
import dataclasses
import datetime
import os
import sys
import time
from pathlib import Path

from mpkeras import reporting
from mpkeras.runner import rundir
from mpkeras.runner.errors import RunError
from mpkeras.runner.execution import ExecutionConfig
from mpkeras.runner.single_run import DEFAULT_MODELS_DIR, plan, run_plan

QUICK_BUDGET_S = 60.0
"""A --quick run should finish within this wall time on 2 CPU cores."""


@dataclasses.dataclass
class PointResult:
    """One point of a reproduce or sweep: how it ended and its expectation rows.

    Attributes:
        status: "completed", "failed" or "skipped" (its data is not prepared).
        rows: the expectation rows; a failed or skipped run gives one row
            standing for the whole run.
        wall_time_s: the run's wall time.
    """

    status: str
    rows: list
    wall_time_s: float


def run_point(plan, run_dir, log=None, models_dir=DEFAULT_MODELS_DIR, verbose=False,
              report=print):
    """Run ``plan`` into ``run_dir``; whatever it raises becomes a row, not an exception.

    Everything the run prints goes to ``log`` (a path) unless it is None.
    """
    from mpkeras.data.errors import DatasetUnavailableError

    spec = plan.spec
    started = time.perf_counter()
    status = "completed"
    output = contextlib.nullcontext() if log is None else output_to(log)
    try:
        with output:
            outcome = run_plan(plan, run_dir, models_dir=models_dir,
                               verbose="auto" if verbose else 2, report=report)
        rows = outcome.results["expectations"]
    except DatasetUnavailableError as error:
        status = "skipped"
        rows = [_run_row(spec, "runs when its data is prepared",
                         f"skipped: {_first_line(error)}", None)]
    except Exception as error:  # noqa: BLE001 - one point's failure must not stop the others
        status = "failed"
        rows = [_run_row(spec, "completes", f"{type(error).__name__}: {_first_line(error)}",
                         False)]
    return PointResult(status=status, rows=rows, wall_time_s=time.perf_counter() - started)


def reproduce(names=None, quick=False, runs_dir=rundir.DEFAULT_RUNS_DIR,
              models_dir=DEFAULT_MODELS_DIR, verbose=False, report=print, strategy=None,
              mixed_precision=None, jit_compile=None):
    """Run every spec (or ``names``) and write the claims table.

    Each experiment prints one progress line (i/N, name, wall time,
    expectations held); everything else it prints -- Keras's per-epoch
    lines, dataset preparation, TensorFlow's C++ log -- goes to
    ``logs/<name>.log`` in the report directory unless ``verbose``. Whatever
    one experiment raises becomes a row that does not hold, with the error,
    and the others still run; an experiment whose remote data is not
    prepared is a skipped row with the reason. Every row carries its
    experiment's wall time, and a quick run over ``QUICK_BUDGET_S`` is flagged.

    Every spec is resolved before the first run starts: a bad name, key or
    value fails at once (:class:`specs.SpecError`), with nothing written.

    ``strategy``, ``mixed_precision`` and ``jit_compile`` apply to every
    run (see :func:`run`).

    Returns ``(report_dir, rows)``; ``report_dir`` holds ``REPORT.md`` (one
    row per claim of the notes, the key figures), ``claims.md`` (one row per
    expectation), ``claims.json`` and one run directory per experiment.
    """
    from mpkeras import specs

    execution = ExecutionConfig.from_options(strategy, mixed_precision, jit_compile)
    names = list(names) if names else specs.available()
    # Load every spec first, without TensorFlow: a typo fails now, not after hours of training.
    loaded = [specs.load(name) for name in names]
    seen = {}
    for name, spec in zip(names, loaded):
        if spec.name in seen:
            raise RunError(f"--only names {spec.name!r} twice ({seen[spec.name]!r} and {name!r})")
        seen[spec.name] = name
    plans = [plan(spec, quick=quick, execution=execution) for spec in loaded]
    # The table reads in the order of the notes: chapter, then claim id.
    plans.sort(key=lambda p: (p.spec.chapter, _claim_order(p.spec.claims), p.spec.name))

    report_dir = rundir.default_run_dir("reproduce", runs_dir)
    report_dir.mkdir(parents=True)
    began, began_at = time.perf_counter(), datetime.datetime.now(datetime.timezone.utc)
    rows, experiments = [], []
    for index, point in enumerate(plans, start=1):
        spec = point.spec
        log = None if verbose else report_dir / "logs" / f"{spec.name}.log"
        result = run_point(point, report_dir / spec.name, log=log, models_dir=models_dir,
                           verbose=verbose, report=report)
        over = quick and result.wall_time_s > QUICK_BUDGET_S
        rows += [{"experiment": spec.name, **row, "wall_time_s": round(result.wall_time_s, 1),
                  "over_budget": over} for row in result.rows]
        written, missing = key_figures(spec, report_dir / spec.name)
        experiments.append({
            "name": spec.name, "title": spec.title, "chapter": spec.chapter,
            "claims": list(spec.claims), "status": result.status,
            "wall_time_s": round(result.wall_time_s, 1),
            "figures": [path.relative_to(report_dir).as_posix() for path in written],
            "missing_figures": missing,
        })
        held = sum(bool(row["holds"]) for row in result.rows)
        summary = (result.status if result.status != "completed"
                   else f"{held}/{len(result.rows)} expectations hold")
        flag = f"  (over the {QUICK_BUDGET_S:.0f} s quick budget)" if over else ""
        report(f"[{index}/{len(plans)}] {spec.name:<28} {result.wall_time_s:6.1f} s  "
               f"{summary}{flag}")
        # After every experiment, so a long run that is stopped keeps a report of what it did.
        reporting.write(report_dir, rows, experiments, quick,
                        started=began_at.strftime("%Y-%m-%d %H:%M UTC"),
                        wall_time_s=time.perf_counter() - began, planned=len(plans))
    return report_dir, rows


@contextlib.contextmanager
def output_to(path):
    """Send everything this process prints to ``path``: Python's stdout and
    stderr, and file descriptors 1 and 2, where TensorFlow's C++ log and
    progress bars of child libraries write."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    with open(path, "a") as log:
        saved = [os.dup(fd) for fd in (1, 2)]
        try:
            for fd in (1, 2):
                os.dup2(log.fileno(), fd)
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
        finally:
            log.flush()
            for fd, original in zip((1, 2), saved):
                os.dup2(original, fd)
                os.close(original)


def key_figures(spec, run_dir):
    """The key figures ``spec`` names (``figures = [...]``): ``(written, missing)``,
    the paths ``run_dir/figures/<name>.png`` that exist and the names whose file does not."""
    paths = {name: Path(run_dir) / "figures" / f"{name}.png" for name in spec.figures}
    written = [path for path in paths.values() if path.is_file()]
    return written, [name for name, path in paths.items() if not path.is_file()]


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _run_row(spec, expected, measured, holds):
    """The row standing for an experiment that gave no expectations to check."""
    return {"claim": ", ".join(spec.claims), "metric": "(run)", "expected": expected,
            "measured": measured, "margin": None, "holds": holds, "description": ""}


def _claim_order(claims):
    """Sort key of a claim list: "N2" before "N10"."""
    first = claims[0] if claims else ""
    digits = "".join(ch for ch in first if ch.isdigit())
    return first.rstrip("0123456789"), int(digits) if digits else 0
