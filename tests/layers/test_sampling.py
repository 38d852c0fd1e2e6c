"""A4: the reparameterisation trick z = mean + exp(0.5 log_var) * eps."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras.layers import Sampling


def _model(seed=0):
    mean = keras.Input((3,), name="mean")
    log_var = keras.Input((3,), name="log_var")
    z = Sampling(seed=seed, name="z")([mean, log_var])
    return keras.Model([mean, log_var], z)


def test_contract_symbolic_eager_config():
    layer = Sampling(seed=3)
    mean = keras.Input((4,))
    out = layer([mean, mean])
    assert tuple(out.shape) == (None, 4)
    assert layer.compute_output_shape([(None, 4), (None, 4)]) == (None, 4)
    eager = layer([np.zeros((2, 4), "float32"), np.zeros((2, 4), "float32")])
    assert tuple(eager.shape) == (2, 4)
    config = layer.get_config()
    assert config["seed"] == 3
    clone = Sampling.from_config(config)
    assert clone.seed == 3


def test_A4_matches_numpy_reparameterisation_and_moments():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(1, 3)).astype("float32")
    log_var = rng.normal(scale=0.5, size=(1, 3)).astype("float32")
    n = 20000
    z = np.asarray(Sampling(seed=1)([np.repeat(mean, n, 0), np.repeat(log_var, n, 0)]))
    # z - mean divided by the std must be standard normal noise.
    eps = (z - mean) / np.exp(0.5 * log_var)
    np.testing.assert_allclose(eps.mean(0), 0.0, atol=0.04)
    np.testing.assert_allclose(eps.std(0), 1.0, atol=0.03)
    np.testing.assert_allclose(z.mean(0), mean[0], atol=0.05)
    np.testing.assert_allclose(z.std(0), np.exp(0.5 * log_var[0]), rtol=0.03)


def test_A4_zero_variance_limit_returns_the_mean():
    mean = np.array([[1.0, -2.0]], "float32")
    z = Sampling(seed=0)([mean, np.full_like(mean, -60.0)])
    np.testing.assert_allclose(z, mean, atol=1e-6)


def test_A4_gradients_reach_mean_and_log_var():
    layer = Sampling(seed=0)
    mean = tf.Variable(np.array([[0.5, -1.0]], "float32"))
    log_var = tf.Variable(np.array([[0.2, -0.4]], "float32"))
    with tf.GradientTape() as tape:
        z = layer([mean, log_var])
        loss = tf.reduce_sum(z)
    g_mean, g_log_var = tape.gradient(loss, [mean, log_var])
    np.testing.assert_allclose(g_mean, np.ones((1, 2)), rtol=1e-6)
    eps = (z.numpy() - mean.numpy()) / np.exp(0.5 * log_var.numpy())
    np.testing.assert_allclose(g_log_var, 0.5 * np.exp(0.5 * log_var.numpy()) * eps, rtol=1e-5)


def test_seeded_layers_draw_the_same_sequence():
    x = [np.zeros((4, 3), "float32"), np.zeros((4, 3), "float32")]
    a, b = Sampling(seed=7), Sampling(seed=7)
    first_a, first_b = np.asarray(a(x)), np.asarray(b(x))
    np.testing.assert_array_equal(first_a, first_b)
    # The generator advances: a second draw differs from the first.
    assert not np.allclose(np.asarray(a(x)), first_a)


def test_keras_round_trip(tmp_path):
    model = _model(seed=5)
    x = [np.ones((2, 3), "float32"), np.zeros((2, 3), "float32")]
    path = tmp_path / "sampling.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_layer("z").seed == 5
    # Same seed, same state: identical first draws.
    np.testing.assert_array_equal(np.asarray(model(x)), np.asarray(loaded(x)))


def test_bad_input():
    with pytest.raises(ValueError, match="seed"):
        Sampling(seed="zero")
    with pytest.raises(ValueError, match=r"\[mean, log_var\]"):
        Sampling()(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="same shape"):
        Sampling()([keras.Input((3,)), keras.Input((4,))])


@pytest.mark.parametrize("log_var_shape", [(2, 1), (2, 4), (1, 3)])
def test_shape_mismatch_is_one_value_error_eagerly_functionally_and_traced(log_var_shape):
    # (2, 1) and (1, 3) used to broadcast silently, (2, 4) to raise a raw
    # InvalidArgumentError eagerly.
    mean = np.zeros((2, 3), "float32")
    log_var = np.zeros(log_var_shape, "float32")
    layer = Sampling(seed=0)
    message = r"same shape.*mean.shape=\(2, 3\), log_var.shape=\(" + ", ".join(
        str(d) for d in log_var_shape
    )
    with pytest.raises(ValueError, match=message):
        layer([mean, log_var])
    with pytest.raises(ValueError, match="same shape"):
        tf.function(lambda m, v: layer([m, v]))(mean, log_var)
    if log_var_shape[1:] != (3,):  # Functional inputs share the batch axis.
        with pytest.raises(ValueError, match="same shape"):
            Sampling()([keras.Input((3,)), keras.Input(log_var_shape[1:])])


def test_shapes_unknown_while_tracing_are_checked_when_the_graph_runs():
    layer = Sampling(seed=0)
    spec = tf.TensorSpec((None, None), tf.float32)
    draw = tf.function(lambda m, v: layer([m, v]), input_signature=[spec, spec])
    assert tuple(draw(tf.zeros((2, 3)), tf.zeros((2, 3))).shape) == (2, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="same shape"):
        draw(tf.zeros((2, 3)), tf.zeros((1, 3)))
