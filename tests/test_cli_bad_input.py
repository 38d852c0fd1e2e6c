"""Every command x every kind of bad input: exit 2, one line naming the argument,
no traceback, nothing written, and no TensorFlow where none is needed to decide.

The cases that need no TensorFlow run together in one fresh interpreter, which
checks after each that TensorFlow was not imported and times the command
(the 1 s budget of issue 18 §4). The others need an experiment's config
class (its module imports Keras) or a model file, and run in this process.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (id, arguments, pattern the one line must match). Paths are relative to the
# case directory (see `case_dir`), which is also the working directory, so the
# default runs/ and saved_models/ would appear there if anything were written.
NO_TENSORFLOW = [
    # run
    ("run-unknown-name", ["run", "nosuch"], r"Unknown experiment 'nosuch'"),
    ("run-missing-spec-file", ["run", "missing.toml"], r"Spec file not found: missing.toml"),
    ("run-invalid-toml", ["run", "broken.toml"], r"Invalid TOML in .*broken.toml"),
    ("run-malformed-spec", ["run", "badkey.toml"], r"Unknown top-level key\(s\) \['nonsense'\]"),
    ("run-unknown-option", ["run", "xor", "--bogus"], r"No such option '--bogus'"),
    ("run-missing-argument", ["run"], r"Missing argument 'EXPERIMENT'"),
    ("run-seed-wrong-type", ["run", "xor", "--seed", "abc"], r"'--seed': 'abc' is not a valid"),
    (
        "run-seed-out-of-range",
        ["run", "xor", "--seed", "-5"],
        r"--seed must be a non-negative integer, got -5",
    ),
    (
        "run-strategy-unknown-choice",
        ["run", "xor", "--strategy", "tpu"],
        r"--strategy must be one of default, mirrored, multiworker; got 'tpu'",
    ),
    (
        "run-precision-unknown-choice",
        ["run", "xor", "--mixed-precision", "float64"],
        r"--mixed-precision must be one of mixed_float16, mixed_bfloat16; got 'float64'",
    ),
    (
        "run-set-without-equals",
        ["run", "xor", "--set", "nonsense"],
        r"Invalid --set 'nonsense': expected key=value",
    ),
    ("run-resume-without-run-dir", ["run", "xor", "--resume"], r"--resume needs --run-dir"),
    (
        "run-resume-and-overwrite",
        ["run", "xor", "--run-dir", "xor_run", "--resume", "--overwrite"],
        r"--resume and --overwrite exclude each other",
    ),
    (
        "run-resume-with-set",
        ["run", "xor", "--run-dir", "xor_run", "--resume", "--set", "a=1"],
        r"drop --set/--seed/--strategy",
    ),
    (
        "run-resume-missing-run-dir",
        ["run", "xor", "--run-dir", "nowhere", "--resume"],
        r"Cannot resume: no config.json in nowhere",
    ),
    (
        "run-resume-foreign-run-dir",
        ["run", "perceptron", "--run-dir", "xor_run", "--resume"],
        r"Cannot resume 'perceptron' \(experiment 'perceptron'\): xor_run holds a run of 'xor' "
        r"\(experiment 'xor'\)",
    ),
    (
        "run-resume-corrupt-config",
        ["run", "xor", "--run-dir", "corrupt_run", "--resume"],
        r"Cannot resume: corrupt_run/config.json is not readable JSON",
    ),
    (
        "run-resume-not-a-run-config",
        ["run", "xor", "--run-dir", "other_dir", "--resume"],
        r"Cannot resume: other_dir/config.json is not an mpkeras run's config",
    ),
    (
        "run-existing-run-dir",
        ["run", "xor", "--run-dir", "xor_run"],
        r"Run directory xor_run already exists; pass --resume",
    ),
    (
        "run-run-dir-is-a-file",
        ["run", "xor", "--run-dir", "a_file"],
        r"'--run-dir': Directory 'a_file' is a file",
    ),
    (
        "run-models-dir-is-a-file",
        ["run", "xor", "--models-dir", "a_file"],
        r"'--models-dir': Directory 'a_file' is a file",
    ),
    # evaluate
    (
        "evaluate-missing-model",
        ["evaluate", "nowhere.keras", "--dataset", "toy2d/xor"],
        r"Model file not found: nowhere.keras",
    ),
    (
        "evaluate-not-a-model",
        ["evaluate", "a_file", "--dataset", "toy2d/xor"],
        r"Not a .keras model archive .*a_file",
    ),
    ("evaluate-missing-dataset", ["evaluate", "a_file"], r"Missing option '--dataset'"),
    (
        "evaluate-unknown-dataset",
        ["evaluate", "a_file", "--dataset", "nope"],
        r"--dataset: Unknown dataset 'nope'",
    ),
    (
        "evaluate-unknown-dataset-config",
        ["evaluate", "a_file", "--dataset", "toy2d/nope"],
        r"--dataset: Unknown config 'nope' for dataset 'toy2d'",
    ),
    (
        "evaluate-unknown-split",
        ["evaluate", "a_file", "--dataset", "toy2d/xor", "--split", "bogus"],
        r"--split: Unknown split 'bogus' for dataset 'toy2d'",
    ),
    (
        "evaluate-unknown-task",
        ["evaluate", "a_file", "--dataset", "toy2d/xor", "--task", "nope"],
        r"--task: Unknown task 'nope'",
    ),
    (
        "evaluate-task-the-dataset-cannot-serve",
        ["evaluate", "a_file", "--dataset", "toy2d/xor", "--task", "reconstruction"],
        r"--task: Dataset 'toy2d' cannot serve task 'reconstruction'",
    ),
    (
        "evaluate-batch-size-zero",
        ["evaluate", "a_file", "--dataset", "toy2d/xor", "--batch-size", "0"],
        r"'--batch-size': 0 is not in the range x>=1",
    ),
    (
        "evaluate-batch-size-wrong-type",
        ["evaluate", "a_file", "--dataset", "toy2d/xor", "--batch-size", "many"],
        r"'--batch-size': 'many' is not a valid integer",
    ),
    # reproduce
    (
        "reproduce-unknown-name",
        ["reproduce", "--only", "xor", "--only", "nope"],
        r"Unknown experiment 'nope'",
    ),
    ("reproduce-invalid-toml", ["reproduce", "--only", "broken.toml"], r"Invalid TOML in"),
    (
        "reproduce-same-name-twice",
        ["reproduce", "--only", "xor", "--only", "xor"],
        r"--only names 'xor' twice",
    ),
    (
        "reproduce-strategy-unknown-choice",
        ["reproduce", "--strategy", "nope"],
        r"--strategy must be one of",
    ),
    (
        "reproduce-runs-dir-is-a-file",
        ["reproduce", "--runs-dir", "a_file"],
        r"'--runs-dir': Directory 'a_file' is a file",
    ),
    (
        "reproduce-unknown-option",
        ["reproduce", "--seed-count", "3"],
        r"No such option '--seed-count'",
    ),
    # prepare
    ("prepare-unknown-name", ["prepare", "nosuch"], r"Unknown dataset 'nosuch'"),
    (
        "prepare-unknown-config",
        ["prepare", "adding/t7"],
        r"Unknown config 't7' for dataset 'adding'",
    ),
    ("prepare-missing-argument", ["prepare"], r"Missing argument 'NAME'"),
    (
        "prepare-data-dir-is-a-file",
        ["prepare", "toy2d/xor", "--data-dir", "a_file"],
        r"'--data-dir': Directory 'a_file' is a file",
    ),
    (
        "prepare-unknown-name-new-data-dir",
        ["prepare", "nosuch", "--data-dir", "new_data"],
        r"Unknown dataset 'nosuch'",
    ),
    # datasets
    (
        "datasets-missing-data-dir",
        ["datasets", "--data-dir", "nowhere"],
        r"'--data-dir': Directory 'nowhere' does not exist",
    ),
    (
        "datasets-data-dir-is-a-file",
        ["datasets", "--data-dir", "a_file"],
        r"'--data-dir': Directory 'a_file' is a file",
    ),
    ("datasets-extra-argument", ["datasets", "mnist"], r"Got unexpected extra argument \(mnist\)"),
    # report
    ("report-missing-dir", ["report", "nowhere"], r"Directory 'nowhere' does not exist"),
    ("report-foreign-dir", ["report", "xor_run"], r"xor_run is not a reproduce directory"),
    (
        "report-corrupt-claims",
        ["report", "corrupt_report"],
        r"corrupt_report is not a reproduce directory",
    ),
    (
        "report-missing-readme",
        ["report", "report_dir", "--readme", "nowhere.md"],
        r"'--readme': File 'nowhere.md' does not exist",
    ),
    (
        "report-readme-without-markers",
        ["report", "report_dir", "--readme", "plain.md"],
        r"plain.md",
    ),
    # list and the group
    ("list-extra-argument", ["list", "xor"], r"Got unexpected extra argument \(xor\)"),
    # sweep
    ("sweep-unknown-name", ["sweep", "nosuch", "--set", "a=1,2"], r"Unknown experiment 'nosuch'"),
    (
        "sweep-set-without-equals",
        ["sweep", "xor", "--set", "hidden"],
        r"Invalid --set 'hidden': expected KEY=VALUE\[,VALUE...\]",
    ),
    ("sweep-unknown-option", ["sweep", "xor", "--bogus"], r"No such option '--bogus'"),
    ("sweep-missing-argument", ["sweep"], r"Missing argument 'EXPERIMENT'"),
    (
        "sweep-seeds-wrong-type",
        ["sweep", "xor", "--set", "train.epochs=1,2", "--seeds", "x"],
        r"--seeds must be a count N or a list such as 0,3,7, got 'x'",
    ),
    (
        "sweep-jobs-zero",
        ["sweep", "xor", "--set", "train.epochs=1,2", "--jobs", "0"],
        r"Invalid value for '--jobs': 0 is not in the range x>=1",
    ),
    (
        "reproduce-jobs-not-a-number",
        ["reproduce", "--only", "xor", "--jobs", "two"],
        r"Invalid value for '--jobs': 'two' is not a valid integer",
    ),
    (
        "sweep-resume-missing-directory",
        ["sweep", "xor", "--set", "train.epochs=1,2", "--resume", "nowhere"],
        r"Directory 'nowhere' does not exist",
    ),
    ("list-unknown-option", ["list", "--all"], r"No such option '--all'"),
    ("unknown-command", ["rnu", "xor"], r"No such command 'rnu'"),
]

# Each needs TensorFlow to decide: the config class lives in the experiment's
# module (which imports Keras), or a model must be loaded.
NEEDS_TENSORFLOW = [
    ("run-unknown-key", ["run", "xor", "--set", "nonsense=1"], r"Unknown config key 'nonsense'"),
    (
        "run-wrong-type",
        ["run", "xor", "--set", "train.epochs=many"],
        r"'train.epochs': expected int, got 'many'",
    ),
    ("run-wrong-type-list", ["run", "xor", "--set", "hidden=4"], r"'hidden': expected a list"),
    ("run-out-of-range", ["run", "xor", "--set", "train.epochs=0"], r"`epochs` must be positive"),
    (
        "run-out-of-range-list",
        ["run", "xor", "--set", "hidden=[0]"],
        r"`hidden` must be a non-empty list of positive numbers",
    ),
    (
        "run-unknown-choice",
        ["run", "cnn_digits", "--set", "padding=full"],
        r"'padding': expected one of 'valid', 'same', got 'full'",
    ),
    (
        "run-bad-optimizer",
        ["run", "xor", "--set", "train.optimizer=sgdd"],
        r"`train.optimizer`, expected the name of a Keras optimizer.*Received: train.optimizer='sgdd'",
    ),
    (
        "run-dataset-the-experiment-cannot-use",
        ["run", "xor", "--set", "dataset=digits"],
        r"invalid value for `dataset`, expected a dataset experiment 'xor' trains on",
    ),
    (
        "run-unknown-dataset",
        ["run", "xor", "--set", "dataset=nope"],
        r"'dataset': Unknown dataset 'nope'",
    ),
    ("run-bad-config-in-spec-file", ["run", "badconfig.toml"], r"Unknown config key 'nonsense'"),
    (
        "sweep-unknown-key",
        ["sweep", "xor", "--set", "nonsense=1,2"],
        r"Unknown config key 'nonsense'",
    ),
    (
        "reproduce-bad-config-in-spec-file",
        ["reproduce", "--only", "xor", "--only", "badconfig.toml"],
        r"Unknown config key 'nonsense'",
    ),
    (
        "evaluate-model-does-not-fit-dataset",
        ["evaluate", "xor_like.keras", "--dataset", "digits"],
        r"xor_like.keras takes inputs of shape \(None, 2\), but --dataset digits \(task "
        r"classification\) gives \(None, 8, 8, 1\)",
    ),
    (
        "evaluate-uncompiled-model",
        ["evaluate", "uncompiled.keras", "--dataset", "toy2d/xor"],
        r"uncompiled.keras was saved without compile\(\)",
    ),
    (
        "evaluate-broken-archive",
        ["evaluate", "broken.keras", "--dataset", "toy2d/xor"],
        r"Cannot load model broken.keras",
    ),
]


def _write_case_files(root):
    """The files and folders the cases point at (made once, never changed by a case)."""
    from mpkeras import reporting

    (root / "a_file").write_text("not a directory, not a model")
    (root / "broken.toml").write_text("experiment = 'xor'\n[config\n")
    (root / "badkey.toml").write_text('experiment = "xor"\nnonsense = 1\n')
    (root / "badconfig.toml").write_text('experiment = "xor"\n[config]\nnonsense = 1\n')
    (root / "plain.md").write_text("# A README without the claims markers\n")
    run = root / "xor_run"
    run.mkdir()
    (run / "config.json").write_text(
        json.dumps(
            {
                "spec": "xor",
                "experiment": "xor",
                "seed": 0,
                "quick": True,
                "overrides": [],
                "config": {},
                "execution": {"strategy": "default", "mixed_precision": None, "jit_compile": None},
            }
        )
    )
    (root / "corrupt_run").mkdir()
    (root / "corrupt_run" / "config.json").write_text("{not json")
    (root / "other_dir").mkdir()
    (root / "other_dir" / "config.json").write_text('{"name": "something else"}')
    (root / "corrupt_report").mkdir()
    (root / "corrupt_report" / "claims.json").write_text("{not json")
    (root / "report_dir").mkdir()
    reporting.write(
        root / "report_dir", [], [], quick=True, started="2026-01-01 00:00 UTC", wall_time_s=0.0
    )


def snapshot(root):
    """Every path under ``root`` with its size and modification time."""
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad_input")
    _write_case_files(root)
    return root


_RUN_ALL = """
    import json, sys, time
    from pathlib import Path
    cases, root = json.loads(sys.argv[1]), Path(sys.argv[2])
    sys.path.insert(0, sys.argv[3])
    from test_cli_bad_input import snapshot
    started = time.perf_counter()
    from click.testing import CliRunner
    from mpkeras.cli import main
    import_s = time.perf_counter() - started
    results = {}
    for case_id, args in cases:
        before = snapshot(root)
        started = time.perf_counter()
        result = CliRunner().invoke(main, args)
        results[case_id] = {
            "exit_code": result.exit_code, "output": result.output,
            "seconds": time.perf_counter() - started,
            "tensorflow": "tensorflow" in sys.modules,
            "changed": sorted(set(snapshot(root).items()) ^ set(before.items())),
        }
    print("RESULT" + json.dumps({"import_s": import_s, "cases": results}))
