"""The README's Python example runs as written."""

import re
from pathlib import Path

import numpy as np

from mpkeras import data, losses

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_python_example_runs(tmp_path, monkeypatch):
    (block,) = python_blocks()
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(block, str(README), "exec"), namespace)
    assert (tmp_path / "xor_mlp.keras").is_file()
    assert namespace["perceptron"].built
    # The example reloads what it saved: same predictions, same loss.
    mlp, reloaded = namespace["mlp"], namespace["reloaded"]
    points = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    np.testing.assert_array_equal(reloaded.predict(points, verbose=0), mlp.predict(points, verbose=0))
    assert reloaded.loss is losses.bernoulli_nll
    # And it trains as written: the perceptron separates the blobs, the MLP solves XOR.
    x, y = data.load_arrays("toy2d/blobs", split="train")
    assert np.mean(namespace["perceptron"].predict(x, verbose=0).ravel() == y.ravel()) == 1.0
    xor = np.array([0, 1, 1, 0])
    assert np.array_equal((mlp.predict(points, verbose=0).ravel() > 0.5).astype(int), xor)


def test_readme_quick_start_has_exactly_two_commands():
    quick_start = README.read_text().split("## Quick start", 1)[1].split("##", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", quick_start, flags=re.S)
    assert block.strip().splitlines() == ['pip install -e ".[test]" && mpkeras reproduce --quick', "pytest"]
