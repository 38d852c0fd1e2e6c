"""The Click CLI: fast start, one-line errors with exit code 2, NaN handling."""

import dataclasses
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from mpkeras_experiments import Results, register

from mpkeras.cli import main


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_one_line_error(result, code, pattern):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) >= 1 and lines[-1].startswith("Error: "), result.output
    import re

    assert re.search(pattern, lines[-1]), lines[-1]


def test_help_and_list_do_not_import_tensorflow():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from mpkeras.cli import main\n"
        "for args in (['--help'], ['list']):\n"
        "    result = CliRunner().invoke(main, args)\n"
        "    assert result.exit_code == 0, result.output\n"
        "    print(result.output)\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'tensorflow_datasets') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "reproduce" in result.stdout
    assert "xor" in result.stdout and "N2" in result.stdout and "toy2d/xor" in result.stdout


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["run", "no_such_experiment"], r"Unknown experiment 'no_such_experiment'"),
        (["run", "xor", "--set", "nonsense=1"], r"Unknown config key 'nonsense'"),
        (["run", "xor", "--set", "train.epochs=many"], r"'train.epochs': expected int, got 'many'"),
        (["run", "xor", "--set", "hidden=4"], r"'hidden': expected a list"),
        (["run", "missing.toml"], r"Spec file not found"),
        (["evaluate", "nowhere.keras", "--dataset", "toy2d/xor"], r"Model file not found"),
        (["run", "xor", "--resume"], r"--resume needs --run-dir"),
        (
            ["run", "xor", "--seed", "-5", "--quick"],
            r"--seed must be a non-negative integer, got -5",
        ),
        (
            ["run", "xor", "--set", "hidden=[0]"],
            r"`hidden` must be a non-empty list of positive numbers",
        ),
        (["run", "xor", "--set", "train.learning_rate=-1"], r"`learning_rate` must be positive"),
        (["run", "xor", "--run-dir", "r", "--resume"], r"Cannot resume: no config.json"),
        (["prepare", "no_such_data"], r"Unknown dataset 'no_such_data'"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(args, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # Nothing may be written anywhere on bad input.
    assert_one_line_error(invoke(*args), 2, pattern)
    assert not (tmp_path / "runs").exists()


def test_an_unknown_dataset_is_caught_before_any_work(tmp_path):
    run_dir = tmp_path / "run"
    result = invoke("run", "xor", "--set", "dataset=nope", "--run-dir", run_dir)
    assert_one_line_error(result, 2, r"'dataset': Unknown dataset 'nope'. Available: .*toy2d/xor")
    assert not run_dir.exists()


def test_resume_and_overwrite_exclude_each_other(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    result = invoke("run", "xor", "--run-dir", run_dir, "--resume", "--overwrite")
    assert_one_line_error(result, 2, r"--resume and --overwrite exclude each other")
    assert (run_dir / "config.json").read_text() == "{}"


@dataclasses.dataclass
class RaiseConfig:
    kind: str = "keras"


@register(RaiseConfig, name="test_raise")
def raise_inside(config, context):
    """Fails the way a bug would: a ValueError from inside Keras, or a violated premise."""
    import keras
    from mpkeras_experiments import premise

    if config.kind == "premise":
        premise(1 > 2, "one is more than two")
    # Keras: ValueError, "Invalid value received for argument `rate`", on every Keras
    # setup.cfg allows (Keras 3.10 accepts Dense(-3) without an error).
    keras.layers.Dropout(2.0)
    return Results(metrics={})


def test_a_valueerror_inside_keras_is_a_bug_exit_1_with_its_traceback_kept(tmp_path):
    spec = tmp_path / "raise.toml"
    spec.write_text('experiment = "test_raise"\nclaims = ["N1"]\n')
    run_dir = tmp_path / "run"
    result = invoke("run", spec, "--run-dir", run_dir, "--models-dir", tmp_path / "models")
    assert_one_line_error(result, 1, r"ValueError: .*`rate`.* \(traceback in .*error.log\)")
    assert "Traceback" in (run_dir / "error.log").read_text()
    assert json.loads((run_dir / "results.json").read_text())["status"] == "error"


def test_a_violated_premise_fails_the_run(tmp_path):
    spec = tmp_path / "raise.toml"
    spec.write_text('experiment = "test_raise"\nclaims = ["N1"]\n[config]\nkind = "premise"\n')
    run_dir = tmp_path / "run"
    result = invoke("run", spec, "--run-dir", run_dir, "--models-dir", tmp_path / "models")
    assert_one_line_error(result, 1, r"Premise violated: one is more than two")
    assert json.loads((run_dir / "results.json").read_text())["status"] == "premise violated"


def test_overwrite_starts_an_existing_run_dir_again(tmp_path):
    spec = tmp_path / "constant.toml"
    spec.write_text('experiment = "test_constant"\nclaims = ["N3"]\n')
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "stale.txt").write_text("old")
    result = invoke(
        "run", spec, "--run-dir", run_dir, "--overwrite", "--models-dir", tmp_path / "models"
    )
    assert result.exit_code == 0, result.output
    assert not (run_dir / "stale.txt").exists()
    assert json.loads((run_dir / "results.json").read_text())["metrics"] == {"value": 0.5}


def test_invalid_toml_file(tmp_path):
    spec = tmp_path / "broken.toml"
    spec.write_text("experiment = 'xor'\n[config\n")
    assert_one_line_error(invoke("run", spec), 2, r"Invalid TOML in .*broken.toml")


def test_unreadable_toml_file(tmp_path):
    spec = tmp_path / "binary.toml"
    spec.write_bytes(b"\xff\xfe\x00bad")
    assert_one_line_error(invoke("run", spec), 2, r"Cannot read spec|Invalid TOML")


def test_existing_run_dir_needs_resume_or_overwrite(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    assert_one_line_error(
        invoke("run", "xor", "--run-dir", run_dir), 2, r"already exists; pass --resume"
    )
    assert (run_dir / "config.json").read_text() == "{}"


def test_corrupt_model_file(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"PK\x03\x04 not really a zip archive")
    assert_one_line_error(invoke("evaluate", broken, "--dataset", "toy2d/xor"), 2, r"broken.keras")
    truncated = tmp_path / "truncated.keras"
    import zipfile

    with zipfile.ZipFile(truncated, "w") as archive:
        archive.writestr("config.json", "{not json")
    assert_one_line_error(
        invoke("evaluate", truncated, "--dataset", "toy2d/xor"),
        2,
        r"Cannot load model .*truncated.keras",
    )


@dataclasses.dataclass
class DivergeConfig:
    epochs: int = 6
    blow_up_at: int = 2


@register(DivergeConfig, name="test_diverge")
def diverge(config, context):
    """Linear regression whose learning rate jumps to 1e30 at epoch `blow_up_at`."""
    import keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    schedule = keras.callbacks.LearningRateScheduler(
        lambda e, lr: 1e30 if e >= config.blow_up_at else 0.01
    )
    model.fit(
        x,
        y,
        epochs=config.epochs,
        batch_size=16,
        verbose=0,
        callbacks=context.callbacks("model") + [schedule],
    )
    return Results(metrics={}, model=model)


def test_nan_loss_stops_keeps_the_last_good_checkpoint_and_exits_1(tmp_path):
    spec = tmp_path / "diverge.toml"
    spec.write_text('experiment = "test_diverge"\nclaims = ["R5"]\n')
    run_dir = tmp_path / "run"
    result = invoke("run", spec, "--run-dir", run_dir, "--models-dir", tmp_path / "models")
    assert_one_line_error(
        result, 1, r"Training diverged: loss became (nan|inf) at epoch 3, batch \d+"
    )
    metadata = json.loads(
        (run_dir / "checkpoints" / "model" / "training_metadata.json").read_text()
    )
    assert metadata["epoch"] == 2  # epochs 1 and 2 completed; the bad epoch 3 saved nothing
    assert (run_dir / "checkpoints" / "model" / "latest.weights.h5").is_file()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "diverged"
    assert not (tmp_path / "models").exists()


def test_datasets_and_prepare_commands(tmp_path):
    result = invoke("prepare", "toy2d/xor", "--data-dir", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "Prepared toy2d/xor", result.output
    # A second prepare has nothing to do, and says so; --force prepares again.
    again = invoke("prepare", "toy2d/xor", "--data-dir", tmp_path)
    assert again.exit_code == 0, again.output
    assert re.fullmatch(
        rf"toy2d/xor is already prepared in {re.escape(str(tmp_path))}/toy2d/xor/\S+ "
        r"\(--force prepares it again\)\n",
        again.output,
    ), again.output
    forced = invoke("prepare", "toy2d/xor", "--data-dir", tmp_path, "--force")
    assert forced.exit_code == 0, forced.output
    assert forced.output.splitlines()[-1] == "Prepared toy2d/xor", forced.output
    listing = invoke("datasets", "--data-dir", tmp_path)
    assert listing.exit_code == 0, listing.output
    rows = {line.split()[0]: line.split() for line in listing.output.splitlines()[1:]}
    assert rows["mnist"][1] == "remote"
    assert any(
        name.startswith("toy2d") and row[1] == "offline" and row[2] == "yes"
        for name, row in rows.items()
    )
    assert_one_line_error(
        invoke("prepare", "no_such_data", "--data-dir", tmp_path), 2, r"no_such_data"
    )


@dataclasses.dataclass
class ConstantConfig:
    value: float = 0.5


@register(ConstantConfig, name="test_constant")
def constant(config, context):
    """Trains nothing; reports its configured value as the metric."""
    return Results(metrics={"value": config.value})


def test_reproduce_writes_the_claims_table_and_reports_failures(tmp_path):
    holds = tmp_path / "holds.toml"
    holds.write_text(
        'experiment = "test_constant"\nclaims = ["N3"]\n'
        '[[expectations]]\nclaim = "N3"\nmetric = "value"\nop = "<"\nvalue = 1.0\n'
    )
    fails = tmp_path / "fails.toml"
    fails.write_text('experiment = "test_diverge"\nclaims = ["R5"]\n')
    raises = tmp_path / "raises.toml"
    raises.write_text('experiment = "test_raise"\nclaims = ["R6"]\n')
    result = invoke(
        "reproduce",
        "--only",
        holds,
        "--only",
        fails,
        "--only",
        raises,
        "--runs-dir",
        tmp_path / "runs",
        "--models-dir",
        tmp_path / "models",
    )
    assert result.exit_code == 1, result.output
    assert "Some claims do not hold" in result.output
    # One progress line per experiment, no per-epoch Keras output.
    progress = [line for line in result.output.splitlines() if line.startswith("[")]
    assert [line.split()[1] for line in progress] == ["holds", "fails", "raises"]
    assert progress[0].startswith("[1/3] holds") and "1/1 expectations hold" in progress[0]
    assert "Epoch" not in result.output
    (table,) = (tmp_path / "runs" / "reproduce").glob("*/claims.md")
    assert "Run directory:" in (table.parent / "logs" / "holds.log").read_text()
    rows = [
        line
        for line in table.read_text().splitlines()
        if line.startswith("| N") or line.startswith("| R")
    ]
    assert rows[0].startswith("| N3 | holds | value | < 1 | 0.5 | +0.5 | yes |")
    assert rows[1].startswith("| R5 | fails | (run) | completes | RunFailed: Training diverged")
    assert rows[1].split("|")[7].strip() == "NO"
    assert rows[2].startswith("| R6 | raises | (run) | completes | RunFailed: ValueError")
    assert "1 of 3 expectations hold." in table.read_text()
    claims = json.loads((table.parent / "claims.json").read_text())
    assert [row["holds"] for row in claims["claims"]] == [True, False, False]
    assert all(row["wall_time_s"] >= 0 for row in claims["claims"])
    # REPORT.md: one row per claim of the notes, a failing claim says NO.
    report = (table.parent / "REPORT.md").read_text()
    assert (
        "| N3 | " in report and "| R5 | " in report and "Claims that do NOT hold: R5, R6." in report
    )


def test_reproduce_rejects_unknown_names_before_running_anything(tmp_path):
    result = invoke("reproduce", "--only", "xor", "--only", "nope", "--runs-dir", tmp_path / "runs")
    assert_one_line_error(result, 2, r"Unknown experiment 'nope'")
    assert not (tmp_path / "runs").exists()


@dataclasses.dataclass
class RemoteConfig:
    dataset: str = "imdb_reviews"


@register(RemoteConfig, name="test_remote")
def needs_remote_data(config, context):
    """Stands for an experiment on remote data that is not prepared here."""
    from mpkeras.data.errors import DatasetUnavailableError

    raise DatasetUnavailableError(
        f"{config.dataset} is not prepared and cannot be downloaded offline"
    )


def test_reproduce_lists_an_experiment_without_its_remote_data_as_skipped(tmp_path):
    holds = tmp_path / "holds.toml"
    holds.write_text(
        'experiment = "test_constant"\nclaims = ["N3"]\n'
        '[[expectations]]\nclaim = "N3"\nmetric = "value"\nop = "<"\nvalue = 1.0\n'
    )
    remote = tmp_path / "remote.toml"
    remote.write_text('experiment = "test_remote"\nclaims = ["R2"]\n')
    result = invoke(
        "reproduce",
        "--only",
        holds,
        "--only",
        remote,
        "--runs-dir",
        tmp_path / "runs",
        "--models-dir",
        tmp_path / "models",
    )
    assert result.exit_code == 0, result.output
    (table,) = (tmp_path / "runs" / "reproduce").glob("*/claims.md")
    text = table.read_text()
    assert (
        "| R2 | remote | (run) | runs when its data is prepared | skipped: imdb_reviews is not prepared"
        in text
    )
    assert "1 of 1 expectations hold. 1 skipped (data not prepared)." in text
    assert not (table.parent / "remote").exists()


def test_a_run_without_its_remote_data_leaves_no_folders_behind(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    remote = tmp_path / "remote.toml"
    remote.write_text('experiment = "test_remote"\nclaims = ["R2"]\n')
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "keep.txt").write_text("the user's")
    result = invoke("run", remote, "--models-dir", tmp_path / "models")
    assert_one_line_error(result, 2, "imdb_reviews is not prepared")
    # runs/remote/<stamp> and runs/remote were made by the run and go; runs/ was there and stays.
    assert sorted(path.name for path in (tmp_path / "runs").iterdir()) == ["keep.txt"]
