"""A regular (non-editable) install carries the experiments and their specs.

The experiments live in the repository's top-level ``experiments/`` folder and
install as ``mpkeras_experiments`` (setup.py), with their TOML specs as package
data; nothing generic such as ``experiments`` may land in site-packages.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# What a user's shell has: no PYTHONPATH pointing at a checkout.
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}


def _venv_with_mpkeras(tmp_path, *install_options):
    """A venv that sees this interpreter's packages, with mpkeras installed from REPO."""
    venv = tmp_path / "venv"
    # TensorFlow and the other dependencies come from this interpreter's
    # site-packages; mpkeras itself is built and installed from the checkout.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            *install_options,
            str(REPO),
        ],
        check=True,
        timeout=600,
        env=ENV,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    return venv, python, elsewhere


def _where(python, module, cwd):
    result = subprocess.run(
        [str(python), "-c", f"import {module}; print({module}.__file__)"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=ENV,
    )
    return Path(result.stdout.strip())


def _installed_top_level_names(venv):
    """The first path component of every file the installed distribution recorded."""
    (record,) = venv.glob("lib/python*/site-packages/mpkeras-*.dist-info/RECORD")
    names = set()
    for line in record.read_text().splitlines():
        first = line.split(",")[0].split("/")[0]
        if first and not first.endswith(".dist-info") and first != "..":  # ../../bin/mpkeras
            names.add(first)
    return names


@pytest.mark.slow
def test_a_regular_install_runs_a_bundled_experiment_from_another_directory(tmp_path):
    venv, python, elsewhere = _venv_with_mpkeras(tmp_path)
    assert _installed_top_level_names(venv) == {"mpkeras", "mpkeras_experiments"}
    for module in ("mpkeras", "mpkeras_experiments"):
        where = _where(python, module, elsewhere)
        assert venv in where.parents, f"{module} is not the installed copy: {where}"
    specs = list(_where(python, "mpkeras_experiments", elsewhere).parent.glob("*/*.toml"))
    assert len(specs) == len(list((REPO / "experiments").glob("*/*.toml"))) > 0, specs
    result = subprocess.run(
        [str(venv / "bin" / "mpkeras"), "run", "xor", "--quick", "--run-dir", "run"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=900,
        env=ENV,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (elsewhere / "run" / "results.json").is_file()
    assert (elsewhere / "saved_models" / "xor.keras").is_file()


@pytest.mark.slow
def test_an_editable_install_maps_mpkeras_experiments_to_the_experiments_folder(tmp_path):
    # How CI installs (pip install -e .): the import name points at experiments/.
    venv, python, elsewhere = _venv_with_mpkeras(tmp_path, "--editable")
    assert _where(python, "mpkeras_experiments", elsewhere) == REPO / "experiments" / "__init__.py"
    assert _where(python, "mpkeras", elsewhere) == REPO / "mpkeras" / "__init__.py"
    listed = subprocess.run(
        [str(venv / "bin" / "mpkeras"), "list"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=ENV,
    )
    names = {line.split()[0] for line in listed.stdout.splitlines()[1:] if line.strip()}
    assert names == {path.stem for path in (REPO / "experiments").glob("*/*.toml")}, listed.stdout
