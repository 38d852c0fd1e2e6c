"""Benchmark: `VAE.fit` throughput against a hand-written tf.function training loop.

Baseline: the loop a user writes from the Keras VAE example -- a
`tf.function` step with a `tf.GradientTape` over the encoder, the
reparameterised sample, the decoder (ending in a sigmoid),
`keras.losses.binary_crossentropy` summed over pixels and the closed-form
KL, Adam -- called in a Python loop over a `tf.data` pipeline. Ours:
`mpkeras.models.VAE(encoder, decoder).fit(...)` with the same nets (its
default `from_logits=False` reads the sigmoid's output as probabilities).
Both start from the same weights. Ratio = baseline time / our time for the
same epochs, i.e. our throughput relative to the loop's; target >= 1.0.

Rows (numpy arrays or an `mpkeras.data.load` pipeline as the input):

* 28x28x1 digits, batch 128, the Keras example's conv encoder/decoder
  (latent 2): numpy `fit(x)` on digits-like data (the 1257 `digits`
  resized to 28x28, four copies shifted by up to 2 pixels: 40 batches an
  epoch) against the loop over `from_tensor_slices(x).shuffle().batch()`;
  and the `mpkeras.data.load("digits", image_size=(28, 28))` pipeline fed
  to both (10 batches an epoch).
* 64x64x1 sprites (the first 640 of `sprites/small`, 10 batches), batch
  64, `build_vae_encoder/decoder(kind="conv")` (latent 10): numpy and the
  `mpkeras.data` pipeline, the same way.
* diagnostic (reported): `VAE.train_step` in a bare `tf.function` over the
  loop's own pipeline (28x28 numpy data) against the loop: the graph's share
  of any gap, without `fit`'s data adapter and callbacks.
* startup: the first epoch of the 28x28 digits on fresh models (10
  batches), tracing and optimizer set-up included (what a run pays once).
* `jit_compile=True` against the default (`"auto"`, no XLA on a CPU-only
  machine), train steps of the 64x64 VAE: target <= 1.0, i.e. the default
  is the faster choice here (if it fails, the default should change).

Timing: every model is warmed up (tracing, first steps), then blocks of at
least `--steps` training steps (half at 64x64; whole epochs in one `fit`
call) alternate between ours and the loop (which goes first alternates),
so both see the same machine load to within a block; each repeat gives
one ratio; a row reports the median of >= 5 ratios and their confidence
interval (spread). The detail lines add the ratio of process CPU time,
steadier than wall time on a shared machine. Both sides time their epochs
alone (`epoch_clock`: from an epoch's start to its end, after its last
step): throughput is what a long `fit` sustains. Each `fit` call also
costs time outside its epochs (Keras's data adapter, the callbacks, the
iterator's teardown), which a user pays once per call; the fit rows print
it as "outside the epochs N ms a call" and leave it out of the ratio. On
2026-12-02 it was 13-34 ms in the 28x28 rows but about 470 ms in the 64x64
rows of the full table, where the same call in a fresh process costs
40-60 ms. That process, having built a dozen models, spends 0.1-0.6 s on
each full garbage collection (seen with `gc.callbacks`), which may be
where it goes; collecting before each block with the collector off
inside it (as timeit does) was tried once and did not settle it. Step
rates on a small machine fall into clusters from block to block (about 27
or 40 ms a step for the 28x28 VAE on 2026-12-02, the loop and `fit`
alike), so the intervals are wide; blocks of five epochs in a plain
script gave 0.99 (wall) and 0.98 (CPU time).

Usage::

    python benchmarks/bench_vae.py [--repeats 7] [--steps 40]
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

try:
    from benchmarks import measure
except ImportError:  # run as a script from benchmarks/
    import measure

SMALL, LARGE = (28, 28, 1), (64, 64, 1)


def _example_nets(latent=2):
    """The Keras VAE example's conv encoder and decoder (keras.io/examples/generative/vae)."""
    import keras
    from keras import layers

    x = keras.Input(SMALL)
    h = layers.Conv2D(32, 3, activation="relu", strides=2, padding="same")(x)
    h = layers.Conv2D(64, 3, activation="relu", strides=2, padding="same")(h)
    h = layers.Dense(16, activation="relu")(layers.Flatten()(h))
    encoder = keras.Model(
        x,
        [layers.Dense(latent, name="z_mean")(h), layers.Dense(latent, name="z_log_var")(h)],
        name="encoder",
    )
    z = keras.Input((latent,))
    h = layers.Reshape((7, 7, 64))(layers.Dense(7 * 7 * 64, activation="relu")(z))
    h = layers.Conv2DTranspose(64, 3, activation="relu", strides=2, padding="same")(h)
    h = layers.Conv2DTranspose(32, 3, activation="relu", strides=2, padding="same")(h)
    out = layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(h)
    return encoder, keras.Model(z, out, name="decoder")


