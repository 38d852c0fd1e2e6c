"""The importance-weighted estimate of a VAE's log p(x), in nats (claim A4).

`VAE.log_likelihood(x, num_samples)` calls this; it works for any model
with the VAE's parts: `encode(x) -> (mean, log_var)` of a diagonal Gaussian
q(z | x), a `decoder`, and `reconstruction_loss(target, decoder_output)`
giving -log p(target | z) per example.
"""

import math
import weakref

import numpy as np
import tensorflow as tf

from mpkeras import validation

_LOG_2PI = math.log(2.0 * math.pi)
# One pair of traced functions per model, dropped with the model.
_COMPILED = weakref.WeakKeyDictionary()


def importance_weighted_log_likelihood(
    vae, x, num_samples=1000, batch_size=32, max_decoded=1024, seed=0
):
    """Importance-weighted estimate of log p(x) per example, in nats.

    With K samples z_k ~ q(z | x) (Burda et al. 2016),

        log p(x) >= L_K = log (1/K) sum_k p(x | z_k) p(z_k) / q(z_k | x),

    with p(z) = N(0, I). L_1 is the ELBO (one sample) and L_K rises to
    log p(x) as K grows; with q equal to the true posterior every weight is
    p(x) and L_1 is exact. The sum is a logsumexp of the log-weights, in
    float64. Examples go through `batch_size` at a time and the K samples
    through chunks of at most `max_decoded` decoded examples, so K = 1000
    fits in memory. Sampling is stateless and keyed by `seed`: the same
    model, data and seed give the same numbers.

    Args:
        vae: a `mpkeras.models.VAE` (or a model with its parts, see the
            module docstring).
        x: an array of examples, or a `tf.data.Dataset` of x or (x, y)
            batches (y is the target when shaped like x, as in training).
        num_samples: K >= 1.
        batch_size: examples per pass (arrays only).
        max_decoded: examples x samples decoded at once.
        seed: integer seed of the samples.

    Returns:
        A NumPy float64 array of log p(x) estimates, one per example.
    """
    num_samples = validation.positive_int(num_samples, "num_samples")
    batch_size = validation.positive_int(batch_size, "batch_size")
    max_decoded = validation.positive_int(max_decoded, "max_decoded")
    if not validation.is_int(seed):
        raise validation.invalid("seed", "an integer", seed)
    encode, log_weights = _compiled(vae)
    if isinstance(x, tf.data.Dataset):
        # Imported here: mpkeras.models imports this module (VAE.log_likelihood).
        from mpkeras.models.vae_contract import split_data

        batches = (split_data(element) for element in x)
    else:
        x = np.asarray(x, "float32")
        batches = (
            (x[i : i + batch_size], x[i : i + batch_size]) for i in range(0, len(x), batch_size)
        )
    results = []
    for b, (xb, tb) in enumerate(batches):
        xb = tf.convert_to_tensor(xb, tf.float32)
        tb = tf.convert_to_tensor(tb, tf.float32)
        n = int(xb.shape[0])
        chunk = max(1, min(num_samples, max_decoded // max(n, 1)))
        mean, log_var = encode(xb)
        weights, done, c = [], 0, 0
        while done < num_samples:
            s = min(chunk, num_samples - done)
            key = tf.constant([seed, b * 1_000_003 + c], tf.int64)
            weights.append(log_weights(tb, mean, log_var, key, tf.constant(s, tf.int32)))
            done += s
            c += 1
        log_w = tf.cast(tf.concat(weights, axis=0), tf.float64)  # (K, n)
        results.append((tf.reduce_logsumexp(log_w, axis=0) - math.log(num_samples)).numpy())
    if not results:
        return np.zeros((0,), np.float64)
    return np.concatenate(results)


def _compiled(vae):
    if vae not in _COMPILED:
        _COMPILED[vae] = _trace(weakref.ref(vae))
    return _COMPILED[vae]


def _trace(ref):
    """tf.functions for one model; `ref` is weak so the cache frees the model."""

    def encode(x):
        return ref().encode(x)

    def log_weights(target, mean, log_var, key, s):
        """log p(x | z_k) + log p(z_k) - log q(z_k | x), shape (s, n)."""
        vae = ref()
        mean = tf.cast(mean, tf.float32)
        log_var = tf.cast(log_var, tf.float32)
        n = tf.shape(mean)[0]
        eps = tf.random.stateless_normal(tf.concat([[s], tf.shape(mean)], 0), seed=key)
        z = mean[None] + tf.exp(0.5 * log_var)[None] * eps
        log_q = -0.5 * tf.reduce_sum(tf.square(eps) + _LOG_2PI + log_var[None], axis=-1)
        log_p = -0.5 * tf.reduce_sum(tf.square(z) + _LOG_2PI, axis=-1)
        params = vae.decoder(tf.reshape(z, [s * n, -1]), training=False)
        repeats = tf.concat([[s], tf.ones_like(tf.shape(target))], 0)
        tiled = tf.reshape(
            tf.tile(target[None], repeats), tf.concat([[s * n], tf.shape(target)[1:]], 0)
        )
        log_px = -vae.reconstruction_loss(tiled, params)
        return tf.reshape(log_px, [s, n]) + log_p - log_q

    # No tensor-dependent Python control flow: autograph is not needed.
    return (
        tf.function(encode, reduce_retracing=True, autograph=False),
        tf.function(log_weights, reduce_retracing=True, autograph=False),
    )
