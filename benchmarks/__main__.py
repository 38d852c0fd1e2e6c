"""Run every ``benchmarks/bench_*.py`` and print one table; write it as JSON.

``benchmarks/`` is a development tool that lives in the repository; it is
not part of the installed ``mpkeras`` package. Run it from the repository
root as ``python -m benchmarks``, or from anywhere as ``python
/path/to/repo/benchmarks`` (the directory; it then imports ``mpkeras`` from
that repository). The JSON goes to ``runs/benchmarks/results.json`` under the
current directory unless ``--output`` says otherwise.

Usage (from the repository root)::

    python -m benchmarks                          # every benchmark, its own repeats
    python -m benchmarks --repeats 5              # fewer repeats for all (>= 5)
    python -m benchmarks --only conv --only rnn   # some of them
    python -m benchmarks --output table.json      # default runs/benchmarks/results.json
    python -m benchmarks --readme README.md       # also put the table in the README
    python -m benchmarks --op-determinism         # TensorFlow's op determinism on (GPU check)

Each benchmark's own output (its detailed lines) is printed as it runs; the
combined table (benchmark, ours, baseline, ratio, target, holds, spread,
peak_mib) comes last. A benchmark that raises becomes a row that does not hold, with the
error, and the others still run. ``bench_pipeline`` runs without its
``sprites/full`` preparation (about 10 minutes) unless ``--pipeline-full``.
The exit status is 1 if any row with a target does not hold.
"""

import argparse
import datetime
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
if not __package__:  # `python path/to/benchmarks`: import the bench modules as the package
    sys.path.insert(0, str(HERE.parent))
DEFAULT_OUTPUT = Path("runs") / "benchmarks" / "results.json"
COLUMNS = ("benchmark", "ours", "baseline", "ratio", "target", "holds", "spread", "peak_mib")


def available():
    """The benchmark names, ``bench_<name>.py`` -> ``name``, sorted."""
    return sorted(path.stem[len("bench_") :] for path in HERE.glob("bench_*.py"))


def _argv_for(name, repeats, pipeline_full):
    argv = [] if repeats is None else ["--repeats", str(repeats)]
    if name == "pipeline" and not pipeline_full:
        argv.append("--no-full")
    return argv


def run_one(name, argv):
    """Import ``benchmarks.bench_<name>`` and return its rows, each tagged with the module."""
    module = importlib.import_module(f"benchmarks.bench_{name}")
    rows = module.main(argv) or []
    return [{"module": name, **{key: row.get(key) for key in COLUMNS}} for row in rows]


def _cpu_seconds():
    """CPU seconds of this process and its finished children."""
    own = os.times()
    return own.user + own.system + own.children_user + own.children_system


def _load_average():
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _error_row(name, error):
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    return {
        "module": name,
        "benchmark": f"bench_{name} (did not complete)",
        "ours": None,
        "baseline": None,
        "ratio": None,
        "target": "completes",
        "holds": False,
        "spread": None,
        "peak_mib": None,
        "error": f"{type(error).__name__}: {first}",
    }


def _cell(column, value):
    if value is None:
        return "-"
    if column == "ratio":
        return f"{value:.3f}"
    if column == "holds":
        return "yes" if value is True else ("NO" if value is False else "-")
    if column == "spread":
        low, high = value
        return f"{low:.3f}-{high:.3f}"
    if column == "peak_mib":  # one number, or (ours, baseline)
        values = value if isinstance(value, (tuple, list)) else (value,)
        return "/".join("-" if v is None else f"{v:.1f}" for v in values)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_table(rows, width=None):
    """One fixed-width text table of the rows; ``benchmark`` cut to ``width`` characters."""
    header = ("module", *COLUMNS)
    body = []
    for row in rows:
        cells = [_cell(column, row.get(column)) for column in header]
        if width and len(cells[1]) > width:
            cells[1] = cells[1][: width - 3] + "..."
        body.append(cells)
    widths = [max(len(cells[i]) for cells in [header, *body]) for i in range(len(header))]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip() for cells in body]
    return "\n".join(lines)


