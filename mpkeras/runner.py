"""Run an experiment spec: resolve, seed, lay out the run directory, train, check, save.

A run directory holds::

    config.json     the fully resolved config, seed and overrides
    logs/           TensorBoard event files (scalars per epoch, images, figures)
    checkpoints/    keras BackupAndRestore state, so a killed run can --resume
    figures/*.png   the experiment's figures
    results.json    metrics, expectations (expected / measured / holds),
                    wall time, peak memory, library versions, seed

and the trained model goes to ``saved_models/<name>.keras``, written atomically.
"""

import contextlib
import dataclasses
import datetime
import json
import os
import platform
import resource
import shlex
import shutil
import sys
import time
import traceback
import warnings
from pathlib import Path

from mpkeras import reporting, specs

DEFAULT_RUNS_DIR = Path("runs")
DEFAULT_MODELS_DIR = Path("saved_models")


class RunError(ValueError):
    """The run cannot start as asked (bad run directory, bad resume, ...)."""


class RunFailed(RuntimeError):
    """The run started but could not finish: the loss diverged, a premise was
    violated, or the experiment raised (its traceback is in ``error.log``)."""


QUICK_BUDGET_S = 60.0
"""A --quick run should finish within this wall time on 2 CPU cores."""

STRATEGIES = ("default", "mirrored", "multiworker")
"""``--strategy``: TensorFlow's own distribution engine (``tf.distribute``).

``default`` is the default strategy (one device), ``mirrored`` a
``MirroredStrategy`` over the visible devices of this machine (all GPUs, else
the CPU), ``multiworker`` a ``MultiWorkerMirroredStrategy`` whose cluster is
the standard ``TF_CONFIG`` environment variable (each worker runs the same
command; see the README's "Scale-out" section)."""

PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")
"""``--mixed-precision``: the Keras mixed-precision policies."""


@dataclasses.dataclass(frozen=True)
class ExecutionConfig:
    """How a run executes, as opposed to what it computes: stored in
    ``config.json`` under ``"execution"`` so ``--resume`` continues the same way.

    Attributes:
        strategy: one of :data:`STRATEGIES`.
        mixed_precision: one of :data:`PRECISION_POLICIES`, or None for the
            float32 policy.
        jit_compile: None leaves each model's own setting (Keras's "auto");
            True or False is forced on every model ``context.fit`` trains.
            True also turns TensorFlow's op determinism off: Keras does not
            XLA-compile under it, so such a run is seeded but not bitwise
            reproducible.
    """

    strategy: str = "default"
    mixed_precision: object = None
    jit_compile: object = None

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise RunError(f"--strategy must be one of {', '.join(STRATEGIES)}; got {self.strategy!r}")
        if self.mixed_precision is not None and self.mixed_precision not in PRECISION_POLICIES:
            raise RunError(
                f"--mixed-precision must be one of {', '.join(PRECISION_POLICIES)}; "
                f"got {self.mixed_precision!r}"
            )
        if self.jit_compile is not None and not isinstance(self.jit_compile, bool):
            raise RunError(f"jit_compile must be True, False or None; got {self.jit_compile!r}")
        if self.strategy == "multiworker":
            _check_tf_config(os.environ.get("TF_CONFIG"))

    def to_dict(self):
        return dataclasses.asdict(self)


def _check_tf_config(text):
    """TF_CONFIG, if set, must be the JSON ``{"cluster": {...}, "task": {"type", "index"}}``.

    Unset, MultiWorkerMirroredStrategy runs as a cluster of one worker.
    """
    if not text:
        return
    try:
        tf_config = json.loads(text)
    except json.JSONDecodeError as error:
        raise RunError(f"TF_CONFIG is not valid JSON: {error}") from None
    if not isinstance(tf_config, dict) or not isinstance(tf_config.get("cluster"), dict):
        raise RunError('TF_CONFIG must be a JSON object with a "cluster" object')
    task = tf_config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise RunError('TF_CONFIG must have a "task" object with "type" and "index"')
    members = tf_config["cluster"].get(task["type"])
    if not isinstance(members, list) or not (
        isinstance(task["index"], int) and 0 <= task["index"] < len(members)
    ):
        raise RunError(
            f"TF_CONFIG task {task['type']!r} index {task['index']!r} is not in its cluster"
        )


