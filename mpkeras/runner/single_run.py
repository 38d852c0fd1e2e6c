"""One run: plan it (every check, no work), then execute it into a run directory.

``run`` is ``plan`` + a fresh run directory + ``execute``; ``reproduce`` (and a
sweep over seeds or settings) plans every point first, then calls
:func:`run_plan` once per point, each into a directory of its own.
"""

import dataclasses
import platform
import resource
import shlex
import sys
import time
import traceback
import warnings
from pathlib import Path

from mpkeras import specs, typed_config
from mpkeras.runner import rundir
from mpkeras.runner.errors import RunError, RunFailed
from mpkeras.runner.execution import (
    ExecutionConfig,
    execution_scope,
    make_strategy,
    seed_everything,
)
from mpkeras.runner.resolution import check_config, experiment_for, resolve

DEFAULT_MODELS_DIR = Path("saved_models")


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """A run, checked and ready: what ``execute`` needs and ``config.json`` records.

    Attributes:
        spec: the parsed spec.
        experiment: its registered experiment (function and config class).
        config: the typed, fully resolved config.
        seed: the run's seed.
        quick: whether the spec's --quick budget is in force.
        overrides: the ``--set`` strings the config was resolved with.
        execution: strategy, mixed precision, XLA.
    """

    spec: object
    experiment: object
    config: object
    seed: int
    quick: bool = False
    overrides: tuple = ()
    execution: ExecutionConfig = ExecutionConfig()

    def record(self):
        """The ``config.json`` of a run of this plan."""
        return {
            "spec": self.spec.name,
            "spec_path": str(self.spec.path.resolve()),
            "experiment": self.spec.experiment,
            "claims": list(self.spec.claims),
            "seed": self.seed,
            "quick": self.quick,
            "overrides": list(self.overrides),
            "config": typed_config.to_dict(self.config),
            "execution": self.execution.to_dict(),
        }


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


def check_seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise RunError(f"--seed must be a non-negative integer, got {seed!r}")


def plan(spec_name, overrides=(), seed=None, quick=False, execution=None):
    """Check everything about a run before any work; returns a :class:`RunPlan`.

    Args:
        spec_name: a bundled spec's name, a path to a TOML spec, or a Spec.
        overrides: ``"key=value"`` strings, type-checked against the config.
        seed: the run's seed (default: the spec's ``seed``).
        quick: apply the spec's ``[quick]`` budget and thresholds.
        execution: an :class:`ExecutionConfig` (default: one device, float32).

    Raises:
        specs.SpecError, RunError: bad input. Nothing is written.
    """
    check_seed(seed)
    spec, experiment, config = resolve(spec_name, overrides, quick)
    return RunPlan(
        spec=spec,
        experiment=experiment,
        config=config,
        seed=spec.seed if seed is None else seed,
        quick=quick,
        overrides=tuple(overrides),
        execution=execution or ExecutionConfig(),
    )


def plan_resume(spec_name, run_dir):
    """The plan of the run recorded in ``run_dir``, checked to be a run of ``spec_name``."""
    spec = specs.load(spec_name)
    record = rundir.read_record(run_dir, spec)
    execution = ExecutionConfig.from_dict(record.get("execution", {}))
    experiment = experiment_for(spec)
    # The config the run started with, even if the spec file changed since.
    config = typed_config.build_dataclass(experiment.config_class, record["config"], prefix="")
    check_config(experiment, config)
    return RunPlan(
        spec=spec,
        experiment=experiment,
        config=config,
        seed=record["seed"],
        quick=record["quick"],
        overrides=tuple(record["overrides"]),
        execution=execution,
    )


