"""No private Keras or TensorFlow API outside mpkeras/_workarounds.py.

``keras.src`` and ``tensorflow.python`` are the libraries' internals: they
move between releases without notice, and code that imports them breaks
silently on an upgrade. The one module allowed to use them documents each
use and has tests that notice when it breaks (tests/test_workarounds.py).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {ROOT / "mpkeras" / "_workarounds.py"}
PRIVATE = ("keras.src", "tensorflow.python")


def _is_private(dotted):
    return any(dotted == name or dotted.startswith(name + ".") for name in PRIVATE)


def _dotted(node):
    """``a.b.c`` of an attribute chain ending in a plain name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def private_uses(path):
    """``(line, what)`` for each import of, or attribute path into, a private module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    aliases = {"tf": "tensorflow"}  # `import tensorflow as tf` is the convention
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_private(alias.name):
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _is_private(node.module):
                found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Attribute):
            dotted = _dotted(node)
            if dotted is not None:
                head, _, rest = dotted.partition(".")
                dotted = ".".join(filter(None, [aliases.get(head, head), rest]))
                if dotted in PRIVATE:
                    found.append((node.lineno, dotted))
        elif isinstance(node, ast.Call) and node.args:
            # importlib.import_module("keras.src...") and __import__("...")
            name = _dotted(node.func) or ""
            first = node.args[0]
            if name.endswith("import_module") or name == "__import__":
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    if _is_private(first.value):
                        found.append((node.lineno, f"{name}({first.value!r})"))
    return sorted(found)


def sources():
    for folder in ("mpkeras", "experiments"):
        if (ROOT / folder).is_dir():
            yield from sorted((ROOT / folder).rglob("*.py"))


def test_the_checker_finds_every_form_of_private_use(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import keras.src.layers\n"
        "from tensorflow.python.framework import config\n"
        "import keras\n"
        "import tensorflow as tf\n"
        "x = keras.src.ops\n"
        "y = tf.python.framework\n"
        "import importlib\n"
        "z = importlib.import_module('keras.src.utils')\n"
        "ok = keras.layers.Dense  # public\n"
        "# keras.src in a comment is fine\n"
    )
    assert [line for line, _ in private_uses(probe)] == [1, 2, 5, 6, 8]


def test_no_private_keras_or_tensorflow_api_outside_the_workaround_module():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in sources()
        if path not in ALLOWED
        for line, what in private_uses(path)
    ]
    assert not offenders, (
        "Private Keras/TensorFlow API outside mpkeras/_workarounds.py (use public API, or "
        "move the workaround there with its upstream issue and a test):\n" + "\n".join(offenders)
    )
