"""`--jobs N`: grid points in worker processes give the serial loop's results, in its order."""

import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest

from mpkeras import specs
from mpkeras.runner import grid

HELPERS = Path(__file__).parent / "runner_helpers"


@pytest.fixture
def spec(tmp_path, monkeypatch):
    # On sys.path here and, through spawn, in every worker: the experiment imports by name.
    monkeypatch.syspath_prepend(str(HELPERS))
    import parallel_points  # noqa: F401 - registers test_parallel_point

    path = tmp_path / "point.toml"
    path.write_text(
        'experiment = "test_parallel_point"\nclaims = ["N3"]\n'
        '[[expectations]]\nclaim = "N3"\nmetric = "value"\nop = "<"\nvalue = 0.65\n'
    )
    return specs.load(path)


def run(points, root, **kwargs):
    return list(
        grid.run_points(
            points, root, models_for=lambda p: root / "models", report=lambda _: None, **kwargs
        )
    )


def test_workers_give_the_serial_results_in_the_serial_order(spec, tmp_path):
    points = grid.plan_points(spec, ["value=0.1,0.5"], [0, 1])
    serial = run(points, tmp_path / "serial")
    parallel = run(points, tmp_path / "parallel", jobs=2)
    assert [i for i, *_ in parallel] == [1, 2, 3, 4]
    assert [p.name for _, p, *_ in parallel] == [p.name for p in points]
    for (*_, s_result, s_metrics, _), (*_, p_result, p_metrics, resumed) in zip(serial, parallel):
        assert not resumed and p_result.status == "completed"
        np.testing.assert_allclose(p_metrics["value"], s_metrics["value"], rtol=0, atol=0)
        assert [r["holds"] for r in p_result.rows] == [r["holds"] for r in s_result.rows]
    # value 0.5 + 0.1 * seed 1 = 0.6 holds, 0.5 + 0 holds: every row as the bound says.
    assert [row["holds"] for *_, r, _, _ in parallel for row in r.rows] == [True] * 4
    pids = {m["pid"] for *_, m, _ in parallel}
    assert os.getpid() not in pids and len(pids) <= 2  # two workers, neither of them this process


@pytest.mark.slow  # the loop's resume is tested serially in test_grid.py; this adds workers
def test_resumed_points_are_read_back_and_only_the_rest_run(spec, tmp_path):
    points = grid.plan_points(spec, ["value=0.1,0.2,0.3"], [0])
    root = tmp_path / "root"
    run(points[1:2], root)
    again = run(points, root, resume=True, jobs=2)
    assert [resumed for *_, resumed in again] == [False, True, False]
    np.testing.assert_allclose([m["value"] for *_, m, _ in again], [0.1, 0.2, 0.3], atol=1e-12)


def test_a_worker_that_dies_makes_its_point_a_failed_row(spec, tmp_path):
    points = grid.plan_points(spec, ["die=true"], [0])
    (outcome,) = run(points, tmp_path / "root", jobs=2)
    result = outcome[2]
    assert result.status == "failed"
    assert "worker process running it died" in result.rows[0]["measured"]
    assert "if __name__ == '__main__':" in result.rows[0]["measured"]  # the usual cause, named
    assert result.rows[0]["holds"] is False


def _prepare(data_dir, queue):
    os.environ["TFDS_DATA_DIR"] = data_dir
    from mpkeras import data

    queue.put(data.info("toy2d/blobs", prepare=True).splits["train"].num_examples)


def test_two_processes_preparing_one_dataset_both_get_it(tmp_path):
    # Without mpkeras.data.locking the second to finish fails on TFDS's final
    # rename, or reads a half-written copy.
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_prepare, args=(str(tmp_path), queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0]
    counts = [queue.get(timeout=5) for _ in workers]
    assert counts[0] == counts[1] > 0


def test_jobs_must_be_a_positive_integer(spec, tmp_path):
    points = grid.plan_points(spec, [], [0])
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(ValueError, match="`jobs`"):
            run(points, tmp_path / "root", jobs=bad)
    assert not (tmp_path / "root").exists()
