"""N4: MAP with a Gaussian prior on the weights = ridge; uniform prior = MLE.

Model: y_i = x_i^T w + noise, noise ~ N(0, sigma_n^2), prior w ~ N(0, sigma_p^2 I).

    -log p(w | D) = sum_i (y_i - x_i^T w)^2 / (2 sigma_n^2)
                    + ||w||^2 / (2 sigma_p^2) + const
                  = (||y - X w||^2 + lambda ||w||^2) / (2 sigma_n^2) + const,

with lambda = sigma_n^2 / sigma_p^2, so the MAP is the ridge solution
(X^T X + lambda I)^{-1} X^T y. As sigma_p -> infinity the prior flattens,
lambda -> 0 and MAP -> least squares, the MLE.
"""

import keras
import numpy as np
import tensorflow as tf

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.losses import gaussian_nll
from mpkeras.models import build_mlp

SIGMA_NOISE = 0.5
SIGMA_PRIOR = 0.3
LAMBDA = SIGMA_NOISE**2 / SIGMA_PRIOR**2


def regression_data(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    w_true = rng.normal(scale=SIGMA_PRIOR, size=(d, 1))
    y = x @ w_true + rng.normal(scale=SIGMA_NOISE, size=(n, 1))
    return x, y


def ridge(x, y, lam):
    return np.linalg.solve(x.T @ x + lam * np.eye(x.shape[1]), x.T @ y)


def fit_linear_model(x, y, lam):
    """Full-batch gradient descent on MSE + (lambda / n) ||w||^2 with Keras.

    Keras' "mse" averages over the n examples and `L2(c)` adds c ||w||^2, so
    the objective is (||y - X w||^2 + lambda ||w||^2) / n: the ridge
    objective up to a positive factor, with c = lambda / n.
    """
    n = len(x)
    regularizer = keras.regularizers.L2(lam / n) if lam > 0 else None
    model = build_mlp(
        (x.shape[1],),
        hidden=(),
        output="linear",
        use_bias=False,
        kernel_regularizer=regularizer,
        name="linear",
    )
    # Step 1/L for the Hessian (2 / n)(X^T X + lambda I): gradient descent
    # then contracts the error by (1 - 1/condition number) per step.
    curvature = 2 / n * np.linalg.eigvalsh(x.T @ x + lam * np.eye(x.shape[1])).max()
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1 / curvature), loss="mse")
    steps = 300
    dataset = tf.data.Dataset.from_tensors((x.astype(np.float32), y.astype(np.float32))).repeat(
        steps
    )
    model.fit(dataset, epochs=1, verbose=0)
    return np.asarray(model.get_layer("linear_output").kernel, np.float64)


def test_N4_map_gaussian_prior_is_ridge_trained_with_keras():
    x, y = regression_data()
    w_map = fit_linear_model(x, y, LAMBDA)
    w_ridge = ridge(x, y, LAMBDA)
    np.testing.assert_allclose(w_map, w_ridge, atol=1e-3)
    # The prior matters here: MAP is visibly shrunk towards 0 vs least squares.
    w_mle = np.linalg.lstsq(x, y, rcond=None)[0]
    assert np.linalg.norm(w_ridge) < np.linalg.norm(w_mle) - 0.01


def test_N4_uniform_prior_gives_mle_least_squares():
    x, y = regression_data()
    w_mle = np.linalg.lstsq(x, y, rcond=None)[0]
    np.testing.assert_allclose(fit_linear_model(x, y, 0.0), w_mle, atol=1e-3)
    # Prior variance -> infinity: lambda -> 0 and MAP -> MLE.
    gaps = [
        np.abs(ridge(x, y, SIGMA_NOISE**2 / sigma_prior**2) - w_mle).max()
        for sigma_prior in (0.3, 3.0, 30.0, 3000.0)
    ]
    assert all(a > b for a, b in zip(gaps, gaps[1:]))
    assert gaps[-1] < 1e-6


def test_N4_ridge_solution_minimises_the_negative_log_posterior():
    # The same claim stated with the likelihood losses of mpkeras: the
    # gradient of -log p(y | X, w) - log p(w) vanishes at the ridge solution.
    x, y = regression_data()
    x, y = tf.constant(x), tf.constant(y)

    def negative_log_posterior(w):
        likelihood = gaussian_nll(y, tf.matmul(x, w), sigma=SIGMA_NOISE, reduction="sum")
        prior = gaussian_nll(w, tf.zeros_like(w), sigma=SIGMA_PRIOR, reduction="sum")
        return likelihood + prior

    w_ridge = tf.Variable(ridge(x.numpy(), y.numpy(), LAMBDA))
    with tf.GradientTape() as tape:
        value = negative_log_posterior(w_ridge)
    np.testing.assert_allclose(tape.gradient(value, w_ridge), 0.0, atol=1e-10)

    # And it equals the ridge objective / (2 sigma_n^2) up to a constant.
    def ridge_objective(w):
        return float(tf.reduce_sum((y - x @ w) ** 2) + LAMBDA * tf.reduce_sum(w**2))

    other = tf.constant(np.ones((3, 1)))
    np.testing.assert_allclose(
        float(negative_log_posterior(other)) - float(negative_log_posterior(w_ridge)),
        (ridge_objective(other) - ridge_objective(w_ridge)) / (2 * SIGMA_NOISE**2),
        rtol=1e-10,
    )
