"""Run an experiment spec: resolve, seed, lay out the run directory, train, check, save.

A run directory holds::

    config.json     the fully resolved config, seed and overrides
    logs/           TensorBoard event files (scalars per epoch, images, figures)
    checkpoints/    keras BackupAndRestore state, so a killed run can --resume
    figures/*.png   the experiment's figures
    results.json    metrics, expectations (expected / measured / holds),
                    wall time, peak memory, library versions, seed

and the trained model goes to ``saved_models/<name>.keras``, written atomically.

Modules, in the order a run meets them:

- ``resolution``: spec -> experiment + typed config, every check (no work);
- ``execution``: strategy, mixed precision, XLA, seeding;
- ``rundir``: run directories (fresh, resumed) and their JSON files;
- ``single_run``: ``plan`` (every check) -> ``execute`` (train, record, save);
- ``context``: :class:`RunContext`, what an experiment may use of its run;
- ``grid``: the one loop over (settings point x seed): expand, plan every
  point, run each into its own directory, resume, aggregate over seeds;
- ``reproduction``: every spec (on one seed or several), and the report;
- ``sweep``: one spec over a grid of settings, and its summary;
- ``evaluation``: a saved model on a dataset split.

Importing this package imports no TensorFlow.
"""

from mpkeras.runner.context import RunContext
from mpkeras.runner.errors import RunError, RunFailed
from mpkeras.runner.evaluation import check_data_options, evaluate
from mpkeras.runner.execution import (
    PRECISION_POLICIES,
    STRATEGIES,
    ExecutionConfig,
    execution_scope,
    make_strategy,
    seed_everything,
)
from mpkeras.runner.grid import (
    GridPoint,
    aggregate,
    expand,
    parse_seeds,
    plan_points,
    run_points,
)
from mpkeras.runner.reproduction import (
    QUICK_BUDGET_S,
    PointResult,
    key_figures,
    output_to,
    reproduce,
    run_point,
)
from mpkeras.runner.resolution import resolve
from mpkeras.runner.rundir import DEFAULT_RUNS_DIR, default_run_dir
from mpkeras.runner.single_run import (
    DEFAULT_MODELS_DIR,
    RunOutcome,
    RunPlan,
    execute,
    peak_memory_mb,
    plan,
    plan_resume,
    run,
    run_plan,
)
from mpkeras.runner.sweep import SweepOutcome, sweep

__all__ = [
    "DEFAULT_MODELS_DIR",
    "DEFAULT_RUNS_DIR",
    "PRECISION_POLICIES",
    "QUICK_BUDGET_S",
    "STRATEGIES",
    "ExecutionConfig",
    "GridPoint",
    "PointResult",
    "RunContext",
    "RunError",
    "RunFailed",
    "RunOutcome",
    "RunPlan",
    "SweepOutcome",
    "aggregate",
    "check_data_options",
    "default_run_dir",
    "evaluate",
    "execute",
    "execution_scope",
    "expand",
    "key_figures",
    "make_strategy",
    "output_to",
    "parse_seeds",
    "peak_memory_mb",
    "plan",
    "plan_points",
    "plan_resume",
    "reproduce",
    "resolve",
    "run",
    "run_plan",
    "run_point",
    "run_points",
    "seed_everything",
    "sweep",
]
