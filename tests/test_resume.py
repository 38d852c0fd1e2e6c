"""Kill -9 and resume, for every experiment: the resumed run ends with the uninterrupted run's.

Each experiment runs at a tiny budget three times: whole (in this process);
in a subprocess that is stopped mid-fit, once the first checkpoint of the
fit named ``tag`` exists (at the start of its second epoch), and then killed
with SIGKILL while stopped; and with ``--resume`` on the killed run's
directory. The kill lands at a chosen point instead of a racy moment, so the
test is deterministic however busy the machine is. Fits that had finished
before the kill are skipped on resume (their checkpoints say so), the one
that was killed continues from its checkpoint, later ones run as usual.

The checks: the killed process died of SIGKILL before writing results.json,
the checkpoint stopped short of the fit's end, and the resumed run's metrics
equal the whole run's exactly (timings excepted).
"""

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from mpkeras import runner, specs

# Runs `mpkeras` in a subprocess; with MPKERAS_TEST_STOP_AT="tag:epoch" it stops
# itself (SIGSTOP) when the fit `tag` begins epoch `epoch`, so that the test
# can kill it there. "figure:" stops at the first saved figure instead (for
# an experiment that fits nothing). MPKERAS_TEST_MOCK_DATA=1 serves the
# remote TFDS datasets from tfds.testing.mock_data.
_WRAPPER = textwrap.dedent(
    """
    import contextlib, os, signal, sys
    from pathlib import Path

    import keras

    from mpkeras import runner, specs
    from mpkeras.cli import main

    tag, _, epoch = os.environ.get("MPKERAS_TEST_STOP_AT", "").partition(":")

    def stop():
        os.kill(os.getpid(), signal.SIGSTOP)

    if tag == "figure":
        save_figure = runner.RunContext.save_figure

        def stop_at_figure(self, name, figure):
            stop()
            return save_figure(self, name, figure)

        runner.RunContext.save_figure = stop_at_figure
    elif tag:
        on_epoch_begin = keras.callbacks.BackupAndRestore.on_epoch_begin

        def stop_at_epoch(self, index, logs=None):
            if index == int(epoch) and (tag == "*" or Path(self.backup_dir).name == tag):
                stop()
            return on_epoch_begin(self, index, logs)

        keras.callbacks.BackupAndRestore.on_epoch_begin = stop_at_epoch
    mock = contextlib.nullcontext()
    if os.environ.get("MPKERAS_TEST_MOCK_DATA"):
        import tensorflow_datasets as tfds

        mock = tfds.testing.mock_data(num_examples=8)
    with mock:
        main(sys.argv[1:])
    """
)

SLOW = pytest.mark.slow
DROPOUT_STATE = pytest.mark.xfail(
    strict=True,
    reason=(
        "Keras's Dropout keeps its SeedGenerator state out of the checkpoint "
        "(Layer.save_own_variables saves the trainable and non-trainable variables "
        "only), so the resumed epochs draw other dropout masks"
    ),
)


@dataclasses.dataclass(frozen=True)
class Case:
    """One kill-and-resume case.

    Attributes:
        name: the experiment.
        overrides: a tiny budget in which the fit ``tag`` has two epochs or more.
        tag: the fit to kill at the start of its second epoch (``"*"``: the
            first fit that has one); a later fit where an experiment has
            several, so that resuming also skips the fits that had finished.
            ``"figure"``: at the first saved figure, for an experiment that
            fits nothing.
        marks: pytest marks; the default suite keeps two cheap cases (about 55 s of
            CPU together): a diverging fit and in-memory batches, a VAE with its
            sampling noise and a per-epoch binarised pipeline.
    """

    name: str
    overrides: tuple
    tag: str
    marks: tuple = (SLOW,)


