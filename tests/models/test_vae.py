"""A4-A6: the VAE's ELBO, its log-likelihood estimate, beta, and KL <= delta by dual ascent."""

import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from scipy import stats

from mpkeras.losses import gaussian_kl
from mpkeras.models import VAE, build_vae, build_vae_decoder, build_vae_encoder

RNG = np.random.default_rng(0)
SHAPE = (4, 4, 1)
X = (RNG.random((32,) + SHAPE) > 0.5).astype("float32")


def _encoder(latent=2, shape=SHAPE, log_var_bias=None, single=False):
    """A small encoder; `log_var_bias` fixes log_var (kernel 0) for exact tests."""
    x = keras.Input(shape)
    h = keras.layers.Flatten()(x)
    if single:
        return keras.Model(x, keras.layers.Dense(2 * latent)(h))
    h = keras.layers.Dense(8, activation="tanh")(h)
    mean = keras.layers.Dense(latent, name="mean")(h)
    if log_var_bias is None:
        log_var = keras.layers.Dense(latent, name="log_var")(h)
    else:
        log_var = keras.layers.Dense(
            latent,
            kernel_initializer="zeros",
            bias_initializer=keras.initializers.Constant(log_var_bias),
            trainable=False,
            name="log_var",
        )(h)
    return keras.Model(x, [mean, log_var])


def _decoder(latent=2, shape=SHAPE):
    z = keras.Input((latent,))
    h = keras.layers.Dense(int(np.prod(shape)))(z)
    return keras.Model(z, keras.layers.Reshape(shape)(h))


def _vae(**kwargs):
    """The test VAE: `_decoder` outputs logits, so from_logits=True."""
    kwargs.setdefault("seed", 0)
    kwargs.setdefault("from_logits", True)
    return VAE(_encoder(log_var_bias=kwargs.pop("log_var_bias", None)), _decoder(), **kwargs)


def _deterministic_terms(vae, x):
    """NumPy reference of reconstruction and KL when log_var = -30 (z = mean)."""
    mean, log_var = (np.asarray(t, "float64") for t in vae.encoder(x))
    logits = np.asarray(vae.decoder(mean.astype("float32")), "float64")
    p = 1.0 / (1.0 + np.exp(-logits))
    bce = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    rec = bce.reshape(len(x), -1).sum(1)  # Summed over pixels, NOT averaged.
    kl = 0.5 * np.sum(np.exp(log_var) + mean**2 - 1 - log_var, axis=1)
    return rec, kl


def test_contract_fit_evaluate_predict_metrics_config():
    vae = _vae()
    vae.compile(optimizer="adam")
    history = vae.fit(X, epochs=1, batch_size=16, validation_data=(X,), verbose=0)
    names = {"loss", "reconstruction", "kl", "beta", "elbo"}
    assert names | {f"val_{n}" for n in names} == set(history.history)
    logs = vae.evaluate(X, verbose=0, return_dict=True)
    assert set(logs) == names
    assert vae.predict(X, verbose=0).shape == X.shape
    assert np.all((vae.predict(X, verbose=0) >= 0) & (vae.predict(X, verbose=0) <= 1))
    config = vae.get_config()
    for key in (
        "likelihood",
        "beta",
        "kl_threshold",
        "beta_learning_rate",
        "capacity",
        "capacity_steps",
        "sigma",
        "from_logits",
        "seed",
    ):
        assert key in config
    clone = VAE.from_config(config)
    assert clone.latent_dim == 2 and clone.seed == 0


def test_single_output_encoder_is_split_and_data_tuples_work():
    vae = VAE(_encoder(single=True), _decoder(), from_logits=True, seed=0)
    vae.compile(optimizer="adam")
    # (x, y) pairs as mpkeras.data.load yields; labels of another shape are ignored.
    vae.fit(X, np.zeros((len(X), 5)), epochs=1, batch_size=16, verbose=0)
    mean, log_var = vae.encode(X[:3])
    assert tuple(mean.shape) == tuple(log_var.shape) == (3, 2)


def test_A4_reconstruction_summed_over_pixels_and_kl_over_latents():
    vae = _vae(log_var_bias=-30.0, beta=3.0)
    vae.compile(optimizer="adam")
    logs = vae.evaluate(X, batch_size=32, verbose=0, return_dict=True)
    rec, kl = _deterministic_terms(vae, X)
    np.testing.assert_allclose(logs["reconstruction"], rec.mean(), rtol=1e-4)
    np.testing.assert_allclose(logs["kl"], kl.mean(), rtol=1e-4)
    np.testing.assert_allclose(logs["loss"], rec.mean() + 3.0 * kl.mean(), rtol=1e-4)
    np.testing.assert_allclose(logs["elbo"], -(rec.mean() + kl.mean()), rtol=1e-4)
    assert logs["beta"] == pytest.approx(3.0)


