"""build_encoder / build_decoder / build_autoencoder and the Autoencoder model (A1-A3)."""

import os

import keras
import numpy as np
import pytest

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.models import (
    Autoencoder,
    build_autoencoder,
    build_decoder,
    build_encoder,
)
from mpkeras.models.autoencoder import default_conv_filters


def images(n=6, shape=(16, 16, 1), seed=0):
    return np.random.default_rng(seed).uniform(size=(n, *shape)).astype(np.float32)


@pytest.mark.parametrize(
    "shape, filters, smallest",
    [
        ((8, 8, 1), (32, 64), (2, 2)),
        ((28, 28, 1), (32, 64, 64), (4, 4)),
        ((64, 64, 1), (32, 32, 64, 64), (4, 4)),
    ],
)
def test_conv_defaults_for_digits_mnist_sprites(shape, filters, smallest):
    assert default_conv_filters(shape[:2]) == filters
    encoder = build_encoder(shape, 6, kind="conv")
    assert tuple(encoder.output_shape) == (None, 6)
    convs = [layer for layer in encoder.layers if "conv" in layer.name]
    assert tuple(layer.filters for layer in convs) == filters
    assert tuple(convs[-1].output.shape[1:3]) == smallest
    decoder = build_decoder(3, shape, kind="conv")
    assert tuple(decoder.output_shape) == (None, *shape)


@pytest.mark.parametrize("shape", [(7, 7, 1), (28, 28, 1), (16, 12, 3), (9, 5, 2)])
def test_conv_odd_and_rectangular_sizes_round_trip_shape(shape):
    encoder = build_encoder(shape, 4, kind="conv", hidden=(4, 4))
    decoder = build_decoder(4, shape, kind="conv", hidden=(4, 4))
    x = images(2, shape)
    z = np.asarray(encoder(x))
    assert z.shape == (2, 4)
    assert np.asarray(decoder(z)).shape == (2, *shape)


@pytest.mark.parametrize("kind", ["linear", "mlp", "conv"])
def test_encoder_decoder_contract_and_layer_names(kind):
    hidden = {"linear": None, "mlp": (8,), "conv": (4, 8)}[kind]
    encoder = build_encoder((16, 16, 1), 5, kind=kind, hidden=hidden, name="enc")
    decoder = build_decoder(5, (16, 16, 1), kind=kind, hidden=hidden, name="dec")
    names = [layer.name for layer in encoder.layers]
    assert names[0] == "enc_input" and names[-1] == "enc_output"
    assert encoder.get_layer("enc_output").activation is keras.activations.linear
    assert "dec_output" in [layer.name for layer in decoder.layers]
    # Default decoder output is sigmoid: values in (0, 1).
    out = np.asarray(decoder(np.random.default_rng(1).normal(size=(3, 5)) * 10))
    assert out.shape == (3, 16, 16, 1) and np.all((out >= 0) & (out <= 1))
    for activation in (None, "linear"):
        linear_out = build_decoder(
            5, (16, 16, 1), kind=kind, hidden=hidden, output_activation=activation
        )
        assert linear_out.get_layer("decoder_output").activation is keras.activations.linear


def test_linear_encoder_is_one_dense_layer_and_flat_inputs_work():
    encoder = build_encoder((64,), 3, kind="linear")
    assert [type(layer).__name__ for layer in encoder.layers] == ["InputLayer", "Dense"]
    x = images(4, (64,))
    kernel, bias = (np.asarray(w) for w in encoder.get_layer("encoder_output").weights)
    np.testing.assert_allclose(np.asarray(encoder(x)), x @ kernel + bias, rtol=1e-5, atol=1e-6)
    mlp = build_decoder(3, (64,), kind="mlp", hidden=(8,))
    assert tuple(mlp.output_shape) == (None, 64)


@pytest.mark.parametrize("kind", ["linear", "mlp", "conv"])
def test_autoencoder_contract_fit_and_sub_models(kind):
    hidden = {"linear": None, "mlp": (8,), "conv": (4, 4)}[kind]
    model = build_autoencoder((16, 16, 1), 4, kind=kind, hidden=hidden, name="ae")
    assert isinstance(model, Autoencoder) and model.latent_dim == 4
    assert model.encoder.name == "ae_encoder" and model.decoder.name == "ae_decoder"
    expected_out = keras.activations.linear if kind == "linear" else keras.activations.sigmoid
    assert model.decoder.get_layer("ae_decoder_output").activation is expected_out
    x = images()
    y = np.asarray(model(x))
    assert y.shape == x.shape
    np.testing.assert_allclose(y, np.asarray(model.decoder(model.encoder(x))), rtol=1e-6, atol=1e-6)
    assert model.compute_output_shape((None, 16, 16, 1)) == (None, 16, 16, 1)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, x, epochs=1, batch_size=3, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert len(model.trainable_weights) == len(model.encoder.trainable_weights) + len(
        model.decoder.trainable_weights
    )


