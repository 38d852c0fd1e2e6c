"""TensorBoard as a user meets it: the real server on a finished quick run.

A quick ``xor`` run prints ``Watch it: tensorboard --logdir <run>/logs``; these
tests start exactly that command (through this interpreter, on 127.0.0.1 and a
free port, TensorBoard's default data loader), then ask its HTTP API what a
user's browser would: the runs, the per-epoch scalars of each fit and the
decision-boundary images. The server is stopped through its own ``Popen``.
"""

import json
import math
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest

from mpkeras import runner

PERCEPTRON_EPOCHS = 3
MLP_EPOCHS = 5
READY_DEADLINE_S = 120  # TensorBoard imports TensorFlow: ~10-15 s idle, more on a shared machine.
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A running ``tensorboard`` process and its base URL."""

    def __init__(self, process, base, stderr_path):
        self.process = process
        self.base = base
        self.stderr_path = stderr_path

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")[-4000:]

    def get(self, route, **params):
        """The raw response of ``GET route?params``: (bytes, content type)."""
        url = f"{self.base}{route}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=60) as response:
            assert response.status == 200, (url, response.status)
            return response.read(), response.headers.get_content_type()

    def json(self, route, **params):
        body, content_type = self.get(route, **params)
        assert content_type == "application/json", (route, content_type)
        return json.loads(body)


def wait_until_ready(server, expected_runs):
    """Poll ``/data/runs`` until the server lists ``expected_runs``, or fail with its stderr."""
    deadline = time.monotonic() + READY_DEADLINE_S
    runs, last_error = None, None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"tensorboard exited with code {server.process.returncode} before serving; "
                f"stderr:\n{server.stderr()}"
            )
        try:
            runs = server.json("/data/runs")
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            last_error = error  # Not listening yet.
        else:
            last_error = None
            # The loader fills the runs in the background: an empty list first.
            if expected_runs <= set(runs):
                return runs
        time.sleep(0.5)
    pytest.fail(
        f"tensorboard at {server.base} did not list the runs {sorted(expected_runs)} within "
        f"{READY_DEADLINE_S} s (last /data/runs: {runs!r}, last error: {last_error!r}); "
        f"stderr:\n{server.stderr()}"
    )


@pytest.fixture(scope="module")
def xor_run(tmp_path_factory):
    """A finished quick xor run (tiny budget) and the lines it reported."""
    root = tmp_path_factory.mktemp("tb_xor")
    lines = []
    outcome = runner.run(
        "xor",
        quick=True,
        overrides=[f"perceptron_epochs={PERCEPTRON_EPOCHS}", f"train.epochs={MLP_EPOCHS}"],
        run_dir=root / "run",
        models_dir=root / "models",
        verbose=0,
        report=lines.append,
    )
    assert outcome.results["status"] == "completed"
    return outcome.run_dir, lines


@pytest.fixture(scope="module")
def tensorboard(xor_run, tmp_path_factory):
    """The server started with the command the run printed; stopped by its own Popen."""
    run_dir, lines = xor_run
    (watch,) = [line for line in lines if line.startswith("Watch it:")]
    command = shlex.split(watch.removeprefix("Watch it:"))
    assert command[:2] == ["tensorboard", "--logdir"] and len(command) == 3, watch
    assert command[2] == str(run_dir / "logs")
    port = free_port()
    # `python -m tensorboard.main` is the `tensorboard` console script, from this environment.
    argv = [
        sys.executable,
        "-m",
        "tensorboard.main",
        *command[1:],
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    stderr_path = tmp_path_factory.mktemp("tb_server") / "stderr.txt"
    with open(stderr_path, "wb") as stderr:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
    server = Server(process, f"http://127.0.0.1:{port}", stderr_path)
    try:
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


# The fits of xor.py: context.fit(..., tag="perceptron"/"mlp", figure=...) log
# scalars to logs/<tag>/train and the figure to logs/<tag>/images (tag = the fit's
# tag); context.save_figure("decision_boundaries") logs to logs/figures.
EXPECTED_RUNS = {"perceptron/train", "perceptron/images", "mlp/train", "mlp/images", "figures"}


@pytest.fixture(scope="module")
def served_runs(tensorboard):
    return wait_until_ready(tensorboard, EXPECTED_RUNS)


def test_server_lists_every_fit_and_the_figures_as_runs(tensorboard, served_runs):
    assert EXPECTED_RUNS <= set(served_runs), served_runs
    # xor's fits have no validation data: no validation run appears.
    assert not [run for run in served_runs if run.endswith("/validation")], served_runs
    plugins = tensorboard.json("/data/plugins_listing")
    assert plugins["scalars"]["enabled"] and plugins["images"]["enabled"], plugins


def test_scalar_tags_are_the_per_epoch_training_logs(tensorboard, served_runs):
    tags = tensorboard.json("/data/plugin/scalars/tags")
    # The MLP is compiled with an optimizer, a loss and BinaryAccuracy("accuracy").
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"} <= set(tags["mlp/train"]), tags
    # The perceptron learns by Rosenblatt's rule (no loss, no optimizer): its
    # logs are the accuracy and the cumulative number of updates.
    assert {"epoch_accuracy", "epoch_updates"} <= set(tags["perceptron/train"]), tags
    assert not set(tags) & {"mlp/images", "perceptron/images", "figures"}, tags


@pytest.mark.parametrize(
    "run, tag, history_key, epochs",
    [
        ("mlp/train", "epoch_loss", "loss", MLP_EPOCHS),
        ("mlp/train", "epoch_accuracy", "accuracy", MLP_EPOCHS),
        ("perceptron/train", "epoch_updates", "updates", PERCEPTRON_EPOCHS),
    ],
)
def test_each_scalar_has_one_value_per_epoch_equal_to_the_fit_history(
    tensorboard, served_runs, xor_run, run, tag, history_key, epochs
):
    run_dir, _ = xor_run
    points = tensorboard.json("/data/plugin/scalars/scalars", run=run, tag=tag)
    # Each point is [wall_time, step, value]; one per epoch, steps 0..epochs-1.
    steps = [step for _, step, _ in points]
    values = [value for _, _, value in points]
    assert steps == list(range(epochs)), points
    assert all(math.isfinite(v) for v in values), points
    fit = run.split("/")[0]  # The fit's tag: its history is in checkpoints/<tag>.
    history = json.loads((run_dir / "checkpoints" / fit / "history.json").read_text())
    np.testing.assert_allclose(values, history[history_key], rtol=1e-6)


def test_learning_rate_is_served_per_epoch(tensorboard, served_runs, xor_run):
    run_dir, _ = xor_run
    config = json.loads((run_dir / "config.json").read_text())
    points = tensorboard.json(
        "/data/plugin/scalars/scalars", run="mlp/train", tag="epoch_learning_rate"
    )
    assert [step for _, step, _ in points] == list(range(MLP_EPOCHS)), points
    np.testing.assert_allclose(
        [v for _, _, v in points], config["config"]["train"]["learning_rate"], rtol=1e-6
    )


def png_size(data):
    """(width, height) from a PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE, data[:16]
    assert data[12:16] == b"IHDR", data[:32]
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_image_tags_are_the_experiments_figures(tensorboard, served_runs):
    tags = tensorboard.json("/data/plugin/images/tags")
    assert set(tags["mlp/images"]) == {"mlp"}, tags
    assert set(tags["perceptron/images"]) == {"perceptron"}, tags
    assert set(tags["figures"]) == {"decision_boundaries"}, tags
    for run, run_tags in tags.items():
        for tag, info in run_tags.items():
            assert info["samples"] == 1, (run, tag, info)


@pytest.mark.parametrize(
    "run, tag, steps",
    [
        # FigureLogger: every `figure_every` epochs (20 for the MLP, 10 for the
        # perceptron) and after the last one; within this budget only the last.
        ("mlp/images", "mlp", [MLP_EPOCHS - 1]),
        ("perceptron/images", "perceptron", [PERCEPTRON_EPOCHS - 1]),
        ("figures", "decision_boundaries", [0]),
    ],
)
def test_each_figure_is_served_as_a_png(tensorboard, served_runs, run, tag, steps):
    entries = tensorboard.json("/data/plugin/images/images", run=run, tag=tag, sample=0)
    assert [entry["step"] for entry in entries] == steps, entries
    # The entry's "query" is what the dashboard appends to individualImage.
    body, content_type = tensorboard.get(
        f"/data/plugin/images/individualImage?{entries[-1]['query']}"
    )
    assert content_type == "image/png"
    width, height = png_size(body)
    assert width >= 100 and height >= 100, (width, height)
