"""Benchmark: the notes' backward formulas (ExplicitConv2D) vs Conv2D autodiff.

Rows:

* train step of the digits CNN (8x8x1, `build_cnn(..., padding="same")`,
  batch 64) with `conv="explicit"` vs `conv="keras"`: same weights, same
  batch, Adam; target ratio <= 1.5.
* the same for the Keras MNIST convnet (28x28x1, `build_cnn((28, 28, 1),
  10)`, batch 128); target ratio <= 1.5.
* `conv_matrix` for a 64x64x3 input and a 3x3x3x16 kernel ("same"): time,
  the result's size and the peak memory while building it (tracemalloc),
  against the 3 GiB a dense matrix would take; target: peak <= 5% of dense.

Timing: both models are warmed up (tracing, first steps), then timed in
interleaved blocks of steps; the ratio of each adjacent pair of blocks is
one sample, the row reports the median of >= 5 samples and their min/max
(spread). Step rates on a shared machine are multimodal: read the spread;
the label also gives the median ratio of process CPU time, which other
processes' load disturbs less.

Usage::

    python benchmarks/bench_conv.py [--repeats 11] [--steps 30]
"""

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def _train_step_models(input_shape, padding, batch_size, seed=0):
    import keras

    from mpkeras.models import build_cnn

    rng = np.random.default_rng(seed)
    x = rng.random((batch_size, *input_shape), dtype=np.float32)
    y = rng.integers(0, 10, batch_size)
    models = {}
    for conv in ("keras", "explicit"):
        keras.utils.set_random_seed(seed)
        model = build_cnn(input_shape, 10, padding=padding, conv=conv, seed=seed)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        models[conv] = model
    models["explicit"].set_weights(models["keras"].get_weights())
    for model in models.values():  # warm-up: tracing and the first steps
        for _ in range(10):
            model.train_on_batch(x, y)
    return models, x, y


def _time_steps(model, x, y, steps):
    """(wall seconds, process CPU seconds) of `steps` train steps."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return time.perf_counter() - start, time.process_time() - cpu


def train_step_row(label, input_shape, padding, batch_size, repeats, steps):
    models, x, y = _train_step_models(input_shape, padding, batch_size)
    ours, base, ratios, cpu_ratios = [], [], [], []
    for repeat in range(repeats):
        # Alternate which runs first, so drifts in machine load cancel.
        order = ("keras", "explicit") if repeat % 2 == 0 else ("explicit", "keras")
        times = {conv: _time_steps(models[conv], x, y, steps) for conv in order}
        ours.append(times["explicit"][0] / steps)
        base.append(times["keras"][0] / steps)
        ratios.append(times["explicit"][0] / times["keras"][0])
        cpu_ratios.append(times["explicit"][1] / times["keras"][1])
    ratio = float(np.median(ratios))
    return {
        "benchmark": (
            f"train step, {label}: ExplicitConv2D / Conv2D (CPU-time ratio "
            f"{np.median(cpu_ratios):.3f})"
        ),
        "ours": f"{1e3 * np.median(ours):.2f} ms",
        "baseline": f"{1e3 * np.median(base):.2f} ms",
        "ratio": ratio,
        "target": "<= 1.5",
        "holds": ratio <= 1.5,
        "spread": (float(min(ratios)), float(max(ratios))),
    }


def conv_matrix_row(repeats):
    from mpkeras.ops import conv_matrix

    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 3, 3, 16)).astype(np.float32)
    input_shape = (64, 64, 3)
    dense_bytes = (64 * 64 * 16) * (64 * 64 * 3) * 4
    conv_matrix(kernel, input_shape, "same")  # warm-up (imports)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        matrix = conv_matrix(kernel, input_shape, "same")
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    matrix = conv_matrix(kernel, input_shape, "same")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stored = matrix.data.nbytes + matrix.indices.nbytes + matrix.indptr.nbytes
    ratio = peak / dense_bytes
    return {
        "benchmark": (
            f"conv_matrix 64x64x3 * 3x3x3x16 'same' ({type(matrix).__name__}, "
            f"{matrix.shape[0]}x{matrix.shape[1]}, nnz {matrix.nnz}, stored "
            f"{stored / 2**20:.1f} MiB, median {1e3 * np.median(seconds):.0f} ms): "
            "peak memory / dense matrix"
        ),
        "ours": f"{peak / 2**20:.1f} MiB peak",
        "baseline": f"{dense_bytes / 2**20:.0f} MiB dense (never built)",
        "ratio": ratio,
        "target": "<= 0.05",
        "holds": ratio <= 0.05,
        "spread": (ratio, ratio),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--steps", type=int, default=30, help="steps per timed block")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be >= 5 (the ratio is a median)")

    import tensorflow as tf

    print(f"tensorflow {tf.__version__}, {os.cpu_count()} CPUs")
    rows = [
        train_step_row(
            "digits CNN 8x8x1 batch 64", (8, 8, 1), "same", 64, args.repeats, args.steps
        ),
        train_step_row(
            "MNIST convnet 28x28x1 batch 128",
            (28, 28, 1),
            "valid",
            128,
            args.repeats,
            max(args.steps // 3, 5),
        ),
        conv_matrix_row(args.repeats),
    ]
    for row in rows:
        low, high = row["spread"]
        print(
            f"{row['benchmark']}\n    ours {row['ours']}, baseline {row['baseline']}, "
            f"ratio {row['ratio']:.3f} (spread {low:.3f}-{high:.3f}), target "
            f"{row['target']}: {'holds' if row['holds'] else 'FAILS'}"
        )
    return rows


if __name__ == "__main__":
    main()
