"""`python -m benchmarks`: the combined table, its JSON, and one failing benchmark (no timing here)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # --import-mode=importlib does not add the rootdir
    sys.path.insert(0, str(ROOT))

from benchmarks import __main__ as bench  # noqa: E402

ROWS = [
    {
        "benchmark": "MaxUnpooling2D / MaxPooling2D",
        "ours": 0.0123,
        "baseline": 0.01,
        "ratio": 1.23,
        "target": "<= 4",
        "holds": True,
        "spread": (1.1, 1.4),
        "peak_mib": (12.25, 10.0),
    },
    {
        "benchmark": "LSTM / SimpleRNN",
        "ours": "3.0 ms",
        "baseline": "1.0 ms",
        "ratio": 3.0,
        "target": "reported",
        "holds": None,
        "spread": (2.5, 3.5),
        "peak_mib": None,
    },
]


def test_every_bench_module_is_found():
    assert {"conv", "pipeline", "rnn", "unpool", "vae"} <= set(bench.available())


def test_table_has_one_line_per_row_and_every_column():
    table = bench.format_table([{"module": "x", **row} for row in ROWS])
    lines = table.splitlines()
    assert len(lines) == 2 + len(ROWS)
    assert lines[0].split() == ["module", *bench.COLUMNS]
    assert "1.230" in lines[2] and "1.100-1.400" in lines[2] and "yes" in lines[2]
    assert lines[2].split()[-1] == "12.2/10.0"  # peak_mib: ours/baseline
    assert lines[3].split()[-3:] == ["-", "2.500-3.500", "-"]  # no target, no memory: "-"


def test_long_names_are_cut_to_the_width():
    row = {**ROWS[0], "benchmark": "x" * 200}
    table = bench.format_table([row], width=40)
    assert ("x" * 37 + "...") in table and "x" * 41 not in table


def test_main_combines_rows_writes_json_and_records_a_failure(tmp_path, monkeypatch, capsys):
    calls = {}

    def fake_run_one(name, argv):
        calls[name] = argv
        if name == "rnn":
            raise RuntimeError("boom\nsecond line")
        return [{"module": name, **ROWS[0]}]

    monkeypatch.setattr(bench, "run_one", fake_run_one)
    out = tmp_path / "table.json"
    status = bench.main(
        ["--only", "pipeline", "--only", "rnn", "--repeats", "5", "--output", str(out)]
    )
    assert status == 1  # the failed benchmark is a row that does not hold
    assert calls == {"pipeline": ["--repeats", "5", "--no-full"], "rnn": ["--repeats", "5"]}
    payload = json.loads(out.read_text())
    assert [row["module"] for row in payload["rows"]] == ["pipeline", "rnn"]
    assert payload["rows"][0]["spread"] == [1.1, 1.4]
    assert payload["rows"][0]["peak_mib"] == [12.25, 10.0]
    assert set(payload["benchmark_cpu_s"]) == {"pipeline", "rnn"}
    assert payload["op_determinism"] is False and "partial" not in payload  # the final write
    assert (
        payload["rows"][1]["holds"] is False and payload["rows"][1]["error"] == "RuntimeError: boom"
    )
    printed = capsys.readouterr().out
    assert "bench_rnn (did not complete)" in printed and str(out) in printed


def test_all_rows_holding_exits_zero(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "run_one", lambda name, argv: [{"module": name, **ROWS[1]}])
    assert bench.main(["--only", "vae", "--output", str(tmp_path / "t.json")]) == 0


def test_too_few_repeats_is_refused(tmp_path):
    with pytest.raises(SystemExit) as error:
        bench.main(["--repeats", "2", "--output", str(tmp_path / "t.json")])
    assert error.value.code == 2


def test_readme_option_writes_the_table_between_the_markers(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Benchmarks\n<!-- benchmarks:begin (generated) -->\nSTALE\n<!-- benchmarks:end -->\nAfter.\n"
    )
    monkeypatch.setattr(bench, "run_one", lambda name, argv: [{"module": name, **ROWS[0]}])
    bench.main(["--only", "vae", "--output", str(tmp_path / "t.json"), "--readme", str(readme)])
    text = readme.read_text()
    assert "STALE" not in text and text.endswith("<!-- benchmarks:end -->\nAfter.\n")
    (row,) = [line for line in text.splitlines() if line.startswith("| ") and "ratio" not in line]
    assert row.count(" | ") == 7 and "| 1.100-1.400 | 12.2/10.0 |" in row
    assert "`python -m benchmarks`" in text and "median of the repeats" in text


def test_runs_as_a_directory_from_anywhere(tmp_path):
    """`python path/to/benchmarks --help` works outside the root and names the output's base."""
    import subprocess

    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "", "PYTHONPATH": ""},
    )
    assert done.returncode == 0, done.stderr
    assert "repository root" in done.stdout and str(tmp_path) in "".join(done.stdout.split())


def test_median_ci_is_the_order_statistic_interval():
    from benchmarks.measure import median_ci

    # n = 9: P(Binomial(9, 1/2) <= 1) = 10/512, so (x_(2), x_(8)) covers 1 - 20/512.
    median, (low, high), coverage = median_ci([9, 1, 8, 2, 7, 3, 6, 4, 5])
    assert (median, low, high) == (5.0, 2.0, 8.0)
    np_coverage = 1 - 20 / 512
    assert abs(coverage - np_coverage) < 1e-12
    # n = 5 cannot reach 95%: the whole range, with its 30/32 coverage.
    assert median_ci([3, 1, 2, 5, 4])[1:] == ((1.0, 5.0), 1 - 2 / 32)
    with pytest.raises(ValueError, match="at least 2 samples"):
        median_ci([1.0])


def test_exponent_recovers_a_power_law():
    from benchmarks.measure import exponent

    sizes = [10, 20, 40, 80]
    assert abs(exponent(sizes, [3 * s**1.5 for s in sizes]) - 1.5) < 1e-9


def test_conv_matrix_rows_grow_linearly_and_print(capsys):
    """conv_matrix's peak memory (tracemalloc) at 3 sizes: ~ pixels^1, as its stored matrix."""
    from benchmarks import bench_conv

    rows = bench_conv.conv_matrix_rows(1)
    assert len(rows) == len(bench_conv.CONV_MATRIX_SIZES) + 1
    assert all(row["peak_mib"] > 0 for row in rows[:-1])
    exponent_row = rows[-1]
    assert exponent_row["spread"] is None and exponent_row["holds"] is True
    bench_conv.print_rows(rows)  # an exponent row has no spread
    assert "conv_matrix peak memory ~ pixels^a" in capsys.readouterr().out


def test_epoch_clock_times_the_epochs_and_not_fits_set_up():
    """bench_vae's throughput rows time fit's epochs alone: set-up outside them is left out."""
    import time

    import keras
    import numpy as np

    from benchmarks import bench_vae

    class SlowStart(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            time.sleep(0.5)  # Stands in for fit's set-up before its first epoch.

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    clock = bench_vae.epoch_clock()
    start = time.perf_counter()
    model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0, callbacks=[SlowStart(), clock])
    total = time.perf_counter() - start
    spent = clock.spent()
    assert isinstance(spent, bench_vae.Spent)
    wall, cpu = spent
    assert 0 < wall < total - 0.5 and cpu > 0
    # `_timed` reports a run's own epochs, or the whole call when asked.
    assert bench_vae._timed(lambda epochs: spent, 2)[:2] == (wall, cpu)
    assert bench_vae._timed(lambda epochs: spent, 2, whole_call=True)[0] < wall
