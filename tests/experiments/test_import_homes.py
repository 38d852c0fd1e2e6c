"""Experiments import every mpkeras name from its home: the module that
defines it or a public package above it (``mpkeras.losses.SummedOverSteps``,
not the re-export in ``mpkeras.models.rnn``), as the README shows users."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def _imports_off_home(path):
    """``"from M import X (defined in H)"`` for each name imported from a module M that is
    neither its defining module H nor a package containing H."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        if not node.module.startswith("mpkeras."):
            continue
        module = importlib.import_module(node.module)
        for alias in node.names:
            obj = getattr(module, alias.name)
            home = getattr(obj, "__module__", None)
            if inspect.ismodule(obj) or not isinstance(home, str):
                continue
            if home != node.module and not home.startswith(node.module + "."):
                found.append(f"from {node.module} import {alias.name} (defined in {home})")
    return found


@pytest.mark.parametrize(
    "path",
    sorted(EXPERIMENTS.rglob("*.py")),
    ids=lambda p: str(p.relative_to(EXPERIMENTS)),
)
def test_experiments_import_names_from_their_home(path):
    assert not _imports_off_home(path)


def test_the_check_finds_a_re_export(tmp_path):
    script = tmp_path / "uses_re_export.py"
    script.write_text("from mpkeras.models.rnn import SummedOverSteps, build_many_to_one\n")
    assert _imports_off_home(script) == [
        "from mpkeras.models.rnn import SummedOverSteps (defined in mpkeras.losses)"
    ]
