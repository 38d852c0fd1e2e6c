"""Every workaround of a Keras or TensorFlow limitation, in one place.

Each one names the upstream issue or limitation and the versions it was
checked on: TensorFlow 2.21.0 and Keras 3.15.1. ``tests/test_workarounds.py``
fails loudly when one is no longer needed (the limitation is gone upstream:
remove the workaround) or no longer works (the private name it touches moved:
fix it). This is the only module of mpkeras that may use private Keras or
TensorFlow API (``keras.src``, ``tensorflow.python``, underscored attributes);
``tests/test_no_private_api.py`` checks that the others do not.

1. Keras 3's ``fit`` under ``MultiWorkerMirroredStrategy``
   (keras-team/keras#20585): :func:`is_multi_worker`, :func:`patch_for_multi_worker`.
2. No public way to turn TensorFlow's op determinism off again:
   :func:`set_op_determinism`.
3. TensorFlow's C++ log lines written before TensorFlow reads
   ``TF_CPP_MIN_LOG_LEVEL``, and two known-harmless errors:
   :func:`quiet_tensorflow_import`, :func:`quiet_tensorflow_log`.

Nothing here imports TensorFlow until a workaround is used.
"""

import contextlib
import importlib.abc
import os
import re
import sys

# -- 1. Multi-worker fit --------------------------------------------------------


def is_multi_worker(strategy):
    """Whether ``strategy`` is a MultiWorkerMirroredStrategy over more than one worker.

    Public API only (the strategy's ``cluster_resolver``), counting workers
    as Keras's own test does (``strategy.extended._in_multi_worker_mode()``,
    private): the chief and the workers, or the evaluators for an evaluator.
    A MultiWorkerMirroredStrategy without TF_CONFIG is one local worker,
    which Keras treats like MirroredStrategy and which needs no patch.
    """
    if strategy is None:
        return False
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    resolver = strategy.cluster_resolver
    return worker_count(resolver.cluster_spec().as_dict(), resolver.task_type) > 1


def worker_count(cluster, task_type):
    """The workers that train together in ``cluster`` (a ClusterSpec as a dict)."""
    if task_type == "evaluator":
        return len(cluster.get("evaluator", []))
    return len(cluster.get("chief", [])) + len(cluster.get("worker", []))