def make_strategy(name):
    """The ``tf.distribute`` strategy called ``name`` (one of :data:`STRATEGIES`)."""
    import tensorflow as tf

    if name == "mirrored":
        if tf.config.list_logical_devices("GPU"):
            return tf.distribute.MirroredStrategy()
        # CPUs only (e.g. logical CPU devices): TensorFlow's collective
        # all-reduce can pair different tensors across the CPU replicas
        # ("Shape mismatch in the collective instance"); reduce on one device.
        return tf.distribute.MirroredStrategy(cross_device_ops=tf.distribute.ReductionToOneDevice())
    if name == "multiworker":
        # The cluster comes from TF_CONFIG (TFConfigClusterResolver). One per
        # process: it configures the collective ops, which TensorFlow allows
        # once (`mpkeras reproduce` runs every experiment in one process).
        global _MULTI_WORKER
        if _MULTI_WORKER is None:
            _MULTI_WORKER = tf.distribute.MultiWorkerMirroredStrategy()
        return _MULTI_WORKER
    return tf.distribute.get_strategy()


_MULTI_WORKER = None


@contextlib.contextmanager
def execution_scope(execution, strategy):
    """Inside: the mixed-precision policy and the strategy's scope. The
    previous global policy is restored on the way out, even on error."""
    import keras

    previous = keras.mixed_precision.global_policy()
    try:
        if execution.mixed_precision is not None:
            keras.mixed_precision.set_global_policy(execution.mixed_precision)
        with strategy.scope():
            yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@dataclasses.dataclass
class RunContext:
    """What an experiment function may use of the run it is part of.

    Attributes:
        run_dir: the run directory.
        seed: the run's seed; every other seed derives from it.
        quick: whether the spec's --quick budget is in force.
        verbose: passed to ``fit``/``evaluate`` (Keras's "auto", 0, 1, 2).
        strategy: the ``tf.distribute.Strategy`` the experiment runs under
            (its scope is entered already: models, optimizers and data built
            by the experiment belong to it; Keras distributes the datasets
            given to ``fit``); None outside a run.
        jit_compile: forced on every model ``fit`` trains, or None to leave
            each model's own setting.
    """

    run_dir: Path
    seed: int
    quick: bool
    verbose: object = "auto"
    strategy: object = None
    jit_compile: object = None

    def log_dir(self, tag):
        return self.run_dir / "logs" / tag

    def fit(self, model, x, *, tag, epochs, figure=None, figure_every=10, callbacks=(), **fit_kwargs):
        """``model.fit(x, epochs=epochs, ...)`` under the run's callbacks.

        The one way an experiment trains: every fit gets TensorBoard under
        ``logs/<tag>``, BackupAndRestore under ``checkpoints/<tag>`` (so a
        killed run resumes, and a resumed run skips fits that had finished),
        the NaN stop, per-epoch data seeding and, if ``figure`` is given,
        ``figure(model)`` as a TensorBoard image every ``figure_every``
        epochs. ``callbacks`` are added after the run's own; other keyword
        arguments go to ``model.fit``.

        Returns:
            The ``History``, whose ``history`` covers every epoch of this fit,
            also those before a restart (see ``ResumableHistory``).
        """
        from mpkeras.callbacks import ResumableHistory

        if self.jit_compile is not None and model.jit_compile != self.jit_compile:
            model.jit_compile = self.jit_compile
            # Functions traced before (an earlier fit or evaluate) keep their
            # old setting: drop them so they are traced again.
            model.train_function = model.test_function = model.predict_function = None
        if _is_multi_worker(self.strategy):
            _patch_for_multi_worker(model, self.strategy)
        full = ResumableHistory(self.run_dir / "checkpoints" / tag / "history.json")
        history = model.fit(
            x,
            epochs=epochs,
            callbacks=[*self.callbacks(tag, figure=figure, figure_every=figure_every), full, *callbacks],
            verbose=self.verbose,
            **fit_kwargs,
        )
        history.history = full.history
        return history

    def callbacks(self, tag, figure=None, figure_every=10):
        """The standard callbacks for one ``fit`` named ``tag``.

        TensorBoard scalars (and ``figure(model)`` as an image every
        ``figure_every`` epochs), BackupAndRestore under ``checkpoints/tag``,
        a hard stop on NaN, and per-epoch shuffle seeding.
        """
        import keras

        from mpkeras import callbacks

        result = [
            callbacks.ShuffleEpoch(),
            callbacks.StopOnNaN(),
            keras.callbacks.TensorBoard(log_dir=str(self.log_dir(tag)), write_graph=False),
            # Kept after fit ends (delete_checkpoint=False): a resumed run skips
            # the fits that had already finished instead of redoing them.
            keras.callbacks.BackupAndRestore(
                str(self.run_dir / "checkpoints" / tag),
                delete_checkpoint=False,
                double_checkpoint=True,
            ),
        ]
        if figure is not None:
            result.append(callbacks.FigureLogger(self.log_dir(tag), figure, name=tag, every=figure_every))
        return result

    def save_figure(self, name, figure):
        """Write ``figures/name.png`` and the same figure to TensorBoard."""
        import tensorflow as tf

        from mpkeras.callbacks import figure_to_image

        path = self.run_dir / "figures" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100, bbox_inches="tight")
        writer = tf.summary.create_file_writer(str(self.run_dir / "logs" / "figures"))
        with writer.as_default():
            tf.summary.image(name, figure_to_image(figure), step=0)
        writer.close()
        return path


