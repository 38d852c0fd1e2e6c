"""Benchmarks of mpkeras against the library it stands on, one ``bench_*.py`` per topic.

Each ``bench_<x>.py`` runs on its own (``python benchmarks/bench_<x>.py``)
and defines ``main(argv=None)``, which prints its table and returns rows
``{"benchmark", "ours", "baseline", "ratio", "target", "holds", "spread"}``:
the ratio ours/baseline measured in the same process, interleaved, after
warm-up, the median of >= 5 repeats, and its (min, max) spread.

``python -m benchmarks`` runs them all and prints one table (see
``benchmarks/__main__.py``).
"""