"""


@pytest.fixture(scope="module")
def tensorflow_free_results(case_dir):
    """Run every NO_TENSORFLOW case in one fresh interpreter, in ``case_dir``."""
    cases = [(case_id, args) for case_id, args, _ in NO_TENSORFLOW]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_RUN_ALL),
            json.dumps(cases),
            str(case_dir),
            str(Path(__file__).parent),
        ],
        cwd=case_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, proc.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT") :])


def assert_one_line_error(output, pattern):
    import re

    lines = [line for line in output.splitlines() if line.strip()]
    assert "Traceback" not in output, output
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    assert re.search(pattern, lines[0]), lines[0]


@pytest.mark.parametrize("case_id, args, pattern", NO_TENSORFLOW, ids=[c[0] for c in NO_TENSORFLOW])
def test_bad_input_without_tensorflow(tensorflow_free_results, case_id, args, pattern):
    result = tensorflow_free_results["cases"][case_id]
    assert result["exit_code"] == 2, result["output"]
    assert_one_line_error(result["output"], pattern)
    assert not result["changed"], f"{args} wrote {result['changed']}"
    assert not result["tensorflow"], f"{args} imported TensorFlow to decide"
    assert result["seconds"] < 1.0, f"{args} took {result['seconds']:.2f} s"


def test_the_cli_and_all_tensorflow_free_checks_take_well_under_a_second_each(
    tensorflow_free_results,
):
    # Measured in a fresh interpreter: importing the CLI, then each case.
    slowest = max(r["seconds"] for r in tensorflow_free_results["cases"].values())
    assert tensorflow_free_results["import_s"] < 1.0 and slowest < 1.0, (
        tensorflow_free_results["import_s"],
        slowest,
    )


@pytest.fixture(scope="module")
def model_files(case_dir):
    """A compiled model for 2-d inputs, an uncompiled one and a zip that is no model."""
    import zipfile

    import keras

    from mpkeras import data

    # Prepared beforehand: preparing prints its progress (issue 18 §5, not this test's).
    for name in ("digits", "toy2d/xor"):
        data.prepare(name)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.save(case_dir / "xor_like.keras")
    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save(case_dir / "uncompiled.keras")
    with zipfile.ZipFile(case_dir / "broken.keras", "w") as archive:
        archive.writestr("config.json", "{not json")
    return case_dir


def _invoke_in(root, args, monkeypatch):
    from click.testing import CliRunner

    from mpkeras.cli import main

    monkeypatch.chdir(root)
    before = snapshot(root)
    result = CliRunner().invoke(main, args)
    return result, sorted(set(snapshot(root).items()) ^ set(before.items()))


@pytest.mark.parametrize(
    "case_id, args, pattern", NEEDS_TENSORFLOW, ids=[c[0] for c in NEEDS_TENSORFLOW]
)
def test_bad_input_that_needs_tensorflow_to_decide(
    model_files, monkeypatch, case_id, args, pattern
):
    result, changed = _invoke_in(model_files, args, monkeypatch)
    assert result.exit_code == 2, result.output
    assert_one_line_error(result.output, pattern)
    assert not changed, f"{args} wrote {changed}"


def test_the_matrix_covers_every_command():
    commands = {args[0] for _, args, _ in NO_TENSORFLOW + NEEDS_TENSORFLOW}
    from mpkeras.cli import main

    assert set(main.commands) <= commands, set(main.commands) - commands
