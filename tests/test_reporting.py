"""The reproduce report: one row per claim, figures, and the README's generated section."""

import json
import os

import pytest
from click.testing import CliRunner

from mpkeras import claims, readme_sections, reporting
from mpkeras.cli import main

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def row(experiment, claim, metric, expected, measured, holds, margin=None):
    return {
        "experiment": experiment,
        "claim": claim,
        "metric": metric,
        "expected": expected,
        "measured": measured,
        "margin": margin,
        "holds": holds,
        "description": "",
        "wall_time_s": 1.0,
        "over_budget": False,
    }


def experiment(name, claim_ids, status="completed", figures=(), missing=()):
    return {
        "name": name,
        "title": f"{name} title",
        "chapter": 1,
        "claims": list(claim_ids),
        "status": status,
        "wall_time_s": 1.0,
        "figures": list(figures),
        "missing_figures": list(missing),
    }


@pytest.fixture
def reproduce_dir(tmp_path):
    """A reproduce directory as `mpkeras reproduce` leaves it, without training anything."""
    rows = [
        row("perceptron", "N1", "train_accuracy", ">= 1", 1.0, True, 0.0),
        row("perceptron", "N1", "updates_over_bound", "<= 1", 0.12, True, 0.88),
        row("xor", "N2", "mlp_accuracy", ">= 1", 0.75, False, -0.25),
        row(
            "sequence_modes",
            "R2, R6",
            "(run)",
            "runs when its data is prepared",
            "skipped: offline",
            None,
        ),
        row("gradient_clipping", "R5", "ratio", "< 0.5", 0.25, True, 0.25),
        row("sentiment", "R2", "(run)", "runs when its data is prepared", "skipped: imdb", None),
    ]
    experiments = [
        experiment(
            "perceptron", ["N1", "N3"], figures=["perceptron/figures/decision_boundary.png"]
        ),
        experiment("xor", ["N2"], missing=["decision_boundaries"]),
        experiment("sequence_modes", ["R2", "R6"], status="skipped"),
        experiment("gradient_clipping", ["R5"]),
        experiment("sentiment", ["R2"], status="skipped"),
    ]
    figure = tmp_path / "perceptron" / "figures" / "decision_boundary.png"
    figure.parent.mkdir(parents=True)
    figure.write_bytes(PNG)
    reporting.write(
        tmp_path, rows, experiments, quick=True, started="2026-11-26 10:00 UTC", wall_time_s=90.0
    )
    return tmp_path


def table_rows(text):
    return {
        line.split(" | ")[0].lstrip("| "): line
        for line in text.splitlines()
        if line.startswith("| ")
    }


def test_report_has_one_row_per_claim_of_the_notes(reproduce_dir):
    text = (reproduce_dir / "REPORT.md").read_text()
    rows = table_rows(text.split("## Figures")[0])
    assert [key for key in rows if key != "id" and not key.startswith("---")] == claims.ids()
    n1 = rows["N1"].split(" | ")
    assert n1[1] == claims.get("N1").claim
    assert n1[2].startswith("`perceptron`; tests: `tests/models/test_perceptron.py`")
    assert n1[3:] == ["train_accuracy >= 1<br>updates_over_bound <= 1", "1<br>0.12", "yes |"]
    assert rows["N2"].endswith("| NO |")
    # Every row of R2 skipped: skipped; a claim no experiment ran that a spec cites: not run.
    assert rows["R2"].endswith("| skipped |") and rows["R6"].endswith("| skipped |")
    assert "`adding_problem`" in rows["R4"] and rows["R4"].endswith("| not run |")
    # A claim with no expectation in the run is checked by its tests; an experiment that cites it is named.
    assert rows["N3"].split(" | ")[2] == "`perceptron`; tests: `tests/test_losses.py`"
    assert rows["N3"].endswith("| tests |")
    # A claim only tests check points to them.
    assert rows["C1"].split(" | ")[2] == "tests: `tests/ops/test_convolution.py`"
    assert rows["C1"].endswith("| tests |")
    # A "|" inside a cell is escaped, so the row keeps its six cells.
    assert rows["R5"].count(" | ") == 5 and "\\|\\|g\\|\\|" in rows["R5"]


def test_report_states_the_run_and_what_holds(reproduce_dir):
    text = (reproduce_dir / "REPORT.md").read_text()
    assert text.startswith("# The notes, reproduced (quick budget)") and "In progress" not in text
    assert (
        "`mpkeras reproduce --quick`, started 2026-11-26 10:00 UTC, 5 experiments in 1.5 min."
        in text
    )
    assert "3 of 4 expectations hold" in text
    assert "Claims that do NOT hold: N2." in text
    assert "Skipped (data not prepared): sequence_modes, sentiment." in text


def test_report_embeds_the_key_figures_and_names_the_missing_ones(reproduce_dir):
    text = (reproduce_dir / "REPORT.md").read_text()
    assert "![perceptron: decision_boundary](perceptron/figures/decision_boundary.png)" in text
    assert "Key figures a completed run did not write: xor: decision_boundaries." in text
    # And the per-expectation table follows.
    assert (
        "| N2 | xor | mlp_accuracy | >= 1 | 0.75 | -0.25 | NO | 1 s |"
        in text.split("## Every expectation")[1]
    )


