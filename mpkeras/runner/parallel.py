"""Points of a grid run side by side, each in a worker process (``--jobs N``).

A quick experiment trains a small model, and TensorFlow keeps about one
core busy with it: the 20 quick runs of ``reproduce --quick`` took 449 s of
wall time and about as much CPU time on 2 cores. ``--jobs N`` runs N points
at once, each in a worker process of its own, so N cores are busy.

A point gives the same result in a worker as in the caller's process: it
seeds itself (``single_run.run_plan`` sets the seed before it builds
anything), writes only into its own run directory, and a dataset that is
not prepared yet is prepared by one process while the others wait
(``mpkeras.data.locking``). Workers are spawned, not forked: a fork of a
process whose TensorFlow thread pools have started can deadlock. Each worker
imports TensorFlow once (about 4 s) and then runs point after point.

Results come back in the order of the points, as the serial loop gives
them, so tables and reports do not depend on which point finished first.
"""

import concurrent.futures
import multiprocessing
import os


def run_in_workers(pending, root, jobs, log_for=None, models_for=None, verbose=False):
    """Run ``pending`` (``(index, point)`` pairs) ``jobs`` at a time in worker processes.

    Yields ``(index, point, result)`` in the order of ``pending``, each as
    soon as it and every point before it have finished; ``result`` is the
    worker's :class:`reproduction.PointResult`. A worker that dies (killed,
    out of memory) makes its point a failed row, as an exception would.
    """
    from mpkeras.runner.reproduction import PointResult, failed_row

    context = multiprocessing.get_context("spawn")
    workers = max(1, min(jobs, len(pending)))  # each one imports TensorFlow: no idle ones
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(verbose,)
    )
    try:
        futures = []
        for index, point in pending:
            kwargs = {"models_dir": models_for(point)} if models_for else {}
            log = log_for(point) if log_for else None
            future = pool.submit(_run_one, point.plan, root / point.name, log, verbose, kwargs)
            futures.append((index, point, future))
        for index, point, future in futures:
            try:
                result = future.result()
            except concurrent.futures.process.BrokenProcessPool as error:
                # Also what a script that calls this at import time gets: each
                # spawned worker imports the script's __main__ again.
                reason = (
                    f"the worker process running it died ({error}); a script that "
                    "passes jobs > 1 must do so under `if __name__ == '__main__':`"
                )
                result = PointResult("failed", [failed_row(point.plan.spec, reason)], 0.0)
            yield index, point, result
    finally:
        # Stopped early (Ctrl-C, the caller's error): start no more points.
        pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(verbose):
    """Send a worker's own output (TensorFlow's start-up lines) to /dev/null.

    Each point's output goes to its log (``run_point(log=...)``); with
    ``verbose`` it comes to the terminal, one worker's lines between another's.
    """
    if verbose:
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _run_one(plan, run_dir, log, verbose, kwargs):
    from mpkeras.runner.reproduction import run_point

    return run_point(plan, run_dir, log=log, verbose=verbose, report=print, **kwargs)
