"""Benchmark: max unpooling against Keras's max pooling and an Addons-style scatter_nd.

Times forward + backward (the gradient with respect to the unpooled values,
for a fixed upstream gradient) of ``MaxUnpooling2D``, with every check it
makes (indices in range, each in its own window), on float32 feature maps of
batch 8 and 64 channels with the indices of a 2x2 pooling:

* vs ``keras.layers.MaxPooling2D`` fwd+bwd on the unpooled-size tensor, at
  three sizes (64x64, 128x128, 256x256; target <= 1.3), and the fitted
  exponent a of CPU time ~ elements^a (target: at most the baseline's + 0.2);
* vs a TensorFlow-Addons-style unpooling on ``tf.scatter_nd`` (written below),
  2x2 windows (target: ours faster, ratio < 1) and overlapping 3x3 windows
  with stride 2 (reported: where windows share a maximum ours writes it once,
  which takes a segment-min over the output that a summing scatter skips);
* the cost of the checks: the checked layer vs the same block placement
  without them (reported).

Protocol and helpers: bench_pool (interleaved rounds, medians, spread, peak
memory of one call).

Usage::

    python benchmarks/bench_unpool.py [--repeats 7] [--calls 3]
"""

import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

try:
    from benchmarks.bench_pool import (
        exponent_row,
        fwd_bwd,
        interleaved,
        peak_memory,
        print_peak_memory,
        print_rows,
        ratio_row,
    )
except ImportError:  # run as a script from benchmarks/
    from bench_pool import (
        exponent_row,
        fwd_bwd,
        interleaved,
        peak_memory,
        print_peak_memory,
        print_rows,
        ratio_row,
    )

SIZES = ((8, 64, 64, 64), (8, 128, 128, 64), (8, 256, 256, 64))


