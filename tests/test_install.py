"""A regular (non-editable) install carries its experiment specs (package data)."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_regular_install_runs_a_bundled_experiment_from_another_directory(tmp_path):
    venv = tmp_path / "venv"
    # TensorFlow and the other dependencies come from this interpreter's
    # site-packages; mpkeras itself is built and installed as a wheel.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", str(REPO)],
                   check=True, timeout=600)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run([str(python), "-c", "import mpkeras; print(mpkeras.__file__)"], cwd=elsewhere,
                           capture_output=True, text=True, check=True)
    assert str(venv) in where.stdout, f"not the installed copy: {where.stdout}"
    result = subprocess.run(
        [str(venv / "bin" / "mpkeras"), "run", "xor", "--quick", "--run-dir", "run"],
        cwd=elsewhere, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (elsewhere / "run" / "results.json").is_file()
    assert (elsewhere / "saved_models" / "xor.keras").is_file()
