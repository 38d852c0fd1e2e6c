"""``mpkeras sweep``: one experiment over a grid of settings (and seeds), then a summary.

A sweep directory ``runs/NAME/sweep-<timestamp>/`` holds ``sweep.json`` (the
grid: settings, seeds, quick), one run directory per point
(``beta-4_seed-0/``), and at the end ``summary.md`` and ``summary.json``:
each metric (mean and min-max over the seeds) against each swept setting,
and the expectations aggregated over the seeds of each settings point.
"""

import dataclasses
import datetime
import json
from pathlib import Path

from mpkeras.runner import grid, rundir
from mpkeras.runner.errors import RunError
from mpkeras.runner.execution import ExecutionConfig


@dataclasses.dataclass
class SweepOutcome:
    """What :func:`sweep` returns.

    Attributes:
        root: the sweep directory.
        summary: the contents of ``summary.json``.
        markdown: the contents of ``summary.md`` (what the CLI prints).
        failed: the names of points that did not complete.
    """

    root: Path
    summary: dict
    markdown: str
    failed: list


def sweep(
    name,
    sets=(),
    seeds=None,
    quick=False,
    runs_dir=rundir.DEFAULT_RUNS_DIR,
    resume=None,
    verbose=False,
    report=print,
    strategy=None,
    mixed_precision=None,
    jit_compile=None,
    jobs=1,
):
    """Run experiment ``name`` at every point of the ``--set`` grid, once per seed.

    Args:
        name: a spec name or path.
        sets: ``"key=v1,v2"`` strings; their cartesian product is the grid.
        seeds: a list of seeds (:func:`grid.parse_seeds`); None: the spec's.
        resume: an earlier sweep directory of the same grid: points whose
            ``results.json`` exists are skipped, the others run.
        jobs: points run at once, each in a worker process
            (:mod:`mpkeras.runner.parallel`); the results are the same. A
            script passing jobs > 1 calls this under
            ``if __name__ == "__main__":``, as for any spawned process.

    Every point is planned before the first starts; bad input raises
    (:class:`specs.SpecError`, :class:`RunError`) with nothing written.
    """
    from mpkeras import specs

    execution = ExecutionConfig.from_options(strategy, mixed_precision, jit_compile)
    seeds = list(seeds) if seeds else [None]
    spec = specs.load(name)
    points = grid.plan_points(spec, sets, seeds, quick, execution)
    record = {
        "spec": spec.name,
        "sets": list(sets),
        "quick": quick,
        "points": [point.name for point in points],
    }
    if resume is not None:
        root = Path(resume)
        _check_resume(root, record)
    else:
        root = _fresh_root(Path(runs_dir) / spec.name)
        root.mkdir(parents=True)
        rundir.write_json(root / "sweep.json", record)

    from mpkeras.callbacks.hparams import log_sweep_hparams

    by_settings, failed, finished = {}, [], []
    for index, point, result, metrics, resumed in grid.run_points(
        points,
        root,
        resume=resume is not None,
        log_for=None if verbose else (lambda p: root / "logs" / f"{p.name}.log"),
        models_for=lambda p: root / p.name / "models",
        verbose=verbose,
        report=report,
        jobs=jobs,
    ):
        if result.status == "completed":
            result = dataclasses.replace(result, rows=not_measured_here(result.rows, metrics))
        by_settings.setdefault(point.settings, []).append((point, result, metrics))
        if result.status != "completed":
            failed.append(point.name)
        held = sum(bool(row["holds"]) for row in result.rows)
        measured = sum(row["holds"] is not None for row in result.rows)
        state = (
            "already done"
            if resumed
            else f"{result.wall_time_s:6.1f} s  "
            + (
                result.status
                if result.status != "completed"
                else f"{held}/{measured} expectations hold"
                + (
                    f" ({len(result.rows) - measured} not measured at this point)"
                    if measured < len(result.rows)
                    else ""
                )
            )
        )
        report(f"[{index}/{len(points)}] {point.name:<32} {state}")
        # The sweep's HParams config at its root, kept current after every point.
        finished.append(root / point.name)
        log_sweep_hparams(root, [d for d in finished if (d / "results.json").is_file()])
    summary = _summary(spec, sets, by_settings)
    markdown = summary_markdown(summary)
    rundir.write_json(root / "summary.json", summary)
    (root / "summary.md").write_text(markdown)
    return SweepOutcome(root=root, summary=summary, markdown=markdown, failed=failed)


