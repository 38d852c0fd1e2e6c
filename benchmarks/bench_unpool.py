"""Benchmark: max pooling with argmax and max unpooling against Keras's max pooling.

On a batch of 32 float32 feature maps of 128x128x64 with 2x2 windows, times
forward + backward (the gradient with respect to the op's float input, given
a fixed upstream gradient) of:

* ``MaxUnpooling2D`` vs ``keras.layers.MaxPooling2D`` on the same tensor
  (target ratio <= 4);
* ``MaxPoolingWithArgmax2D`` vs ``keras.layers.MaxPooling2D`` (target <= 4);
  ``tf.nn.max_pool_with_argmax`` is printed for reference;
* ``MaxUnpooling2D`` vs a TensorFlow-Addons-style unpooling built on
  ``tf.scatter_nd`` (written below; target: ours faster, ratio < 1).

Each op runs as a ``tf.function`` (no XLA). After one warm-up call per op the
ops are timed interleaved, ``--repeats`` rounds, each round the median of
``--calls`` calls; a ratio is the median over rounds of the per-round ratio,
``spread`` its min/max. Step rates on a shared machine are multimodal, so only
ratios measured in the same process mean anything.

Usage::

    python benchmarks/bench_unpool.py                  # batch 32, 128x128x64
    python benchmarks/bench_unpool.py --batch 4 --repeats 5
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402


def addons_unpool(updates, mask, output_shape):
    """TensorFlow Addons' ``MaxUnpooling2D`` algorithm: one tf.scatter_nd.

    Builds (batch, y, x, channel) coordinates for every value from the flat
    per-image index and scatters; the baseline the issue measured at ~17x
    MaxPooling2D.
    """
    import tensorflow as tf

    mask = tf.cast(mask, tf.int32)
    ones = tf.ones_like(mask)
    batch_range = tf.reshape(tf.range(output_shape[0], dtype=tf.int32), [-1, 1, 1, 1])
    b = ones * batch_range
    y = mask // (output_shape[2] * output_shape[3])
    x = (mask // output_shape[3]) % output_shape[2]
    f = ones * tf.range(output_shape[3], dtype=tf.int32)
    size = tf.size(updates)
    indices = tf.transpose(tf.reshape(tf.stack([b, y, x, f]), [4, size]))
    return tf.scatter_nd(indices, tf.reshape(updates, [size]), output_shape)


def _fwd_bwd(fn):
    """A tf.function returning (output, d output / d input) for upstream `g`."""
    import tensorflow as tf

    @tf.function
    def step(inputs, g, *extra):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            out = fn(inputs, *extra)
        return out, tape.gradient(out, inputs, output_gradients=g)

    return step


def _time(call, calls):
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        out = call()
        _ = [np.asarray(t).ravel()[:1] for t in out]  # make sure the work ran
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=3)
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    from mpkeras.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D

    shape = (args.batch, args.size, args.size, args.channels)
    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=shape).astype("float32"))
    values, indices = tf.nn.max_pool_with_argmax(x, 2, 2, "VALID", include_batch_in_index=False)
    g_full = tf.constant(rng.normal(size=shape).astype("float32"))
    g_pooled = tf.constant(rng.normal(size=values.shape).astype("float32"))

    keras_pool = keras.layers.MaxPooling2D(2)
    argmax_pool = MaxPoolingWithArgmax2D(2)
    unpool = MaxUnpooling2D(2)
    out_shape = tf.constant(shape, tf.int32)

    fns = {
        "keras_pool": (_fwd_bwd(keras_pool), (x, g_pooled)),
        "argmax_pool": (_fwd_bwd(lambda t: argmax_pool(t)[0]), (x, g_pooled)),
        "tf_argmax_pool": (
            _fwd_bwd(lambda t: tf.nn.max_pool_with_argmax(t, 2, 2, "VALID")[0]),
            (x, g_pooled),
        ),
        "unpool": (
            _fwd_bwd(lambda v, i: unpool(v, i, output_size=shape[1:3])),
            (values, g_full, indices),
        ),
        "addons_unpool": (
            _fwd_bwd(lambda v, i: addons_unpool(v, i, out_shape)),
            (values, g_full, indices),
        ),
    }
    steps = {name: (lambda fn=fn, a=a: fn(*a)) for name, (fn, a) in fns.items()}
    for call in steps.values():
        call()  # trace, then warm up
        call()

    # Sanity: our unpooling equals the Addons-style one.
    ours = steps["unpool"]()[0]
    theirs = steps["addons_unpool"]()[0]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())

    rounds = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, call in steps.items():  # interleaved
            rounds[name].append(_time(call, args.calls))

    def row(benchmark, ours, baseline, target, better):
        ratios = np.array(rounds[ours]) / np.array(rounds[baseline])
        ratio = float(np.median(ratios))
        return {
            "benchmark": benchmark,
            "ours": float(np.median(rounds[ours])),
            "baseline": float(np.median(rounds[baseline])),
            "ratio": ratio,
            "target": target,
            "holds": better(ratio),
            "spread": (float(ratios.min()), float(ratios.max())),
        }

    rows = [
        row("MaxUnpooling2D / MaxPooling2D", "unpool", "keras_pool", "<= 4", lambda r: r <= 4),
        row(
            "MaxPoolingWithArgmax2D / MaxPooling2D",
            "argmax_pool", "keras_pool", "<= 4", lambda r: r <= 4,
        ),
        row("MaxUnpooling2D / scatter_nd (Addons)", "unpool", "addons_unpool", "< 1",
            lambda r: r < 1),
        row(
            "tf.nn.max_pool_with_argmax / MaxPooling2D (reference)",
            "tf_argmax_pool", "keras_pool", "reported", lambda r: None,
        ),
        row(
            "scatter_nd (Addons) / MaxPooling2D (reference)",
            "addons_unpool", "keras_pool", "reported", lambda r: None,
        ),
    ]
    print(
        f"forward + backward, batch {args.batch}, {args.size}x{args.size}x{args.channels} "
        f"float32, 2x2 windows; median of {args.repeats} interleaved rounds "
        f"(each the median of {args.calls} calls)"
    )
    print(f"{'benchmark':<55} {'ours ms':>9} {'base ms':>9} {'ratio':>7} {'target':>7} "
          f"{'holds':>6}  spread")
    for r in rows:
        print(
            f"{r['benchmark']:<55} {1e3 * r['ours']:9.1f} {1e3 * r['baseline']:9.1f} "
            f"{r['ratio']:7.2f} {r['target']:>7} {str(r['holds']):>6}  "
            f"{r['spread'][0]:.2f}-{r['spread'][1]:.2f}"
        )
    # The combined table shows times with their unit, as the other benchmarks do.
    return [{**r, "ours": f"{1e3 * r['ours']:.1f} ms", "baseline": f"{1e3 * r['baseline']:.1f} ms"} for r in rows]


if __name__ == "__main__":
    main()
