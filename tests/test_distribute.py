"""Scale-out: `mpkeras run --strategy/--mixed-precision/--jit-compile`, and
tf.distribute strategies giving the same training as one device."""

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from mpkeras_experiments import Results, register

from mpkeras.cli import main


@dataclasses.dataclass
class ProbeConfig:
    epochs: int = 2


@register(ProbeConfig, name="test_execution_probe")
def execution_probe(config, context):
    """A tiny fit that reports the strategy, policy and XLA setting it ran under."""
    import keras
    import numpy as np
    import tensorflow as tf

    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1, dtype="float32")]
    )
    model.compile(optimizer="sgd", loss="mse", jit_compile=False)
    history = context.fit(model, data, tag="probe", epochs=config.epochs)
    strategy = tf.distribute.get_strategy()
    return Results(
        metrics={
            "strategy": type(strategy).__name__,
            "same_strategy": strategy is context.strategy,
            "replicas": strategy.num_replicas_in_sync,
            "variables_mirrored": "Mirrored" in type(model.layers[0].kernel.value).__name__,
            "policy": keras.mixed_precision.global_policy().name,
            "compute_dtype": model.layers[0].compute_dtype,
            "variable_dtype": model.layers[0].variable_dtype,
            "jit_compile": bool(model.jit_compile),
            "loss": history.history["loss"][-1],
        }
    )


@pytest.fixture
def probe(tmp_path):
    spec = tmp_path / "probe.toml"
    spec.write_text('experiment = "test_execution_probe"\nclaims = ["N1"]\n')
    return spec


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _run(spec, tmp_path, *options, name="run"):
    run_dir = tmp_path / name
    result = invoke(
        "run", spec, "--run-dir", run_dir, "--models-dir", tmp_path / "models", *options
    )
    assert result.exit_code == 0, result.output
    return run_dir, json.loads((run_dir / "results.json").read_text())


def test_default_run_is_one_device_float32_and_the_models_own_jit_setting(probe, tmp_path):
    run_dir, results = _run(probe, tmp_path)
    metrics = results["metrics"]
    assert metrics["replicas"] == 1 and metrics["same_strategy"]
    assert metrics["policy"] == "float32" and metrics["compute_dtype"] == "float32"
    assert metrics["jit_compile"] is False
    stored = json.loads((run_dir / "config.json").read_text())["execution"]
    assert stored == {"strategy": "default", "mixed_precision": None, "jit_compile": None}


def test_mirrored_bfloat16_jit_run_and_resume_reuses_them(probe, tmp_path):
    import keras

    options = ("--strategy", "mirrored", "--mixed-precision", "mixed_bfloat16", "--jit-compile")
    run_dir, results = _run(probe, tmp_path, *options)
    metrics = results["metrics"]
    assert metrics["strategy"] == "MirroredStrategy" and metrics["same_strategy"]
    assert metrics["variables_mirrored"]  # the model was built inside the scope
    assert metrics["policy"] == "mixed_bfloat16"
    assert (metrics["compute_dtype"], metrics["variable_dtype"]) == ("bfloat16", "float32")
    assert metrics["jit_compile"] is True  # forced by context.fit over compile(jit_compile=False)
    assert metrics["loss"] == pytest.approx(metrics["loss"]) and metrics["loss"] < 1e3
    assert results["execution"] == {
        "strategy": "mirrored",
        "mixed_precision": "mixed_bfloat16",
        "jit_compile": True,
    }
    # The policy is the run's only: restored afterwards.
    assert keras.mixed_precision.global_policy().name == "float32"

    result = invoke(
        "run", probe, "--run-dir", run_dir, "--resume", "--models-dir", tmp_path / "models"
    )
    assert result.exit_code == 0, result.output
    resumed = json.loads((run_dir / "results.json").read_text())["metrics"]
    assert (resumed["strategy"], resumed["policy"], resumed["jit_compile"]) == (
        "MirroredStrategy",
        "mixed_bfloat16",
        True,
    )
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize(
    "options, pattern",
    [
        (
            ["--strategy", "tpu"],
            r"--strategy must be one of default, mirrored, multiworker; got 'tpu'",
        ),
        (
            ["--mixed-precision", "float64"],
            r"--mixed-precision must be one of mixed_float16, mixed_bfloat16",
        ),
    ],
)
def test_bad_values_are_one_line_errors_exit_2_before_any_work(probe, tmp_path, options, pattern):
    import re

    run_dir = tmp_path / "run"
    result = invoke("run", probe, "--run-dir", run_dir, *options)
    assert result.exit_code == 2, result.output
    assert re.search(pattern, result.output.strip().splitlines()[-1]), result.output
    assert not run_dir.exists()