def _is_multi_worker(strategy):
    if strategy is None:
        return False
    import tensorflow as tf

    # As Keras decides (a MultiWorkerMirroredStrategy without TF_CONFIG is
    # one local worker, which Keras treats like MirroredStrategy).
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def _patch_for_multi_worker(model, strategy):
    """Work around Keras 3's ``fit`` under MultiWorkerMirroredStrategy
    (keras-team/keras#20585), on this model instance only.

    Keras (3.15) fails twice there: before the first step it ``reduce``s a
    peeked ``(x, y)`` batch of PerReplica values to build the model
    symbolically (TensorFlow cannot reduce that structure), and after every
    step it reduces the scalar logs "MEAN" along axis 0 (no axis 0 on a
    scalar). Here the symbolic build takes one replica's batch (only its
    shapes and dtypes matter), and the step functions return their logs with
    a leading axis of 1, which that reduction removes again.
    """
    if getattr(model, "_mpkeras_multi_worker", False):
        return
    import tensorflow as tf
    from keras import ops, tree

    def local(value):
        if isinstance(value, tf.distribute.DistributedValues):
            return strategy.experimental_local_results(value)[0]
        return value

    def maybe_symbolic_build(iterator=None, data_batch=None):
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = tree.map_structure(local, next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    def with_axis(step):
        def wrapped(data):
            logs = step(data)
            return tree.map_structure(lambda v: ops.reshape(v, (1,)) if len(v.shape) == 0 else v, logs)

        return wrapped

    model._maybe_symbolic_build = maybe_symbolic_build
    model.train_step = with_axis(model.train_step)
    model.test_step = with_axis(model.test_step)
    model._mpkeras_multi_worker = True


@dataclasses.dataclass
class RunOutcome:
    """What ``run`` returns.

    Attributes:
        run_dir: the run directory.
        results: the contents of ``results.json``.
        models: the trained models, by the stem of the file each was saved
            to (``"xor"``, ``"xor_perceptron"``), to use them in the same
            session without reloading.
        model_paths: the saved ``.keras`` files.
    """

    run_dir: Path
    results: dict
    models: dict
    model_paths: list

    @property
    def all_hold(self):
        return all(row["holds"] for row in self.results["expectations"])


def _versions():
    import keras
    import numpy
    import tensorflow as tf

    import mpkeras

    versions = {
        "python": platform.python_version(),
        "mpkeras": mpkeras.__version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
    }
    try:
        import tensorflow_datasets as tfds

        versions["tensorflow_datasets"] = tfds.__version__
    except ImportError:  # pragma: no cover
        pass
    return versions


def peak_memory_mb():
    """Peak resident memory of this process so far, in MiB (ru_maxrss)."""
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return usage / 1024 if sys.platform != "darwin" else usage / 2**20


def seed_everything(seed, deterministic=True):
    """One seed for Python, NumPy and TensorFlow; deterministic TF kernels
    unless ``deterministic`` is False (Keras turns XLA off under op
    determinism, so a ``--jit-compile`` run gives it up)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:
        # No public API turns it off again (a run earlier in this process may
        # have turned it on); Keras reads the flag from this same module.
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()


def default_run_dir(name, runs_dir=DEFAULT_RUNS_DIR):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidate = Path(runs_dir) / name / stamp
    suffix = 1
    while candidate.exists():
        candidate = Path(runs_dir) / name / f"{stamp}-{suffix}"
        suffix += 1
    return candidate


def _prepare_run_dir(run_dir, resume, overwrite):
    run_dir = Path(run_dir)
    if resume and overwrite:
        raise RunError("--resume and --overwrite exclude each other")
    exists = run_dir.exists() and any(run_dir.iterdir())
    if resume:
        if not (run_dir / "config.json").is_file():
            raise RunError(f"Cannot resume: no config.json in {run_dir}")
        return run_dir
    if exists:
        if not overwrite:
            raise RunError(
                f"Run directory {run_dir} already exists; pass --resume to continue it "
                "or --overwrite to start it again"
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def _write_json(path, payload):
    """Write JSON through a temporary file so a reader never sees half of it."""
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(payload, indent=2, default=_json_default) + "\n")
    temp.replace(path)


def _json_default(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"Not JSON serialisable: {type(value).__name__}")


def _experiment_for(spec):
    from mpkeras_experiments import registry

    try:
        return registry.get(spec.experiment)
    except KeyError as error:
        raise specs.SpecError(f"{spec.path}: {error.args[0]}") from None


def resolve(spec_name, overrides=(), quick=False):
    """Load a spec and resolve its typed config. Returns (spec, experiment, config)."""
    spec = specs.load(spec_name)
    parsed = [specs.parse_override(text) for text in overrides]
    experiment = _experiment_for(spec)
    config = specs.resolve_config(experiment.config_class, spec, quick=quick, overrides=parsed)
    _check_datasets(config)
    return spec, experiment, config


def _check_datasets(config, prefix=""):
    """Every config field called ``dataset`` must name a dataset mpkeras knows.

    Checked with the registry (no TensorFlow) before any work, so a typo
    fails at once instead of after a first model has trained.
    """
    from mpkeras.data import registry

    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if dataclasses.is_dataclass(value):
            _check_datasets(value, prefix=f"{prefix}{field.name}.")
        elif field.name == "dataset" and isinstance(value, str):
            try:
                registry.resolve(value)
            except ValueError as error:
                raise specs.SpecError(f"Invalid value for {prefix + field.name!r}: {error}") from None


def run(
    spec_name,
    overrides=(),
    seed=None,
    quick=False,
    run_dir=None,
    resume=False,
    overwrite=False,
    runs_dir=DEFAULT_RUNS_DIR,
    models_dir=DEFAULT_MODELS_DIR,
    verbose="auto",
    report=print,
    strategy=None,
    mixed_precision=None,
    jit_compile=None,
):
    """Run one experiment spec end to end and return a :class:`RunOutcome`.

    Args:
        spec_name: a name in ``experiments/`` or a path to a TOML spec.
        overrides: ``"key=value"`` strings, type-checked against the config.
        seed: the run's seed (default: the spec's ``seed``, else 0).
        quick: apply the spec's ``[quick]`` budget and thresholds.
        run_dir: the run directory (default ``runs/<name>/<timestamp>``).
        resume: continue the run in ``run_dir`` from its checkpoints, with the
            config stored in its ``config.json``.
        overwrite: delete an existing ``run_dir`` first.
        report: where progress lines go (the CLI passes ``click.echo``).
        strategy: ``"default"`` (when None), ``"mirrored"`` or
            ``"multiworker"`` (see :data:`STRATEGIES`): the experiment
            function runs inside that ``tf.distribute`` strategy's scope.
        mixed_precision: ``"mixed_float16"`` or ``"mixed_bfloat16"``: the
            Keras global policy during the run (restored afterwards).
        jit_compile: True/False forces XLA on/off for every model trained
            through ``context.fit``; None leaves the models' own setting.
            These three are stored in ``config.json`` and reused by --resume.

    Raises:
        specs.SpecError, RunError: bad input, found before any work; nothing
            was run and no run directory is left behind.
        DatasetUnavailableError: the data cannot be had offline.
        RunFailed: training diverged, a premise was violated or the
            experiment raised; ``results.json`` records why.
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise RunError(f"--seed must be a non-negative integer, got {seed!r}")
    given = {"strategy": strategy, "mixed_precision": mixed_precision, "jit_compile": jit_compile}
    execution = ExecutionConfig(**{k: v for k, v in given.items() if v is not None})
    if resume:
        if run_dir is None:
            raise RunError("--resume needs --run-dir (the run to continue)")
        if overrides or seed is not None or any(v is not None for v in given.values()):
            raise RunError(
                "--resume continues a run as its config.json says; drop "
                "--set/--seed/--strategy/--mixed-precision/--jit-compile"
            )
        run_dir = _prepare_run_dir(run_dir, resume=True, overwrite=overwrite)
        made_parents = []
        stored = json.loads((run_dir / "config.json").read_text())
        seed, quick, overrides = stored["seed"], stored["quick"], stored["overrides"]
        execution = ExecutionConfig(**stored.get("execution", {}))
        spec = specs.load(stored["spec_path"])
        experiment = _experiment_for(spec)
        # The config the run started with, even if the spec file changed since.
        config = specs.build_dataclass(experiment.config_class, stored["config"], prefix="")
    else:
        spec, experiment, config = resolve(spec_name, overrides, quick)
        seed = spec.seed if seed is None else seed
        target = Path(run_dir or default_run_dir(spec.name, runs_dir))
        # The folders this run makes above its own (runs/, runs/<name>/): a run
        # that leaves nothing behind removes them again.
        made_parents = [parent for parent in target.parents if not parent.exists()]
        run_dir = _prepare_run_dir(target, False, overwrite)

    _write_json(
        run_dir / "config.json",
        {
            "spec": spec.name,
            "spec_path": str(spec.path.resolve()),
            "experiment": spec.experiment,
            "claims": list(spec.claims),
            "seed": seed,
            "quick": quick,
            "overrides": list(overrides),
            "config": specs.to_dict(config),
            "execution": execution.to_dict(),
        },
    )
    report(f"Run directory: {run_dir}")
    report(f"Watch it:      tensorboard --logdir {shlex.quote(str(run_dir / 'logs'))}")

    # Before anything else touches TensorFlow's runtime: a multi-worker
    # strategy configures the collective ops, which must happen first.
    distribution = make_strategy(execution.strategy)
    seed_everything(seed, deterministic=not execution.jit_compile)
    context = RunContext(run_dir=run_dir, seed=seed, quick=quick, verbose=verbose,
                         strategy=distribution, jit_compile=execution.jit_compile)
    started = time.perf_counter()
    base = {"name": spec.name, "experiment": spec.experiment, "seed": seed, "quick": quick,
            "execution": execution.to_dict()}
    if execution.strategy != "default":
        report(f"Strategy:      {execution.strategy}, {distribution.num_replicas_in_sync} replica(s) in sync")
    try:
        with warnings.catch_warnings(), execution_scope(execution, distribution):
            # Keras warns on every fit that its default shuffle=True does not
            # apply to a tf.data.Dataset; mpkeras.data shuffles by itself.
            warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed")
            results = experiment.function(config, context)
    except Exception as error:  # noqa: BLE001 - every failure is recorded, then re-raised
        _fail(run_dir, base, error, fresh=not resume, made_parents=made_parents)
    wall_time = time.perf_counter() - started

    metrics = {key: _plain(value) for key, value in results.metrics.items()}
    expectations = [e.check(metrics, quick) for e in spec.expectations]
    models = _named_models(results, spec.name)
    model_paths = _save_models(models, models_dir, report)
    payload = {
        **base,
        "status": "completed",
        "title": spec.title,
        "metrics": metrics,
        "expectations": expectations,
        "wall_time_s": round(wall_time, 3),
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "models": [str(p) for p in model_paths],
        "versions": _versions(),
    }
    _write_json(run_dir / "results.json", payload)
    return RunOutcome(run_dir=run_dir, results=payload, models=models, model_paths=model_paths)