def addons_unpool(updates, mask, output_shape):
    """TensorFlow Addons' ``MaxUnpooling2D`` algorithm: one tf.scatter_nd (duplicates add).

    Builds (batch, y, x, channel) coordinates for every value from the flat
    per-image index and scatters.
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


def _unchecked(values, indices, size):
    """The block placement alone: no range check, no own-window check, no fallback."""
    import tensorflow as tf

    from mpkeras.ops import blocks

    out = values.shape[1:3]
    keys, steps = blocks.keys(indices, size, values.shape[-1], out, (2, 2), (0, 0), tf.int32)
    return blocks.place(values, keys, steps, out, (2, 2), (0, 0), size, 2)


def _steps(shape, ops, pool_size=2, strides=2, seed=0):
    """{op: call} for the ops named in `ops` (unpool, keras_pool, checked, unchecked, addons)."""
    import keras
    import tensorflow as tf

    from mpkeras.layers import MaxUnpooling2D
    from mpkeras.ops import fusion

    rng = np.random.default_rng(seed)
    x = tf.constant(rng.normal(size=shape).astype("float32"))
    values, indices = tf.nn.max_pool_with_argmax(
        x, pool_size, strides, "VALID", include_batch_in_index=False
    )
    size = tuple(shape[1:3])
    g_full = tf.constant(rng.normal(size=shape).astype("float32"))
    unpool = MaxUnpooling2D(pool_size, strides)
    out_shape = tf.constant(shape, tf.int32)
    keras_pool = keras.layers.MaxPooling2D(2)
    unchecked = tf.function(
        lambda v, i: fusion.run(lambda a, b: _unchecked(a, b, size), (v, i), ())
    )
    fns = {
        "unpool": lambda: (
            fwd_bwd(lambda v, i: unpool(v, i, output_size=size)),
            (values, g_full, indices),
        ),
        "addons": lambda: (
            fwd_bwd(lambda v, i: addons_unpool(v, i, out_shape)),
            (values, g_full, indices),
        ),
        "keras_pool": lambda: (fwd_bwd(keras_pool), (x, values)),
        "unchecked": lambda: (unchecked, (values, indices)),
        "checked": lambda: (
            tf.function(lambda v, i: unpool(v, i, output_size=size)),
            (values, indices),
        ),
    }
    steps = {}
    for name in ops:
        fn, args = fns[name]()
        steps[name] = lambda fn=fn, args=args: fn(*args)
    # Every value where its index says: the unpooled maxima are x's maxima in place.
    out = steps["unpool"]()[0].numpy()
    flat = indices.numpy().reshape(shape[0], -1)
    expected = np.zeros((shape[0], int(np.prod(shape[1:]))), "float32")
    np.put_along_axis(expected, flat, values.numpy().reshape(shape[0], -1), axis=1)
    np.testing.assert_array_equal(out, expected.reshape(out.shape))  # overlaps share a value
    return steps


def _label(shape):
    return "x".join(str(n) for n in shape)


MIDDLE = _label(SIZES[1])
OVERLAPPING = f"{MIDDLE}, 3x3 stride 2"


def configs():
    """[(label, build steps)]: every configuration the rows time."""
    rows = []
    for shape in SIZES:
        label = _label(shape)
        ops = ("unpool", "keras_pool")
        if label == MIDDLE:
            ops += ("checked", "unchecked", "addons")
        rows.append((label, lambda shape=shape, ops=ops: _steps(shape, ops)))
    rows.append((OVERLAPPING, lambda: _steps(SIZES[1], ("unpool", "addons"), 3, 2)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument("--peak-memory-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peak_memory_only:
        return print_peak_memory(configs())

    memory = peak_memory("bench_unpool", configs())
    rows, extra, elements, ours_times, base_times = [], [], [], [], []
    for label, build in configs():
        rounds = interleaved(build(), args.repeats, args.calls)
        mem = memory.get(label)
        if label == OVERLAPPING:
            extra.append(
                ratio_row(
                    f"MaxUnpooling2D(3, 2) / scatter_nd (Addons), overlapping windows (take-one vs "
                    f"sum), fwd+bwd, {label}",
                    rounds,
                    "unpool",
                    "addons",
                    "reported",
                    lambda r: None,
                    mem,
                )
            )
            continue
        rows.append(
            ratio_row(
                f"MaxUnpooling2D / MaxPooling2D, fwd+bwd, {label}",
                rounds,
                "unpool",
                "keras_pool",
                "<= 1.3",
                lambda r: r <= 1.3,
                mem,
            )
        )
        elements.append(np.prod([int(n) for n in label.split("x")]))
        ours_times.append(np.median(rounds[("unpool", "cpu")]))
        base_times.append(np.median(rounds[("keras_pool", "cpu")]))
        if label == MIDDLE:
            extra.append(
                ratio_row(
                    f"MaxUnpooling2D / scatter_nd (Addons), 2x2, fwd+bwd, {label}",
                    rounds,
                    "unpool",
                    "addons",
                    "< 1",
                    lambda r: r < 1,
                    mem,
                )
            )
            extra.append(
                ratio_row(
                    f"MaxUnpooling2D's checks: checked / unchecked placement, fwd, {label}",
                    rounds,
                    "checked",
                    "unchecked",
                    "reported",
                    lambda r: None,
                    mem,
                )
            )
            extra.append(
                ratio_row(
                    f"scatter_nd (Addons) / MaxPooling2D (reference), {label}",
                    rounds,
                    "addons",
                    "keras_pool",
                    "reported",
                    lambda r: None,
                    mem,
                )
            )
    rows.append(
        exponent_row(
            f"MaxUnpooling2D CPU time ~ elements^a ({len(SIZES)} sizes; baseline MaxPooling2D)",
            elements,
            ours_times,
            base_times,
        )
    )
    rows += extra
    print_rows(
        f"forward + backward, float32; median of {args.repeats} interleaved rounds (each the "
        f"median of {args.calls} calls); time, peak memory of one call",
        rows,
    )
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
