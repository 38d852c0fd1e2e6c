"""The one loop over (settings point x seed) behind ``reproduce --seeds`` and ``sweep``.

A grid is the cartesian product of the ``--set KEY=V1,V2`` lists times the
seeds. Every point is planned (:func:`single_run.plan`, every check) before
the first one starts, so bad input fails with nothing written. Each point
runs into a run directory of its own (:func:`run_points`); a point whose
``results.json`` exists is skipped when the grid is resumed. Per
expectation, the seeds of one settings point aggregate (:func:`aggregate`)
to the mean and min-max of the measured values, the worst margin and
"holds k/N": a claim holds only when it holds on every seed.
"""

import contextlib
import dataclasses
import itertools
import json
import math
import re
from pathlib import Path

from mpkeras import progress, validation
from mpkeras.runner.errors import RunError
from mpkeras.runner.single_run import check_seed, plan

_BRACKETS = {"[": "]", "{": "}"}


@dataclasses.dataclass(frozen=True)
class GridPoint:
    """One point of a grid, planned.

    Attributes:
        name: its run directory, relative to the grid's root.
        settings: ``(key, value text)`` pairs of the swept settings.
        seed: the run's seed.
        plan: the checked :class:`RunPlan`.
    """

    name: str
    settings: tuple
    seed: int
    plan: object

    @property
    def setting_key(self):
        """The point without its seed: the points of one key aggregate over seeds."""
        return (self.plan.spec.name, self.settings)


def parse_seeds(text):
    """``"3"`` -> seeds ``[0, 1, 2]``; ``"0,3,7"`` -> ``[0, 3, 7]``; None -> ``[None]``
    (the spec's own seed).

    Raises:
        RunError: not a count or a list of distinct non-negative integers.
    """
    if text is None:
        return [None]
    parts = [part.strip() for part in str(text).split(",")]
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        raise RunError(f"--seeds must be a count N or a list such as 0,3,7, got {text!r}") from None
    if len(parts) == 1:
        if numbers[0] < 1:
            raise RunError(f"--seeds N needs N >= 1 (seeds 0 to N-1), got {text!r}")
        return list(range(numbers[0]))
    for seed in numbers:
        if seed < 0:
            raise RunError(f"--seeds must be non-negative integers, got {text!r}")
        check_seed(seed)
    if len(set(numbers)) != len(numbers):
        raise RunError(f"--seeds names a seed twice: {text!r}")
    return numbers


def split_values(text):
    """Split a ``--set`` value at its top-level commas: ``"[4],[8, 8]"`` -> ``["[4]", "[8, 8]"]``.

    Commas inside brackets, braces or quotes belong to one value (a list
    setting is swept as ``hidden=[4],[8]``).
    """
    values, depth, quote, current = [], [], None, ""
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in _BRACKETS:
            depth.append(_BRACKETS[char])
        elif depth and char == depth[-1]:
            depth.pop()
        elif char == "," and not depth:
            values.append(current.strip())
            current = ""
            continue
        current += char
    values.append(current.strip())
    return values


def expand(sets):
    """The settings points of ``--set KEY=V1,V2,...`` options: a list of
    ``((key, value text), ...)`` tuples, the cartesian product in the order given.

    Raises:
        RunError: an option without ``=``, an empty value, or a key set twice.
    """
    axes = []
    for text in sets:
        key, sep, value = str(text).partition("=")
        key = key.strip()
        if not sep or not key:
            raise RunError(f"Invalid --set {text!r}: expected KEY=VALUE[,VALUE...]")
        if key in (axis_key for axis_key, _ in axes):
            raise RunError(f"--set {key} is given twice; list its values once: {key}=A,B")
        values = split_values(value)
        if any(not part for part in values):
            raise RunError(f"Invalid --set {text!r}: an empty value in the list")
        if len(set(values)) != len(values):
            raise RunError(f"Invalid --set {text!r}: a value is listed twice")
        axes.append((key, values))
    return [
        tuple(zip((key for key, _ in axes), combo))
        for combo in itertools.product(*(values for _, values in axes))
    ]