def test_a_report_written_part_way_says_so(tmp_path):
    rows = [row("perceptron", "N1", "train_accuracy", ">= 1", 1.0, True, 0.0)]
    reporting.write(
        tmp_path,
        rows,
        [experiment("perceptron", ["N1"])],
        quick=False,
        started="2026-11-26 10:00 UTC",
        wall_time_s=60.0,
        planned=20,
    )
    text = (tmp_path / "REPORT.md").read_text()
    assert text.startswith("# The notes, reproduced (full budget)")
    assert "**In progress (or stopped): 1 of 20 experiments have run.**" in text


def test_the_report_is_rebuilt_from_claims_json(reproduce_dir):
    before = (reproduce_dir / "REPORT.md").read_text()
    (reproduce_dir / "REPORT.md").unlink()
    assert reporting.rewrite(reproduce_dir).read_text() == before
    summary = json.loads((reproduce_dir / "claims.json").read_text())
    assert summary["quick"] and len(summary["claims"]) == 6 and len(summary["experiments"]) == 5


def readme_with_markers(tmp_path, body="old table\n"):
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# Title\n\nBefore.\n\n<!-- claims:begin (generated)  -->\n{body}<!-- claims:end -->\n\nAfter.\n"
    )
    return readme


def test_update_readme_replaces_only_the_marked_section_and_copies_figures(reproduce_dir, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    # The old section showed stale_figure.png; the README's own text shows screenshot.png.
    readme = readme_with_markers(project, body='<img src="docs/figures/stale_figure.png">\n')
    readme.write_text(readme.read_text() + '<img src="docs/figures/screenshot.png">\n')
    (project / "docs" / "figures").mkdir(parents=True)
    (project / "docs" / "figures" / "stale_figure.png").write_bytes(PNG)
    (project / "docs" / "figures" / "screenshot.png").write_bytes(PNG)
    copied = readme_sections.update_readme(reproduce_dir, readme)
    text = readme.read_text()
    assert text.startswith("# Title\n\nBefore.\n\n<!-- claims:begin (generated)  -->\n")
    assert text.endswith('<!-- claims:end -->\n\nAfter.\n<img src="docs/figures/screenshot.png">\n')
    assert "stale_figure" not in text
    assert (
        f"Generated from one `mpkeras reproduce --quick` run (quick budget, started 2026-11-26 10:00 UTC, "
        f"1.5 min on {os.cpu_count()} CPU cores)" in text
    )
    assert "| C1 | " in text and "[`test_convolution.py`](tests/ops/test_convolution.py)" in text
    assert copied == [project / "docs" / "figures" / "perceptron_decision_boundary.png"]
    assert copied[0].read_bytes() == PNG
    assert not (project / "docs" / "figures" / "stale_figure.png").exists()
    assert (
        project / "docs" / "figures" / "screenshot.png"
    ).read_bytes() == PNG  # the authors' stays
    assert '<img src="docs/figures/perceptron_decision_boundary.png"' in text
    # Running it again gives the same README.
    readme_sections.update_readme(reproduce_dir, readme)
    assert readme.read_text() == text


def test_update_readme_errors_are_one_line(reproduce_dir, tmp_path):
    plain = tmp_path / "plain.md"
    plain.write_text("# No markers\n")
    with pytest.raises(
        reporting.ReportError, match="has no section between '<!-- claims:begin ...'"
    ):
        readme_sections.update_readme(reproduce_dir, plain)
    with pytest.raises(reporting.ReportError, match="is not a reproduce directory"):
        readme_sections.update_readme(tmp_path / "nowhere", plain)


def test_report_command_rewrites_the_report_and_the_readme(reproduce_dir, tmp_path):
    readme = readme_with_markers(tmp_path)
    result = CliRunner().invoke(main, ["report", str(reproduce_dir), "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    assert "Updated" in result.output and "1 figures" in result.output
    assert "| N1 | " in readme.read_text()
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    result = CliRunner().invoke(main, ["report", str(not_a_run)])
    assert result.exit_code == 2 and "is not a reproduce directory" in result.output


def test_a_report_repeats_the_command_that_made_it(tmp_path):
    """--only and --seeds are part of the command the report and the README quote."""
    rows = [row("perceptron", "N1", "train_accuracy", ">= 1", 1.0, True, 0.0)]
    reporting.write(
        tmp_path,
        rows,
        [experiment("perceptron", ["N1"])],
        quick=True,
        started="2026-11-26 10:00 UTC",
        wall_time_s=60.0,
        seeds=[0, 1],
        only=["perceptron", "xor"],
    )
    command = "mpkeras reproduce --quick --only perceptron --only xor --seeds 0,1"
    assert f"`{command}`" in (tmp_path / "REPORT.md").read_text()
    notes = readme_with_markers(tmp_path).rename(tmp_path / "NOTES.md")
    readme_sections.update_readme(tmp_path, notes)
    text = notes.read_text()
    assert f"Generated from one `{command}` run" in text
    assert f"--readme {notes}`" in text and "--readme README.md" not in text
