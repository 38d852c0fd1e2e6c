"""An experiment for tests/test_parallel.py, importable by name in a worker process.

A spawned worker unpickles the plan it runs, and so imports the experiment's
module by name: a function defined in a test module (imported by pytest's
importlib mode) could not be found there.
"""

import dataclasses
import os

from mpkeras_experiments import Results, register


@dataclasses.dataclass
class PointConfig:
    value: float = 0.5
    die: bool = False


@register(PointConfig, name="test_parallel_point")
def point(config, context):
    """Trains nothing: ``value + 0.1 * seed``, and the process it ran in."""
    if config.die:
        os._exit(3)  # A worker killed mid-run: no exception reaches the pool.
    (context.run_dir / "ran").write_text(str(os.getpid()))
    return Results(metrics={"value": config.value + 0.1 * context.seed, "pid": float(os.getpid())})