def swept_keys(sets):
    """The keys of ``--set`` options that list more than one value, in order."""
    return [
        key
        for key, values in (
            (str(t).partition("=")[0].strip(), split_values(str(t).partition("=")[2])) for t in sets
        )
        if len(values) > 1
    ]


def point_name(settings, seed, with_seed=True):
    """A directory name for a point: ``beta-4_k-a_seed-0``."""
    parts = [f"{key}-{_safe(value)}" for key, value in settings]
    if with_seed and seed is not None:
        parts.append(f"seed-{seed}")
    return "_".join(parts) or "default"


def _safe(text):
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "x"


def plan_points(spec, sets=(), seeds=(None,), quick=False, execution=None, name=None):
    """Plan every point of ``spec`` over the ``--set`` lists and ``seeds``.

    ``name(settings, seed)`` gives a point's directory (default
    :func:`point_name`). Nothing is written; a bad key, value or seed raises
    for the first point that has it.
    """
    name = name or point_name
    points = []
    for settings in expand(sets):
        overrides = [f"{key}={value}" for key, value in settings]
        for seed in seeds:
            checked = plan(spec, overrides, seed, quick, execution)
            points.append(
                GridPoint(
                    name=name(settings, seed), settings=settings, seed=checked.seed, plan=checked
                )
            )
    _dedupe(points)
    return points


def _dedupe(points):
    """Two points whose directory names collide (``a,b`` and ``a b``) would share a run."""
    seen = {}
    for point in points:
        if point.name in seen:
            raise RunError(
                f"Two points of the grid would share the directory {point.name!r}: "
                f"{seen[point.name]} and {point.settings}"
            )
        seen[point.name] = point.settings


def run_points(
    points, root, resume=False, log_for=None, models_for=None, verbose=False, report=print, jobs=1
):
    """The loop: run each point into ``root/<point.name>``; yields
    ``(index, point, result, metrics, resumed)`` after each, in the points' order.

    With ``resume`` a point whose ``results.json`` exists is not run again:
    its result is read back (``resumed`` True). A point directory without
    it (a point killed part way) is started again. ``log_for(point)`` is
    where a point's output goes (None: the terminal); ``models_for(point)``
    its models directory.

    ``jobs`` > 1 runs that many points at once, each in a worker process
    (:mod:`mpkeras.runner.parallel`); the results and their order are those
    of the serial loop. Then no epoch line is drawn: each point is yielded
    when it and the points before it are done.

    Unless ``verbose``, while a point runs its line (``[i/N] <point.name>``)
    shows the epochs done of the current fit's total and the time left, updated
    in place when stdout is a terminal (:class:`progress.ExperimentProgress`);
    it is cleared before the point is yielded, for the caller's result line.
    Outside a terminal nothing is drawn: a log gets one line per point.
    """
    from mpkeras.runner.reproduction import run_point

    jobs = validation.positive_int(jobs, "jobs")
    root = Path(root)
    if jobs > 1:
        yield from _run_in_workers(points, root, resume, log_for, models_for, verbose, jobs)
        return
    # Each point's line shows its fits' epochs and time left while it runs
    # (in a terminal; mpkeras.progress). --verbose shows Keras's own instead.
    lines = progress.ExperimentProgress(len(points)) if points and not verbose else None
    try:
        for index, point in enumerate(points, start=1):
            earlier = _resumed(point, root) if resume else None
            if earlier:
                yield index, point, *earlier, True
                continue
            log = log_for(point) if log_for else None
            kwargs = {"models_dir": models_for(point)} if models_for else {}
            line = lines.experiment(index, point.name) if lines else contextlib.nullcontext()
            with line:  # cleared before the caller prints the point's result line
                result = run_point(
                    point.plan, root / point.name, log=log, verbose=verbose, report=report, **kwargs
                )
            yield index, point, *_finished(point, root, result), False
    finally:
        if lines:
            lines.close()


