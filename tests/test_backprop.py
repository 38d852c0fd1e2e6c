"""N5: backprop = chain rule + dynamic programming; gradient descent step."""

import keras
import numpy as np
import tensorflow as tf

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.losses import bernoulli_nll
from mpkeras.models import build_mlp

RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 3))
Y = RNG.integers(0, 2, size=(5, 1)).astype(np.float64)


def small_mlp(hidden=(4,)):
    model = build_mlp((3,), hidden=hidden, activation="tanh", output="sigmoid", dtype="float64")
    rng = np.random.default_rng(1)
    for variable in model.trainable_variables:  # non-zero biases too
        variable.assign(rng.normal(scale=0.7, size=variable.shape))
    return model


def loss_of(model):
    return bernoulli_nll(Y, model(X), reduction="sum")


def tape_gradients(model):
    with tf.GradientTape() as tape:
        loss = loss_of(model)
    return [np.asarray(g) for g in tape.gradient(loss, model.trainable_variables)]


def test_N5_gradients_match_central_finite_differences():
    model = small_mlp(hidden=(4, 3))
    gradients = tape_gradients(model)
    h = 1e-6
    for variable, gradient in zip(model.trainable_variables, gradients):
        values = np.asarray(variable).copy()
        numeric = np.zeros_like(values)
        for index in np.ndindex(values.shape):
            for sign in (1, -1):
                shifted = values.copy()
                shifted[index] += sign * h
                variable.assign(shifted)
                numeric[index] += sign * float(loss_of(model)) / (2 * h)
            variable.assign(values)
        # Central differences in float64: truncation O(h^2), rounding
        # O(eps / h) ~ 1e-10.
        np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-8)


def test_N5_tape_equals_handwritten_backprop():
    model = small_mlp(hidden=(4,))
    w1, b1, w2, b2 = [np.asarray(v) for v in model.trainable_variables]
    # Forward pass, keeping every intermediate (the DP table).
    a1 = X @ w1 + b1
    z1 = np.tanh(a1)
    a2 = z1 @ w2 + b2
    p = 1 / (1 + np.exp(-a2))
    # Backward pass: each delta is computed once and reused by the layer
    # below (dynamic programming); each step is one chain-rule factor.
    delta2 = p - Y  # d(-log Ber(y | sigmoid(a))) / da = sigmoid(a) - y
    grad_w2 = z1.T @ delta2
    grad_b2 = delta2.sum(axis=0)
    delta1 = (delta2 @ w2.T) * (1 - z1**2)  # tanh' = 1 - tanh^2
    grad_w1 = X.T @ delta1
    grad_b1 = delta1.sum(axis=0)
    for ours, reference in zip(tape_gradients(model), [grad_w1, grad_b1, grad_w2, grad_b2]):
        np.testing.assert_allclose(ours, reference, rtol=1e-10, atol=1e-12)


def test_N5_gradient_descent_step():
    # theta <- theta - eta grad L: one SGD step of Keras is exactly this.
    model = small_mlp()
    eta = 0.125  # exact in float32, the dtype of the optimizer's learning rate
    loss_before = float(loss_of(model))
    before = [np.asarray(v).copy() for v in model.trainable_variables]
    gradients = tape_gradients(model)
    optimizer = keras.optimizers.SGD(learning_rate=eta)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    for variable, theta, gradient in zip(model.trainable_variables, before, gradients):
        np.testing.assert_allclose(np.asarray(variable), theta - eta * gradient, rtol=1e-12)
    # A small enough step decreases the loss (-grad is a descent direction).
    assert float(loss_of(model)) < loss_before
