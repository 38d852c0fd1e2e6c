"""A4: the importance-weighted estimate of log p(x) (mpkeras.metrics.log_likelihood)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from mpkeras.metrics import importance_weighted_log_likelihood
from mpkeras.models import VAE


def _linear_gaussian(sigma=0.5):
    """A linear-Gaussian VAE whose encoder is the exact posterior, and its log p(x)."""
    rng = np.random.default_rng(3)
    q, _ = np.linalg.qr(rng.normal(size=(4, 2)))
    w = q * np.array([2.0, 0.5])  # Orthogonal columns: diagonal posterior.
    b = rng.normal(size=4)
    s = 1.0 / (1.0 + np.sum(w**2, 0) / sigma**2)  # Posterior variances.
    a = (s[:, None] * w.T) / sigma**2  # mean = a (x - b)
    x_in = keras.Input((4,))
    mean = keras.layers.Dense(2, name="mean")(x_in)
    log_var = keras.layers.Dense(2, name="log_var")(x_in)
    encoder = keras.Model(x_in, [mean, log_var])
    encoder.get_layer("mean").set_weights([a.T, -a @ b])
    encoder.get_layer("log_var").set_weights([np.zeros((4, 2)), np.log(s)])
    z_in = keras.Input((2,))
    decoder = keras.Model(z_in, keras.layers.Dense(4, name="out")(z_in))
    decoder.get_layer("out").set_weights([w.T, b])
    vae = VAE(encoder, decoder, likelihood="gaussian", sigma=sigma, seed=0)
    x = rng.normal(size=(10, 4)) * 1.5 + b
    log_px = stats.multivariate_normal(b, w @ w.T + sigma**2 * np.eye(4)).logpdf(x)
    return vae, x.astype("float32"), log_px


def test_A4_log_likelihood_is_exact_with_the_exact_posterior():
    vae, x, log_px = _linear_gaussian()
    # With q = p(z | x) every importance weight equals p(x): K = 1 is exact.
    for k in (1, 7):
        np.testing.assert_allclose(
            vae.log_likelihood(x, num_samples=k, batch_size=3, max_decoded=8),
            log_px,
            rtol=1e-4,
            atol=1e-4,
        )


def test_A4_importance_weighting_tightens_the_bound():
    vae, x, log_px = _linear_gaussian()
    layer = vae.encoder.get_layer("mean")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, bias + 0.2])  # A worse q: the ELBO is loose.
    l1 = vae.log_likelihood(x, num_samples=1, seed=1)
    l1000 = vae.log_likelihood(x, num_samples=1000, batch_size=4, max_decoded=512)
    # L_1 <= L_K <= log p(x) in expectation; over 10 examples, on average.
    assert l1.mean() < l1000.mean() - 0.1
    assert l1000.mean() <= log_px.mean() + 0.02
    assert np.abs(l1000 - log_px).mean() < 0.2 * np.abs(l1 - log_px).mean()
    # Stateless sampling: same seed, same estimate.
    np.testing.assert_array_equal(
        vae.log_likelihood(x, 5, seed=2), vae.log_likelihood(x, 5, seed=2)
    )


def test_vae_log_likelihood_is_the_metric_and_datasets_match_arrays():
    vae, x, _ = _linear_gaussian()
    direct = importance_weighted_log_likelihood(vae, x, num_samples=5, batch_size=4, seed=3)
    np.testing.assert_array_equal(vae.log_likelihood(x, 5, batch_size=4, seed=3), direct)
    # (x, y) batches as mpkeras.data.load yields them, in the same batches.
    pairs = tf.data.Dataset.from_tensor_slices((x, x)).batch(4)
    np.testing.assert_allclose(
        importance_weighted_log_likelihood(vae, pairs, num_samples=5, seed=3), direct, rtol=1e-6
    )
    assert importance_weighted_log_likelihood(vae, x[:0], num_samples=2).shape == (0,)


@pytest.mark.parametrize(
    "name, value", [("num_samples", 0), ("batch_size", -1), ("max_decoded", 2.5), ("seed", "a")]
)
def test_bad_arguments(name, value):
    vae, x, _ = _linear_gaussian()
    with pytest.raises(ValueError, match=f"`{name}`"):
        importance_weighted_log_likelihood(vae, x, **{name: value})
