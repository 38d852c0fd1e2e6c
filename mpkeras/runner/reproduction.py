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
from mpkeras.runner.single_run import DEFAULT_MODELS_DIR, run_plan

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


def run_point(plan, run_dir, log=None, models_dir=DEFAULT_MODELS_DIR, verbose=False, report=print):
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
            outcome = run_plan(
                plan,
                run_dir,
                models_dir=models_dir,
                verbose="auto" if verbose else 2,
                report=report,
            )
        rows = outcome.results["expectations"]
    except DatasetUnavailableError as error:
        status = "skipped"
        rows = [
            _run_row(spec, "runs when its data is prepared", f"skipped: {_first_line(error)}", None)
        ]
    except Exception as error:  # noqa: BLE001 - one point's failure must not stop the others
        status = "failed"
        rows = [failed_row(spec, f"{type(error).__name__}: {_first_line(error)}")]
    return PointResult(status=status, rows=rows, wall_time_s=time.perf_counter() - started)


def reproduce(
    names=None,
    quick=False,
    runs_dir=rundir.DEFAULT_RUNS_DIR,
    models_dir=DEFAULT_MODELS_DIR,
    verbose=False,
    report=print,
    strategy=None,
    mixed_precision=None,
    jit_compile=None,
    seeds=None,
    jobs=1,
):
    """Run every spec (or ``names``) and write the claims table.

    Each experiment prints one progress line (i/N, name, wall time,
    expectations held); everything else it prints -- Keras's per-epoch
    lines, dataset preparation, TensorFlow's C++ log -- goes to
    ``logs/<name>.log`` in the report directory unless ``verbose``. Whatever
    one experiment raises becomes a row that does not hold, with the error,
    and the others still run; an experiment whose remote data is not
    prepared is a skipped row with the reason. Every row carries its
    experiment's wall time, and a quick run over ``QUICK_BUDGET_S`` is flagged.

    ``seeds`` (a list, see :func:`grid.parse_seeds`; default the spec's own
    seed) runs every experiment once per seed, each into
    ``<name>/seed-<S>/`` and its models into ``models_dir/seed-<S>/`` (one
    file per seed: no seed's model replaces another's); the rows then aggregate over the seeds
    (:func:`grid.aggregate`): mean and min-max measured, worst margin,
    holds k/N, and a claim holds only when it holds on every seed.

    Every spec and seed is planned before the first run starts: a bad name,
    key or value fails at once (:class:`specs.SpecError`), with nothing written.

    ``strategy``, ``mixed_precision`` and ``jit_compile`` apply to every
    run (see :func:`run`).

    ``jobs`` > 1 runs that many experiments (or seeds) at once, each in a
    worker process (:mod:`mpkeras.runner.parallel`): the rows are those of
    the serial run, and each experiment's wall time is measured while
    another runs beside it. A script passing ``jobs`` > 1 calls this under
    ``if __name__ == "__main__":``, as for any spawned process.

    Returns ``(report_dir, rows)``; ``report_dir`` holds ``REPORT.md`` (one
    row per claim of the notes, the key figures), ``claims.md`` (one row per
    expectation), ``claims.json`` and one run directory per experiment (and seed).
    """
    from mpkeras import specs
    from mpkeras.runner import grid

    execution = ExecutionConfig.from_options(strategy, mixed_precision, jit_compile)
    seeds = list(seeds) if seeds else [None]
    several = len(seeds) > 1
    only_some = bool(names)
    names = list(names) if names else specs.available()
    # Load every spec first, without TensorFlow: a typo fails now, not after hours of training.
    loaded = [specs.load(name) for name in names]
    seen = {}
    for name, spec in zip(names, loaded):
        if spec.name in seen:
            raise RunError(f"--only names {spec.name!r} twice ({seen[spec.name]!r} and {name!r})")
        seen[spec.name] = name
    # The table reads in the order of the notes: chapter, then claim id.
    loaded.sort(key=lambda s: (s.chapter, _claim_order(s.claims), s.name))

    def directory(spec):
        def name(settings, seed):
            return f"{spec.name}/seed-{seed}" if several else spec.name

        return name

    points = [
        point
        for spec in loaded
        for point in grid.plan_points(
            spec, seeds=seeds, quick=quick, execution=execution, name=directory(spec)
        )
    ]

    report_dir = rundir.default_run_dir("reproduce", runs_dir)
    report_dir.mkdir(parents=True)
    began, began_at = time.perf_counter(), datetime.datetime.now(datetime.timezone.utc)
    done = {}  # spec name -> [(point, result)], in the notes' order

    def log_for(point):
        if verbose:
            return None
        stem = f"{point.plan.spec.name}-seed-{point.seed}" if several else point.plan.spec.name
        return report_dir / "logs" / f"{stem}.log"

    rows = []
    for index, point, result, _, _ in grid.run_points(
        points,
        report_dir,
        log_for=log_for,
        models_for=lambda point: Path(models_dir) / f"seed-{point.seed}" if several else models_dir,
        verbose=verbose,
        report=report,
        jobs=jobs,
    ):
        spec = point.plan.spec
        done.setdefault(spec.name, []).append((point, result))
        held = sum(bool(row["holds"]) for row in result.rows)
        summary = (
            result.status
            if result.status != "completed"
            else f"{held}/{len(result.rows)} expectations hold"
        )
        over = quick and result.wall_time_s > QUICK_BUDGET_S
        flag = f"  (over the {QUICK_BUDGET_S:.0f} s quick budget)" if over else ""
        seed = f" seed {point.seed:<3}" if several else ""
        report(
            f"[{index}/{len(points)}] {spec.name:<28}{seed} {result.wall_time_s:6.1f} s  "
            f"{summary}{flag}"
        )
        rows, experiments = _summarise(done, report_dir, quick, several)
        # After every point, so a long run that is stopped keeps a report of what it did.
        reporting.write(
            report_dir,
            rows,
            experiments,
            quick,
            started=began_at.strftime("%Y-%m-%d %H:%M UTC"),
            wall_time_s=time.perf_counter() - began,
            planned=len(loaded),
            seeds=[p.seed for p in points[: len(seeds)]],
            only=names if only_some else None,
        )
    return report_dir, rows