def _fail(run_dir, base, error, fresh, made_parents=()):
    """Record why the experiment stopped in ``results.json``, and raise for the CLI.

    Data that cannot be had offline is the user's to fix (the error passes
    through; a fresh run directory with nothing trained is removed, and the
    empty folders the run made above it, ``made_parents``, deepest first). A
    diverged loss or a violated premise is a failed run. Anything else raised
    inside the experiment -- a ValueError from Keras included -- is a bug:
    a failed run whose traceback is kept in ``error.log``.
    """
    from mpkeras.callbacks import TrainingDiverged
    from mpkeras.data.errors import DatasetUnavailableError
    from mpkeras_experiments.results import PremiseError

    if isinstance(error, DatasetUnavailableError):
        if fresh and not (run_dir / "checkpoints").exists():
            shutil.rmtree(run_dir, ignore_errors=True)
            for parent in made_parents:
                with contextlib.suppress(OSError):  # not empty: something else lives there
                    parent.rmdir()
        raise error
    if isinstance(error, TrainingDiverged):
        status = "diverged"
        message = f"Training diverged: {error}; the last good checkpoint is in {run_dir / 'checkpoints'}"
    elif isinstance(error, PremiseError):
        status, message = "premise violated", str(error)
    else:
        status = "error"
        (run_dir / "error.log").write_text("".join(traceback.format_exception(error)))
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        message = f"{type(error).__name__}: {first} (traceback in {run_dir / 'error.log'})"
    _write_json(run_dir / "results.json",
                {**base, "status": status, "reason": message, "metrics": {}, "expectations": []})
    raise RunFailed(message) from error