def test_gaussian_likelihood_matches_scipy():
    encoder = _encoder(log_var_bias=-30.0)
    vae = VAE(encoder, _decoder(), likelihood="gaussian", sigma=0.5, seed=0)
    vae.compile(optimizer="adam")
    logs = vae.evaluate(X, batch_size=32, verbose=0, return_dict=True)
    mean, _ = vae.encoder(X)
    mu = np.asarray(vae.decoder(mean))
    expected = -stats.norm.logpdf(X, mu, 0.5).reshape(len(X), -1).sum(1).mean()
    np.testing.assert_allclose(logs["reconstruction"], expected, rtol=1e-4)


def test_A4_kl_is_asymmetric():
    # tests/test_losses.py checks the closed form against Monte Carlo and
    # KL >= 0; here KL(q || p) != KL(p || q) for q = N(mu, s^2), p = N(0, 1).
    mean, log_var = np.array([[1.0]]), np.array([[np.log(0.25)]])
    forward = float(gaussian_kl(mean, log_var, reduction="sum"))
    var = 0.25
    reverse = 0.5 * (1 / var + mean[0, 0] ** 2 / var - 1 + np.log(var))
    z = np.random.default_rng(0).normal(size=400_000)
    reverse_mc = np.mean(stats.norm.logpdf(z) - stats.norm.logpdf(z, 1.0, 0.5))
    np.testing.assert_allclose(reverse_mc, reverse, rtol=0.02)
    assert abs(forward - reverse) > 1.0


def test_A6_dual_ascent_step_matches_the_rule():
    for delta, expected_floor in ((0.5, None), (1e6, 0.0)):
        vae = _vae(log_var_bias=-30.0, beta=1.0, kl_threshold=delta, beta_learning_rate=0.1)
        vae.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0))
        _, kl = _deterministic_terms(vae, X)
        vae.fit(X, epochs=1, batch_size=32, verbose=0)
        expected = max(0.0, 1.0 + 0.1 * (kl.mean() - delta))
        if expected_floor is not None:
            assert expected == expected_floor  # The projection max(0, .) acts.
        np.testing.assert_allclose(float(vae.beta.numpy()), expected, rtol=1e-4)
        assert int(vae.train_steps.numpy()) == 1


def test_A6_capacity_schedule():
    vae = _vae(log_var_bias=-30.0, beta=2.0, capacity=5.0, capacity_steps=4)
    vae.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0))
    rec, kl = _deterministic_terms(vae, X)
    for step, c in ((0, 0.0), (2, 2.5), (9, 5.0)):
        vae.train_steps.assign(step)
        logs = vae.evaluate(X, batch_size=32, verbose=0, return_dict=True)
        np.testing.assert_allclose(logs["loss"], rec.mean() + 2.0 * abs(kl.mean() - c), rtol=1e-4)


@pytest.mark.slow
def test_A6_dual_ascent_settles_kl_at_delta():
    x = (RNG.random((256,) + SHAPE) > 0.5).astype("float32")
    vae = _vae(kl_threshold=2.0, beta=0.0, beta_learning_rate=0.05)
    vae.compile(optimizer=keras.optimizers.Adam(0.01))
    history = vae.fit(x, epochs=60, batch_size=64, verbose=0)
    np.testing.assert_allclose(np.mean(history.history["kl"][-10:]), 2.0, rtol=0.15)


def test_sample_reconstruct_interpolate():
    vae = _vae()
    vae.compile(optimizer="adam")
    vae.fit(X, epochs=1, batch_size=16, verbose=0)
    samples = vae.sample(5, seed=1)
    assert samples.shape == (5,) + SHAPE
    np.testing.assert_array_equal(samples, vae.sample(5, seed=1))
    rec = vae.reconstruct(X[:3])
    assert rec.shape == (3,) + SHAPE
    line = vae.interpolate(X[0], X[1], steps=5)
    assert line.shape == (5,) + SHAPE
    np.testing.assert_allclose(line[0], rec[0], atol=1e-5)
    np.testing.assert_allclose(line[-1], rec[1], atol=1e-5)
    assert vae.interpolate(X[:2], X[2:4], steps=3).shape == (2, 3) + SHAPE


def test_keras_round_trip_of_a_trained_constrained_vae(tmp_path):
    vae = _vae(kl_threshold=1.0, beta_learning_rate=0.1)
    vae.compile(optimizer="adam")
    vae.fit(X, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, VAE)
    assert float(loaded.beta.numpy()) == float(vae.beta.numpy()) != 1.0
    np.testing.assert_allclose(loaded.predict(X, verbose=0), vae.predict(X, verbose=0), atol=1e-6)
    # The test ELBO on a fixed batch with a fixed seed, two ways.
    np.testing.assert_array_equal(
        loaded.log_likelihood(X, num_samples=1, seed=4),
        vae.log_likelihood(X, num_samples=1, seed=4),
    )
    a = vae.evaluate(X, batch_size=32, verbose=0, return_dict=True)
    b = loaded.evaluate(X, batch_size=32, verbose=0, return_dict=True)
    for key in a:
        np.testing.assert_allclose(b[key], a[key], rtol=1e-6, err_msg=key)