def run(
    spec_name,
    overrides=(),
    seed=None,
    quick=False,
    run_dir=None,
    resume=False,
    overwrite=False,
    runs_dir=rundir.DEFAULT_RUNS_DIR,
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
    execution = ExecutionConfig.from_options(strategy, mixed_precision, jit_compile)
    check_seed(seed)
    options = {"models_dir": models_dir, "verbose": verbose, "report": report}
    if resume:
        if run_dir is None:
            raise RunError("--resume needs --run-dir (the run to continue)")
        if overwrite:
            raise RunError("--resume and --overwrite exclude each other")
        if (
            overrides
            or seed is not None
            or any(value is not None for value in (strategy, mixed_precision, jit_compile))
        ):
            raise RunError(
                "--resume continues a run as its config.json says; drop "
                "--set/--seed/--strategy/--mixed-precision/--jit-compile"
            )
        return execute(plan_resume(spec_name, run_dir), Path(run_dir), resumed=True, **options)
    if run_dir is not None:
        rundir.check_fresh(run_dir, overwrite)  # before the config's TensorFlow import
    checked = plan(spec_name, overrides, seed, quick, execution)
    target = Path(run_dir) if run_dir else rundir.default_run_dir(checked.spec.name, runs_dir)
    return run_plan(checked, target, overwrite=overwrite, **options)


def run_plan(
    plan, run_dir, overwrite=False, models_dir=DEFAULT_MODELS_DIR, verbose="auto", report=print
):
    """Run ``plan`` into the fresh directory ``run_dir``: one point of a
    reproduce or a sweep. Returns its :class:`RunOutcome`."""
    made_parents = rundir.make_fresh(run_dir, overwrite)
    return execute(
        plan,
        Path(run_dir),
        models_dir=models_dir,
        verbose=verbose,
        report=report,
        made_parents=made_parents,
    )


def execute(
    plan,
    run_dir,
    models_dir=DEFAULT_MODELS_DIR,
    verbose="auto",
    report=print,
    resumed=False,
    made_parents=(),
):
    """Run ``plan`` in the existing ``run_dir``; write results.json and the models."""
    rundir.write_json(run_dir / "config.json", plan.record())
    report(f"Run directory: {run_dir}")
    report(f"Watch it:      tensorboard --logdir {shlex.quote(str(run_dir / 'logs'))}")

    from mpkeras.runner.context import RunContext

    execution = plan.execution
    # Before anything else touches TensorFlow's runtime: a multi-worker
    # strategy configures the collective ops, which must happen first.
    distribution = make_strategy(execution.strategy)
    seed_everything(plan.seed, deterministic=not execution.jit_compile)
    context = RunContext(
        run_dir=run_dir,
        seed=plan.seed,
        quick=plan.quick,
        verbose=verbose,
        strategy=distribution,
        jit_compile=execution.jit_compile,
    )
    spec = plan.spec
    base = {
        "name": spec.name,
        "experiment": spec.experiment,
        "seed": plan.seed,
        "quick": plan.quick,
        "execution": execution.to_dict(),
    }
    if execution.strategy != "default":
        report(
            f"Strategy:      {execution.strategy}, "
            f"{distribution.num_replicas_in_sync} replica(s) in sync"
        )
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(), execution_scope(execution, distribution):
            # Keras warns on every fit that its default shuffle=True does not
            # apply to a tf.data.Dataset; mpkeras.data shuffles by itself.
            warnings.filterwarnings("ignore", message=r".*`shuffle=True` was passed")
            results = plan.experiment.function(plan.config, context)
    except Exception as error:  # noqa: BLE001 - every failure is recorded, then re-raised
        _fail(run_dir, base, error, fresh=not resumed, made_parents=made_parents)
    wall_time = time.perf_counter() - started

    metrics = {key: _plain(value) for key, value in results.metrics.items()}
    expectations = [e.check(metrics, plan.quick) for e in spec.expectations]
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
    rundir.write_json(run_dir / "results.json", payload)
    from mpkeras.callbacks.hparams import log_run_hparams  # the run in TensorBoard's HParams tab

    log_run_hparams(run_dir)
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
    from mpkeras_experiments.results import PremiseError

    from mpkeras.callbacks import TrainingDiverged
    from mpkeras.data.errors import DatasetUnavailableError

    if isinstance(error, DatasetUnavailableError):
        if fresh and not (run_dir / "checkpoints").exists():
            rundir.remove_fresh(run_dir, made_parents)
        raise error
    if isinstance(error, TrainingDiverged):
        status = "diverged"
        message = (
            f"Training diverged: {error}; the last good checkpoint is in {run_dir / 'checkpoints'}"
        )
    elif isinstance(error, PremiseError):
        status, message = "premise violated", str(error)
    else:
        status = "error"
        (run_dir / "error.log").write_text("".join(traceback.format_exception(error)))
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        message = f"{type(error).__name__}: {first} (traceback in {run_dir / 'error.log'})"
    rundir.write_json(
        run_dir / "results.json",
        {**base, "status": status, "reason": message, "metrics": {}, "expectations": []},
    )
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
