"""Mixed precision on CPU: custom layers and train_steps stay finite and keep
float32 variables under the Keras "mixed_bfloat16" policy (and the VAE's
loss scaling under "mixed_float16")."""

import keras
import numpy as np
import pytest

from mpkeras.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D, Sampling
from mpkeras.models import build_vae

RNG = np.random.default_rng(0)


@pytest.fixture
def policy(request):
    """Set the global policy named by the test's parameter; restore float32 after."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(getattr(request, "param", "mixed_bfloat16"))
    try:
        yield keras.mixed_precision.global_policy()
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _finite(x):
    return bool(
        np.all(np.isfinite(np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(x, "float32")))))
    )


def test_sampling_under_bfloat16_computes_in_bfloat16_and_stays_finite(policy):
    layer = Sampling(seed=0)
    assert layer.compute_dtype == "bfloat16"
    mean = RNG.normal(size=(64, 3)).astype("float32")
    log_var = RNG.normal(size=(64, 3)).astype("float32") - 2.0
    z = layer([mean, log_var])
    assert keras.backend.standardize_dtype(z.dtype) == "bfloat16"
    assert _finite(z)
    # z = mean + exp(log_var / 2) eps: standardised, eps ~ N(0, 1) up to bfloat16 rounding.
    eps = (np.asarray(keras.ops.cast(z, "float32")) - mean) / np.exp(0.5 * log_var)
    assert abs(eps.mean()) < 0.3 and 0.7 < eps.std() < 1.3
    # In a model: a float32 log_var from a float32 layer is cast, not rejected.
    inputs = keras.Input((3,))
    mean_t = keras.layers.Dense(3)(inputs)
    log_var_t = keras.layers.Dense(3, dtype="float32")(inputs)
    model = keras.Model(inputs, Sampling(seed=1)([mean_t, log_var_t]))
    assert _finite(model(mean))


def test_max_unpooling_under_bfloat16_trains_and_stays_finite(policy):
    inputs = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    pooled, indices = MaxPoolingWithArgmax2D(2)(h)
    up = MaxUnpooling2D(2)(pooled, indices, output_size=(8, 8))
    outputs = keras.layers.Conv2D(2, 3, padding="same", dtype="float32")(up)
    model = keras.Model(inputs, outputs)
    assert model.layers[1].compute_dtype == "bfloat16"
    x = RNG.normal(size=(8, 8, 8, 2)).astype("float32")
    unpooled = keras.Model(inputs, up)(x)
    assert keras.backend.standardize_dtype(unpooled.dtype) == "bfloat16" and _finite(unpooled)
    # Each 2x2 window keeps one value (its max) and zeros elsewhere.
    nonzero = np.count_nonzero(np.asarray(keras.ops.cast(unpooled, "float32")), axis=(1, 2))
    assert np.all(nonzero <= 16)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    history = model.fit(x, x, batch_size=4, epochs=2, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    assert all(w.dtype == "float32" for w in model.trainable_weights)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"], indirect=True)
def test_vae_train_step_under_mixed_precision_is_finite(policy):
    vae = build_vae((8, 8, 1), 2, kind="conv", hidden=(4, 8), seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    assert {layer.compute_dtype for layer in vae.encoder.layers[1:]} == {policy.compute_dtype}
    if policy.name == "mixed_float16":
        # Keras wraps the optimizer; the VAE's train_step scales its loss with it.
        assert isinstance(vae.optimizer, keras.optimizers.LossScaleOptimizer)
    x = (RNG.random((16, 8, 8, 1)) > 0.5).astype("float32")
    history = vae.fit(x, batch_size=8, epochs=2, verbose=0)
    for key in ("loss", "reconstruction", "kl", "elbo"):
        assert all(np.isfinite(history.history[key])), (key, history.history[key])
    assert all(w.dtype == "float32" for w in vae.trainable_weights)
    assert all(_finite(w) for w in vae.trainable_weights)
    logs = vae.evaluate(x, verbose=0, return_dict=True)
    assert np.isfinite(logs["loss"])
    # Bernoulli reconstruction of 64 pixels starts near 64 log 2; not blown up by the casts.
    assert 0 < logs["reconstruction"] < 200
