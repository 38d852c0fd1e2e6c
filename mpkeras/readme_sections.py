"""The README's generated sections, each between two markers.

``<!-- NAME:begin ... -->`` and ``<!-- NAME:end -->`` enclose a section that a
command writes: the claims table (``mpkeras report DIR --readme README.md``,
from a reproduce run) and the benchmark table (``python -m benchmarks``).
Everything between the markers is replaced; the rest of the file is the
authors'. No TensorFlow.
"""

import os
import re
import shutil
from pathlib import Path

from mpkeras import reporting


def check_readme(readme):
    """Raise :class:`mpkeras.reporting.ReportError` unless ``readme`` has the claims section's markers."""
    readme = Path(readme)
    _marked_section(readme.read_text(), "claims", readme)


def update_readme(report_dir, readme, figures_dir=None):
    """Rewrite the README's claims section from the reproduce run in ``report_dir``.

    The key figures are copied to ``figures_dir`` (default ``docs/figures``
    beside the README) so the README shows the images the run wrote; test
    files are linked by their paths in the repository, whose root holds the
    README. Returns the figures copied.
    """
    summary = reporting.load(report_dir)
    given, readme = str(readme), Path(readme)
    check_readme(readme)  # missing markers fail before any figure is copied
    figures_dir = Path(figures_dir) if figures_dir else readme.parent / "docs" / "figures"
    shown_before = _section_images(readme)
    copied = _copy_figures(Path(report_dir), summary, figures_dir)
    # The figures the old section showed, and the new one does not, go. Any
    # other image in figures_dir (a screenshot, a figure the README's own text
    # shows) is the authors', and stays.
    for stale in shown_before - {path.resolve() for path in copied.values()}:
        if stale.parent == figures_dir.resolve() and stale.suffix == ".png":
            stale.unlink(missing_ok=True)
    base = readme.parent.resolve()

    def relative(path):
        return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()

    replace_section(
        readme,
        "claims",
        readme_section(summary, {key: relative(path) for key, path in copied.items()}, given),
    )
    return list(copied.values())


def replace_section(path, name, body):
    """Put ``body`` between the lines ``<!-- name:begin ... -->`` and ``<!-- name:end -->`` of ``path``.

    The markers stay; what was between them goes. The README's generated
    parts (this claims table, the benchmark table) are written this way.
    """
    path = Path(path)
    text = path.read_text()
    match = _marked_section(text, name, path)
    body = body if not body or body.endswith("\n") else body + "\n"
    path.write_text(text[: match.start(2)] + body + text[match.end(2) :])


def _marked_section(text, name, path):
    """The match of section ``name`` in ``text`` (group 2 is its body); ReportError if ``path`` has none."""
    begin, end = f"<!-- {name}:begin", f"<!-- {name}:end -->"
    match = re.search(rf"({re.escape(begin)}[^\n]*\n)(.*?)({re.escape(end)})", text, flags=re.S)
    if match is None:
        raise reporting.ReportError(f"{path} has no section between '{begin} ...' and '{end}'")
    return match


def _section_images(readme):
    """The resolved paths of the images the README's claims section shows now."""
    body = _marked_section(readme.read_text(), "claims", readme).group(2)
    return {(readme.parent / src).resolve() for src in re.findall(r'<img src="([^"]+)"', body)}


def _copy_figures(report_dir, summary, figures_dir):
    """Copy the key figures to ``figures_dir`` as ``<experiment>_<figure>.png``."""
    figures_dir.mkdir(parents=True, exist_ok=True)
    copied = {}
    for experiment in summary["experiments"]:
        for path in experiment["figures"]:
            target = figures_dir / f"{experiment['name']}_{Path(path).name}"
            shutil.copyfile(report_dir / path, target)
            copied[(experiment["name"], path)] = target
    return copied


def readme_section(summary, figure_paths, readme_name="README.md"):
    """The README's section body: how it was made, the claims table, a figure gallery."""
    mode = "quick" if summary["quick"] else "full"
    command = reporting.reproduce_command(summary)
    cpus = f" on {summary['cpus']} CPU cores" if summary.get("cpus") else ""
    per_claim = reporting.claim_rows(summary)
    lines = [
        f"Generated from one `{command}` run ({mode} budget, started {summary['started']}, "
        f"{summary['wall_time_s'] / 60:.1f} min{cpus}) by `mpkeras report <its directory> --readme {readme_name}`. "
        f"{reporting.summary_line(summary, per_claim)}",
        "",
        *reporting.in_progress_lines(summary),
        reporting.claims_table(per_claim, link_tests=True),
        "",
        reporting.LEGEND,
        "",
        "Figures written by the same run:",
        "",
    ]
    for experiment in summary["experiments"]:
        name = experiment["name"]
        images = [
            f'<img src="{figure_paths[(name, path)]}" width="360" alt="{name}: {Path(path).stem}">'
            for path in experiment["figures"]
            if (name, path) in figure_paths
        ]
        if images:
            lines += [
                f"**{experiment['name']}** ({', '.join(experiment['claims'])}): {experiment['title']}",
                "",
            ]
            lines += [" ".join(images), ""]
    return "\n".join(lines)
