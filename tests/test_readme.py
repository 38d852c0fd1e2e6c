"""The README's examples run as written, and its commands exist.

Every ```python block of README.md runs once per test session, in a fresh
namespace, in its own temporary directory (the blocks seed themselves with
keras.utils.set_random_seed). Every ```bash line starting with `mpkeras `
names a real subcommand, and `mpkeras run NAME ... --set k=v` lines name a
bundled experiment and config keys that resolve.
"""

import re
import shlex
from pathlib import Path

import click
import keras
import numpy as np
import pytest

from mpkeras import cli, data, losses, runner, specs
from mpkeras.data import registry

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def bash_lines():
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def mpkeras_commands():
    """`mpkeras ...` commands of the bash blocks, without trailing comments."""
    commands = []
    for line in bash_lines():
        for part in line.split("&&"):
            part = part.split(" #", 1)[0].strip()
            if part.startswith("mpkeras "):
                commands.append(part)
    return commands


def block_index(marker):
    """Index of the one python block containing ``marker``."""
    (index,) = [i for i, block in enumerate(python_blocks()) if marker in block]
    return index


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Run README python block i (once per session): its namespace and directory."""
    cache = {}

    def run(index):
        if index not in cache:
            block = python_blocks()[index]
            directory = tmp_path_factory.mktemp(f"readme_block{index}")
            with pytest.MonkeyPatch.context() as monkeypatch:
                monkeypatch.chdir(directory)
                namespace = {"__name__": f"readme_block{index}"}
                exec(compile(block, f"{README} (python block {index})", "exec"), namespace)
            cache[index] = (namespace, directory)
        return cache[index]

    return run


def test_readme_python_example_runs(executed):
    namespace, directory = executed(block_index("xor_mlp.keras"))
    assert (directory / "xor_mlp.keras").is_file()
    assert namespace["perceptron"].built
    # The example reloads what it saved: same predictions, same loss.
    mlp, reloaded = namespace["mlp"], namespace["reloaded"]
    points = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    np.testing.assert_array_equal(
        reloaded.predict(points, verbose=0), mlp.predict(points, verbose=0)
    )
    assert reloaded.loss is losses.bernoulli_nll
    # And it trains as written: the perceptron separates the blobs, the MLP solves XOR.
    x, y = data.load_arrays("toy2d/blobs", split="train")
    assert np.mean(namespace["perceptron"].predict(x, verbose=0).ravel() == y.ravel()) == 1.0
    xor = np.array([0, 1, 1, 0])
    assert np.array_equal((mlp.predict(points, verbose=0).ravel() > 0.5).astype(int), xor)


def test_readme_quick_start_has_exactly_two_commands():
    quick_start = README.read_text().split("## Quick start", 1)[1].split("##", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", quick_start, flags=re.DOTALL)
    assert block.strip().splitlines() == [
        'pip install -e ".[test]" && mpkeras reproduce --quick',
        "pytest",
    ]


def test_readme_every_block_seeds_itself():
    for block in python_blocks():
        assert "import mpkeras\n" in block and block.index("import mpkeras") < block.index(
            "import keras"
        )
        assert "keras.utils.set_random_seed(0)" in block


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs(executed, index):
    namespace, _ = executed(index)
    assert namespace


def _check_reloaded(namespace, directory, filename, original, reloaded, inputs):
    assert (directory / filename).is_file()
    np.testing.assert_allclose(
        namespace[reloaded].predict(inputs, verbose=0),
        namespace[original].predict(inputs, verbose=0),
        atol=1e-6,
    )


def test_readme_chapter1_linear_collapse_and_bound(executed):
    namespace, _ = executed(block_index("compose_affine(deep)"))
    assert namespace["same"]  # N6: the deep linear MLP is x W + b
    assert namespace["W"].shape == (2, 1)
    assert 0 < namespace["gamma"] and namespace["R"] > 0  # N1: the blobs are separable


def test_readme_chapter2_explicit_conv(executed):
    namespace, directory = executed(block_index("ExplicitConv2D(8, 3"))
    _check_reloaded(
        namespace, directory, "cnn.keras", "model", "reloaded", namespace["x_test"][:16]
    )
    assert namespace["probs"].shape == (len(namespace["y_test"]), 10)
    np.testing.assert_allclose(
        namespace["as_matrix"], namespace["direct"], rtol=1e-5, atol=1e-5
    )  # C3


def test_readme_chapter3_unpooling_and_unet(executed):
    namespace, directory = executed(block_index("build_unet("))
    x, restored = namespace["x"], np.asarray(namespace["restored"])
    # Each 2x2 window keeps its maximum in place and zeros elsewhere (F1).
    windows = x.reshape(1, 2, 2, 2, 2, 1).max(axis=(2, 4), keepdims=True)
    expected = np.where(
        x.reshape(1, 2, 2, 2, 2, 1) == windows, x.reshape(1, 2, 2, 2, 2, 1), 0
    ).reshape(x.shape)
    np.testing.assert_array_equal(restored, expected)
    _check_reloaded(namespace, directory, "unet.keras", "unet", "reloaded", namespace["images"][:2])
    assert namespace["predicted"].shape == (8, 64, 64)


def test_readme_chapter4_elman_lstm_clipping(executed):
    namespace, directory = executed(block_index("build_many_to_one("))
    assert namespace["same"]  # Elman == SimpleRNN with the same weights (R1)
    lstm = namespace["lstm"]
    reloaded = keras.saving.load_model(directory / "lstm.keras")
    x_test = namespace["x_test"][:16]
    np.testing.assert_allclose(
        reloaded.predict(x_test, verbose=0), lstm.predict(x_test, verbose=0), atol=1e-6
    )
    assert namespace["sums"].shape == (len(namespace["y_test"]), 1)
    np.testing.assert_allclose(np.asarray(namespace["clipped"]), [0.6, 0.8], rtol=1e-6)  # R5
    assert float(namespace["norm"]) == pytest.approx(5.0)


def test_readme_chapter5_autoencoder_psnr(executed):
    namespace, directory = executed(block_index("build_autoencoder("))
    assert set(namespace["scores"]) >= {"loss", "psnr"}
    assert namespace["scores"]["psnr"] > 0
    assert namespace["codes"].shape == (360, 16)
    x_test, _ = data.load_arrays("digits", split="test", task="reconstruction")
    _check_reloaded(namespace, directory, "dae.keras", "ae", "reloaded", x_test[:16])


def test_readme_chapter5b_vae(executed):
    namespace, directory = executed(block_index("build_vae("))
    logs = namespace["logs"]
    assert logs["beta"] == pytest.approx(4.0)
    assert logs["loss"] == pytest.approx(logs["reconstruction"] + 4.0 * logs["kl"], rel=1e-4)  # A6
    assert np.asarray(namespace["samples"]).shape == (8, 8, 8, 1)
    assert np.asarray(namespace["line"]).shape == (5, 8, 8, 1)
    log_px = np.asarray(namespace["log_px"])
    assert log_px.shape == (32,) and np.all(log_px < 0)  # log p(x) of binary images, in nats (A4)
    assert (directory / "vae.keras").is_file()
    vae, reloaded = namespace["vae"], namespace["reloaded"]
    assert float(reloaded.beta.numpy()) == pytest.approx(4.0)
    x = namespace["x_test"][:8]
    np.testing.assert_allclose(
        np.asarray(reloaded.encode(x)[0]), np.asarray(vae.encode(x)[0]), atol=1e-6
    )


def test_readme_mpkeras_commands_exist():
    """Each `mpkeras SUB ...` names a subcommand, and its options and arguments parse (nothing runs)."""
    commands = mpkeras_commands()
    assert len(commands) >= 10
    for command in commands:
        _, subcommand, *args = shlex.split(command)
        assert subcommand in cli.main.commands, command
        try:
            cli.main.commands[subcommand].make_context(
                subcommand, list(args)
            )  # parsing consumes the list
        except click.ClickException as error:
            pytest.fail(f"README command {command!r}: {error.format_message()}")
        # Dataset names (prepare NAME, evaluate --dataset NAME) are known to the registry.
        if subcommand == "prepare":
            registry.resolve(args[0])
        if subcommand == "evaluate":
            registry.resolve(args[args.index("--dataset") + 1])


def test_readme_run_lines_name_real_experiments_and_keys():
    """`mpkeras run NAME --set k=v [--quick]` resolves: the spec exists, every key and value is valid."""
    checked = 0
    for command in mpkeras_commands():
        words = shlex.split(command)
        if words[1] != "run" or specs.is_path(words[2]):
            continue
        name = words[2]
        assert name in specs.available(), command
        overrides = [words[i + 1] for i, word in enumerate(words) if word == "--set"]
        runner.resolve(name, overrides=overrides, quick="--quick" in words)
        checked += 1
    assert checked >= 5


# ----------------------------------------------------------------------------
# The README's statements about seeds, flags and conventions, each checked.


def test_readme_set_random_seed_fixes_initial_weights_and_data_order():
    """`keras.utils.set_random_seed(0)  # initial weights and data order, reproducible`:
    the first example's seed line fixes both, and another seed changes both."""
    (line,) = [line for line in README.read_text().splitlines() if "set_random_seed(0)  #" in line]
    assert "initial weights and data order" in line, line

    def draw(seed):
        keras.utils.set_random_seed(seed)
        # As the example: data.load without a seed of its own, then a model.
        batch, _ = next(iter(data.load("toy2d/blobs", split="train", batch_size=32)))
        from mpkeras.models import build_mlp

        weights = build_mlp((2,), hidden=[8], activation="tanh", output="sigmoid").get_weights()
        return np.asarray(batch), weights[0]

    try:
        first, again, other = draw(0), draw(0), draw(1)
    finally:
        keras.utils.set_random_seed(0)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])  # another data order
    assert not np.array_equal(first[1], other[1])  # other initial weights