@pytest.mark.parametrize(
    "tf_config, pattern",
    [
        ("{not json", r"TF_CONFIG is not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', r'"cluster"'),
        (
            '{"cluster": {"worker": ["localhost:1"]}, "task": {"type": "worker", "index": 3}}',
            r"index 3 is not in its cluster",
        ),
    ],
)
def test_multiworker_checks_tf_config_up_front(probe, tmp_path, monkeypatch, tf_config, pattern):
    import re

    monkeypatch.setenv("TF_CONFIG", tf_config)
    result = invoke("run", probe, "--run-dir", tmp_path / "run", "--strategy", "multiworker")
    assert result.exit_code == 2, result.output
    assert re.search(pattern, result.output), result.output


def test_resume_refuses_new_execution_options(probe, tmp_path):
    run_dir, _ = _run(probe, tmp_path)
    result = invoke("run", probe, "--run-dir", run_dir, "--resume", "--strategy", "mirrored")
    assert result.exit_code == 2, result.output
    assert "drop --set/--seed/--strategy" in result.output


def test_reproduce_rejects_a_bad_strategy_before_running_anything(tmp_path):
    result = invoke(
        "reproduce", "--only", "xor", "--strategy", "nope", "--runs-dir", tmp_path / "runs"
    )
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "runs").exists()


# ----------------------------------------------------------------------------
# MirroredStrategy over two logical CPUs == one device, same global batch.
# tests/models/test_vae.py checks one step of a dense VAE the same way; here
# the chapter-2 CNN and a conv VAE from the builders train three steps.

_MIRRORED = textwrap.dedent(
    """
    import json, os
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from mpkeras.models import build_cnn, build_vae

    rng = np.random.default_rng(0)
    x = rng.random((48, 8, 8, 1), dtype=np.float32)
    labels = rng.integers(0, 3, 48)
    binary = (x > 0.5).astype("float32")

    def cnn():
        model = build_cnn((8, 8, 1), 3, filters=(4,), padding="same", dropout=0.0, seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        return model, (x, labels)

    def vae():
        model = build_vae((8, 8, 1), 2, kind="conv", hidden=(4, 8), seed=0)
        model.compile(optimizer=keras.optimizers.SGD(0.01))
        # log_var = -30: z = mean up to exp(-15), so both runs see the same z
        # although the replicas draw their own noise.
        out = model.encoder.layers[-1]
        kernel, bias = (w.numpy() for w in out.weights)
        kernel[:, 2:], bias[2:] = 0.0, -30.0
        out.set_weights([kernel, bias])
        return model, (binary,)

    class Steps(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.losses = []
        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))

    out = {}
    for kind, build in (("cnn", cnn), ("vae", vae)):
        start = None
        for name in ("one", "mirrored"):
            # As mpkeras.runner.make_strategy("mirrored") on CPUs: TF's default
            # collective all-reduce can pair up different tensors across the
            # logical CPUs ("Shape mismatch in the collective instance").
            strategy = (tf.distribute.MirroredStrategy(
                            ["/cpu:0", "/cpu:1"], cross_device_ops=tf.distribute.ReductionToOneDevice())
                        if name == "mirrored" else tf.distribute.get_strategy())
            with strategy.scope():
                keras.utils.set_random_seed(0)
                model, data = build()
            if start is None:
                start = model.get_weights()
            model.set_weights(start)
            steps = Steps()
            model.fit(*data, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[steps])
            out[f"{kind}/{name}"] = {
                "replicas": strategy.num_replicas_in_sync,
                "losses": steps.losses,
                "weights": [w.tolist() for w in model.get_weights()],
            }
    print("RESULT" + json.dumps(out))
    """
)


