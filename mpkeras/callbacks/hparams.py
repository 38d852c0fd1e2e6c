"""Runs' settings and final metrics in TensorBoard's HParams dashboard.

Every finished run writes one HParams *session*: its resolved config
flattened to scalar settings (``train.epochs``, ``beta``, ``hidden`` as the
string ``"[128, 64]"``, plus the run's ``seed``, ``quick`` and ``spec``) and
its final metrics as scalars beside it, in ``<run>/logs/hparams``. With
``tensorboard --logdir runs/NAME`` the HParams tab then lists every run of
the experiment, filterable and sortable, in the table and the
parallel-coordinates view; TensorBoard infers the columns from the sessions.

A sweep adds the *experiment* config at its root
(:func:`write_hparams_config`, or :func:`log_sweep_hparams` from its finished
points): the settings with the values the sweep took, and the metrics, so
the dashboard shows exactly those columns with their domains.

The files are the HParams plugin's own summaries
(``tensorboard.plugins.hparams.summary_v2``), written with TensorFlow's
summary writer.
"""

import dataclasses
import json
import numbers
import shutil
from pathlib import Path

from mpkeras import validation

HPARAMS_DIR = "hparams"
"""The session's directory under a run's ``logs/``."""

RUN_KEYS = ("seed", "quick", "spec")
"""Settings a run adds to its flattened config (not config fields)."""

_CONFIG_SUFFIX = ".hparams_config"


def flatten_config(config, prefix=""):
    """A nested config dict as ``{"dotted.name": scalar}`` for HParams.

    Nested dicts (sub-configs such as ``train``) give dotted names; bools,
    numbers and strings stay as they are; lists, tuples and None become their
    JSON text (``[128, 64]``, ``null``), as HParams settings are scalars.

    Args:
        config: a dict such as ``config.json``'s ``"config"``, or a dataclass
            (an experiment's config), read with ``dataclasses.asdict``.
        prefix: prepended to every name (used for the recursion).

    Returns:
        A dict of name -> bool, int, float or str, sorted by name.

    Raises:
        ValueError: ``config`` is not a dict, has a non-string key, or holds a
            value that is neither a dict, a scalar nor JSON-serialisable.
    """
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    if not isinstance(config, dict):
        raise validation.invalid("config", "a dict (or dataclass) of settings", config)
    flat = {}
    for key, value in config.items():
        if not isinstance(key, str) or not key:
            raise validation.invalid("config", "a dict with non-empty string keys", key)
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_config(value, prefix=f"{name}."))
        else:
            flat[name] = _setting(name, value)
    return dict(sorted(flat.items()))


def _setting(name, value):
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    try:
        return json.dumps(value.tolist() if hasattr(value, "tolist") else value)
    except TypeError:
        raise validation.invalid(
            name, "a bool, number, string, list or None (an HParams setting)", value
        ) from None


def scalar_metrics(metrics):
    """The metrics HParams can show: ``{name: float}`` of the numeric scalars, in order.

    Lists (per-step curves, per-class values), strings and None are left out:
    an HParams metric is one number per run. Bools become 0.0 / 1.0.
    """
    if not isinstance(metrics, dict):
        raise validation.invalid("metrics", "a dict of metric name -> number", metrics)
    result = {}
    for name, value in metrics.items():
        if hasattr(value, "ndim") and value.ndim == 0:
            value = value.item()
        if isinstance(value, numbers.Real):
            result[str(name)] = float(value)
    return result


STATUSES = ("success", "failure", "running", "unknown")
"""A session's status in the dashboard (HParams' ``Status`` enum)."""