def patch_for_multi_worker(model, strategy):
    """Make ``model.fit`` work under a multi-worker strategy, on this instance only.

    Upstream: keras-team/keras#20585 ("Keras 3 does not work with
    tf.distribute.MultiWorkerMirroredStrategy"), open; checked on Keras
    3.15.1 with TensorFlow 2.21.0 and on the floor, Keras 3.10.0 with
    TensorFlow 2.19.1. Keras fails twice there:

    - before the first step, ``TensorFlowTrainer._maybe_symbolic_build``
      (private) ``reduce``s a peeked ``(x, y)`` batch of PerReplica values to
      build the model symbolically, and TensorFlow cannot reduce that
      structure. Here the symbolic build takes one replica's batch (only its
      shapes and dtypes matter) and calls ``model._symbolic_build`` (private).
    - after every step it reduces the scalar logs "MEAN" along axis 0 (no
      axis 0 on a scalar). Here the step functions (public ``train_step`` /
      ``test_step``, wrapped on the instance) return their logs with a
      leading axis of 1, which that reduction removes again.
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
            # Keras 3.10 yields (step, batches), 3.15 (begin, end, batches).
            for *_, batches in iterator:
                data_batch = tree.map_structure(local, next(batches))
                break
        with strategy.scope():
            model._symbolic_build(data_batch=data_batch)

    def with_axis(step):
        def wrapped(data):
            logs = step(data)
            return tree.map_structure(
                lambda v: ops.reshape(v, (1,)) if len(v.shape) == 0 else v, logs
            )

        return wrapped

    model._maybe_symbolic_build = maybe_symbolic_build
    model.train_step = with_axis(model.train_step)
    model.test_step = with_axis(model.test_step)
    model._mpkeras_multi_worker = True


# -- 2. Op determinism off again ---------------------------------------------------


def set_op_determinism(enabled):
    """Turn TensorFlow's op determinism on or off.

    On is public (``tf.config.experimental.enable_op_determinism``). Off has
    no public API in TensorFlow 2.21.0 (only the private
    ``tensorflow.python.framework.config.disable_op_determinism``), yet a
    ``--jit-compile`` run needs it off: Keras 3.15.1 refuses XLA while it is
    on (``keras.src.trainers.trainer.model_supports_jit`` reads the same
    private flag), and an earlier run in this process (``mpkeras reproduce``)
    may have turned it on.
    """
    import tensorflow as tf

    if enabled:
        tf.config.experimental.enable_op_determinism()
        return
    from tensorflow.python.framework import config as tf_config

    tf_config.disable_op_determinism()


# -- 3. TensorFlow's C++ log -----------------------------------------------------
#
# TensorFlow 2.21 logs through absl. Libraries that log while they are being
# loaded -- libtensorflow_framework.so.2 and, with its own copy of absl and
# TSL, python/profiler/internal/_pywrap_profiler_plugin.so -- write their
# lines during `import tensorflow`, before anything reads
# TF_CPP_MIN_LOG_LEVEL and before absl::InitializeLog (absl's banner "All log
# messages before absl::InitializeLog() is called are written to STDERR").
# Setting the variable earlier, or TF_CPP_MAX_VLOG_LEVEL, changes nothing
# (measured: both libraries print "oneDNN custom operations are on" and
# "Could not find cuda drivers" at every level 0-3). Lines logged later
# (cpu_feature_guard, cuInit) do honour the variable. So these lines are
# filtered out of file descriptor 2, by the rule TensorFlow would have applied.

_BANNER = (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$"
)
_NO_CUDA_DRIVER = r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine"
# Errors that are noise where they come (CLI only, TF_CPP_MIN_LOG_LEVEL >= 2):
# - cuInit fails on a machine without a CUDA driver, which the stub already
#   said ("GPU will not be used"); with a driver, a cuInit failure is kept.
_CUINIT_FAILED = r"cuda_platform\.cc:\d+\] failed call to cuInit"
# - under op determinism, tf.data rewrites a parallel map with a stateful
#   function into a sequential MapDataset and copies the attribute
#   `use_unbounded_threadpool` that MapDataset's op definition lacks; TF says
#   itself "Unknown attributes will be ignored" (TF 2.21.0).
_UNBOUNDED_THREADPOOL = (
    r"node_def_util\.cc:\d+\] NodeDef mentions attribute use_unbounded_threadpool "
    r"which is not in the op definition: Op<name=MapDataset"
)


def min_log_level():
    """TF_CPP_MIN_LOG_LEVEL as TensorFlow reads it (0 when unset or not a number)."""
    match = re.match(r"\s*(\d+)", os.environ.get("TF_CPP_MIN_LOG_LEVEL", ""))
    return int(match.group(1)) if match else 0


def log_rules(cli=False):
    """The rules of the stderr filter (see ``mpkeras._stderr_filter``)."""
    level = min_log_level()
    rules = {"min_level": level, "drop": [_BANNER] if level else [], "drop_after": []}
    if cli and level >= 2:
        rules["drop"].append(_UNBOUNDED_THREADPOOL)
        rules["drop_after"].append([_NO_CUDA_DRIVER, _CUINIT_FAILED])
    return rules


_CLI_FILTER = None  # the CLI's filter while a command runs (quiet_tensorflow_log)


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run with fd 2 filtered."""

    def __init__(self, loader, finder):
        self.loader = loader
        self.finder = finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self.finder)
        # TensorFlow sees its real loader, as without this hook.
        module.__loader__ = module.__spec__.loader = self.loader
        if _CLI_FILTER is not None and _CLI_FILTER.active:  # the command's filter is on
            self.loader.exec_module(module)
            return
        from mpkeras._stderr_filter import filtered_stderr

        with filtered_stderr(log_rules()):
            self.loader.exec_module(module)


class _QuietImportFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as the other finders do, with :class:`_QuietLoader` around it."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _QuietLoader(spec.loader, self)
        return spec


def quiet_tensorflow_import():
    """Drop the C++ log lines below TF_CPP_MIN_LOG_LEVEL that ``import tensorflow`` writes.

    Installs a one-shot import hook (``import mpkeras`` does): the first
    ``import tensorflow`` runs with fd 2 through the filter, which drops the
    records TensorFlow's own TF_CPP_MIN_LOG_LEVEL would have dropped and
    passes everything else on (warnings, errors, a crash's last words).
    Nothing happens if TensorFlow is imported already or the level is 0.
    """
    if "tensorflow" in sys.modules or min_log_level() == 0:
        return
    if not any(isinstance(finder, _QuietImportFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietImportFinder())


@contextlib.contextmanager
def quiet_tensorflow_log():
    """For a command-line process: inside, TensorFlow's known noise is dropped from fd 2.

    The import-time lines as :func:`quiet_tensorflow_import` drops them, and
    the two errors above that say nothing to a user. The filter starts at
    once, before anything can redirect fd 2 (``mpkeras reproduce`` sends
    each experiment's output to a log file), and stays under those
    redirections. Only where ``sys.stderr`` is this process's fd 2 (not under
    ``click.testing``) and TF_CPP_MIN_LOG_LEVEL is not 0.
    """
    global _CLI_FILTER
    from mpkeras._stderr_filter import StderrFilter

    if _CLI_FILTER is not None or min_log_level() == 0 or not _stderr_is_fd2():
        yield
        return
    _CLI_FILTER = StderrFilter(log_rules(cli=True)).start()
    try:
        yield
    finally:
        _CLI_FILTER.stop()
        _CLI_FILTER = None


def _stderr_is_fd2():
    try:
        return sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False
