"""R5: the notes' clipping rule, and Keras's global_clipnorm applies exactly it."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.ops import clip_gradient_norm


def notes_rule(theta, g, gamma, threshold):
    """theta - gamma g if ||g|| <= T, else theta - gamma T g / ||g|| (one flat vector)."""
    norm = np.linalg.norm(g)
    if norm <= threshold:
        return theta - gamma * g
    return theta - gamma * threshold * g / norm


@pytest.mark.parametrize("threshold", [0.5, 3.0, 100.0])
def test_R5_rule_on_a_list_is_the_global_norm_formula(threshold):
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=(3, 4)), rng.normal(size=(4,))]
    clipped, norm = clip_gradient_norm([tf.constant(g) for g in grads], threshold)
    flat = np.concatenate([g.ravel() for g in grads])
    np.testing.assert_allclose(float(norm), np.linalg.norm(flat), rtol=1e-12)
    expected = notes_rule(np.zeros_like(flat), -flat, 1.0, threshold)  # = clip(g)
    got = np.concatenate([np.asarray(c).ravel() for c in clipped])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert np.linalg.norm(got) <= threshold * (1 + 1e-12)


def test_single_tensor_and_below_threshold_is_unchanged():
    g = tf.constant([3.0, 4.0])  # norm 5
    clipped, norm = clip_gradient_norm(g, 10.0)
    np.testing.assert_array_equal(np.asarray(clipped), [3.0, 4.0])
    assert float(norm) == 5.0
    clipped, _ = clip_gradient_norm(g, 1.0)
    np.testing.assert_allclose(np.asarray(clipped), [0.6, 0.8], rtol=1e-6)


def test_R5_keras_sgd_with_global_clipnorm_applies_the_notes_rule():
    rng = np.random.default_rng(1)
    thetas = [rng.normal(size=(2, 3)), rng.normal(size=(3,))]
    grads = [10 * rng.normal(size=(2, 3)), 10 * rng.normal(size=(3,))]
    gamma, threshold = 0.125, 2.0  # gamma exact in float32 (the optimizer keeps it so)
    variables = [keras.Variable(t, dtype="float64") for t in thetas]
    optimizer = keras.optimizers.SGD(learning_rate=gamma, global_clipnorm=threshold)
    optimizer.apply_gradients(zip([tf.constant(g) for g in grads], variables))
    flat_theta = np.concatenate([t.ravel() for t in thetas])
    flat_g = np.concatenate([g.ravel() for g in grads])
    expected = notes_rule(flat_theta, flat_g, gamma, threshold)
    got = np.concatenate([np.asarray(v).ravel() for v in variables])
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.mark.parametrize("threshold", [0, -1.0, None, "1"])
def test_bad_threshold(threshold):
    with pytest.raises(ValueError, match="`threshold`"):
        clip_gradient_norm(tf.constant([1.0]), threshold)