SPLITS = ("train_split=train[:64]", "test_split=test[:32]")
CORRUPTION = (
    *SPLITS,
    "train.epochs=2",
    "hidden=[4, 4]",
    "latent_dim=72",
    "undercomplete_latent_dim=4",
)
CNN = (
    "filters=[4]",
    "train.epochs=2",
    "train.batch_size=256",
    "figure_every=1",
    "max_misclassified=4",
)
CASES = {
    "xor": Case("xor", ("perceptron_epochs=3", "train.epochs=4"), "mlp"),
    "perceptron": Case("perceptron", ("max_epochs=3",), "*"),
    "linear_collapse": Case(
        "linear_collapse",
        (
            "train_size=256",
            "test_size=128",
            "hidden=[4, 4]",
            "train.epochs=3",
            "train.steps_per_epoch=5",
        ),
        "deep_linear",
    ),
    "universal_approximation": Case(
        "universal_approximation",
        (
            "widths=[2, 4, 8]",
            "train_size=256",
            "grid_points=[101, 11]",
            "train.epochs=2",
            "train.steps_per_epoch=5",
            "deep_hidden=[3, 3]",
            "comparison_train.epochs=2",
            "comparison_train.steps_per_epoch=5",
        ),
        "sweep_m2",
    ),
    "cnn_digits": Case("cnn_digits", CNN, "*", (SLOW, DROPOUT_STATE)),
    # Everything but the dropout masks resumes exactly, augmentation included.
    "cnn_digits-no_dropout": Case("cnn_digits", (*CNN, "dropout=0.0"), "*"),
    "explicit_vs_autodiff": Case(
        "explicit_vs_autodiff",
        ("filters=[4]", "train.epochs=2", "train.batch_size=256"),
        "explicit",
    ),
    "unet_shapes": Case(
        "unet_shapes",
        (
            "train.epochs=2",
            "train_examples=16",
            "test_examples=8",
            "depth=1",
            "base_filters=2",
            "image_size=[16, 16]",
            "figure_examples=2",
        ),
        "*",
    ),
    "upsampling_compare": Case(
        "upsampling_compare",
        (
            "train.epochs=2",
            "train_examples=16",
            "test_examples=8",
            "depth=1",
            "base_filters=2",
            "image_size=[16, 16]",
            "figure_examples=2",
            "methods=['transpose']",
        ),
        "no_skips",
    ),
    "vanishing_exploding": Case(
        "vanishing_exploding", ("steps=6", "batch_size=2", "units=4", "radii=[0.5, 1.5]"), "figure"
    ),
    "adding_problem": Case(
        "adding_problem",
        (
            "lengths=[10]",
            "units=4",
            "copy_length=10",
            "train.epochs=2",
            "train.steps_per_epoch=3",
            "train.batch_size=16",
            "copy_train.epochs=2",
            "copy_train.steps_per_epoch=2",
            "copy_train.batch_size=16",
        ),
        "lstm_t10",
    ),
    # The unclipped fit diverges in its second epoch, before the kill; resumed, it diverges again.
    "gradient_clipping": Case(
        "gradient_clipping",
        (
            "units=4",
            "epochs=3",
            "steps_per_epoch=5",
            "batch_size=16",
            "learning_rate=100.0",
            "momentum=0.0",
        ),
        "clipped",
        (),
    ),
    "sequence_modes": Case(
        "sequence_modes",
        ("units=4", "train.epochs=2", "train.steps_per_epoch=2", "train.batch_size=16"),
        "one_to_one",
    ),
    "sentiment": Case(
        "sentiment",
        (
            "vocabulary_size=50",
            "sequence_length=12",
            "adapt_batches=2",
            "embedding_dim=4",
            "units=4",
            "batch_size=4",
            "epochs=2",
        ),
        "*",
    ),
    "linear_ae_pca": Case(
        "linear_ae_pca",
        (*SPLITS, "latent_dims=[2, 8]", "train.epochs=2", "train.steps_per_epoch=5"),
        "linear_k8",
    ),
    "nonlinear_ae": Case(
        "nonlinear_ae",
        (
            *SPLITS,
            "train.epochs=2",
            "hidden=[4, 4]",
            "linear_train.epochs=2",
            "linear_train.steps_per_epoch=5",
            "figure_every=1",
        ),
        "conv",
    ),
    "denoising_ae": Case("denoising_ae", CORRUPTION, "undercomplete"),
    "inpainting_ae": Case("inpainting_ae", CORRUPTION, "undercomplete"),
    "vae_digits": Case(
        "vae_digits",
        (
            "train.epochs=2",
            "hidden=[8]",
            "num_samples=5",
            "test_examples=40",
            "figure_examples=4",
            "interpolation_steps=3",
        ),
        "*",
        (),
    ),
    "constrained_beta_vae": Case(
        "constrained_beta_vae",
        ("train.epochs=2", "final_epochs=1", "hidden=[8]", "deltas=[5.0, 15.0]"),
        "delta15",
    ),
    "beta_vae_sprites": Case(
        "beta_vae_sprites",
        (
            "train.epochs=2",
            "hidden=[8]",
            "score_examples=300",
            "betavae_batch=4",
            "betavae_train=20",
            "betavae_eval=20",
            "traversal_dims=2",
        ),
        "beta4",
    ),
}
# Remote data, served by tfds.testing.mock_data in every run.
MOCK_DATA = {"sentiment"}
# Wall-clock timings differ from run to run by nature.
TIMINGS = {"upsampling_compare": ("_step_ms",)}


