"""The VAE as a Keras user expects it (issue 18 section 3): from_logits, compile, shapes, data."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.models import VAE, build_vae
from mpkeras.models.vae_contract import output_activation

RNG = np.random.default_rng(1)
SHAPE = (4, 4, 1)
X = (RNG.random((16,) + SHAPE) > 0.5).astype("float32")


def _encoder(log_var=-30.0):
    """mean from a Dense layer; log_var fixed (z = mean to float32 precision)."""
    x = keras.Input(SHAPE)
    h = keras.layers.Flatten()(x)
    mean = keras.layers.Dense(2, name="mean")(h)
    log_var = keras.layers.Dense(
        2,
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(log_var),
        trainable=False,
        name="log_var",
    )(h)
    return keras.Model(x, [mean, log_var])


def _decoder(activation="sigmoid", shape=SHAPE, bias=0.0):
    z = keras.Input((2,))
    h = keras.layers.Dense(
        int(np.prod(shape)),
        activation=activation,
        name="out",
        bias_initializer=keras.initializers.Constant(bias),
    )(z)
    return keras.Model(z, keras.layers.Reshape(shape)(h))


class SubclassedDecoder(keras.Model):
    """Layers the VAE cannot read before it runs: checked while tracing."""

    def __init__(self, sigmoid, shape=SHAPE):
        super().__init__()
        self.sigmoid = sigmoid
        self.dense = keras.layers.Dense(int(np.prod(shape)))
        self.reshape = keras.layers.Reshape(shape)

    def call(self, z):
        h = self.reshape(self.dense(z))
        return keras.activations.sigmoid(h) if self.sigmoid else h


def _bce_from_logits(x, logits):
    """NumPy -log Ber(x | sigmoid(logits)) summed over pixels, in the stable form."""
    values = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-np.abs(logits)))
    return values.reshape(len(x), -1).sum(1)


def _logits(vae, x):
    mean, _ = vae.encoder(x)
    return np.asarray(vae.decoder.get_layer("out")(keras.layers.Flatten()(mean)), "float64")


@pytest.mark.parametrize("bias", [0.0, 40.0])
def test_default_reads_a_sigmoid_decoder_as_probabilities(bias):
    # The old default (from_logits=True) took these probabilities for logits.
    # bias=40 saturates the sigmoid (p = 1 in float32): in a graph the loss
    # comes from the logits behind it and the Reshape, instead of log(eps).
    vae = VAE(_encoder(), _decoder(bias=bias), seed=0)
    assert vae.from_logits is False
    vae.compile(optimizer="adam")
    mean, _ = vae.encoder(X)
    logits = np.asarray(vae.decoder.get_layer("out").kernel).T @ np.asarray(mean).T
    logits = logits.T + bias
    expected = _bce_from_logits(X.reshape(len(X), -1), logits).mean()
    graph = vae.evaluate(X, batch_size=16, verbose=0, return_dict=True)
    np.testing.assert_allclose(graph["reconstruction"], expected, rtol=1e-5)
    if bias == 0.0:  # Eagerly the Reshape hides the logits: clipped probabilities.
        vae.compile(optimizer="adam", run_eagerly=True)
        eager = vae.evaluate(X, batch_size=16, verbose=0, return_dict=True)
        np.testing.assert_allclose(eager["reconstruction"], expected, rtol=1e-5)


@pytest.mark.parametrize(
    "activation, from_logits, message",
    [
        ("sigmoid", True, "ends in a sigmoid.*from_logits=False"),
        ("softmax", True, "ends in a softmax"),
        (None, False, "'linear'.*Pass `from_logits=True`"),
        ("relu", False, "'relu'.*not probabilities"),
    ],
)
def test_a_visible_contradiction_raises_when_the_vae_is_built(activation, from_logits, message):
    with pytest.raises(ValueError, match=message):
        VAE(_encoder(), _decoder(activation), from_logits=from_logits)


def test_output_activation_reads_through_reshape_and_nested_models():
    inner = _decoder("sigmoid")
    z = keras.Input((2,))
    # A float32 output layer under mixed precision: a linear Activation.
    output = keras.layers.Activation("linear", dtype="float32")(keras.layers.Identity()(inner(z)))
    assert output_activation(keras.Model(z, output)) == ("out", "sigmoid")
    assert output_activation(SubclassedDecoder(True)) is None
    custom = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation=lambda t: t)])
    assert output_activation(custom) is None


def test_a_subclassed_decoder_is_checked_while_tracing():
    with pytest.raises(ValueError, match="comes from a sigmoid.*from_logits=False"):
        vae = VAE(_encoder(), SubclassedDecoder(sigmoid=True), from_logits=True)
        vae.compile(optimizer="adam")
        vae.fit(X, epochs=1, batch_size=16, verbose=0)
    # Linear outputs read as probabilities: stopped at the first step.
    vae = VAE(_encoder(), SubclassedDecoder(sigmoid=False))
    vae.compile(optimizer="adam")
    with pytest.raises(tf.errors.InvalidArgumentError, match="Pass `from_logits=True`"):
        vae.fit(X, epochs=1, batch_size=16, verbose=0)


def test_bernoulli_targets_outside_the_unit_interval_say_normalise():
    vae = VAE(_encoder(), _decoder(), seed=0)
    vae.compile(optimizer="adam")
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Normalise.*x / 255"):
        vae.fit(X * 255.0, epochs=1, batch_size=16, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Normalise"):
        vae.evaluate(X - 0.5, verbose=0)
    gaussian = VAE(_encoder(), _decoder(None), likelihood="gaussian", seed=0)
    gaussian.compile(optimizer="adam")
    assert np.isfinite(gaussian.evaluate(X * 255.0, verbose=0, return_dict=True)["loss"])


def test_compile_takes_no_loss():
    vae = VAE(_encoder(), _decoder())
    for kwargs in ({"loss": "mse"}, {"loss_weights": [1.0]}, {"weighted_metrics": ["mae"]}):
        with pytest.raises(ValueError, match=f"takes no `{next(iter(kwargs))}`.*own objective"):
            vae.compile(optimizer="adam", **kwargs)


def test_compiled_metrics_compare_the_target_with_the_reconstruction(tmp_path):
    vae = VAE(_encoder(), _decoder(), seed=0)
    vae.compile(optimizer="adam", metrics=["mae"])
    history = vae.fit(X, epochs=1, batch_size=8, validation_data=(X,), verbose=0).history
    assert {"mae", "val_mae", "loss", "val_elbo"} <= set(history)
    logs = vae.evaluate(X, batch_size=16, verbose=0, return_dict=True)
    # evaluate's metric sees what predict returns (z = the posterior mean).
    expected = np.abs(X - vae.predict(X, verbose=0)).mean()
    np.testing.assert_allclose(logs["mae"], expected, rtol=1e-5)
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    again = loaded.evaluate(X, batch_size=16, verbose=0, return_dict=True)
    np.testing.assert_allclose(again["mae"], logs["mae"], rtol=1e-6)


def test_a_decoder_of_the_wrong_shape_is_caught_naming_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"decoder output shape \(None, 5, 5, 1\), "
        r"encoder input shape \(None, 4, 4, 1\)",
    ):
        VAE(_encoder(), _decoder(shape=(5, 5, 1)))
    vae = VAE(_encoder(), SubclassedDecoder(sigmoid=False, shape=(5, 5, 1)), from_logits=True)
    vae.compile(optimizer="adam")
    with pytest.raises(
        ValueError,
        match=r"decoder output shape \(16, 5, 5, 1\), data shape "
        r"\(16, 4, 4, 1\)",
    ):
        vae.fit(X, epochs=1, batch_size=16, verbose=0)


def test_labels_of_another_shape_are_ignored_targets_of_the_same_shape_used():
    vae = VAE(_encoder(), _decoder(), seed=0)
    vae.compile(optimizer="adam")
    plain = vae.evaluate(X, batch_size=16, verbose=0, return_dict=True)
    labelled = vae.evaluate(X, np.arange(len(X)), batch_size=16, verbose=0, return_dict=True)
    np.testing.assert_allclose(labelled["reconstruction"], plain["reconstruction"], rtol=1e-5)
    other = 1.0 - X  # A target shaped like x (denoising): it is what is reconstructed.
    flipped = vae.evaluate(X, other, batch_size=16, verbose=0, return_dict=True)
    probs = np.asarray(vae.predict(X, verbose=0), "float64").reshape(len(X), -1)
    logits = np.log(probs) - np.log1p(-probs)
    expected = _bce_from_logits(other.reshape(len(X), -1), logits).mean()
    np.testing.assert_allclose(flipped["reconstruction"], expected, rtol=1e-4)
    with pytest.raises(ValueError, match="sample weights"):
        vae.fit(X, X, sample_weight=np.ones(len(X)), epochs=1, verbose=0)


def test_from_config_keeps_a_stored_from_logits_and_the_old_default():
    vae = VAE(_encoder(), _decoder(None), from_logits=True)
    assert vae.get_config()["from_logits"] is True
    assert VAE.from_config(vae.get_config()).from_logits is True
    config = vae.get_config()
    del config["from_logits"]  # Written for the old default, from_logits=True.
    assert VAE.from_config(config).from_logits is True
    with pytest.raises(ValueError, match="from_logits"):
        VAE(_encoder(), _decoder(), from_logits="no")


def test_build_vae_pairs_the_decoder_with_its_from_logits():
    probabilities = build_vae(SHAPE, 2, hidden=(8,), seed=0)
    logits = build_vae(SHAPE, 2, hidden=(8,), from_logits=True, seed=0)
    gaussian = build_vae(SHAPE, 2, hidden=(8,), likelihood="gaussian", seed=0)
    assert probabilities.from_logits is False and logits.from_logits is True
    assert output_activation(probabilities.decoder)[1] == "sigmoid"
    assert output_activation(logits.decoder)[1] == "linear"
    assert output_activation(gaussian.decoder)[1] == "linear"