def _plain(value):
    """Metrics as JSON numbers: numpy scalars and arrays become Python values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _named_models(results, name):
    """The results' models by file stem: the main one ``name``, others ``name_key``."""
    models = {name: results.model} if results.model is not None else {}
    models.update({f"{name}_{key}": model for key, model in results.extra_models.items()})
    return models


def _save_models(models, models_dir, report):
    from mpkeras.saving import save_model_atomic

    paths = []
    for filename, model in models.items():
        path = save_model_atomic(model, Path(models_dir) / f"{filename}.keras")
        report(f"Saved model:   {path}")
        paths.append(path)
    return paths


def expectation_table(rows, title=None):
    """Format expectation rows as a fixed-width text table."""
    header = ("claim", "metric", "expected", "measured", "margin", "holds")
    body = [
        (
            row.get("claim", ""),
            row.get("metric", ""),
            row.get("expected", ""),
            reporting.format_measured(row.get("measured")),
            reporting.format_margin(row.get("margin")),
            reporting.format_holds(row.get("holds")),
        )
        for row in rows
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *body)]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in body]
    return "\n".join(lines)


def evaluate(model_path, dataset, split="test", task=None, batch_size=128, verbose="auto"):
    """Evaluate a saved model on a dataset split; returns a metrics dict."""
    from mpkeras import data
    from mpkeras.saving import load_model

    check_dataset_name(dataset)
    model = load_model(model_path)
    if not model.compiled:
        raise RunError(f"{model_path} was saved without compile(); it has no loss or metrics to evaluate")
    inputs = data.load(dataset, split=split, batch_size=batch_size, task=task)
    return model.evaluate(inputs, verbose=verbose, return_dict=True)


