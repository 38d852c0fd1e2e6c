"""Benchmark: mpkeras.models.VAE train-step throughput vs the Keras example's VAE.

Rows:

* train step of a conv VAE on 64x64x1 sprites, batch 64 (encoder and decoder
  from `mpkeras.models.build_vae_encoder/decoder(kind="conv")`, latent 10,
  Adam, Bernoulli likelihood): `mpkeras.models.VAE` against a baseline
  written here in the style of the Keras VAE example (a `keras.Model` whose
  `train_step` runs a `tf.GradientTape` over the encoder, a sampling step,
  the decoder with a sigmoid, `binary_crossentropy` summed over pixels and
  the closed-form KL), with the same weights and the same batch. Ratio =
  ours / baseline throughput; target >= 1.0.
* the same VAE with `jit_compile=True` against the default
  (`jit_compile="auto"`, which Keras resolves to no XLA on a CPU-only
  machine). Ratio = XLA / default throughput; target <= 1.0, i.e. the
  default is the faster choice (if it fails, the default should change).

Timing: every model is warmed up (tracing, XLA compilation, first steps),
then timed step by step, the two models alternating (and which goes first
alternating), so both see the same load; each repeat of `--steps` step
pairs gives one ratio; a row reports the median of >= 5 ratios and their
min/max (spread). Step rates on a shared machine are
multimodal: read the spread.

Usage::

    python benchmarks/bench_vae.py [--repeats 7] [--steps 10]
"""

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

SHAPE = (64, 64, 1)
LATENT = 10


def _keras_example_vae():
    """The Keras VAE example's model class (keras.io/examples/generative/vae)."""
    import keras
    import tensorflow as tf
    from keras import ops

    class KerasExampleVAE(keras.Model):
        def __init__(self, encoder, decoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder = encoder
            self.decoder = decoder
            self.seed_generator = keras.random.SeedGenerator(1337)
            self.total_loss_tracker = keras.metrics.Mean(name="total_loss")
            self.reconstruction_loss_tracker = keras.metrics.Mean(name="reconstruction_loss")
            self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")

        @property
        def metrics(self):
            return [
                self.total_loss_tracker,
                self.reconstruction_loss_tracker,
                self.kl_loss_tracker,
            ]

        def train_step(self, data):
            data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
            with tf.GradientTape() as tape:
                h = self.encoder(data)
                z_mean, z_log_var = h[:, :LATENT], h[:, LATENT:]
                epsilon = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)
                z = z_mean + ops.exp(0.5 * z_log_var) * epsilon
                reconstruction = ops.sigmoid(self.decoder(z))
                reconstruction_loss = ops.mean(
                    ops.sum(
                        keras.losses.binary_crossentropy(data, reconstruction),
                        axis=(1, 2),
                    )
                )
                kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
                kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
                total_loss = reconstruction_loss + kl_loss
            grads = tape.gradient(total_loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            self.total_loss_tracker.update_state(total_loss)
            self.reconstruction_loss_tracker.update_state(reconstruction_loss)
            self.kl_loss_tracker.update_state(kl_loss)
            return {m.name: m.result() for m in self.metrics}

    return KerasExampleVAE


def _batch(batch_size):
    """A batch of real sprites (sprites/small), or random binary images offline."""
    try:
        import mpkeras.data as data

        x, _ = data.load_arrays("sprites/small", task="reconstruction")
        index = np.random.default_rng(0).choice(len(x), batch_size, replace=False)
        return x[index].astype(np.float32), "sprites/small"
    except Exception as err:  # noqa: BLE001 - the benchmark still runs
        print(f"(sprites unavailable: {err}; random binary images instead)")
        rng = np.random.default_rng(0)
        return (rng.random((batch_size, *SHAPE)) < 0.1).astype(np.float32), "random"


def _models(batch_size):
    import keras

    from mpkeras.models import VAE, build_vae_decoder, build_vae_encoder

    def halves():
        keras.utils.set_random_seed(0)
        return (
            build_vae_encoder(SHAPE, LATENT, kind="conv"),
            build_vae_decoder(LATENT, SHAPE, kind="conv"),
        )

    models = {}
    encoder, decoder = halves()
    models["ours"] = VAE(encoder, decoder, seed=0)
    models["ours"].compile(optimizer="adam")
    encoder, decoder = halves()
    models["ours_xla"] = VAE(encoder, decoder, seed=0)
    models["ours_xla"].compile(optimizer="adam", jit_compile=True)
    encoder, decoder = halves()
    models["baseline"] = _keras_example_vae()(encoder, decoder)
    models["baseline"].compile(optimizer="adam")
    weights = models["ours"].encoder.get_weights(), models["ours"].decoder.get_weights()
    for name in ("ours_xla", "baseline"):
        models[name].encoder.set_weights(weights[0])
        models[name].decoder.set_weights(weights[1])
    return models


def _time_step(model, x):
    start = time.perf_counter()
    model.train_on_batch(x)
    return time.perf_counter() - start


def _row(label, models, x, ours, base, repeats, steps, target, holds):
    """Median over repeats of (baseline time / our time) over `steps` step pairs.

    Within a repeat the two models alternate step by step (and which goes
    first alternates), so both see the same machine load to within a step.
    """
    ours_t, base_t, ratios = [], [], []
    for repeat in range(repeats):
        times = {ours: 0.0, base: 0.0}
        for step in range(steps):
            order = (base, ours) if (repeat + step) % 2 == 0 else (ours, base)
            for name in order:
                times[name] += _time_step(models[name], x)
        ours_t.append(times[ours] / steps)
        base_t.append(times[base] / steps)
        ratios.append(times[base] / times[ours])  # Throughput ours / baseline.
    ratio = float(np.median(ratios))
    return {
        "benchmark": label,
        "ours": f"{1e3 * np.median(ours_t):.1f} ms/step",
        "baseline": f"{1e3 * np.median(base_t):.1f} ms/step",
        "ratio": ratio,
        "target": target,
        "holds": holds(ratio),
        "spread": (float(min(ratios)), float(max(ratios))),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--steps", type=int, default=10, help="step pairs per repeat")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be >= 5 (the ratio is a median)")

    import tensorflow as tf

    print(f"tensorflow {tf.__version__}, {os.cpu_count()} CPUs")
    x, source = _batch(args.batch_size)
    models = _models(args.batch_size)
    print(
        f"data {source}, batch {args.batch_size}; default jit_compile resolves to "
        f"{models['ours'].jit_compile}"
    )
    for model in models.values():  # Warm-up: tracing, XLA compilation, first steps.
        for _ in range(5):
            model.train_on_batch(x)
    label = f"conv VAE {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]} batch {args.batch_size}"
    rows = [
        _row(
            f"train step, {label}: mpkeras VAE / Keras-example GradientTape VAE (throughput)",
            models, x, "ours", "baseline", args.repeats, args.steps,
            ">= 1.0", lambda r: r >= 1.0,
        ),
        _row(
            f"train step, {label}: jit_compile=True / default (no XLA on CPU) (throughput)",
            models, x, "ours_xla", "ours", args.repeats, args.steps,
            "<= 1.0 (the default is the faster)", lambda r: r <= 1.0,
        ),
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
