"""Progress of long work: updated in place in a terminal (a pseudo-terminal), silent in a pipe."""

import io
import os
import pty
import re
import select
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from mpkeras import progress

# A loop over two "experiments" as reproduce runs them: the bar drawn while
# each runs (with descriptors 1 and 2 sent to a log file meanwhile, as
# runner.output_to does), then the caller's own result line.
LOOP = textwrap.dedent("""
    import pathlib, sys
    from mpkeras import progress, runner

    loop = progress.ExperimentProgress(2)
    for index, name in enumerate(["first", "second"], start=1):
        with loop.experiment(index, name) as line:
            with runner.output_to(pathlib.Path(sys.argv[1])):
                print("inside the experiment")
                line.begin_fit("fit", 3)
                for epoch in range(3):
                    line.epoch_done(epoch)
        print(f"[{index}/2] {name} done", flush=True)
""")


def _run_loop(tmp_path, stdout):
    log = tmp_path / "experiment.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", LOOP, str(log)],
        stdout=stdout,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    return process, log


def _read_all(fd, process):
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 60)
        if not ready:
            process.kill()
            pytest.fail("no output for 60 s")
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # The pseudo-terminal closes with EIO when the child exits.
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    return b"".join(chunks).decode()


def test_in_a_terminal_each_experiment_line_is_updated_in_place(tmp_path):
    master, slave = pty.openpty()
    process, log = _run_loop(tmp_path, slave)
    os.close(slave)
    try:
        output = _read_all(master, process)
    finally:
        os.close(master)
    assert process.returncode == 0, output
    # The terminal turns "\n" into "\r\n"; the bar redraws with "\r" alone.
    for name, index in (("first", 1), ("second", 2)):
        for done in range(4):
            assert f"\r[{index}/2] {name}  fit |" in output, output
            assert f"| {done}/3 epochs [" in output, output
    first_done = output.index("[1/2] first done")
    assert output.index("[2/2] second  fit") > first_done  # One line at a time.
    # Each bar is cleared before its result line: the line starts afresh.
    assert (
        output[first_done - 1] == "\r"
        and "epochs" not in output[first_done : output.index("\n", first_done)]
    )
    # The bar reaches the terminal while the experiment's own output goes to its log.
    assert "inside the experiment" not in output
    assert log.read_text().count("inside the experiment") == 2 and "epochs" not in log.read_text()


def test_through_a_pipe_only_the_result_lines_appear(tmp_path):
    process, log = _run_loop(tmp_path, subprocess.PIPE)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert output.decode() == "[1/2] first done\n[2/2] second done\n"


def _terminal_line(stream):
    loop = progress.ExperimentProgress(1, stream=stream, terminal=True)
    return loop, loop.experiment(1, "tiny")


def test_every_fit_of_a_run_context_feeds_the_line(tmp_path):
    import keras

    from mpkeras import runner

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.zeros((8, 2), np.float32)
    context = runner.RunContext(run_dir=tmp_path, seed=0, quick=True, verbose=0)
    stream = io.StringIO()
    loop, experiment = _terminal_line(stream)
    assert progress.fit_callbacks("outside") == []
    with experiment as line:
        context.fit(model, x, y=x[:, :1], tag="first", epochs=2)
        context.fit(model, x, y=x[:, :1], tag="second", epochs=3)
    assert line.fits == 2 and line.epochs_done == 5
    output = stream.getvalue()
    assert "[1/1] tiny  first |" in output and "| 2/2 epochs [" in output
    assert "[1/1] tiny  second |" in output and "| 3/3 epochs [" in output
    assert "| 3/2 epochs" not in output  # The second fit starts its count afresh.
    assert progress.fit_callbacks("after") == []


def test_a_resumed_fit_starts_at_its_restored_epoch():
    stream = io.StringIO()
    _, experiment = _terminal_line(stream)
    with experiment as line:
        line.begin_fit("vae", 5)
        line.resume_at(3)
        line.epoch_done(3)
    output = stream.getvalue()
    assert "| 3/5 epochs [" in output and "| 4/5 epochs [" in output
    assert "| 1/5 epochs" not in output


def test_not_a_terminal_draws_nothing():
    stream = io.StringIO()
    loop = progress.ExperimentProgress(1, stream=stream)
    assert not loop.terminal
    with loop.experiment(1, "quiet") as line:
        line.begin_fit("fit", 2)
        line.epoch_done(0)
        line.epoch_done(1)
    assert stream.getvalue() == ""


@pytest.mark.parametrize(
    "total, index, match", [(0, 1, "`total`"), (2, 3, "`index`"), (2, 0, "`index`")]
)
def test_bad_counts_are_refused(total, index, match):
    with pytest.raises(ValueError, match=match):
        loop = progress.ExperimentProgress(total, stream=io.StringIO())
        with loop.experiment(index, "x"):
            pass


def test_track_counts_the_items_and_reports_once_outside_a_terminal():
    stream = io.StringIO()
    items = list(progress.track(iter(range(5)), 5, "sprites/small", stream=stream))
    assert items == list(range(5))
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("sprites/small: 5 examples in ") and line.endswith(" s")
    with pytest.raises(ValueError, match="`total`"):
        progress.track([], -1, "x")