@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_keras_round_trip_keeps_encoder_and_decoder_usable_alone(kind, tmp_path):
    hidden = None if kind == "linear" else (4, 4)
    model = build_autoencoder((8, 8, 1), 3, kind=kind, hidden=hidden)
    x = images(5, (8, 8, 1))
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x, epochs=1, batch_size=5, verbose=0)  # weights != init
    path = os.path.join(tmp_path, "ae.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Autoencoder)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    z = np.asarray(model.encoder(x))
    np.testing.assert_array_equal(np.asarray(loaded.encoder(x)), z)
    np.testing.assert_array_equal(np.asarray(loaded.decoder(z)), np.asarray(model.decoder(z)))
    # The halves keep their names and can be saved and used on their own.
    assert loaded.encoder.name == model.encoder.name
    encoder_path = os.path.join(tmp_path, "encoder.keras")
    loaded.encoder.save(encoder_path)
    np.testing.assert_array_equal(np.asarray(keras.saving.load_model(encoder_path)(x)), z)
    config = model.get_config()
    clone = Autoencoder.from_config(config)
    assert tuple(clone.encoder.output_shape) == (None, 3)


def test_overcomplete_allowed_for_mlp_and_conv():
    for kind, hidden in (("mlp", (8,)), ("conv", (4, 4))):
        model = build_autoencoder((4, 4, 1), 32, kind=kind, hidden=hidden)
        assert model.latent_dim == 32 > 16
        assert np.asarray(model(images(2, (4, 4, 1)))).shape == (2, 4, 4, 1)


def test_A1_linear_equals_its_affine_maps():
    # The linear AE computes x_hat = (x W_e + b_e) W_d + b_d: a rank-k affine map.
    model = build_autoencoder((6,), 2, kind="linear")
    x = images(4, (6,))
    w_e, b_e = (np.asarray(w, np.float64) for w in model.encoder.weights)
    w_d, b_d = (np.asarray(w, np.float64) for w in model.decoder.weights)
    np.testing.assert_allclose(
        np.asarray(model(x)), (x @ w_e + b_e) @ w_d + b_d, rtol=1e-5, atol=1e-6
    )


def test_bad_input():
    def raises(match):
        return pytest.raises(ValueError, match=r"Received an invalid value for " + match)

    with raises(r"`latent_dim`, expected a positive integer\. Received: latent_dim=0"):
        build_autoencoder((8, 8, 1), 0)
    with raises(r"`latent_dim`, expected a positive integer\. Received: latent_dim=-3"):
        build_autoencoder((8, 8, 1), -3, kind="conv")
    with raises(r"`latent_dim`, expected at most the 64 input features for kind='linear'"):
        build_autoencoder((8, 8, 1), 65, kind="linear")
    with raises(
        r"`kind`, expected one of \('linear', 'mlp', 'conv'\)\. Received: "
        r"kind='transformer'"
    ):
        build_autoencoder((8, 8, 1), 2, kind="transformer")
    with raises(r"`kind`, expected one of .* Received: kind='rnn'"):
        build_encoder((8, 8, 1), 2, kind="rnn")
    with raises(r"`output_dim`, expected a positive integer\. Received: output_dim=0"):
        build_encoder((8, 8, 1), 0)
    with raises(
        r"`input_shape`, expected .*\(height, width, channels\).* for kind='conv'\. "
        r"Received: input_shape=\(64,\)"
    ):
        build_encoder((64,), 2, kind="conv")
    with raises(r"`output_shape`, expected .*\(features,\).* Received: output_shape=\(8, 8\)"):
        build_decoder(2, (8, 8), kind="mlp")
    with raises(r"`hidden`, expected None: kind='linear' has no hidden layers"):
        build_autoencoder((8, 8, 1), 2, kind="linear", hidden=(4,))
    with raises(r"`hidden`, expected .*at least one\)\. Received: hidden=\(\)"):
        build_encoder((8, 8, 1), 2, kind="conv", hidden=())
    with raises(
        r"`hidden`, expected positive integers \(layer widths for 'mlp'\)\. "
        r"Received: hidden=\(4, 0\)"
    ):
        build_decoder(2, (8, 8, 1), kind="mlp", hidden=(4, 0))
    with raises(r"`kernel_size`, expected a positive integer\. Received: kernel_size=0"):
        build_encoder((8, 8, 1), 2, kind="conv", kernel_size=0)
    encoder = build_encoder((8, 8, 1), 3, kind="linear")
    with pytest.raises(ValueError, match="codes"):
        Autoencoder(encoder, build_decoder(4, (8, 8, 1), kind="linear"))
    with pytest.raises(ValueError, match="input shape"):
        Autoencoder(encoder, build_decoder(3, (4, 4, 1), kind="linear"))
    with pytest.raises(ValueError, match="encoder"):
        Autoencoder("encoder", encoder)
