"""`mpkeras sweep` and `mpkeras reproduce --seeds` from the command line."""

import dataclasses
import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from mpkeras_experiments import Results, register

from mpkeras.cli import main


@dataclasses.dataclass
class LinearConfig:
    beta: float = 1.0
    k: str = "a"


@register(LinearConfig, name="test_sweep_linear")
def linear(config, context):
    """Trains nothing: ``score = beta + seed`` (+10 when k is "b")."""
    return Results(metrics={"score": config.beta + context.seed + (10.0 if config.k == "b" else 0)})


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "linear.toml"
    path.write_text(
        'experiment = "test_sweep_linear"\nclaims = ["N3"]\n'
        '[[expectations]]\nclaim = "N3"\nmetric = "score"\nop = ">="\nvalue = 2.0\n'
    )
    return path


def last_line(result):
    return [line for line in result.output.splitlines() if line.strip()][-1]


@pytest.mark.parametrize(
    "args, pattern",
    [
        (["--set", "beta=1,many"], r"'beta': expected float, got 'many'"),
        (["--set", "nope=1,2"], r"Unknown config key 'nope'"),
        (["--set", "beta=1,,2"], r"an empty value in the list"),
        (["--set", "beta=1", "--set", "beta=2"], r"--set beta is given twice"),
        (["--seeds", "x"], r"--seeds must be a count N or a list such as 0,3,7"),
        (["--seeds", "0"], r"--seeds N needs N >= 1"),
        (["--seeds", "1,1"], r"names a seed twice"),
    ],
)
def test_bad_input_fails_before_the_first_point_with_nothing_written(spec, tmp_path, args, pattern):
    result = invoke("sweep", spec, *args, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    assert re.search(pattern, last_line(result)), last_line(result)
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()


def test_sweep_runs_every_point_writes_a_summary_and_resumes(spec, tmp_path):
    runs = tmp_path / "runs"
    args = (
        "sweep",
        spec,
        "--set",
        "beta=1,3",
        "--set",
        "k=a,b",
        "--seeds",
        "0,2",
        "--runs-dir",
        runs,
    )
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    (root,) = (runs / "linear").glob("sweep-*")
    points = sorted(path.name for path in root.iterdir() if (path / "results.json").is_file())
    assert len(points) == 8 and "beta-3_k-b_seed-2" in points
    summary = json.loads((root / "summary.json").read_text())
    assert summary["swept"] == ["beta", "k"]
    by_name = {entry["name"]: entry for entry in summary["points"]}
    # score = beta + seed (+10 for k=b), over seeds 0 and 2.
    stats = by_name["beta-1_k-a"]["metrics"]["score"]
    np.testing.assert_allclose([stats["mean"], stats["min"], stats["max"]], [2.0, 1.0, 3.0])
    (row,) = by_name["beta-1_k-a"]["expectations"]
    assert (row["held"], row["seeds"], row["holds"]) == (1, 2, False)
    np.testing.assert_allclose(row["margin"], -1.0)
    np.testing.assert_allclose(by_name["beta-3_k-b"]["metrics"]["score"]["mean"], 14.0)
    markdown = (root / "summary.md").read_text()
    assert "## score" in markdown and "| 1 | a | 2 | 1-3 | 2 |" in markdown
    assert "| 1 | a | N3 | score | >= 2 | 2 | 1-3 | -1 | NO 1/2 |" in markdown
    assert "## score" in result.output

    # A killed sweep: one point's results gone; --resume runs only that one.
    (root / "beta-3_k-a_seed-0" / "results.json").unlink()
    again = invoke(*args, "--resume", root)
    assert again.exit_code == 0, again.output
    progress = [line for line in again.output.splitlines() if line.startswith("[")]
    assert len(progress) == 8
    assert sum("already done" in line for line in progress) == 7
    assert "already done" not in next(line for line in progress if "beta-3_k-a_seed-0" in line)
    assert (root / "beta-3_k-a_seed-0" / "results.json").is_file()

    # Resuming with another grid is refused before anything runs.
    other = invoke("sweep", spec, "--set", "beta=1,5", "--seeds", "0,2", "--resume", root)
    assert other.exit_code == 2, other.output
    assert "pass the same experiment" in last_line(other)


def test_resume_needs_a_sweep_directory(spec, tmp_path):
    result = invoke("sweep", spec, "--set", "beta=1,2", "--resume", tmp_path)
    assert result.exit_code == 2, result.output
    assert "is not a sweep directory (no sweep.json)" in last_line(result)


@pytest.mark.parametrize("seeds, expected", [("2", [0, 1]), ("0,3", [0, 3])])
def test_reproduce_seeds_forms(spec, tmp_path, seeds, expected):
    result = invoke(
        "reproduce",
        "--only",
        spec,
        "--seeds",
        seeds,
        "--runs-dir",
        tmp_path / "runs",
        "--models-dir",
        tmp_path / "models",
    )
    (report_dir,) = (tmp_path / "runs" / "reproduce").glob("*")
    ran = sorted(int(path.name.split("-")[1]) for path in (report_dir / "linear").iterdir())
    assert ran == expected
    # score = 1 + seed >= 2 holds on every seed but 0.
    assert result.exit_code == 1, result.output
    assert f"NO {len(expected) - 1}/{len(expected)}" in result.output


def test_reproduce_bad_seeds_is_exit_2_with_nothing_written(spec, tmp_path):
    result = invoke("reproduce", "--only", spec, "--seeds", "two", "--runs-dir", tmp_path / "r")
    assert result.exit_code == 2, result.output
    assert "--seeds must be a count N" in last_line(result)
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_quick_sweep_of_xor_over_hidden_widths_and_two_seeds(tmp_path):
    result = invoke(
        "sweep",
        "xor",
        "--set",
        "hidden=[4],[8]",
        "--quick",
        "--seeds",
        "2",
        "--runs-dir",
        tmp_path / "runs",
    )
    assert result.exit_code == 0, result.output
    (root,) = (tmp_path / "runs" / "xor").glob("sweep-*")
    summary = json.loads((root / "summary.json").read_text())
    assert [entry["name"] for entry in summary["points"]] == ["hidden-4", "hidden-8"]
    for entry in summary["points"]:
        assert entry["seeds"] == [0, 1] and entry["status"] == ["completed"] * 2
        accuracy = entry["metrics"]["mlp_accuracy"]
        assert 0.0 <= accuracy["min"] <= accuracy["mean"] <= accuracy["max"] <= 1.0
    assert "## mlp_accuracy" in (root / "summary.md").read_text()
    assert len(list(root.glob("hidden-*_seed-*/results.json"))) == 4


@register(LinearConfig, name="test_sweep_partial")
def partial(config, context):
    """Measures ``score_b`` only where k is "b": a comparison needs both settings."""
    metrics = {"score": config.beta}
    if config.k == "b":
        metrics["score_b"] = config.beta + 1.0
    return Results(metrics=metrics)


def test_a_point_that_cannot_measure_an_expectation_says_so(tmp_path):
    spec = tmp_path / "partial.toml"
    spec.write_text(
        'experiment = "test_sweep_partial"\nclaims = ["N3"]\n'
        '[[expectations]]\nclaim = "N3"\nmetric = "score_b"\nop = ">"\nother = "score"\n'
    )
    result = invoke("sweep", spec, "--set", "k=a,b", "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("[")}
    assert "0/0 expectations hold (1 not measured at this point)" in lines["k-a"]
    assert lines["k-b"].endswith("1/1 expectations hold")
    (root,) = (tmp_path / "runs" / "partial").glob("sweep-*")
    by_name = {p["name"]: p for p in json.loads((root / "summary.json").read_text())["points"]}
    (row,) = by_name["k-a"]["expectations"]
    assert row["holds"] is None and row["note"] == "not measured at this point"
    assert by_name["k-b"]["expectations"][0]["holds"] is True
    assert (
        "| a | N3 | score_b | > score (1) | - | - |  | not measured at this point |"
        in (root / "summary.md").read_text()
    )


def test_only_an_absent_metric_is_not_measured_a_nan_still_fails():
    from mpkeras import specs
    from mpkeras.runner.sweep import not_measured_here

    expectation = specs.Expectation(claim="N3", metric="b", op=">", other="a")
    for metrics, holds in [
        ({"a": 1.0}, None),
        ({"b": 2.0}, None),
        ({"a": 1.0, "b": float("nan")}, False),
    ]:
        (row,) = not_measured_here([expectation.check(metrics, quick=False)], metrics)
        assert row["holds"] is holds, metrics
