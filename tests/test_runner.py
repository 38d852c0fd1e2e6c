"""The runner end to end: run directories, TensorBoard, determinism, resume, NaN, saving."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mpkeras import runner, specs
from mpkeras.cli import main

QUICK_XOR = ["--quick", "--set", "perceptron_epochs=5", "--set", "train.epochs=120"]


def run_cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    """One quick xor run shared by the tests that only read its outputs."""
    root = tmp_path_factory.mktemp("xor")
    result = run_cli(
        "run", "xor", "--quick", "--run-dir", root / "run", "--models-dir", root / "models"
    )
    assert result.exit_code == 0, result.output
    return root, result.output


def test_xor_run_leaves_a_complete_run_dir(xor_run):
    root, output = xor_run
    run_dir = root / "run"
    for line in ("Run directory:", "tensorboard --logdir", "Saved model:", "mlp_accuracy", "holds"):
        assert line in output
    config = json.loads((run_dir / "config.json").read_text())
    assert config["spec"] == "xor" and config["quick"] is True and config["seed"] == 0
    assert config["config"]["train"]["epochs"] == 60  # the spec's [quick] budget
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "completed"
    assert {row["claim"] for row in results["expectations"]} == {"N2"}
    assert all(row["holds"] for row in results["expectations"]), results["expectations"]
    assert results["wall_time_s"] > 0 and results["peak_memory_mb"] > 100
    assert {"tensorflow", "keras", "python", "mpkeras"} <= set(results["versions"])
    assert (run_dir / "figures" / "decision_boundaries.png").stat().st_size > 1000
    assert (run_dir / "checkpoints" / "mlp").is_dir()
    assert sorted(p.name for p in (root / "models").iterdir()) == [
        "xor.keras",
        "xor_perceptron.keras",
    ]


def read_scalars(log_dir):
    """Tag -> list of (step, value) from every TensorBoard event file under log_dir."""
    import tensorflow as tf

    scalars = {}
    for path in Path(log_dir).rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars" or value.HasField(
                    "simple_value"
                ):
                    number = (
                        float(tf.make_ndarray(value.tensor))
                        if value.HasField("tensor")
                        else value.simple_value
                    )
                    scalars.setdefault(
                        f"{path.parent.relative_to(log_dir)}/{value.tag}", []
                    ).append((event.step, number))
    return scalars


def read_image_tags(log_dir):
    import tensorflow as tf

    tags = set()
    for path in Path(log_dir).rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "images":
                    tags.add(value.tag)
    return tags


def test_tensorboard_event_files_hold_the_scalars_and_images(xor_run):
    root, _ = xor_run
    logs = root / "run" / "logs"
    scalars = read_scalars(logs)
    for tag in (
        "mlp/train/epoch_loss",
        "mlp/train/epoch_accuracy",
        "mlp/train/epoch_learning_rate",
        "perceptron/train/epoch_accuracy",
        "perceptron/train/epoch_updates",
    ):
        assert tag in scalars, sorted(scalars)
    assert len(scalars["mlp/train/epoch_loss"]) == 60
    losses = [v for _, v in sorted(scalars["mlp/train/epoch_loss"])]
    assert losses[-1] < losses[0]
    np.testing.assert_allclose(scalars["mlp/train/epoch_learning_rate"][0][1], 0.1, rtol=1e-6)
    assert {"decision_boundaries", "mlp", "perceptron"} <= read_image_tags(logs)


def test_saved_model_reloads_safely_and_evaluates(xor_run):
    root, _ = xor_run
    result = run_cli("evaluate", root / "models" / "xor.keras", "--dataset", "toy2d/xor")
    assert result.exit_code == 0, result.output
    assert "accuracy: 1" in result.output


def test_same_seed_gives_identical_metrics(xor_run, tmp_path):
    root, _ = xor_run
    again = run_cli(
        "run", "xor", "--quick", "--run-dir", tmp_path / "run", "--models-dir", tmp_path / "models"
    )
    assert again.exit_code == 0, again.output
    first = json.loads((root / "run" / "results.json").read_text())["metrics"]
    second = json.loads((tmp_path / "run" / "results.json").read_text())["metrics"]
    assert first == second


def assert_no_tensorflow_noise(stderr):
    """What `mpkeras run` prints on stderr holds none of TensorFlow 2.21's C++ noise
    (issue 18 §5): no INFO/WARNING records although TF writes some before it reads
    TF_CPP_MIN_LOG_LEVEL, no absl banner, no harmless use_unbounded_threadpool error."""
    import ctypes.util
    import re

    assert not re.search(r"^[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]", stderr, re.M), stderr
    assert "absl::InitializeLog" not in stderr and "use_unbounded_threadpool" not in stderr
    # No CUDA driver: its cuInit failure is noise, which mpkeras drops once TensorFlow has
    # said "Could not find cuda drivers". TensorFlow 2.19 and 2.20 (setup.cfg's floor) do
    # not say it at TF_CPP_MIN_LOG_LEVEL=2, so there the cuInit line is kept, as it is
    # where a driver is present.
    import tensorflow as tf

    version = tuple(int(part) for part in tf.__version__.split(".")[:2])
    if ctypes.util.find_library("cuda") is None and version >= (2, 21):
        assert "failed call to cuInit" not in stderr, stderr


def _kill_resume_and_compare(tmp_path, name, options, tag, kill_at, epochs):
    """Run ``name`` whole; run it again, kill -9 it once checkpoint ``tag``
    reaches epoch ``kill_at``, resume it; return (whole, resumed) metrics."""
    command = [
        sys.executable,
        "-m",
        "mpkeras.cli",
        "run",
        name,
        *options,
        "--models-dir",
        str(tmp_path / "m"),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Exit code 1 only says an expectation failed at this tiny budget; the run completed.
    whole = subprocess.run(
        command + ["--run-dir", str(tmp_path / "whole")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert whole.returncode in (0, 1), whole.stderr[-2000:]
    assert_no_tensorflow_noise(whole.stderr)

    killed_dir = tmp_path / "killed"
    metadata = killed_dir / "checkpoints" / tag / "training_metadata.json"
    process = subprocess.Popen(
        command + ["--run-dir", str(killed_dir)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 240
        while time.time() < deadline:
            try:
                if json.loads(metadata.read_text())["epoch"] >= kill_at:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        else:
            pytest.fail(f"the run never reached epoch {kill_at} of {tag}")
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (killed_dir / "results.json").exists()
    stopped_at = json.loads(metadata.read_text())["epoch"]
    assert stopped_at < epochs, "the kill came too late to test resuming"

    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "mpkeras.cli",
            "run",
            name,
            "--resume",
            "--run-dir",
            str(killed_dir),
            "--models-dir",
            str(tmp_path / "m"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == whole.returncode, resumed.stderr[-2000:]
    results = [
        json.loads((folder / "results.json").read_text())
        for folder in (tmp_path / "whole", killed_dir)
    ]
    assert [r["status"] for r in results] == ["completed", "completed"]
    return results[0]["metrics"], results[1]["metrics"]


# Slow: tests/test_resume.py's default cases kill and resume two experiments already.
@pytest.mark.slow
def test_kill_9_then_resume_ends_like_an_uninterrupted_run(tmp_path):
    whole, after_resume = _kill_resume_and_compare(
        tmp_path, "xor", QUICK_XOR, "mlp", kill_at=30, epochs=120
    )
    assert after_resume == whole


# Slow: tests/test_resume.py's default gradient_clipping case kills and resumes
# in-memory batches too.
@pytest.mark.slow
def test_kill_9_then_resume_is_exact_for_cycled_in_memory_batches(tmp_path):
    # 256 points in 4 batches of 64, 3 steps per epoch: every epoch starts at
    # another batch of the cycle, so resuming from the first batch would differ.
    options = [
        "--quick",
        "--set",
        "train_size=256",
        "--set",
        "test_size=64",
        "--set",
        "hidden=[8, 8]",
        "--set",
        "train.batch_size=64",
        "--set",
        "train.steps_per_epoch=3",
        "--set",
        "train.epochs=60",
    ]
    whole, after_resume = _kill_resume_and_compare(
        tmp_path, "linear_collapse", options, "deep_linear", kill_at=21, epochs=60
    )
    assert after_resume == whole


def test_no_partial_model_file_when_saving_fails(tmp_path):
    import keras

    from mpkeras.saving import save_model_atomic

    class Exploding(keras.layers.Layer):
        def get_config(self):
            raise RuntimeError("interrupted while writing")

    model = keras.Sequential([keras.Input((2,)), Exploding()])
    with pytest.raises(RuntimeError, match="interrupted"):
        save_model_atomic(model, tmp_path / "model.keras")
    assert list(tmp_path.iterdir()) == []


def test_saving_replaces_an_old_model_only_when_complete(tmp_path):
    import keras

    from mpkeras.saving import load_model, save_model_atomic

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = save_model_atomic(model, tmp_path / "model.keras")
    before = path.read_bytes()

    class Exploding(keras.layers.Layer):
        def get_config(self):
            raise RuntimeError("interrupted while writing")

    with pytest.raises(RuntimeError):
        save_model_atomic(keras.Sequential([keras.Input((2,)), Exploding()]), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]
    x = np.ones((3, 2), "float32")
    np.testing.assert_allclose(
        load_model(path).predict(x, verbose=0), model.predict(x, verbose=0), atol=0
    )


def test_key_figures_are_the_spec_figures_a_run_wrote(tmp_path):
    spec_path = tmp_path / "figs.toml"
    spec_path.write_text('experiment = "xor"\nclaims = ["N2"]\nfigures = ["boundary", "loss"]\n')
    (tmp_path / "run" / "figures").mkdir(parents=True)
    (tmp_path / "run" / "figures" / "boundary.png").write_bytes(b"png")
    written, missing = runner.key_figures(specs.load(spec_path), tmp_path / "run")
    assert written == [tmp_path / "run" / "figures" / "boundary.png"] and missing == ["loss"]