def test_track_draws_a_bar_on_stderr_in_a_terminal_without_a_size():
    """A fresh pseudo-terminal reports 0 x 0: the bar still draws (at 80 columns)."""
    script = (
        "from mpkeras import progress\n"
        "assert list(progress.track(range(3), 3, 'sprites/full')) == [0, 1, 2]\n"
    )
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=slave,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    os.close(slave)
    try:
        output = _read_all(master, process)
    finally:
        os.close(master)
    assert process.returncode == 0, output
    assert "sprites/full: 100%" in output and "3/3" in output, output
    assert "examples in" not in output  # The one-line summary is for logs, not terminals.


def test_a_long_label_is_narrowed_so_the_time_left_still_shows():
    stream = io.StringIO()  # No terminal size: 80 columns.
    loop = progress.ExperimentProgress(27, stream=stream, terminal=True)
    with loop.experiment(12, "beta_vae_sprites/betas-16_train.epochs-30_seed-10") as line:
        line.begin_fit("beta16", 300)
        line.epoch_done(0)
    drawn = [part for part in stream.getvalue().split("\r") if "epochs [" in part]
    assert drawn and all(len(part) <= 79 for part in drawn), drawn
    assert drawn[-1].startswith("[12/27] beta_vae") and "  beta16 |" in drawn[-1]
    assert "| 1/300 epochs [00:00<" in drawn[-1], drawn[-1]


# A real sweep of two tiny xor points (about 10 s): what `mpkeras sweep` and
# `mpkeras reproduce` show, since both go through grid.run_points.
SWEEP = ["sweep", "xor", "--quick", "--set", "train.epochs=3,4"]


def _mpkeras(tmp_path, args, stdout, stderr):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "mpkeras.cli", *args, "--runs-dir", str(tmp_path / "runs")],
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def test_a_sweep_in_a_terminal_shows_each_points_epochs_and_time_left(tmp_path):
    master, slave = pty.openpty()
    process = _mpkeras(tmp_path, SWEEP, slave, slave)
    os.close(slave)
    try:
        output = _read_all(master, process)
    finally:
        os.close(master)
    assert process.returncode == 0, output
    for index, epochs in ((1, 3), (2, 4)):
        label = f"\r[{index}/2] train.epochs-{epochs}  mlp |"
        assert label in output, output
        # After the first epoch the line has an estimate of the time left.
        assert re.search(rf"\| 1/{epochs} epochs \[\d\d:\d\d<\d\d:\d\d\]", output), output
        assert f"| {epochs}/{epochs} epochs [" in output, output
        # The bar is cleared, then the point's result line starts afresh.
        result = re.search(rf"\r\[{index}/2\] train\.epochs-{epochs} +\d+\.\d s ", output)
        assert result and output.index(label) < result.start(), output
        result = result.start()
        line = output[result : output.index("\n", result)]
        assert "expectations hold" in line and "epochs [" not in line, line
    assert output.index("[2/2] train.epochs-4  mlp |") > output.index("expectations hold")
    assert "Run directory:" not in output  # A point's own output goes to its log.


def test_a_sweep_through_a_pipe_prints_one_line_per_point(tmp_path):
    process = _mpkeras(tmp_path, SWEEP, subprocess.PIPE, subprocess.PIPE)
    out, err = process.communicate(timeout=300)
    out, err = out.decode(), err.decode()
    assert process.returncode == 0, out + err
    points = [line for line in out.splitlines() if line.startswith("[")]
    assert [line.split()[0:2] for line in points] == [
        ["[1/2]", "train.epochs-3"],
        ["[2/2]", "train.epochs-4"],
    ], out
    assert all("expectations hold" in line for line in points), out
    assert "\r" not in out and "epochs [" not in out + err


@pytest.mark.parametrize("verbose", [False, True])
def test_the_loop_draws_a_line_per_point_unless_verbose(tmp_path, monkeypatch, verbose):
    """--verbose leaves the terminal to Keras's own progress bars: no line is drawn."""
    from mpkeras.runner import grid, reproduction

    seen = []

    def run_point(plan, run_dir, log=None, verbose=False, report=print, **kwargs):
        line = progress.current_line()
        seen.append(None if line is None else line.label)
        return reproduction.PointResult("completed", [], 0.0)

    monkeypatch.setattr(reproduction, "run_point", run_point)
    points = [grid.GridPoint(name, (), 0, plan=None) for name in ("a", "b")]
    list(grid.run_points(points, tmp_path, verbose=verbose))
    assert seen == ([None, None] if verbose else ["[1/2] a", "[2/2] b"])
    assert progress.current_line() is None


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_preparing_sprites_shows_the_examples_written_in_a_terminal(
    tmp_path, monkeypatch, terminal
):
    """The sprites builder's examples go through progress.track on the process's stdout
    (sys.stdout is held back by mpkeras.data while it prepares); not in a log."""
    from mpkeras.data.builders import sprites

    stream = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "__stdout__", stream)
    builder = sprites.Sprites(config="small", data_dir=str(tmp_path))
    examples = list(builder._split_generators(None)["train"])
    assert len(examples) == 2304 and examples[0][0] == 0 and examples[-1][0] == 2303
    output = stream.getvalue()
    if terminal:
        assert output.startswith("\n")  # below mpkeras's "Preparing sprites/small ..."
        assert "sprites/small: 100%" in output and "2304/2304" in output, output
    else:
        assert output == ""