def _fresh_root(parent):
    """``parent/sweep-<timestamp>``, with a suffix if that exists already."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate, suffix = parent / f"sweep-{stamp}", 1
    while candidate.exists():
        candidate, suffix = parent / f"sweep-{stamp}-{suffix}", suffix + 1
    return candidate


def _check_resume(root, record):
    path = root / "sweep.json"
    if not path.is_file():
        raise RunError(f"Cannot resume: {root} is not a sweep directory (no sweep.json)")
    try:
        earlier = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise RunError(f"Cannot resume: {path} is not readable JSON ({error})") from None
    if earlier != record:
        raise RunError(
            f"Cannot resume {root}: it is a sweep of {earlier.get('spec')!r} with "
            f"--set {' '.join(earlier.get('sets', []))} over points "
            f"{earlier.get('points')}; pass the same experiment, --set, --seeds "
            f"and --quick"
        )


def not_measured_here(rows, metrics):
    """The rows of a completed point, those it could not measure marked as such.

    A sweep's settings may leave a spec's metric unmeasured: each point of
    ``--set beta=1,4`` trains one beta, so "mig_beta4 > mig_beta1" has
    nothing to compare. A row whose metric (or ``other`` metric) is absent
    from the point's ``metrics`` is "not measured" (``holds`` None) rather
    than a failure; a metric that is present but NaN still fails. ``mpkeras
    run`` and ``reproduce``, which run the spec's own settings, fail on both.
    """
    marked = []
    for row in rows:
        names = [row["metric"], row.get("other")]
        if any(name is not None and name not in metrics for name in names):
            row = {**row, "holds": None, "margin": None, "note": "not measured at this point"}
        marked.append(row)
    return marked


def _summary(spec, sets, by_settings):
    """One entry per settings point: its settings, seeds, metrics and aggregated expectations."""
    entries = []
    for settings, finished in by_settings.items():
        entries.append(
            {
                "name": grid.point_name(settings, None),
                "settings": dict(settings),
                "seeds": [point.seed for point, _, _ in finished],
                "status": [result.status for _, result, _ in finished],
                "metrics": grid.metric_summary([metrics for _, _, metrics in finished]),
                "expectations": grid.aggregate([result.rows for _, result, _ in finished]),
            }
        )
    keys = [key for key, _ in next(iter(by_settings))] if by_settings else []
    return {
        "spec": spec.name,
        "title": spec.title,
        "swept": grid.swept_keys(sets),
        "settings": keys,
        "points": entries,
        "written": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }


def summary_markdown(summary):
    """``summary.md``: per metric, its mean (min-max over seeds) at each settings point,
    then the expectations per point."""
    keys = summary["settings"]
    points = summary["points"]
    title = f": {summary['title']}" if summary.get("title") else ""
    lines = [f"# Sweep of {summary['spec']}{title}", ""]
    seeds = sorted({len(entry["seeds"]) for entry in points})
    lines += [f"{len(points)} settings points, seeds per point: {', '.join(map(str, seeds))}.", ""]
    metrics = list(dict.fromkeys(name for entry in points for name in entry["metrics"]))
    header = "| " + " | ".join(keys + ["mean", "min-max", "seeds"]) + " |"
    rule = "|" + "---|" * (len(keys) + 3)
    for metric in metrics:
        lines += [f"## {metric}", "", header, rule]
        for entry in points:
            stats = entry["metrics"].get(metric)
            cells = [str(entry["settings"][key]) for key in keys]
            if stats is None or stats["mean"] is None:
                cells += ["missing", "", str(len(entry["seeds"]))]
            else:
                cells += [
                    f"{stats['mean']:.4g}",
                    f"{stats['min']:.4g}-{stats['max']:.4g}",
                    str(sum(v is not None for v in stats["values"])),
                ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += [
        "## Expectations",
        "",
        "| " + " | ".join(keys) + " | claim | metric | expected "
        "| mean | min-max | worst margin | holds |",
        "|" + "---|" * (len(keys) + 7),
    ]
    for entry in points:
        for row in entry["expectations"]:
            cells = [str(entry["settings"][key]) for key in keys] + [
                str(row["claim"]),
                str(row["metric"]),
                str(row["expected"]),
                _measured(row["measured"]),
                _range(row),
                "" if row.get("margin") is None else f"{row['margin']:+.3g}",
                _holds(row),
            ]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _measured(value):
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _range(row):
    low, high = row.get("measured_min"), row.get("measured_max")
    if low is None or high is None:
        return "" if row.get("seeds") else _measured(row["measured"])
    return f"{low:.4g}-{high:.4g}"


def _holds(row):
    if row["holds"] is None and row.get("note"):
        return row["note"]
    if row["holds"] is None:
        return "skipped"
    shown = "yes" if row["holds"] else "NO"
    n = row.get("seeds") or 1
    held = row.get("held", int(bool(row["holds"])))
    return f"{shown} {held}/{n}"
