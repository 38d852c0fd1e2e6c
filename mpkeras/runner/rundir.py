"""Run directories: where a run goes, checks before any work, atomic JSON files.

A run directory is never silently overwritten: a fresh run needs an empty
or missing directory (or ``--overwrite``), a resumed one a ``config.json``
written by a run of the same experiment. Every check here is plain Python
(no TensorFlow), so a bad directory fails at once.
"""

import contextlib
import datetime
import json
import shutil
from pathlib import Path

from mpkeras.runner.errors import RunError

DEFAULT_RUNS_DIR = Path("runs")

# The keys every run's config.json holds (see RunPlan.record).
_RECORD_KEYS = ("spec", "experiment", "seed", "quick", "overrides", "config")


def default_run_dir(name, runs_dir=DEFAULT_RUNS_DIR):
    """``runs_dir/name/<timestamp>``, with a suffix if that exists already."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = Path(runs_dir) / name / stamp
    suffix = 1
    while candidate.exists():
        candidate = Path(runs_dir) / name / f"{stamp}-{suffix}"
        suffix += 1
    return candidate


def check_fresh(run_dir, overwrite=False):
    """Raise :class:`RunError` unless a fresh run may start in ``run_dir``.

    It may when ``run_dir`` is missing or empty, or holds something and
    ``overwrite`` is set. Nothing is created or deleted here.
    """
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"--run-dir {run_dir} is a file, not a directory")
    if run_dir.is_dir() and any(run_dir.iterdir()) and not overwrite:
        raise RunError(
            f"Run directory {run_dir} already exists; pass --resume to continue it "
            "or --overwrite to start it again"
        )


def make_fresh(run_dir, overwrite=False):
    """Create an empty ``run_dir`` (deleting what it held if ``overwrite``).

    Returns:
        The folders made above it (``runs/``, ``runs/<name>/``), deepest
        first, so that a run that leaves nothing behind can remove them again.
    """
    run_dir = Path(run_dir)
    check_fresh(run_dir, overwrite)
    made = [parent for parent in run_dir.parents if not parent.exists()]
    if run_dir.is_dir():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    return made


def remove_fresh(run_dir, made_parents=()):
    """Undo :func:`make_fresh`: remove ``run_dir`` and the empty folders made above it."""
    shutil.rmtree(run_dir, ignore_errors=True)
    for parent in made_parents:
        with contextlib.suppress(OSError):  # not empty: something else lives there
            parent.rmdir()


def read_record(run_dir, spec):
    """The ``config.json`` of the run in ``run_dir``, to resume it as ``spec``.

    Raises:
        RunError: no run there, a ``config.json`` that is not a run's, or
            the run of another experiment (the message names both).
    """
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise RunError(f"Cannot resume: no config.json in {run_dir}")
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunError(f"Cannot resume: {path} is not readable JSON ({error})") from None
    missing = [key for key in _RECORD_KEYS if not isinstance(record, dict) or key not in record]
    if missing:
        raise RunError(
            f"Cannot resume: {path} is not an mpkeras run's config (no {', '.join(missing)})"
        )
    if (record["spec"], record["experiment"]) != (spec.name, spec.experiment):
        raise RunError(
            f"Cannot resume {spec.name!r} (experiment {spec.experiment!r}): {run_dir} holds "
            f"a run of {record['spec']!r} (experiment {record['experiment']!r})"
        )
    return record


def write_json(path, payload):
    """Write JSON through a temporary file so a reader never sees half of it."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    temp.replace(path)


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"Not JSON serialisable: {type(value).__name__}")