def _mpkeras_nets(latent=10):
    from mpkeras.models import build_vae_decoder, build_vae_encoder

    return (
        build_vae_encoder(LARGE, latent, kind="conv"),
        build_vae_decoder(latent, LARGE, kind="conv", output_activation="sigmoid"),
    )


def _hand_loop(encoder, decoder, dataset):
    """`run(epochs)`: the Keras example's step in a tf.function, over `dataset`."""
    import keras
    import tensorflow as tf
    from keras import ops

    optimizer = keras.optimizers.Adam()
    seed = keras.random.SeedGenerator(1337)
    weights = encoder.trainable_weights + decoder.trainable_weights

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            h = encoder(x, training=True)
            z_mean, z_log_var = h if isinstance(h, (list, tuple)) else ops.split(h, 2, axis=-1)
            eps = keras.random.normal(ops.shape(z_mean), seed=seed)
            z = z_mean + ops.exp(0.5 * z_log_var) * eps
            reconstruction = decoder(z, training=True)
            reconstruction_loss = ops.mean(
                ops.sum(keras.losses.binary_crossentropy(x, reconstruction), axis=(1, 2))
            )
            kl = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            loss = reconstruction_loss + ops.mean(ops.sum(kl, axis=1))
        grads = tape.gradient(loss, weights)
        optimizer.apply_gradients(zip(grads, weights))
        return loss

    return _epoch_loop(lambda batch: step(batch[0] if isinstance(batch, tuple) else batch), dataset)


def _epoch_loop(step, dataset, loss=lambda out: out):
    """`run(epochs)`: `step` on every batch of `dataset`, each epoch timed by `epoch_clock`.

    `loss(step's output)` is read at each epoch's end, so that the epoch's
    last step has finished, as fit's epoch end does.
    """

    def run(epochs):
        clock = epoch_clock()
        for epoch in range(epochs):
            clock.on_epoch_begin(epoch)
            for batch in dataset:
                out = step(batch)
            float(loss(out))
            clock.on_epoch_end(epoch)
        return clock.spent()

    return run


def _pair(make_nets, source, batch_size):
    """(ours, baseline): `run(epochs)` callables with the same initial weights."""
    import keras
    import tensorflow as tf

    from mpkeras.models import VAE

    keras.utils.set_random_seed(0)
    encoder, decoder = make_nets()
    vae = VAE(encoder, decoder, seed=0)
    vae.compile(optimizer="adam")
    encoder, decoder = make_nets()
    encoder.set_weights(vae.encoder.get_weights())
    decoder.set_weights(vae.decoder.get_weights())
    if isinstance(source, np.ndarray):
        pipeline = (
            tf.data.Dataset.from_tensor_slices(source)
            .shuffle(len(source))
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )

        options = {"batch_size": batch_size}
    else:
        pipeline = source
        options = {"shuffle": False}  # Shuffled already.

    def ours(epochs):
        clock = epoch_clock()
        vae.fit(source, epochs=epochs, verbose=0, callbacks=[clock], **options)
        return clock.spent()

    return ours, _hand_loop(encoder, decoder, pipeline)


