"""mpkeras._workarounds: each workaround still needed, and still working.

When a test here fails, read its message: either the limitation is gone
upstream (remove the workaround and this test) or the private name it uses
moved (fix the workaround). Checked on TensorFlow 2.21.0, Keras 3.15.1.
"""

import inspect
import os
import subprocess
import sys
import textwrap
import warnings

import pytest

from mpkeras import _workarounds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def python(code, env=None, path=()):
    """Run ``code`` in a fresh interpreter with this checkout (and ``path``) importable."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join([*map(str, path), ROOT])
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )


# -- 1. multi-worker fit (keras-team/keras#20585) ------------------------------------


def test_the_private_build_hooks_the_multi_worker_patch_replaces_still_exist():
    import keras

    build = getattr(keras.Model, "_maybe_symbolic_build", None)
    symbolic = getattr(keras.Model, "_symbolic_build", None)
    assert build is not None and symbolic is not None, (
        "keras.Model._maybe_symbolic_build/_symbolic_build are gone: fix "
        "_workarounds.patch_for_multi_worker (and check keras-team/keras#20585)"
    )
    assert list(inspect.signature(build).parameters) == ["self", "iterator", "data_batch"]
    assert "data_batch" in inspect.signature(symbolic).parameters


def test_keras_still_reduces_the_peeked_per_replica_batch_that_multi_worker_cannot_reduce():
    # The first of the two failures the patch works around. When Keras stops
    # reducing the peeked batch, run the slow test below: the patch may be obsolete.
    import keras

    source = inspect.getsource(keras.Model._maybe_symbolic_build)
    assert "distribute_strategy.reduce(" in source, (
        "Keras changed _maybe_symbolic_build: run test_plain_keras_fit_under_two_workers_"
        "still_fails (-m slow); if plain fit works now, remove patch_for_multi_worker"
    )


def test_worker_count_counts_as_keras_does():
    # multi_worker_util.worker_count, which Keras's _in_multi_worker_mode uses.
    cluster = {"chief": ["a:1"], "worker": ["b:1", "c:1"], "evaluator": ["d:1"]}
    assert _workarounds.worker_count(cluster, "worker") == 3
    assert _workarounds.worker_count(cluster, "chief") == 3
    assert _workarounds.worker_count(cluster, "evaluator") == 1
    assert _workarounds.worker_count({}, "worker") == 0


def test_only_a_multi_worker_strategy_is_multi_worker():
    import tensorflow as tf

    assert not _workarounds.is_multi_worker(None)
    assert not _workarounds.is_multi_worker(tf.distribute.get_strategy())


_TWO_WORKERS = """
    import json, os, sys
    import numpy as np, keras, tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
    x = np.ones((16, 3), "float32")
    data = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(8)
    try:
        model.fit(data, epochs=1, verbose=0)
        print("RESULT fit works")
    except Exception as error:
        print("RESULT fails", type(error).__name__)
"""


@pytest.mark.slow
def test_plain_keras_fit_under_two_workers_still_fails(tmp_path):
    import json
    import socket

    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("localhost", 0))
    workers = [f"localhost:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    procs = []
    for index in range(2):
        env = {
            **os.environ,
            "PYTHONPATH": ROOT,
            "CUDA_VISIBLE_DEVICES": "",
            "TF_CONFIG": json.dumps(
                {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            ),
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(_TWO_WORKERS)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    try:
        outputs = [proc.communicate(timeout=300)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    results = [line for out in outputs for line in out.splitlines() if line.startswith("RESULT")]
    assert results and all("fails" in line for line in results), (
        f"plain Keras fit works under two workers now ({results}): "
        "remove _workarounds.patch_for_multi_worker (keras-team/keras#20585 is fixed)"
    )


# -- 2. op determinism off again -------------------------------------------------------


def _keras_refuses_xla():
    """Whether Keras turns ``jit_compile=True`` down, as it does under op determinism."""
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.jit_compile = True
    return model.jit_compile is False


def test_tensorflow_still_has_no_public_way_to_turn_op_determinism_off():
    import tensorflow as tf

    public = [
        name
        for name in dir(tf.config.experimental) + dir(tf.config)
        if "determinism" in name.lower() and "enable" not in name.lower()
    ]
    assert not public, (
        f"TensorFlow has {public} now: use it in _workarounds.set_op_determinism "
        "instead of tensorflow.python.framework.config"
    )


def test_turning_op_determinism_off_lets_keras_compile_with_xla_again():
    before = _keras_refuses_xla()
    try:
        _workarounds.set_op_determinism(True)
        assert _keras_refuses_xla()  # the reason a --jit-compile run turns it off
        _workarounds.set_op_determinism(False)
        assert not _keras_refuses_xla(), (
            "tensorflow.python.framework.config.disable_op_determinism no longer "
            "turns off what Keras reads: fix _workarounds.set_op_determinism"
        )
    finally:
        _workarounds.set_op_determinism(before)


# -- 3. TensorFlow's C++ log ---------------------------------------------------------

_RECORD = r"^[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"


def test_tensorflow_still_logs_below_its_level_on_import_and_mpkeras_drops_those_lines():
    import re

    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    # Concurrently: two TensorFlow imports cost one on two cores.
    bare = subprocess.Popen(
        [sys.executable, "-c", "import tensorflow; print(tensorflow.__version__)"],
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )
    quiet = python(
        "import mpkeras, tensorflow\nprint(tensorflow.__loader__.__class__.__name__)", env=env
    )
    bare_out, bare_err = bare.communicate(timeout=300)
    # The hook is for TensorFlow 2.21; setup.cfg's floor, TensorFlow 2.20, honours the
    # level on import (2.19 does not): there the hook has nothing to drop.
    version = tuple(int(part) for part in bare_out.split()[-1].split(".")[:2])
    assert version < (2, 21) or re.search(_RECORD, bare_err, re.M), (
        "import tensorflow honours TF_CPP_MIN_LOG_LEVEL now: remove "
        f"_workarounds.quiet_tensorflow_import. stderr: {bare_err[-2000:]}"
    )
    assert quiet.returncode == 0, quiet.stderr
    assert not re.search(_RECORD, quiet.stderr, re.M), quiet.stderr
    assert "absl::InitializeLog" not in quiet.stderr, quiet.stderr
    # TensorFlow got its own loader back: the hook is invisible once done.
    assert quiet.stdout.split() == ["SourceFileLoader"]


_FAKE_TENSORFLOW = """
import os, sys, warnings
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called "
            b"are written to STDERR\\n")