def _run_in_workers(points, root, resume, log_for, models_for, verbose, jobs):
    """:func:`run_points` with ``jobs`` worker processes."""
    from mpkeras.runner import parallel

    earlier = {
        index: _resumed(point, root) if resume else None
        for index, point in enumerate(points, start=1)
    }
    pending = [(index, point) for index, point in enumerate(points, start=1) if not earlier[index]]
    workers = parallel.run_in_workers(
        pending, root, jobs, log_for=log_for, models_for=models_for, verbose=verbose
    )
    try:
        for index, point in enumerate(points, start=1):
            if earlier[index]:
                yield index, point, *earlier[index], True
            else:
                _, _, result = next(workers)
                yield index, point, *_finished(point, root, result), False
    finally:
        workers.close()


def _resumed(point, root):
    """``(result, metrics)`` of a point that finished before, or None.

    A point directory without ``results.json`` (killed part way) holds no
    result: it is removed, and the point runs again.
    """
    run_dir = root / point.name
    done = run_dir / "results.json"
    if done.is_file():
        return _read_back(point, done)
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    return None


def _finished(point, root, result):
    """``(result, metrics)`` of a point just run: its metrics from its ``results.json``."""
    done = root / point.name / "results.json"
    return result, (_read_back(point, done)[1] if done.is_file() else {})


def _read_back(point, path):
    """The result and metrics of a finished point from its ``results.json``."""
    from mpkeras.runner.reproduction import PointResult, failed_row

    payload = json.loads(Path(path).read_text())
    status = payload.get("status", "failed")
    if status == "completed":
        rows = payload.get("expectations", [])
    else:
        status = "failed"
        rows = [failed_row(point.plan.spec, payload.get("reason", "failed"))]
    return (
        PointResult(status, rows, float(payload.get("wall_time_s", 0.0))),
        payload.get("metrics", {}),
    )


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def aggregate(per_seed_rows):
    """Aggregate the expectation rows of one settings point over its seeds.

    ``per_seed_rows``: one list of rows (as :meth:`Expectation.check` gives)
    per seed. With one seed the rows come back unchanged. With more, one
    row per expectation: ``measured`` the mean over seeds (where every seed
    measured a number), ``measured_min``/``measured_max``, ``margin`` the
    worst (smallest) margin, ``held`` how many seeds it holds on, ``seeds``
    N, and ``holds`` True only when it holds on every seed (None when every
    seed was skipped).
    """
    if len(per_seed_rows) == 1:
        return list(per_seed_rows[0])
    order, groups = [], {}
    for rows in per_seed_rows:
        for row in rows:
            key = (row["claim"], row["metric"], row.get("description", ""))
            if key not in groups:
                order.append(key)
                groups[key] = []
            groups[key].append(row)
    n = len(per_seed_rows)
    merged = []
    for key in order:
        found = groups[key]
        values = [row["measured"] for row in found]
        numbers = [v for v in values if _number(v)]
        margins = [row["margin"] for row in found if _number(row.get("margin"))]
        states = [row["holds"] for row in found] + [False] * (n - len(found))
        held = sum(state is True for state in states)
        if all(state is None for state in states):
            holds = None
        else:
            holds = held == n
        complete = len(numbers) == n
        merged.append(
            {
                **found[0],
                "expected": found[0]["expected"],
                "measured": sum(numbers) / n if complete else _first_text(values),
                "measured_min": min(numbers) if complete else None,
                "measured_max": max(numbers) if complete else None,
                "measured_values": values,
                "margin": min(margins) if margins and len(margins) == n else None,
                "holds": holds,
                "held": held,
                "seeds": n,
            }
        )
    return merged


def _first_text(values):
    """What a row shows when some seed measured no number: the first such value."""
    for value in values:
        if not _number(value):
            return value
    return None


def metric_summary(metrics_by_seed):
    """``{metric: {mean, min, max, values}}`` of the numeric scalar metrics over seeds."""
    names = []
    for metrics in metrics_by_seed:
        names += [name for name, value in metrics.items() if _number(value) and name not in names]
    summary = {}
    for name in names:
        values = [metrics.get(name) for metrics in metrics_by_seed]
        numbers = [v for v in values if _number(v)]
        summary[name] = {
            "mean": sum(numbers) / len(numbers) if numbers else None,
            "min": min(numbers) if numbers else None,
            "max": max(numbers) if numbers else None,
            "values": values,
        }
    return summary
