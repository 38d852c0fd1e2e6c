"""How a run executes, as opposed to what it computes: strategy, precision, XLA, seeding.

Everything here but :func:`make_strategy`, :func:`execution_scope` and
:func:`seed_everything` is plain Python: an :class:`ExecutionConfig` is checked
before TensorFlow is imported, so a bad ``--strategy`` fails at once.
"""

import contextlib
import dataclasses
import json
import os

from mpkeras.runner.errors import RunError

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
    """How a run executes: stored in ``config.json`` under ``"execution"`` so
    ``--resume`` continues the same way.

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
            raise RunError(
                f"--strategy must be one of {', '.join(STRATEGIES)}; got {self.strategy!r}"
            )
        if self.mixed_precision is not None and self.mixed_precision not in PRECISION_POLICIES:
            raise RunError(
                f"--mixed-precision must be one of {', '.join(PRECISION_POLICIES)}; "
                f"got {self.mixed_precision!r}"
            )
        if self.jit_compile is not None and not isinstance(self.jit_compile, bool):
            raise RunError(f"jit_compile must be True, False or None; got {self.jit_compile!r}")
        if self.strategy == "multiworker":
            check_tf_config(os.environ.get("TF_CONFIG"))

    @classmethod
    def from_options(cls, strategy=None, mixed_precision=None, jit_compile=None):
        """The config of the command-line options; None means the default."""
        given = {
            "strategy": strategy,
            "mixed_precision": mixed_precision,
            "jit_compile": jit_compile,
        }
        return cls(**{key: value for key, value in given.items() if value is not None})

    @classmethod
    def from_dict(cls, stored):
        """The config a run directory's ``config.json`` recorded."""
        if not isinstance(stored, dict) or set(stored) - {f.name for f in dataclasses.fields(cls)}:
            raise RunError(f"Invalid execution settings in config.json: {stored!r}")
        return cls(**stored)

    def to_dict(self):
        return dataclasses.asdict(self)


def check_tf_config(text):
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


_MULTI_WORKER = None


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


def seed_everything(seed, deterministic=True):
    """One seed for Python, NumPy and TensorFlow; deterministic TF kernels
    unless ``deterministic`` is False (Keras turns XLA off under op
    determinism, so a ``--jit-compile`` run gives it up)."""
    import keras

    from mpkeras import _workarounds

    keras.utils.set_random_seed(seed)
    _workarounds.set_op_determinism(deterministic)