def markdown_table(rows, meta):
    """The rows as a Markdown table, with when and how long (the README's benchmark section)."""
    lines = [
        f"`python -m benchmarks`, {meta['date'][:16].replace('T', ' ')} UTC, {meta['cpus']} CPUs, "
        f"{meta['wall_time_s'] / 60:.1f} min. Ratio = ours / baseline, both measured in the same process, "
        "interleaved, median of the repeats; spread = the range of the ratio over the repeats, or "
        "the confidence interval of its median where the row says so; peak_mib = the peak memory "
        "one measured call adds, ours/baseline, in MiB (how: each benchmark's docstring).",
        "",
        "| benchmark | ours | baseline | ratio | target | holds | spread | peak_mib |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [_cell(column, row.get(column)) for column in COLUMNS]
        cells[5] = "**NO**" if cells[5] == "NO" else cells[5]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def write_json(path, rows, meta):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**meta, "rows": [{k: _plain(v) for k, v in row.items()} for row in rows]}
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(payload, indent=2) + "\n")
    temp.replace(path)
    return path


def main(argv=None):
    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__.splitlines()[0],
        epilog=(
            "Run it from the repository root (python -m benchmarks) or as python "
            f"{HERE} from anywhere: benchmarks/ is a development tool in the repository, "
            "not part of the installed package. Relative --output paths are under the "
            f"current directory ({Path.cwd()})."
        ),
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=names,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(names)}",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="repeats for every benchmark (default: each one's own; >= 5)",
    )
    parser.add_argument(
        "--pipeline-full",
        action="store_true",
        help="also time preparing sprites/full in bench_pipeline (~10 min)",
    )
    parser.add_argument(
        "--output",
        default=str(DEFAULT_OUTPUT),
        help=f"JSON file for the table (default: {DEFAULT_OUTPUT} under the current directory)",
    )
    parser.add_argument(
        "--op-determinism",
        action="store_true",
        help="turn TensorFlow's op determinism on first, as the mpkeras runner does "
        "(tf.config.experimental.enable_op_determinism; Keras then runs no XLA)",
    )
    parser.add_argument("--width", type=int, default=80, help="cut benchmark names to this width")
    parser.add_argument(
        "--readme",
        default=None,
        metavar="README.md",
        help="also write the table between the README's benchmarks:begin/end markers",
    )
    args = parser.parse_args(argv)
    if args.repeats is not None and args.repeats < 5:
        parser.error("--repeats must be >= 5 (each ratio is a median of repeats)")

    if args.op_determinism:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    started = time.perf_counter()
    rows, timings, cpu_times = [], {}, {}
    load_before = _load_average()
    for name in args.only or names:
        print(f"\n===== bench_{name} =====", flush=True)
        begin, begin_cpu = time.perf_counter(), _cpu_seconds()
        try:
            rows += run_one(name, _argv_for(name, args.repeats, args.pipeline_full))
        except (Exception, SystemExit) as error:  # noqa: BLE001 - one failure must not stop the rest
            traceback.print_exc()
            rows.append(_error_row(name, error))
        timings[name] = round(time.perf_counter() - begin, 1)
        cpu_times[name] = round(_cpu_seconds() - begin_cpu, 1)
        # The rows so far, so that a run cut short (a timeout) leaves them.
        write_json(args.output, rows, {"partial": True, "benchmark_cpu_s": cpu_times})
    total = time.perf_counter() - started

    print("\n" + format_table(rows, width=args.width))
    print(
        f"\n{len(rows)} rows in {total:.0f} s "
        f"({', '.join(f'{n} {s:.0f} s' for n, s in timings.items())}); CPU time "
        f"{sum(cpu_times.values()):.0f} s, load average {load_before} -> {_load_average()}"
    )
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(sys.argv[1:] if argv is None else argv),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "op_determinism": args.op_determinism,
        "wall_time_s": round(total, 1),
        "benchmark_time_s": timings,
        # CPU time of this process and its children (bench_pool's memory pass,
        # sprites/full): on 2 idle cores the wall time is at least half of it.
        "benchmark_cpu_s": cpu_times,
        "load_average": {"before": load_before, "after": _load_average()},
    }
    path = write_json(args.output, rows, meta)
    print(f"Table: {path}")
    if args.readme:
        from mpkeras import readme_sections

        readme_sections.replace_section(args.readme, "benchmarks", markdown_table(rows, meta))
        print(f"Updated {args.readme}")
    return 1 if any(row.get("holds") is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