def test_every_experiment_has_a_resume_case():
    assert sorted({case.name for case in CASES.values()}) == specs.available()


def _cli(tmp_path, args, stop_at=None, mock=False):
    env = {key: value for key, value in os.environ.items() if not key.startswith("MPKERAS_TEST_")}
    env["PYTHONUNBUFFERED"] = "1"
    if stop_at:
        env["MPKERAS_TEST_STOP_AT"] = stop_at
    if mock:
        env["MPKERAS_TEST_MOCK_DATA"] = "1"
    log = open(tmp_path / f"{'killed' if stop_at else 'resumed'}.log", "w")
    return subprocess.Popen(
        [sys.executable, "-c", _WRAPPER, *map(str, args)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    ), log


def _exit_code(status):
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _stop_then_kill(process, timeout):
    """Wait until ``process`` stops itself, then SIGKILL it; False if it exited first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status = os.waitpid(process.pid, os.WNOHANG | os.WUNTRACED)
        if pid and os.WIFSTOPPED(status):
            os.kill(process.pid, signal.SIGKILL)
            _, status = os.waitpid(process.pid, 0)
            process.returncode = _exit_code(status)
            return True
        if pid:
            process.returncode = _exit_code(status)
            return False
        time.sleep(0.05)
    process.kill()
    process.wait()
    pytest.fail(f"the run neither stopped nor ended within {timeout} s")


def _comparable(name, metrics):
    """The metrics as JSON text (exact floats; NaN equal to NaN), timings left out."""
    suffixes = TIMINGS.get(name, ())
    kept = {
        key: value for key, value in metrics.items() if not (suffixes and key.endswith(suffixes))
    }
    return json.dumps(kept, sort_keys=True)


@pytest.mark.parametrize("key", [pytest.param(k, marks=case.marks) for k, case in CASES.items()])
def test_kill_9_mid_fit_then_resume_ends_like_the_uninterrupted_run(key, tmp_path):
    case = CASES[key]
    mock = case.name in MOCK_DATA
    models = tmp_path / "models"
    if mock:
        import tensorflow_datasets as tfds

        data = tfds.testing.mock_data(num_examples=8)
    else:
        data = contextlib.nullcontext()
    with data:
        whole = runner.run(
            case.name,
            quick=True,
            overrides=list(case.overrides),
            run_dir=tmp_path / "whole",
            models_dir=models,
            verbose=0,
            report=lambda line: None,
        )

    killed = tmp_path / "killed"
    options = [arg for override in case.overrides for arg in ("--set", override)]
    stop_at = "figure:" if case.tag == "figure" else f"{case.tag}:1"
    args = ["run", case.name, "--quick", *options, "--run-dir", killed, "--models-dir", models]
    process, log = _cli(tmp_path, args, stop_at=stop_at, mock=mock)
    with log:
        stopped = _stop_then_kill(process, timeout=300)
    output = (tmp_path / "killed.log").read_text()[-3000:]
    assert stopped, f"exit {process.returncode} before {case.tag!r} began epoch 2:\n{output}"
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "results.json").exists()
    if case.tag != "figure":
        checkpoints = list((killed / "checkpoints").glob("*/training_metadata.json"))
        assert checkpoints, f"no checkpoint before the kill:\n{output}"
    if case.tag not in ("figure", "*"):
        metadata = killed / "checkpoints" / case.tag / "training_metadata.json"
        assert json.loads(metadata.read_text())["epoch"] == 1, metadata.read_text()

    args = ["run", case.name, "--resume", "--run-dir", killed, "--models-dir", models]
    process, log = _cli(tmp_path, args, mock=mock)
    with log:
        returncode = process.wait(timeout=600)
    output = (tmp_path / "resumed.log").read_text()[-3000:]
    # Exit 1 only says an expectation fails at this tiny budget; the run completed.
    assert returncode in (0, 1), output
    resumed = json.loads((killed / "results.json").read_text())
    assert resumed["status"] == "completed", output
    uninterrupted = json.loads((whole.run_dir / "results.json").read_text())
    expected = _comparable(case.name, uninterrupted["metrics"])
    assert _comparable(case.name, resumed["metrics"]) == expected
