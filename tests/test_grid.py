"""The grid loop of reproduce --seeds and sweep: expansion, planning, resume, aggregation."""

import dataclasses
import json

import numpy as np
import pytest
from mpkeras_experiments import Results, register

from mpkeras import reporting, specs
from mpkeras.runner import RunError, grid


@dataclasses.dataclass
class SeededConfig:
    value: float = 0.5
    step: float = 0.1
    label: str = "x"


@register(SeededConfig, name="test_grid_seeded")
def seeded(config, context):
    """Trains nothing: its metric is ``value + step * seed``, so seeds differ by design."""
    (context.run_dir / "ran").write_text("yes")
    return Results(metrics={"value": config.value + config.step * context.seed})


def write_spec(tmp_path, bound=0.65):
    path = tmp_path / "seeded.toml"
    path.write_text(
        'experiment = "test_grid_seeded"\nclaims = ["N3"]\n'
        f'[[expectations]]\nclaim = "N3"\nmetric = "value"\nop = "<"\nvalue = {bound}\n'
    )
    return specs.load(path)


def test_parse_seeds_count_and_list():
    assert grid.parse_seeds(None) == [None]
    assert grid.parse_seeds("3") == [0, 1, 2]
    assert grid.parse_seeds("1") == [0]
    assert grid.parse_seeds("0,3,7") == [0, 3, 7]
    assert grid.parse_seeds(" 5 , 2") == [5, 2]
    for bad, pattern in [
        ("0", "N >= 1"),
        ("-2", "N >= 1"),
        ("a", "count N"),
        ("1,-1", "non-negative"),
        ("1,1", "twice"),
        ("1,,2", "count N"),
    ]:
        with pytest.raises(RunError, match=pattern):
            grid.parse_seeds(bad)


def test_split_values_keeps_brackets_and_quotes_whole():
    assert grid.split_values("1,2,4") == ["1", "2", "4"]
    assert grid.split_values("[4],[8, 8]") == ["[4]", "[8, 8]"]
    assert grid.split_values('"a,b",c') == ['"a,b"', "c"]
    assert grid.split_values("{a = 1, b = 2}") == ["{a = 1, b = 2}"]


def test_expand_is_the_cartesian_product_in_order():
    points = grid.expand(["beta=1,2,4", "k=a,b"])
    assert len(points) == 6
    assert points[0] == (("beta", "1"), ("k", "a"))
    assert points[1] == (("beta", "1"), ("k", "b"))
    assert points[-1] == (("beta", "4"), ("k", "b"))
    assert grid.expand([]) == [()]
    assert grid.swept_keys(["beta=1,2", "k=a", "h=[1,2]"]) == ["beta"]


@pytest.mark.parametrize(
    "sets, pattern",
    [
        (["beta"], "expected KEY=VALUE"),
        (["=1"], "expected KEY=VALUE"),
        (["beta=1,,2"], "empty value"),
        (["beta=1,1"], "listed twice"),
        (["beta=1", "beta=2"], "given twice"),
    ],
)
def test_expand_rejects_bad_lists(sets, pattern):
    with pytest.raises(RunError, match=pattern):
        grid.expand(sets)


def test_every_point_is_planned_before_the_first_runs(tmp_path):
    spec = write_spec(tmp_path)
    # The second value of the list is bad: planning fails before anything is written.
    with pytest.raises(specs.SpecError, match="'value': expected float"):
        grid.plan_points(spec, ["value=0.1,many"], [0, 1])
    points = grid.plan_points(spec, ["value=0.1,0.2", "step=0"], [0, 3])
    assert [p.name for p in points] == [
        "value-0.1_step-0_seed-0",
        "value-0.1_step-0_seed-3",
        "value-0.2_step-0_seed-0",
        "value-0.2_step-0_seed-3",
    ]
    assert [p.plan.seed for p in points] == [0, 3, 0, 3]
    assert points[2].plan.config.value == 0.2 and points[2].plan.config.step == 0.0


def test_colliding_point_directories_are_refused(tmp_path):
    spec = write_spec(tmp_path)
    with pytest.raises(RunError, match="share the directory"):
        grid.plan_points(spec, ['label="a b",a-b'], [0])


