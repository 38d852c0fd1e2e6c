"""No module imports another's private (``_name``) helper, and none keeps a private alias of one.

A private name is the module's own business: a caller that imports it breaks
when the module renames it, and an alias kept "for the callers" is a second
name for one helper. Shared helpers are public (mpkeras/validation.py,
mpkeras/ops/padding.py). A package's private *modules* (``mpkeras._workarounds``,
``builders._sequence``) are fine: importing them is how a package shares code
inside itself.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    path for folder in ("mpkeras", "experiments") for path in (ROOT / folder).rglob("*.py")
)
PACKAGES = {"mpkeras": ROOT / "mpkeras", "mpkeras_experiments": ROOT / "experiments"}


def _module_dir(dotted):
    """The folder of package ``dotted`` (``mpkeras.ops``), or None if it is not a package."""
    head, *rest = dotted.split(".")
    if head not in PACKAGES:
        return None
    folder = PACKAGES[head].joinpath(*rest)
    return folder if (folder / "__init__.py").is_file() else None


def private_name_imports(path):
    """``(line, "from M import _x")`` for each private name imported that is not a submodule."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.level == 0):
            continue
        if node.module.split(".")[0] not in PACKAGES:
            continue
        folder = _module_dir(node.module)
        for alias in node.names:
            if not alias.name.startswith("_") or alias.name.startswith("__"):
                continue
            submodule = folder is not None and (
                (folder / f"{alias.name}.py").is_file() or (folder / alias.name).is_dir()
            )
            if not submodule:
                found.append((node.lineno, f"from {node.module} import {alias.name}"))
    return found


def private_aliases(path):
    """``(line, "_x = y")`` for each module-level private name bound to another name."""
    found = []
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Name, ast.Attribute)):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id.startswith("_"):
                    if not target.id.startswith("__"):
                        found.append((node.lineno, f"{target.id} = {ast.unparse(node.value)}"))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_names_imported_or_aliased(path):
    assert not private_name_imports(path), private_name_imports(path)
    assert not private_aliases(path), private_aliases(path)


def test_the_checks_find_what_they_look_for(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from mpkeras.ops.convolution import _pad, correlate2d\n"
        "from mpkeras import _workarounds\n"
        "from mpkeras.ops.toeplitz import conv_matrix\n"
        "_conv_matrix = conv_matrix\n"
        "_limit = 3\n"
    )
    assert private_name_imports(bad) == [(1, "from mpkeras.ops.convolution import _pad")]
    assert private_aliases(bad) == [(4, "_conv_matrix = conv_matrix")]