def _child_env():
    return {
        **os.environ,
        "CUDA_VISIBLE_DEVICES": "",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "KERAS_BACKEND": "tensorflow",
    }


def _result(proc):
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT") :])


def test_mirrored_on_two_cpus_trains_a_cnn_and_a_vae_like_one_device():
    import numpy as np

    proc = subprocess.run(
        [sys.executable, "-c", _MIRRORED],
        capture_output=True,
        text=True,
        env=_child_env(),
        timeout=600,
    )
    out = _result(proc)
    for kind in ("cnn", "vae"):
        one, mirrored = out[f"{kind}/one"], out[f"{kind}/mirrored"]
        assert (one["replicas"], mirrored["replicas"]) == (1, 2)
        assert len(one["losses"]) == len(mirrored["losses"]) == 3  # 48 examples, global batch 16
        # Tolerance: float32 sums in another order (per replica, then all-reduced).
        np.testing.assert_allclose(mirrored["losses"], one["losses"], rtol=1e-4, err_msg=kind)
        for a, b in zip(one["weights"], mirrored["weights"]):
            np.testing.assert_allclose(
                np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-5, err_msg=kind
            )


# ----------------------------------------------------------------------------
# Two workers on localhost, MultiWorkerMirroredStrategy through `mpkeras run`.

_WORKER = textwrap.dedent(
    """
    import dataclasses, json, sys
    from mpkeras import runner
    from mpkeras_experiments import Results, register

    @dataclasses.dataclass
    class Config:
        epochs: int = 2

    @register(Config, name="test_multiworker_probe")
    def probe(config, context):
        import keras, numpy as np, tensorflow as tf
        rng = np.random.default_rng(0)
        x = rng.normal(size=(32, 3)).astype("float32")
        y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        history = context.fit(model, data, tag="probe", epochs=config.epochs)
        strategy = tf.distribute.get_strategy()
        return Results(metrics={
            "strategy": type(strategy).__name__,
            "replicas": strategy.num_replicas_in_sync,
            "loss": history.history["loss"],
            "weights": [w.tolist() for w in model.get_weights()],
        })

    spec, run_dir, models_dir = sys.argv[1:4]
    # Two runs in one process, as `mpkeras reproduce` does: one strategy per process.
    metrics = [
        runner.run(spec, run_dir=f"{run_dir}-{i}", models_dir=models_dir, strategy="multiworker",
                   verbose=0, report=lambda line: None).results["metrics"]
        for i in range(2)
    ]
    print("RESULT" + json.dumps(metrics))
    """
)


def _free_ports(n):
    import socket

    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


# Slow (two TensorFlow processes training in step, about 25 s of CPU): the
# mirrored tests above cover the strategy code the default suite needs.
@pytest.mark.slow
def test_two_workers_on_localhost_agree_through_mpkeras_run(tmp_path):
    import numpy as np

    spec = tmp_path / "probe.toml"
    spec.write_text('experiment = "test_multiworker_probe"\nclaims = ["N1"]\n')
    workers = [f"localhost:{port}" for port in _free_ports(2)]
    procs = []
    for index in range(2):
        env = {
            **_child_env(),
            "TF_CONFIG": json.dumps(
                {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            ),
        }
        # Each worker its own run and models directory (only the chief's matter).
        args = [spec, tmp_path / f"run{index}", tmp_path / f"models{index}"]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", _WORKER, *map(str, args)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
        )
    outs = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=600)
            first, second = _result(
                subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
            )
            assert second == first  # same seed, same strategy object reused: the same run again
            outs.append(first)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for out in outs:
        # MultiWorkerMirroredStrategy is TensorFlow's CollectiveAllReduceStrategy.
        assert out["strategy"] == "CollectiveAllReduceStrategy" and out["replicas"] == 2
        assert len(out["loss"]) == 2 and all(np.isfinite(out["loss"]))
    # Synchronous training: the all-reduced updates leave both workers with
    # the same weights.
    for a, b in zip(*(out["weights"] for out in outs)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)
    # And they trained as one device does on the same global batches of 8.
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=2, verbose=0)
    for a, b in zip(model.get_weights(), outs[0]["weights"]):
        np.testing.assert_allclose(np.asarray(b), a, rtol=1e-5, atol=1e-6)