def write_run_hparams(
    logdir, config, metrics, trial_id=None, status="success", start_time_secs=None
):
    """Write one HParams session: ``config``'s settings and ``metrics`` as scalars.

    Args:
        logdir: the session's directory (a run's ``logs/hparams``); what an
            earlier call wrote there is replaced.
        config: the settings, a nested dict (flattened by
            :func:`flatten_config`) or already flat.
        metrics: final metrics, name -> number; non-scalars are left out
            (see :func:`scalar_metrics`). Each becomes a scalar of that tag at
            step 0 in ``logdir``, which HParams reads as the session's value.
        trial_id: the session group's name in the dashboard (sessions sharing
            it are aggregated); default: a hash of the settings.
        status: one of :data:`STATUSES`, the dashboard's status column and
            filter; None writes no end of session.
        start_time_secs: the session's start time (seconds since the epoch);
            default now.

    Returns:
        ``(settings, metrics)``: the flat dicts written.
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp
    from tensorboard.plugins.hparams import api_pb2, summary

    settings = flatten_config(config)
    values = scalar_metrics(metrics)
    if trial_id is not None and not isinstance(trial_id, str):
        raise validation.invalid("trial_id", "a string or None", trial_id)
    if status is not None:
        status = validation.one_of(status, "status", STATUSES)
    logdir = Path(logdir)
    if logdir.exists():
        shutil.rmtree(logdir)  # A resumed run's second write replaces the first.
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        hp.hparams(settings, trial_id=trial_id, start_time_secs=start_time_secs)
        for name, value in values.items():
            tf.summary.scalar(name, value, step=0)
        if status is not None:
            code = getattr(api_pb2, f"STATUS_{status.upper()}")
            end = summary.session_end_pb(code)
            tf.summary.experimental.write_raw_pb(end.SerializeToString(), step=0)
    writer.close()
    return settings, values


def write_hparams_config(logdir, hparams, metric_names, description=""):
    """Write the experiment-level HParams config at ``logdir`` (e.g. a sweep's root).

    With it, the dashboard shows exactly these settings (with the values as
    their domain, for its filters; those that take more than one value
    first) and these metrics, for every session below ``logdir``. A config
    written here earlier is replaced.

    Args:
        logdir: the directory above the sessions.
        hparams: setting name -> the values it takes (a list; numbers, bools
            or strings as :func:`flatten_config` gives them). Values of mixed
            kinds give a string setting.
        metric_names: the metrics' tags, as the sessions write them, in the
            order of the dashboard's columns.
        description: Markdown shown with the experiment.

    Returns:
        The path of the event file written.
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api_pb2, summary

    if not isinstance(hparams, dict):
        raise validation.invalid("hparams", "a dict of setting name -> list of values", hparams)
    if isinstance(metric_names, str) or not all(isinstance(m, str) for m in metric_names):
        raise validation.invalid("metric_names", "a list of metric names (strings)", metric_names)
    infos = [_hparam_info(name, values) for name, values in sorted(hparams.items())]
    # In the order given (the dashboard's columns): an experiment's main metrics first.
    metrics = [
        api_pb2.MetricInfo(name=api_pb2.MetricName(group="", tag=name))
        for name in dict.fromkeys(metric_names)
    ]
    experiment = summary.experiment_pb(infos, metrics, description=description)
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    for old in logdir.glob(f"events.out.tfevents.*{_CONFIG_SUFFIX}"):
        old.unlink()
    writer = tf.summary.create_file_writer(str(logdir), filename_suffix=_CONFIG_SUFFIX)
    with writer.as_default():
        tf.summary.experimental.write_raw_pb(experiment.SerializeToString(), step=0)
    writer.close()
    (path,) = logdir.glob(f"events.out.tfevents.*{_CONFIG_SUFFIX}")
    return path


def _hparam_info(name, values):
    """An ``HParamInfo``: the type of ``values``, their set as its domain."""
    from tensorboard.plugins.hparams import api_pb2

    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise validation.invalid(name, "a list of the values the setting takes", values)
    values = [_setting(name, value) for value in values]
    info = api_pb2.HParamInfo(name=name)
    if values and all(isinstance(v, bool) for v in values):
        info.type = api_pb2.DATA_TYPE_BOOL
        distinct = sorted(set(values))
    elif values and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
        # HParams stores every number as a float64.
        info.type = api_pb2.DATA_TYPE_FLOAT64
        distinct = sorted({float(v) for v in values})
    else:
        # Sessions whose values differ in kind are shown as strings too.
        info.type = api_pb2.DATA_TYPE_STRING
        distinct = sorted({v if isinstance(v, str) else json.dumps(v) for v in values})
    info.domain_discrete.extend(distinct)
    info.differs = len(distinct) > 1
    return info


def run_hparams(run_dir):
    """The settings and metrics a finished run logs: ``(settings, metrics)``.

    Read from the run directory's ``config.json`` (the resolved config, plus
    ``seed``, ``quick`` and ``spec``) and ``results.json`` (its metrics and
    ``wall_time_s``).

    Raises:
        ValueError: the run directory has no ``config.json`` or
            ``results.json``, or its config names a setting ``seed``,
            ``quick`` or ``spec``.
    """
    run_dir = Path(run_dir)
    stored = {}
    for name in ("config.json", "results.json"):
        path = run_dir / name
        if not path.is_file():
            raise validation.invalid("run_dir", f"a run directory with a {name}", str(run_dir))
        stored[name] = json.loads(path.read_text())
    config, results = stored["config.json"], stored["results.json"]
    settings = flatten_config(config.get("config", {}))
    clash = sorted(set(settings) & set(RUN_KEYS))
    if clash:
        raise ValueError(
            f"The config of {run_dir} has settings named {clash}, which HParams uses for the "
            "run itself; rename them."
        )
    run_settings = {
        "seed": config.get("seed"),
        "quick": bool(config.get("quick")),
        "spec": str(config.get("spec")),
    }
    settings.update({name: _setting(name, value) for name, value in run_settings.items()})
    metrics = scalar_metrics(results.get("metrics", {}))
    if "wall_time_s" in results and "wall_time_s" not in metrics:
        metrics["wall_time_s"] = float(results["wall_time_s"])
    return dict(sorted(settings.items())), metrics


def log_run_hparams(run_dir):
    """Write a finished run's HParams session to ``run_dir/logs/hparams``.

    The one call the runner makes once ``results.json`` is written (a run
    whose status is not "completed" is a failed session). The
    session's trial id is the run directory's last two path parts (e.g.
    ``vae_digits/20250101-120000`` or ``sweep-.../point-003``), so each run is
    its own row in the dashboard.

    Returns:
        The session's directory.
    """
    run_dir = Path(run_dir)
    settings, metrics = run_hparams(run_dir)
    completed = json.loads((run_dir / "results.json").read_text()).get("status") == "completed"
    logdir = run_dir / "logs" / HPARAMS_DIR
    trial_id = "/".join(run_dir.resolve().parts[-2:])
    write_run_hparams(
        logdir, settings, metrics, trial_id=trial_id, status="success" if completed else "failure"
    )
    return logdir


def log_sweep_hparams(root, run_dirs):
    """Write the HParams experiment config of a sweep at ``root``.

    The settings and metrics are those of the finished runs in ``run_dirs``
    (each with its ``results.json``), every setting with the values the runs
    took, so the dashboard shows exactly the swept grid. Call it again after
    each point to keep it current; it replaces what it wrote before.

    Returns:
        The path of the event file written.
    """
    domains, metric_names = {}, {}
    for run_dir in run_dirs:
        settings, metrics = run_hparams(run_dir)
        for name, value in settings.items():
            domains.setdefault(name, []).append(value)
        metric_names.update(dict.fromkeys(metrics))  # In the experiment's order.
    return write_hparams_config(root, domains, list(metric_names))