def epoch_clock():
    """A Keras callback timing the epochs alone, wall and CPU; the loop calls it too.

    In `fit` it runs from `on_epoch_begin` to `on_epoch_end` (after the
    epoch's logs are read, so its last step has finished); `fit`'s set-up
    before the first epoch and teardown after the last are left out, and
    `spent()` returns the sum over the epochs.
    """
    import keras

    class _EpochClock(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.wall = self.cpu = 0.0

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            wall, cpu = self._start
            self.wall += time.perf_counter() - wall
            self.cpu += time.process_time() - cpu

        def spent(self):
            return Spent(self.wall, self.cpu)

    return _EpochClock()


class Spent(tuple):
    """(wall, cpu) seconds a run reports for itself (its epochs alone)."""

    def __new__(cls, wall, cpu):
        return super().__new__(cls, (wall, cpu))


def _timed(run, epochs, whole_call=False):
    """(wall, cpu, call wall) seconds of `run(epochs)`.

    The first two are its epochs alone when it reports them (a `Spent`),
    unless `whole_call`; the last is the whole call.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    spent = run(epochs)
    call = time.perf_counter() - wall
    if isinstance(spent, Spent) and not whole_call:
        return (*spent, call)
    return call, time.process_time() - cpu, call


def _row(label, ours, base, repeats, epochs, target=">= 1.0", holds=lambda r: r >= 1.0):
    """Median over repeats of baseline time / our time, blocks alternating, with its CI.

    `spread` is the order-statistic confidence interval of the median
    (``benchmarks.measure.median_ci``); `peak_mib` how far one more block
    raises the resident set, ours/baseline, in a pass of its own.
    """
    times = {"ours": [], "base": []}
    for repeat in range(repeats):
        order = ("base", "ours") if repeat % 2 == 0 else ("ours", "base")
        for name in order:
            times[name].append(_timed(ours if name == "ours" else base, epochs))
    ours_t, base_t = np.array(times["ours"]), np.array(times["base"])
    ratio, ci, coverage = measure.median_ci(base_t[:, 0] / ours_t[:, 0])
    cpu, cpu_ci, _ = measure.median_ci(base_t[:, 1] / ours_t[:, 1])
    peak = (
        measure.peak_rss_mib(lambda: ours(epochs)),
        measure.peak_rss_mib(lambda: base(epochs)),
    )
    # What a call costs beyond the epochs it timed (fit's set-up and teardown).
    outside = np.median(ours_t[:, 2] - ours_t[:, 0])
    setup = f"; outside the epochs {1e3 * outside:.0f} ms a call" if outside > 1e-3 else ""
    return {
        "benchmark": f"{label}; spread = {coverage:.0%} CI; CPU-time ratio {cpu:.2f}{setup}",
        "ours": f"{np.median(ours_t[:, 0]):.2f} s",
        "baseline": f"{np.median(base_t[:, 0]):.2f} s",
        "ratio": ratio,
        "target": target,
        "holds": holds(ratio),
        "spread": ci,
        "peak_mib": peak,
        "cpu_ratio": cpu,
        "cpu_ci": cpu_ci,
    }


def _graph_row(x, batch_size, repeats, epochs):
    """Diagnostic: `VAE.train_step` under a bare tf.function, called like the loop's step.

    Both iterate the same kind of `from_tensor_slices` pipeline and pay the
    same per-step Python; what differs is the graph (trackers, checks, the
    objective's bookkeeping). Next to the numpy and pipeline `fit` rows it
    splits a gap into the graph's share and `fit`'s (data adapter, callbacks).
    """
    import keras
    import tensorflow as tf

    from mpkeras.models import VAE

    keras.utils.set_random_seed(0)
    vae = VAE(*_example_nets(), seed=0)
    vae.compile(optimizer="adam")
    vae.build((None, *x.shape[1:]))
    vae.optimizer.build(vae.trainable_variables)
    encoder, decoder = _example_nets()
    encoder.set_weights(vae.encoder.get_weights())
    decoder.set_weights(vae.decoder.get_weights())

    def pipeline():
        return (
            tf.data.Dataset.from_tensor_slices(x)
            .shuffle(len(x))
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE)
        )

    ours = _epoch_loop(tf.function(vae.train_step), pipeline(), lambda logs: logs["loss"])
    base = _hand_loop(encoder, decoder, pipeline())
    ours(1)  # Warm-up: tracing, first steps.
    base(1)
    return _row(
        f"diagnostic: VAE.train_step in a bare tf.function / the tf.function loop, "
        f"{_shape(x)} batch {batch_size}, same tf.data input (the graph alone, no fit)",
        ours,
        base,
        repeats,
        epochs,
        "reported",
        lambda r: None,
    )


def _startup_row(x, repeats, batch_size):
    """The first epoch on fresh models: tracing and optimizer set-up included."""
    ratios, cpu, ours_t, base_t = [], [], [], []
    for repeat in range(repeats):
        ours, base = _pair(_example_nets, x, batch_size)
        order = ("base", "ours") if repeat % 2 == 0 else ("ours", "base")
        got = {name: _timed(ours if name == "ours" else base, 1, whole_call=True) for name in order}
        ours_t.append(got["ours"][0])
        base_t.append(got["base"][0])
        ratios.append(got["base"][0] / got["ours"][0])
        cpu.append(got["base"][1] / got["ours"][1])
    ratio = float(np.median(ratios))
    return {
        "benchmark": f"first epoch incl. tracing, {_shape(x)} numpy batch {batch_size}: "
        "VAE.fit / tf.function loop (throughput; spread = min-max)",
        "ours": f"{np.median(ours_t):.2f} s",
        "baseline": f"{np.median(base_t):.2f} s",
        "ratio": ratio,
        "target": ">= 1.0",
        "holds": ratio >= 1.0,
        "spread": (float(min(ratios)), float(max(ratios))),
        "cpu_ratio": float(np.median(cpu)),
        "cpu_ci": (float(min(cpu)), float(max(cpu))),
    }


def _xla_row(x, repeats, steps):
    """Train steps of the 64x64 VAE, jit_compile=True / the default."""
    from mpkeras.models import VAE

    models = {}
    for name, jit in (("default", "auto"), ("xla", True)):
        encoder, decoder = _mpkeras_nets()
        models[name] = VAE(encoder, decoder, seed=0)
        models[name].compile(optimizer="adam", jit_compile=jit)
        for _ in range(3):  # Tracing and XLA compilation.
            models[name].train_on_batch(x)
    default_jit = models["default"].jit_compile
    # Keras turns XLA off under op determinism (`--op-determinism`, the
    # runner's setting): then both sides run the same code and the row is
    # only reported.
    xla_on = models["xla"].jit_compile is True

    def run(name):
        return lambda _: [models[name].train_on_batch(x) for _ in range(steps)]

    row = _row(
        f"train step, {_shape(x)} batch {len(x)}: jit_compile=True / default "
        f"(jit_compile resolves to {default_jit}"
        f"{'' if xla_on else '; XLA off: op determinism is on'}) (throughput)",
        run("xla"),
        run("default"),
        repeats,
        1,
        "<= 1.0 (the default is the faster)" if xla_on else "reported",
        (lambda r: r <= 1.0) if xla_on else (lambda r: None),
    )
    return row  # "ours" is XLA, "baseline" the default: XLA / default throughput.


def _shape(x):
    return "x".join(str(d) for d in x.shape[1:])


def _digits_like(x, copies=4, shift=2):
    """`copies` copies of the images, each rolled by up to `shift` pixels."""
    rng = np.random.default_rng(0)
    out = [x]
    for _ in range(copies - 1):
        dy, dx = rng.integers(-shift, shift + 1, size=2)
        out.append(np.roll(x, (int(dy), int(dx)), axis=(1, 2)))
    return np.concatenate(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--steps", type=int, default=40, help="training steps per timed 28x28 block (64x64: half)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be >= 5 (the ratio is a median)")

    import tensorflow as tf

    import mpkeras.data as data

    print(f"tensorflow {tf.__version__}, {os.cpu_count()} CPUs")
    small, _ = data.load_arrays("digits", task="reconstruction", image_size=SMALL[:2])
    large, _ = data.load_arrays("sprites/small", task="reconstruction")
    large = large[:640]
    # (input, source, nets, batch size, steps per block): a 64x64 step costs
    # about three 28x28 ones, so its blocks are half as long.
    cases = [
        ("numpy", _digits_like(small), _example_nets, 128, args.steps),
        (
            "mpkeras.data",
            data.load("digits", task="reconstruction", image_size=SMALL[:2], batch_size=128),
            _example_nets,
            128,
            args.steps,
        ),
        ("numpy", large, _mpkeras_nets, 64, args.steps // 2),
        (
            "mpkeras.data",
            data.load("sprites/small", split="train[:640]", task="reconstruction", batch_size=64),
            _mpkeras_nets,
            64,
            args.steps // 2,
        ),
    ]
    rows = []
    for kind, source, nets, batch_size, block in cases:
        shape = _shape(small if nets is _example_nets else large)
        size = len(source) if isinstance(source, np.ndarray) else None
        steps = -(-size // batch_size) if size else int(source.cardinality())
        epochs = max(1, -(-block // steps))
        ours, base = _pair(nets, source, batch_size)
        ours(1)  # Warm-up: tracing, first steps.
        base(1)
        rows.append(
            _row(
                f"fit, {shape} {kind} batch {batch_size}: VAE.fit / tf.function "
                "GradientTape loop (throughput of the epochs)",
                ours,
                base,
                args.repeats,
                epochs,
            )
        )
    x_small = cases[0][1]
    rows.append(_graph_row(x_small, 128, args.repeats, max(1, -(-args.steps // 40))))
    rows.append(_startup_row(small, 5, 128))  # Fresh models each time: the fewest repeats.
    rows.append(_xla_row(large[:64], args.repeats, steps=5))
    for row in rows:
        low, high = row["spread"]
        cpu_low, cpu_high = row.pop("cpu_ci")
        peak = "/".join("-" if v is None else f"{v:.1f}" for v in row.get("peak_mib") or ())
        print(
            f"{row['benchmark']}\n    ours {row['ours']}, baseline {row['baseline']}, "
            f"ratio {row['ratio']:.3f} (spread {low:.3f}-{high:.3f}; CPU-time ratio "
            f"{row.pop('cpu_ratio'):.3f}, {cpu_low:.3f}-{cpu_high:.3f}), peak RSS MiB {peak}, "
            f"target {row['target']}: "
            f"{ {True: 'holds', False: 'FAILS', None: 'reported'}[row['holds']] }"
        )
    return rows


if __name__ == "__main__":
    main()