def test_resume_skips_points_whose_results_exist(tmp_path):
    spec = write_spec(tmp_path)
    points = grid.plan_points(spec, ["value=0.1,0.2"], [0])
    root = tmp_path / "root"
    models = lambda point: tmp_path / "models"  # noqa: E731
    first = list(grid.run_points(points[:1], root, models_for=models, report=lambda _: None))
    assert first[0][2].status == "completed"
    (root / points[0].name / "ran").unlink()
    # A point killed part way: its directory exists without results.json.
    (root / points[1].name).mkdir()
    (root / points[1].name / "config.json").write_text("{}")
    again = list(
        grid.run_points(points, root, resume=True, models_for=models, report=lambda _: None)
    )
    assert [resumed for *_, resumed in again] == [True, False]
    assert not (root / points[0].name / "ran").exists()  # not run again
    assert (root / points[1].name / "ran").exists()
    np.testing.assert_allclose(again[0][3]["value"], 0.1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(again[1][3]["value"], 0.2, rtol=0, atol=1e-12)
    assert again[0][2].rows[0]["holds"] is True


def row(measured, margin, holds, claim="N3", metric="value"):
    return {
        "claim": claim,
        "metric": metric,
        "expected": "< 0.65",
        "measured": measured,
        "margin": margin,
        "holds": holds,
        "description": "",
    }


def test_aggregate_mean_range_worst_margin_and_k_of_n():
    per_seed = [
        [row(0.5, 0.15, True), row(2.0, 1.0, True, metric="b")],
        [row(0.6, 0.05, True), row(4.0, 3.0, True, metric="b")],
        [row(0.7, -0.05, False), row(3.0, 2.0, True, metric="b")],
    ]
    first, second = grid.aggregate(per_seed)
    np.testing.assert_allclose(first["measured"], (0.5 + 0.6 + 0.7) / 3, rtol=1e-12)
    assert (first["measured_min"], first["measured_max"]) == (0.5, 0.7)
    np.testing.assert_allclose(first["margin"], -0.05, rtol=1e-12)
    assert (first["held"], first["seeds"], first["holds"]) == (2, 3, False)
    np.testing.assert_allclose(second["measured"], 3.0, rtol=1e-12)
    assert (second["held"], second["holds"], second["margin"]) == (3, True, 1.0)
    assert reporting.format_row_holds(first) == "NO 2/3"
    assert reporting.format_row_holds(second) == "yes 3/3"
    assert reporting.format_range(first) == "0.5-0.7"


def test_aggregate_one_seed_is_unchanged_and_missing_values_are_not_averaged():
    rows = [row(0.5, 0.15, True)]
    assert grid.aggregate([rows]) == rows
    failed = {
        "claim": "N3",
        "metric": "(run)",
        "expected": "completes",
        "measured": "RunFailed: boom",
        "margin": None,
        "holds": False,
        "description": "",
    }
    other = {**failed, "measured": "ok", "holds": True}
    (merged,) = grid.aggregate([[other], [failed]])
    assert merged["measured"] == "ok" and merged["measured_min"] is None
    assert (merged["held"], merged["holds"], merged["margin"]) == (1, False, None)
    skipped = {**failed, "holds": None}
    (merged,) = grid.aggregate([[skipped], [skipped]])
    assert merged["holds"] is None


def test_metric_summary_over_seeds():
    summary = grid.metric_summary([{"a": 1.0, "v": [1, 2]}, {"a": 3.0}, {"a": float("nan")}])
    assert list(summary) == ["a"]
    np.testing.assert_allclose(summary["a"]["mean"], 2.0, rtol=1e-12)
    assert (summary["a"]["min"], summary["a"]["max"]) == (1.0, 3.0)
    assert len(summary["a"]["values"]) == 3


def test_reproduce_on_two_seeds_keeps_each_run_and_aggregates(tmp_path):
    from mpkeras.runner import reproduce

    spec = write_spec(tmp_path)
    lines = []
    report_dir, rows = reproduce(
        [spec.path],
        seeds=[0, 2],
        runs_dir=tmp_path / "runs",
        models_dir=tmp_path / "models",
        report=lines.append,
    )
    for seed in (0, 2):
        result = json.loads((report_dir / "seeded" / f"seed-{seed}" / "results.json").read_text())
        assert result["seed"] == seed
    (only,) = rows
    # value + 0.1 * seed: 0.5 and 0.7 against < 0.65.
    np.testing.assert_allclose(only["measured"], 0.6, rtol=1e-12)
    np.testing.assert_allclose(only["margin"], 0.65 - 0.7, rtol=1e-12)
    assert (only["held"], only["seeds"], only["holds"]) == (1, 2, False)
    claims_md = (report_dir / "claims.md").read_text()
    assert "| mean | min-max | worst margin | holds |" in claims_md
    assert "| 0.6 | 0.5-0.7 | -0.05 | NO 1/2 |" in claims_md
    report = (report_dir / "REPORT.md").read_text()
    assert "--seeds 0,2" in report and "0.6 (0.5-0.7, 1/2 seeds)" in report
    assert [line.split()[1:4] for line in lines if line.startswith("[")] == [
        ["seeded", "seed", "0"],
        ["seeded", "seed", "2"],
    ]


def test_reproduce_on_one_seed_keeps_its_layout_and_table(tmp_path):
    from mpkeras.runner import reproduce

    spec = write_spec(tmp_path)
    report_dir, rows = reproduce(
        [spec.path],
        seeds=[1],
        runs_dir=tmp_path / "runs",
        models_dir=tmp_path / "models",
        report=lambda _: None,
    )
    assert (report_dir / "seeded" / "results.json").is_file()
    assert "seeds" not in rows[0]
    assert "| measured | margin | holds |" in (report_dir / "claims.md").read_text()
