"""Benchmark: train step of keras.layers.RNN(ElmanCell) vs keras.layers.SimpleRNN.

Rows (batch 64, T = 100, 8 input features, 128 units, a Dense(1) head on
h_T, MSE, Adam):

* `keras.layers.RNN(mpkeras.layers.ElmanCell(128))` / `keras.layers.SimpleRNN(128)`,
  same weights, same batch; target ratio <= 1.1.
* `keras.layers.LSTM(128)` / `SimpleRNN(128)`: reported, no target (an LSTM
  step does four gate products where Elman does one).

Timing: every model is warmed up (tracing, first steps); then each row
times its model and SimpleRNN in adjacent blocks of steps, the order
alternating; the ratio of each pair of blocks is one sample; a row reports
the median of >= 5 samples and their min/max (spread), and the median and
best step times. Step rates on a shared machine are multimodal: read the
spread.

Usage::

    python benchmarks/bench_rnn.py [--repeats 7] [--steps 10]
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

BATCH, STEPS, FEATURES, UNITS = 64, 100, 8, 128


def _models(seed=0):
    import keras

    import mpkeras  # noqa: F401
    from mpkeras.layers import ElmanCell

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype(np.float32)
    y = rng.normal(size=(BATCH, 1)).astype(np.float32)
    layers = {
        "simple_rnn": lambda: keras.layers.SimpleRNN(UNITS),
        "elman": lambda: keras.layers.RNN(ElmanCell(UNITS)),
        "lstm": lambda: keras.layers.LSTM(UNITS),
    }
    models = {}
    for name, make in layers.items():
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((STEPS, FEATURES))
        model = keras.Model(inputs, keras.layers.Dense(1)(make()(inputs)))
        model.compile(optimizer="adam", loss="mse")
        models[name] = model
    models["elman"].set_weights(models["simple_rnn"].get_weights())
    for model in models.values():  # warm-up: tracing and the first steps
        for _ in range(5):
            model.train_on_batch(x, y)
    return models, x, y


def _loop_body_ops(model, x):
    """Op counts of the RNN while-loop body in the traced forward pass."""
    import collections

    import tensorflow as tf

    graph = tf.function(model.call).get_concrete_function(tf.constant(x)).graph
    for function in graph.as_graph_def().library.function:
        if "while_body" in function.signature.name:
            return collections.Counter(node.op for node in function.node_def)
    return collections.Counter()


def _time_steps(model, x, y, steps):
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed block")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be >= 5 (the ratio is a median)")

    import tensorflow as tf

    print(
        f"tensorflow {tf.__version__}, {os.cpu_count()} CPUs; batch {BATCH}, "
        f"T = {STEPS}, {FEATURES} features, {UNITS} units"
    )
    models, x, y = _models()
    # The two layers run the same graph: the step body is op for op the same.
    same_body = _loop_body_ops(models["elman"], x) == _loop_body_ops(models["simple_rnn"], x)
    print(f"while-loop body of RNN(ElmanCell) identical to SimpleRNN's: {same_body}")
    # Each model is timed against SimpleRNN in adjacent blocks (a pair), the
    # order alternating, so the ratio of a pair sees the same machine load.
    rows = []
    for name, label, target in (
        ("elman", "RNN(ElmanCell) / SimpleRNN", 1.1),
        ("lstm", "LSTM / SimpleRNN", None),
    ):
        ours, base = [], []
        for repeat in range(args.repeats):
            order = ("simple_rnn", name) if repeat % 2 == 0 else (name, "simple_rnn")
            block = {m: _time_steps(models[m], x, y, args.steps) / args.steps for m in order}
            ours.append(block[name])
            base.append(block["simple_rnn"])
        ours, base = np.array(ours), np.array(base)
        ratios = ours / base
        ratio = float(np.median(ratios))
        rows.append(
            {
                "benchmark": f"train step, batch {BATCH}, T={STEPS}, {UNITS} units: {label}",
                "ours": f"{1e3 * np.median(ours):.1f} ms (best {1e3 * ours.min():.1f})",
                "baseline": f"{1e3 * np.median(base):.1f} ms (best {1e3 * base.min():.1f})",
                "ratio": ratio,
                "target": f"<= {target}" if target else "reported",
                "holds": (ratio <= target) if target else None,
                "spread": (float(ratios.min()), float(ratios.max())),
            }
        )
    for row in rows:
        low, high = row["spread"]
        verdict = {True: "holds", False: "FAILS", None: "no target"}[row["holds"]]
        print(
            f"{row['benchmark']}\n    ours {row['ours']}, baseline {row['baseline']}, "
            f"ratio {row['ratio']:.3f} (spread {low:.3f}-{high:.3f}), target "
            f"{row['target']}: {verdict}"
        )
    return rows


if __name__ == "__main__":
    main()
