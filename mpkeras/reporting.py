"""The report of ``mpkeras reproduce``: the notes' claims, what was measured, the figures.

A reproduce directory holds ``claims.json`` (every expectation row and every
experiment's facts), and from it this module writes

- ``claims.md``: one row per expectation (claim, experiment, metric, expected,
  measured, margin, holds, time), the table ``mpkeras reproduce`` prints;
- ``REPORT.md``: one row per claim of the notes (id, the claim in one line,
  experiment, expected, measured, holds) -- claims no experiment checks point
  to their tests -- then the experiments' key figures and the expectation table;
and :mod:`mpkeras.readme_sections` puts its claims table into the README
(``mpkeras report DIR --readme README.md``).

Everything here is text and files: no TensorFlow.
"""

import json
import os
from pathlib import Path

from mpkeras import claims as notes
from mpkeras import specs


class ReportError(ValueError):
    """A reproduce directory or a README cannot be used; the message is one line for the user."""


def write(
    report_dir, rows, experiments, quick, started, wall_time_s, planned=None, seeds=None, only=None
):
    """Write ``claims.json``, ``claims.md`` and ``REPORT.md`` into ``report_dir``.

    ``rows`` are the expectation rows (each with its ``experiment``);
    ``experiments`` one dict per experiment run: name, title, chapter,
    claims, status, wall_time_s, figures (paths relative to ``report_dir``);
    ``planned`` how many experiments the run will have (default: these),
    so a report written part way says so; ``seeds`` the seeds each
    experiment ran on (rows aggregated over more than one seed carry
    ``seeds``, ``held``, ``measured_min``, ``measured_max``); ``only`` the
    names given to ``--only``, if any, so the report repeats the command.
    """
    report_dir = Path(report_dir)
    summary = {
        "quick": quick,
        "started": started,
        "wall_time_s": round(wall_time_s, 1),
        "cpus": os.cpu_count(),
        "planned": len(experiments) if planned is None else planned,
        "claims": rows,
        "experiments": experiments,
    }
    if seeds and len(seeds) > 1:
        summary["seeds"] = list(seeds)
    if only:
        summary["only"] = list(only)
    (report_dir / "claims.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return _write_tables(report_dir, summary)


def load(report_dir):
    """The summary a reproduce run wrote to ``report_dir/claims.json``."""
    path = Path(report_dir) / "claims.json"
    try:
        summary = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ReportError(
            f"{report_dir} is not a reproduce directory (cannot read claims.json: {error})"
        ) from None
    if "experiments" not in summary:
        raise ReportError(
            f"{path} was written by an older mpkeras without the experiments' facts; run reproduce again"
        )
    return summary


def rewrite(report_dir):
    """Write ``REPORT.md`` and ``claims.md`` of ``report_dir`` again from its ``claims.json``."""
    return _write_tables(Path(report_dir), load(report_dir))


def _write_tables(report_dir, summary):
    """``claims.md`` and ``REPORT.md`` from a run's summary; returns REPORT.md's path."""
    (report_dir / "claims.md").write_text(
        expectations_markdown(summary["claims"], summary["quick"])
    )
    (report_dir / "REPORT.md").write_text(report_markdown(summary))
    return report_dir / "REPORT.md"


def failed(rows):
    """Whether any row does not hold (skipped rows, ``holds`` None, do not count)."""
    return any(row["holds"] is False for row in rows)


# -- one row per claim ------------------------------------------------------


def claim_rows(summary):
    """One dict per claim of the notes: id, claim, experiments, expected, measured, holds.

    An expectation row counts for every claim id it names (a failed or
    skipped experiment's row names all the claims of its spec). A claim with
    no expectation row is checked by its tests; the experiments of the run
    that cite it are still named (upsampling_compare shows F1's four methods
    side by side), and if none of them ran but a bundled spec cites it, the
    claim was "not run".
    """
    bundled = _experiments_by_claim()
    result = []
    for claim in notes.all_claims():
        found = [row for row in summary["claims"] if claim.id in _ids(row["claim"])]
        experiments = list(dict.fromkeys(row["experiment"] for row in found))
        holds = _claim_holds(found)
        if holds == "tests":
            experiments = [e["name"] for e in summary["experiments"] if claim.id in e["claims"]]
            if not experiments and claim.id in bundled:
                experiments, holds = bundled[claim.id], "not run"
        result.append(
            {
                "id": claim.id,
                "claim": claim.claim,
                "experiments": experiments,
                "tests": list(claim.tests),
                "expected": [_expected(row) for row in found],
                "measured": [measured_cell(row) for row in found],
                "holds": holds,
            }
        )
    return result


def _experiments_by_claim():
    """Claim id -> the bundled experiments whose specs cite it."""
    cited = {}
    for name in specs.available():
        for claim_id in specs.load(name).claims:
            cited.setdefault(claim_id, []).append(name)
    return cited


def _ids(text):
    return [part.strip() for part in str(text).split(",")]


def _expected(row):
    return row["expected"] if row["metric"] == "(run)" else f"{row['metric']} {row['expected']}"


def _claim_holds(found):
    """ "yes" when every checked row holds, "NO" when one does not, "tests" with no rows
    (the test suite checks the claim; ``pytest`` runs it)."""
    if not found:
        return "tests"
    states = [row["holds"] for row in found]
    if any(state is False for state in states):
        return "NO"
    if all(state is None for state in states):
        return "skipped"
    skipped = sum(state is None for state in states)
    return "yes" if not skipped else f"yes ({skipped} skipped)"


LEGEND = (
    "*holds*: yes or NO as this run measured it; *tests*: no experiment checks the claim, "
    "the test suite does (`pytest`); *skipped*: the experiment's remote data is not prepared; "
    "*not run*: the experiment was not part of this run."
)


def claims_table(per_claim, link_tests=False):
    """The claims (:func:`claim_rows`) as a Markdown table, one row per claim.

    With ``link_tests`` each test file is a link to its path (the README,
    at the repository's root, links the files); otherwise the path is code.
    """
    lines = [
        "| id | claim | checked by | expected | measured | holds |",
        "|---|---|---|---|---|---|",
    ]
    for row in per_claim:
        where = (
            [", ".join(f"`{name}`" for name in row["experiments"])] if row["experiments"] else []
        )
        where.append("tests: " + ", ".join(_test_ref(path, link_tests) for path in row["tests"]))
        cells = [
            row["id"],
            _cell(row["claim"]),
            "; ".join(where),
            "<br>".join(map(_cell, row["expected"])),
            "<br>".join(map(_cell, row["measured"])),
            row["holds"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _test_ref(path, link):
    return f"[`{Path(path).name}`]({path})" if link else f"`{path}`"


def _cell(text):
    """Table-safe text: a ``|`` would end the cell."""
    return str(text).replace("|", "\\|")


def summary_line(summary, per_claim):
    """One line: "54 of 54 expectations hold; of the notes' 29 claims, 18 are checked by ..."."""
    rows = summary["claims"]
    checked = [row for row in rows if row["holds"] is not None]
    held = sum(row["holds"] is True for row in checked)
    by_tests = sum(row["holds"] == "tests" for row in per_claim)
    not_run = [row["id"] for row in per_claim if row["holds"] == "not run"]
    failing = [row["id"] for row in per_claim if row["holds"] == "NO"]
    skipped = [e["name"] for e in summary["experiments"] if e["status"] == "skipped"]
    by_experiments = len(per_claim) - by_tests - len(not_run)
    text = (
        f"{held} of {len(checked)} expectations hold; of the notes' {len(per_claim)} claims, "
        f"{by_experiments} are checked by the experiments of this run, {by_tests} by the test suite alone."
    )
    if not_run:
        text += f" Not in this run: {', '.join(not_run)}."
    if failing:
        text += f" Claims that do NOT hold: {', '.join(failing)}."
    if skipped:
        text += f" Skipped (data not prepared): {', '.join(skipped)}."
    return text


# -- REPORT.md ------------------------------------------------------------------


def report_markdown(summary):
    """REPORT.md: the claims table, the key figures, then every expectation."""
    mode = "quick" if summary["quick"] else "full"
    minutes = summary["wall_time_s"] / 60
    per_claim = claim_rows(summary)
    lines = [
        f"# The notes, reproduced ({mode} budget)",
        "",
        f"`{reproduce_command(summary)}`, "
        f"started {summary['started']}, "
        f"{len(summary['experiments'])} experiments in {minutes:.1f} min.",
        "",
        *in_progress_lines(summary),
        summary_line(summary, per_claim),
        "",
        claims_table(per_claim),
        "",
        LEGEND,
        "",
        "## Figures",
        "",
    ]
    for experiment in summary["experiments"]:
        if not experiment["figures"]:
            continue
        lines += [
            f"### {experiment['name']} ({', '.join(experiment['claims'])}): {experiment['title']}",
            "",
        ]
        lines += [
            f"![{experiment['name']}: {Path(path).stem}]({path})" for path in experiment["figures"]
        ]
        lines.append("")
    missing = [
        f"{e['name']}: {', '.join(e['missing_figures'])}"
        for e in summary["experiments"]
        if e.get("missing_figures") and e["status"] == "completed"
    ]
    if missing:
        lines += ["Key figures a completed run did not write: " + "; ".join(missing) + ".", ""]
    lines += [
        "## Every expectation",
        "",
        _table_only(expectations_markdown(summary["claims"], summary["quick"])),
    ]
    return "\n".join(lines) + "\n"


def reproduce_command(summary):
    """The command line that made the run, e.g. ``mpkeras reproduce --quick --only xor``."""
    only = "".join(f" --only {name}" for name in summary.get("only") or ())
    return f"mpkeras reproduce{' --quick' if summary['quick'] else ''}{only}{seeds_option(summary)}"


def seeds_option(summary):
    """`` --seeds 0,1,2`` for a run over several seeds, else nothing."""
    seeds = summary.get("seeds")
    return f" --seeds {','.join(map(str, seeds))}" if seeds and len(seeds) > 1 else ""


def in_progress_lines(summary):
    """The warning lines of a report written before its run finished."""
    planned, done = summary.get("planned", len(summary["experiments"])), len(summary["experiments"])
    return (
        []
        if done >= planned
        else [f"**In progress (or stopped): {done} of {planned} experiments have run.**", ""]
    )


def _table_only(markdown):
    """An expectations document without its title line."""
    return markdown.split("\n", 2)[2]


def several_seeds(rows):
    """The number of seeds the rows were aggregated over (1 when they were not)."""
    return max((row.get("seeds") or 1 for row in rows), default=1)


def expectations_markdown(rows, quick):
    """One row per expectation, in the notes' order (``claims.md``).

    Rows aggregated over several seeds show the mean measured, its min-max
    over the seeds, the worst margin and holds k/N.
    """
    mode = "quick" if quick else "full"
    seeds = several_seeds(rows)
    title = f"# Claims of the notes, reproduced ({mode} budget"
    title += f", {seeds} seeds)" if seeds > 1 else ")"
    if seeds > 1:
        header = [
            "| claim | experiment | metric | expected | mean | min-max | worst margin "
            "| holds | time |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
    else:
        header = [
            "| claim | experiment | metric | expected | measured | margin | holds | time |",
            "|---|---|---|---|---|---|---|---|",
        ]
    lines = [title, "", *header]
    for row in rows:
        time_s = row.get("wall_time_s")
        shown_time = (
            ""
            if time_s is None
            else f"{time_s:.0f} s" + (" (slow)" if row.get("over_budget") else "")
        )
        spread = f" | {format_range(row)}" if seeds > 1 else ""
        lines.append(
            f"| {row['claim']} | {row['experiment']} | {row['metric']} | {_cell(row['expected'])} "
            f"| {_cell(format_measured(row['measured']))}{spread} "
            f"| {format_margin(row.get('margin'))} "
            f"| {format_row_holds(row)} | {shown_time} |"
        )
    held = sum(row["holds"] is True for row in rows)
    skipped = sum(row["holds"] is None for row in rows)
    summary = f"{held} of {len(rows) - skipped} expectations hold."
    if skipped:
        summary += f" {skipped} skipped (data not prepared)."
    lines += ["", summary]
    return "\n".join(lines) + "\n"


def expectation_table(rows, title=None):
    """Expectation rows as a fixed-width text table (what ``mpkeras run`` prints)."""
    header = ("claim", "metric", "expected", "measured", "margin", "holds")
    body = [
        (
            row.get("claim", ""),
            row.get("metric", ""),
            row.get("expected", ""),
            format_measured(row.get("measured")),
            format_margin(row.get("margin")),
            format_holds(row.get("holds")),
        )
        for row in rows
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *body)]
    lines = [title] if title else []
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in body]
    return "\n".join(lines)


def format_measured(value):
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_range(row):
    """``min-max`` of a row aggregated over seeds; empty where a seed measured no number."""
    low, high = row.get("measured_min"), row.get("measured_max")
    return "" if low is None or high is None else f"{low:.4g}-{high:.4g}"


def format_row_holds(row):
    """yes / NO / skipped, with ``k/N`` (seeds it holds on) for a row over several seeds."""
    shown = format_holds(row["holds"])
    if (row.get("seeds") or 1) > 1 and row["holds"] is not None:
        shown += f" {row['held']}/{row['seeds']}"
    return shown


def measured_cell(row):
    """The measured value of a row; over several seeds the mean, min-max and holds k/N."""
    shown = format_measured(row["measured"])
    if (row.get("seeds") or 1) > 1:
        spread = format_range(row)
        shown += (
            f" ({spread}, {row['held']}/{row['seeds']} seeds)"
            if spread
            else (f" ({row['held']}/{row['seeds']} seeds)")
        )
    return shown


def format_holds(holds):
    return "skipped" if holds is None else ("yes" if holds else "NO")


def format_margin(margin):
    return "" if margin is None else f"{margin:+.3g}"