def check_dataset_name(name):
    """Raise :class:`RunError` unless ``name`` is a dataset mpkeras knows (no TensorFlow)."""
    from mpkeras.data import registry

    try:
        registry.resolve(name)
    except ValueError as error:
        raise RunError(str(error)) from None


def prepare_dataset(name, force=False, data_dir=None):
    """Prepare dataset ``name`` in the TFDS data dir (``mpkeras prepare``)."""
    from mpkeras import data

    check_dataset_name(name)
    data.prepare(name, force=force, data_dir=data_dir)


def reproduce(names=None, quick=False, runs_dir=DEFAULT_RUNS_DIR, models_dir=DEFAULT_MODELS_DIR,
              verbose=False, report=print, strategy=None, mixed_precision=None, jit_compile=None):
    """Run every spec (or ``names``) and write the claims table.

    Each experiment prints one progress line (i/N, name, wall time,
    expectations held); everything else it prints -- Keras's per-epoch
    lines, dataset preparation, TensorFlow's C++ log -- goes to
    ``logs/<name>.log`` in the report directory unless ``verbose``. Whatever one experiment raises becomes a
    row that does not hold, with the error, and the others still run; an
    experiment whose remote data is not prepared is a skipped row with the
    reason. Every row carries its experiment's wall time, and a quick run
    over ``QUICK_BUDGET_S`` is flagged.

    ``strategy``, ``mixed_precision`` and ``jit_compile`` apply to every
    run (see :func:`run`).

    Returns ``(report_dir, rows)``; ``report_dir`` holds ``REPORT.md`` (one
    row per claim of the notes, the key figures), ``claims.md`` (one row per
    expectation), ``claims.json`` and one run directory per experiment.
    """
    from mpkeras.data.errors import DatasetUnavailableError

    execution = {"strategy": strategy, "mixed_precision": mixed_precision, "jit_compile": jit_compile}
    # Bad values fail now, not as a failed row per experiment.
    ExecutionConfig(**{k: v for k, v in execution.items() if v is not None})

    names = list(names) if names else specs.available()
    # Load every spec first: a typo fails now, not after hours of training.
    loaded = [specs.load(name) for name in names]
    # The table reads in the order of the notes: chapter, then claim id.
    loaded.sort(key=lambda spec: (spec.chapter, _claim_order(spec.claims), spec.name))
    report_dir = default_run_dir("reproduce", runs_dir)
    report_dir.mkdir(parents=True)
    began, began_at = time.perf_counter(), datetime.datetime.now(datetime.timezone.utc)
    rows, experiments = [], []
    for index, spec in enumerate(loaded, start=1):
        started = time.perf_counter()
        status = "completed"
        output = contextlib.nullcontext() if verbose else output_to(report_dir / "logs" / f"{spec.name}.log")
        try:
            with output:
                outcome = run(
                    spec.path, quick=quick, run_dir=report_dir / spec.name, runs_dir=runs_dir,
                    models_dir=models_dir, verbose="auto" if verbose else 2, report=report,
                    **execution,
                )
            found = outcome.results["expectations"]
        except DatasetUnavailableError as error:
            status = "skipped"
            found = [_run_row(spec, "runs when its data is prepared", f"skipped: {_first_line(error)}", None)]
        except Exception as error:  # noqa: BLE001 - one experiment's failure must not stop the others
            status = "failed"
            found = [_run_row(spec, "completes", f"{type(error).__name__}: {_first_line(error)}", False)]
        wall_time = time.perf_counter() - started
        over = quick and wall_time > QUICK_BUDGET_S
        rows += [{"experiment": spec.name, **row, "wall_time_s": round(wall_time, 1), "over_budget": over}
                 for row in found]
        written, missing = key_figures(spec, report_dir / spec.name)
        experiments.append({
            "name": spec.name, "title": spec.title, "chapter": spec.chapter, "claims": list(spec.claims),
            "status": status, "wall_time_s": round(wall_time, 1),
            "figures": [path.relative_to(report_dir).as_posix() for path in written], "missing_figures": missing,
        })
        held = sum(bool(row["holds"]) for row in found)
        summary = status if status != "completed" else f"{held}/{len(found)} expectations hold"
        flag = f"  (over the {QUICK_BUDGET_S:.0f} s quick budget)" if over else ""
        report(f"[{index}/{len(loaded)}] {spec.name:<28} {wall_time:6.1f} s  {summary}{flag}")
        # After every experiment, so a long run that is stopped keeps a report of what it did.
        reporting.write(report_dir, rows, experiments, quick, started=began_at.strftime("%Y-%m-%d %H:%M UTC"),
                        wall_time_s=time.perf_counter() - began, planned=len(loaded))
    return report_dir, rows


@contextlib.contextmanager
def output_to(path):
    """Send everything this process prints to ``path``: Python's stdout and
    stderr, and file descriptors 1 and 2, where TensorFlow's C++ log and
    progress bars of child libraries write."""
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


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _run_row(spec, expected, measured, holds):
    """The row standing for an experiment that gave no expectations to check."""
    return {"claim": ", ".join(spec.claims), "metric": "(run)", "expected": expected,
            "measured": measured, "margin": None, "holds": holds, "description": ""}


def key_figures(spec, run_dir):
    """The key figures ``spec`` names (``figures = [...]``): ``(written, missing)``,
    the paths ``run_dir/figures/<name>.png`` that exist and the names whose file does not."""
    paths = {name: Path(run_dir) / "figures" / f"{name}.png" for name in spec.figures}
    written = [path for path in paths.values() if path.is_file()]
    return written, [name for name, path in paths.items() if not path.is_file()]


def _claim_order(claims):
    """Sort key of a claim list: "N2" before "N10"."""
    first = claims[0] if claims else ""
    digits = "".join(ch for ch in first if ch.isdigit())
    return first.rstrip("0123456789"), int(digits) if digits else 0