os.write(2, b"I0000 00:00:1796154207.801494    8978 port.cc:153] oneDNN custom operations "
            b"are on.\\n")
os.write(2, b"W0000 00:00:1796154207.801494    8978 a.cc:1] a warning below level 2\\n")
os.write(2, b"E0000 00:00:1796154207.801494    8978 b.cc:2] a real error\\n")
warnings.warn("a Python warning during import")
if os.environ.get("FAKE_TF_ABORT"):
    os.write(2, b"F0000 00:00:1796154207.801494    8978 c.cc:3] last words\\n")
    os.abort()
"""


@pytest.fixture
def fake_tensorflow(tmp_path):
    """A ``tensorflow`` package that logs as TensorFlow 2.21 does while it loads."""
    package = tmp_path / "tensorflow"
    package.mkdir()
    (package / "__init__.py").write_text(_FAKE_TENSORFLOW)
    return tmp_path


def test_the_import_filter_drops_only_lines_below_the_level(fake_tensorflow):
    result = python(
        "import mpkeras, tensorflow", env={"TF_CPP_MIN_LOG_LEVEL": "2"}, path=[fake_tensorflow]
    )
    assert result.returncode == 0, result.stderr
    assert "a real error" in result.stderr and "a Python warning during import" in result.stderr
    for dropped in ("oneDNN", "a warning below level 2", "absl::InitializeLog"):
        assert dropped not in result.stderr, result.stderr


def test_level_0_shows_everything(fake_tensorflow):
    result = python(
        "import mpkeras, tensorflow", env={"TF_CPP_MIN_LOG_LEVEL": "0"}, path=[fake_tensorflow]
    )
    assert "oneDNN" in result.stderr and "absl::InitializeLog" in result.stderr


def test_a_crash_during_import_keeps_its_last_words(fake_tensorflow):
    result = python(
        "import mpkeras, tensorflow",
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "FAKE_TF_ABORT": "1"},
        path=[fake_tensorflow],
    )
    assert result.returncode != 0
    assert "last words" in result.stderr and "a real error" in result.stderr, result.stderr


def test_the_cli_filter_drops_the_two_harmless_errors_and_keeps_the_rest(fake_tensorflow):
    code = """
        import os, sys
        from mpkeras import _workarounds
        with _workarounds.quiet_tensorflow_log():
            import tensorflow
            os.write(2, b"I0000 00:00:1.5 1 cudart_stub.cc:31] Could not find cuda drivers "
                        b"on your machine, GPU will not be used.\\n")
            os.write(2, b"E0000 00:00:1.5 1 cuda_platform.cc:52] failed call to cuInit: X\\n")
            os.write(2, b"E0000 00:00:1.5 1 node_def_util.cc:682] NodeDef mentions attribute "
                        b"use_unbounded_threadpool which is not in the op definition: "
                        b"Op<name=MapDataset; ...>\\n")
            os.write(2, b"E0000 00:00:1.5 1 node_def_util.cc:682] NodeDef mentions attribute "
                        b"other which is not in the op definition: Op<name=MapDataset>\\n")
            print("python's stderr", file=sys.stderr)
        print("after", file=sys.stderr)
    """
    result = python(code, env={"TF_CPP_MIN_LOG_LEVEL": "2"}, path=[fake_tensorflow])
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert not [line for line in lines if "cuInit" in line or "use_unbounded" in line], lines
    assert any("attribute other" in line for line in lines), lines
    assert "a real error" in result.stderr and "oneDNN" not in result.stderr
    assert lines[-2:] == ["python's stderr", "after"], lines


def test_a_cuinit_failure_with_a_driver_present_is_kept(fake_tensorflow):
    code = """
        import os
        from mpkeras import _workarounds
        with _workarounds.quiet_tensorflow_log():
            import tensorflow
            os.write(2, b"E0000 00:00:1.5 1 cuda_platform.cc:52] failed call to cuInit: X\\n")
    """
    result = python(code, env={"TF_CPP_MIN_LOG_LEVEL": "2"}, path=[fake_tensorflow])
    assert "failed call to cuInit" in result.stderr, result.stderr


def test_the_cli_filter_stays_under_a_redirection_to_a_log(fake_tensorflow, tmp_path):
    # As `mpkeras reproduce` does: TensorFlow first imported while fd 2 goes to a log.
    code = f"""
        import os, sys
        from mpkeras import _workarounds
        from mpkeras.runner import output_to
        with _workarounds.quiet_tensorflow_log():
            with output_to({str(tmp_path / "run.log")!r}):
                import tensorflow
            os.write(2, b"back on stderr\\n")
        print("after", file=sys.stderr)
    """
    result = python(code, env={"TF_CPP_MIN_LOG_LEVEL": "2"}, path=[fake_tensorflow])
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["back on stderr", "after"], result.stderr
    assert "a real error" in (tmp_path / "run.log").read_text()