def _scale_out():
    return README.read_text().split("## Scale-out", 1)[1].split("\n## ", 1)[0]


def test_readme_scale_out_flags_are_the_runners_and_the_matrix_covers_them():
    """`--strategy default|mirrored|multiworker`, `--mixed-precision
    mixed_float16|mixed_bfloat16`: the runner's own choices, and every
    experiment's tiny run under each (but multiworker, which needs a cluster,
    tested in tests/test_distribute.py) is in the slow flag matrix."""
    import importlib.util

    text = " ".join(_scale_out().split())
    strategies = re.search(r"`--strategy ([\w|]+)`", text).group(1).split("|")
    policies = re.search(r"`--mixed-precision ([\w|]+)`", text).group(1).split("|")
    assert tuple(strategies) == runner.STRATEGIES
    assert sorted(policies) == sorted(runner.PRECISION_POLICIES)
    assert "`--jit-compile`" in text
    path = Path(__file__).parent / "experiments" / "test_execution_flags.py"
    module_spec = importlib.util.spec_from_file_location("_readme_flags", path)
    flags = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(flags)
    covered = {tuple(options.items())[0] for options in flags.FLAGS.values()}
    assert covered == {("strategy", "mirrored")} | {
        ("mixed_precision", policy) for policy in runner.PRECISION_POLICIES
    }
    assert set(flags.EXPERIMENTS) == set(specs.available())