def test_A6_killed_constrained_run_resumes_with_the_same_beta(tmp_path):
    seen = {}

    class Kill(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                seen["beta"] = float(self.model.beta.numpy())
                raise KeyboardInterrupt

    class Watch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.setdefault("resumed_at", epoch)
            seen.setdefault("resumed_beta", float(self.model.beta.numpy()))

    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    vae = _vae(kl_threshold=1.0, beta_learning_rate=0.1)
    vae.compile(optimizer="adam")
    with pytest.raises(KeyboardInterrupt):
        vae.fit(X, epochs=4, batch_size=8, verbose=0, callbacks=[backup, Kill()])
    fresh = _vae(kl_threshold=1.0, beta_learning_rate=0.1)
    fresh.compile(optimizer="adam")
    fresh.fit(X, epochs=3, batch_size=8, verbose=0, callbacks=[backup, Watch()])
    assert seen["resumed_at"] == 2
    assert seen["resumed_beta"] == seen["beta"] != 1.0


def test_builders_sizes():
    cases = (((8, 8, 1), "conv"), ((28, 28, 1), "conv"), ((64, 64, 1), "conv"), ((8, 8, 1), "mlp"))
    for shape, kind in cases:
        encoder = build_vae_encoder(shape, 3, kind=kind)
        decoder = build_vae_decoder(3, shape, kind=kind)
        assert encoder.output_shape == (None, 6)
        assert decoder.output_shape == (None,) + shape
    vae = build_vae((8, 8, 1), 3, kind="conv", beta=4.0, seed=1)
    assert vae.latent_dim == 3 and vae(np.zeros((2, 8, 8, 1), "float32")).shape == (2, 8, 8, 1)


def test_bad_input():
    with pytest.raises(ValueError, match="likelihood"):
        _vae(likelihood="poisson")
    with pytest.raises(ValueError, match="beta"):
        _vae(beta=-1.0)
    with pytest.raises(ValueError, match="kl_threshold"):
        _vae(kl_threshold=-5.0)
    with pytest.raises(ValueError, match="beta_learning_rate"):
        _vae(kl_threshold=5.0, beta_learning_rate=0.0)
    with pytest.raises(ValueError, match="capacity_steps"):
        _vae(capacity=5.0, capacity_steps=0)
    with pytest.raises(ValueError, match="not both"):
        _vae(capacity=5.0, kl_threshold=5.0)
    with pytest.raises(ValueError, match="encoder.*latent size"):
        VAE(_encoder(latent=3), _decoder(latent=2), from_logits=True)
    with pytest.raises(ValueError, match="encoder.*even"):
        x = keras.Input(SHAPE)
        VAE(
            keras.Model(x, keras.layers.Dense(5)(keras.layers.Flatten()(x))),
            _decoder(),
            from_logits=True,
        )
    with pytest.raises(ValueError, match="encoder"):
        VAE("not a model", _decoder(), from_logits=True)
    with pytest.raises(ValueError, match="latent_dim"):
        build_vae((8, 8, 1), 0)


_DISTRIBUTED = textwrap.dedent(
    """
    import json, os, sys
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    sys.path.insert(0, sys.argv[1])
    from test_vae import X, _vae
    out = {}
    for name in ("one", "mirrored"):
        strategy = (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
                    if name == "mirrored" else tf.distribute.get_strategy())
        with strategy.scope():
            keras.utils.set_random_seed(0)
            vae = _vae(log_var_bias=-30.0, kl_threshold=1.0, beta_learning_rate=0.1)
            vae.compile(optimizer=keras.optimizers.SGD(0.1))
        logs = vae.fit(X, epochs=1, batch_size=32, shuffle=False, verbose=0).history
        out[name] = {
            "replicas": strategy.num_replicas_in_sync,
            "weights": [w.tolist() for w in vae.get_weights()],
            "beta": float(vae.beta.numpy()),
            "logs": {k: v[-1] for k, v in logs.items()},
        }
    print("RESULT" + json.dumps(out))
    """
)


# Slow: tests/test_distribute.py trains a VAE under MirroredStrategy by default.
@pytest.mark.slow
def test_mirrored_strategy_on_two_cpus_matches_one_device():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", _DISTRIBUTED, os.path.dirname(__file__)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT") :])
    one, mirrored = out["one"], out["mirrored"]
    assert mirrored["replicas"] == 2 and one["replicas"] == 1
    # Per-example sums / GLOBAL batch: the two-replica step is the one-device step.
    for a, b in zip(one["weights"], mirrored["weights"]):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-5)
    assert mirrored["beta"] == pytest.approx(one["beta"], rel=1e-5)
    for key in ("loss", "reconstruction", "kl", "elbo"):
        assert mirrored["logs"][key] == pytest.approx(one["logs"][key], rel=1e-4), key