def _summarise(done, report_dir, quick, several):
    """The expectation rows (aggregated over seeds) and one fact dict per experiment."""
    from mpkeras.runner import grid

    rows, experiments = [], []
    for name, finished in done.items():
        spec = finished[0][0].plan.spec
        results = [result for _, result in finished]
        wall = sum(result.wall_time_s for result in results)
        over = quick and any(result.wall_time_s > QUICK_BUDGET_S for result in results)
        merged = grid.aggregate([result.rows for result in results])
        rows += [
            {"experiment": name, **row, "wall_time_s": round(wall, 1), "over_budget": over}
            for row in merged
        ]
        # The key figures of the first seed stand for the experiment.
        written, missing = key_figures(spec, report_dir / finished[0][0].name)
        statuses = {result.status for result in results}
        experiments.append(
            {
                "name": name,
                "title": spec.title,
                "chapter": spec.chapter,
                "claims": list(spec.claims),
                "status": statuses.pop() if len(statuses) == 1 else "failed",
                "wall_time_s": round(wall, 1),
                "seeds": [point.seed for point, _ in finished] if several else None,
                "figures": [path.relative_to(report_dir).as_posix() for path in written],
                "missing_figures": missing,
            }
        )
    return rows, experiments


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


def failed_row(spec, reason):
    """The row standing for a run of ``spec`` that did not complete, and why."""
    return _run_row(spec, "completes", reason, False)


def _run_row(spec, expected, measured, holds):
    """The row standing for an experiment that gave no expectations to check."""
    return {
        "claim": ", ".join(spec.claims),
        "metric": "(run)",
        "expected": expected,
        "measured": measured,
        "margin": None,
        "holds": holds,
        "description": "",
    }


def _claim_order(claims):
    """Sort key of a claim list: "N2" before "N10"."""
    first = claims[0] if claims else ""
    digits = "".join(ch for ch in first if ch.isdigit())
    return first.rstrip("0123456789"), int(digits) if digits else 0
