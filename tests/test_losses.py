"""N3: losses are negative log-likelihoods; A4: the Gaussian KL formula."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.losses import (
    BernoulliNLL,
    GaussianNLL,
    LaplaceNLL,
    bernoulli_nll,
    gaussian_kl,
    gaussian_nll,
    laplace_nll,
)

RNG = np.random.default_rng(0)
Y01 = RNG.integers(0, 2, size=(6, 4)).astype(np.float32)
P = RNG.uniform(0.02, 0.98, size=(6, 4)).astype(np.float32)
Y = RNG.normal(size=(6, 4)).astype(np.float32)
MU = RNG.normal(size=(6, 4)).astype(np.float32)


def test_N3_bernoulli_nll_is_binary_cross_entropy():
    # Per element: -y log p - (1 - y) log(1 - p).
    expected = -(Y01 * np.log(P) + (1 - Y01) * np.log(1 - P))
    np.testing.assert_allclose(
        bernoulli_nll(Y01, P, reduction="none", axis=()), expected, rtol=1e-5
    )
    # Keras averages over the last axis; the likelihood sums over it.
    keras_bce = np.asarray(keras.losses.binary_crossentropy(Y01, P))
    per_example = np.asarray(bernoulli_nll(Y01, P, reduction="none"))
    np.testing.assert_allclose(per_example, 4 * keras_bce, rtol=1e-5)
    np.testing.assert_allclose(
        bernoulli_nll(Y01[:, :1], P[:, :1], reduction="none"),
        keras.losses.binary_crossentropy(Y01[:, :1], P[:, :1]),
        rtol=1e-6,
    )
    np.testing.assert_allclose(bernoulli_nll(Y01, P), per_example.mean(), rtol=1e-6)
    np.testing.assert_allclose(bernoulli_nll(Y01, P, reduction="sum"), per_example.sum(), rtol=1e-6)
    # And it is the Bernoulli log-pmf.
    np.testing.assert_allclose(
        bernoulli_nll(Y01, P, reduction="none", axis=()),
        -stats.bernoulli.logpmf(Y01, P),
        rtol=1e-5,
    )


def test_N3_bernoulli_logits_path_is_stable_and_equal():
    logits = np.log(P) - np.log1p(-P)
    np.testing.assert_allclose(
        bernoulli_nll(Y01, logits, from_logits=True, reduction="none"),
        bernoulli_nll(Y01, P, reduction="none"),
        rtol=1e-4,
    )
    # Extreme logits: sigmoid rounds to 0/1 in float32, the logits path
    # still gives the exact answer (softplus(100) = 100) and finite gradients.
    z = tf.constant([[100.0, -100.0]])
    y = tf.constant([[0.0, 1.0]])
    with tf.GradientTape() as tape:
        tape.watch(z)
        value = bernoulli_nll(y, z, from_logits=True, reduction="sum")
    np.testing.assert_allclose(value, 200.0, rtol=1e-6)
    grad = tape.gradient(value, z)
    np.testing.assert_allclose(grad, [[1.0, -1.0]], atol=1e-6)
    np.testing.assert_allclose(
        bernoulli_nll([[1.0]], [[0.0]], from_logits=True), math.log(2.0), rtol=1e-6
    )


def test_N3_gaussian_nll_is_mse_up_to_constants():
    for sigma in (1.0, 0.5, 2.0):
        # Per element: (y - mu)^2 / (2 sigma^2) + 0.5 log(2 pi sigma^2).
        expected = (Y - MU) ** 2 / (2 * sigma**2) + 0.5 * np.log(2 * np.pi * sigma**2)
        values = gaussian_nll(Y, MU, sigma=sigma, reduction="none", axis=())
        np.testing.assert_allclose(values, expected, rtol=1e-5)
        np.testing.assert_allclose(
            values, -stats.norm.logpdf(Y, loc=MU, scale=sigma), rtol=1e-5, atol=1e-6
        )
        # Mean over all elements = MSE / (2 sigma^2) + constant.
        mse = float(keras.losses.MeanSquaredError()(Y, MU))
        np.testing.assert_allclose(
            np.mean(values),
            mse / (2 * sigma**2) + 0.5 * math.log(2 * math.pi * sigma**2),
            rtol=1e-5,
        )
    # log_var parametrisation: same value for log_var = log sigma^2.
    np.testing.assert_allclose(
        gaussian_nll(Y, MU, log_var=np.full_like(Y, math.log(0.25)), reduction="none"),
        gaussian_nll(Y, MU, sigma=0.5, reduction="none"),
        rtol=1e-5,
    )
    # Default: sigma = 1.
    np.testing.assert_allclose(gaussian_nll(Y, MU), gaussian_nll(Y, MU, sigma=1.0), rtol=1e-7)


def test_N3_laplace_nll_is_l1_up_to_constants():
    for scale in (1.0, 0.3):
        expected = np.abs(Y - MU) / scale + np.log(2 * scale)
        values = laplace_nll(Y, MU, scale=scale, reduction="none", axis=())
        np.testing.assert_allclose(values, expected, rtol=1e-5)
        np.testing.assert_allclose(
            values, -stats.laplace.logpdf(Y, loc=MU, scale=scale), rtol=1e-5, atol=1e-6
        )
        mae = float(keras.losses.MeanAbsoluteError()(Y, MU))
        np.testing.assert_allclose(np.mean(values), mae / scale + math.log(2 * scale), rtol=1e-5)


def test_A4_gaussian_kl_formula_and_monte_carlo():
    mean = RNG.normal(size=(3, 2)).astype(np.float64)
    log_var = RNG.normal(scale=0.5, size=(3, 2)).astype(np.float64)
    expected = 0.5 * np.sum(np.exp(log_var) + mean**2 - 1 - log_var, axis=1)
    np.testing.assert_allclose(gaussian_kl(mean, log_var, reduction="none"), expected, rtol=1e-12)
    # Monte Carlo: E_q[log q(z) - log p(z)].
    rng = np.random.default_rng(1)
    std = np.exp(0.5 * log_var)
    z = mean + std * rng.normal(size=(200_000, 3, 2))
    log_q = stats.norm.logpdf(z, mean, std).sum(-1)
    log_p = stats.norm.logpdf(z).sum(-1)
    np.testing.assert_allclose((log_q - log_p).mean(0), expected, rtol=0.03, atol=0.01)
    # Non-negative, zero exactly at the prior.
    assert float(gaussian_kl(np.zeros((2, 3)), np.zeros((2, 3)), reduction="sum")) == 0.0
    assert np.all(np.asarray(gaussian_kl(mean, log_var, reduction="none")) >= 0)


def test_event_axes_and_reductions():
    y = RNG.normal(size=(2, 3, 4)).astype(np.float32)
    mu = np.zeros_like(y)
    per_element = np.asarray(gaussian_nll(y, mu, reduction="none", axis=()))
    assert per_element.shape == (2, 3, 4)
    per_example = np.asarray(gaussian_nll(y, mu, reduction="none"))
    np.testing.assert_allclose(per_example, per_element.sum(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(
        gaussian_nll(y, mu, reduction="none", axis=-1), per_element.sum(-1), rtol=1e-6
    )
    np.testing.assert_allclose(gaussian_nll(y, mu), per_example.mean(), rtol=1e-6)
    # Rank-1 input: no event axes, one value per example.
    assert np.asarray(laplace_nll(y[:, 0, 0], mu[:, 0, 0], reduction="none")).shape == (2,)


def test_losses_work_in_graph_mode_and_float64():
    @tf.function
    def total(y, p):
        return bernoulli_nll(y, p) + gaussian_kl(p, p)

    value = total(tf.constant(Y01), tf.constant(P))
    np.testing.assert_allclose(value, bernoulli_nll(Y01, P) + gaussian_kl(P, P), rtol=1e-6)
    assert gaussian_nll(Y.astype(np.float64), MU.astype(np.float64)).dtype == tf.float64
    # Integer labels are cast to the prediction's dtype.
    assert bernoulli_nll(Y01.astype(np.int32), P).dtype == tf.float32


@pytest.mark.parametrize(
    "loss, args",
    [
        (bernoulli_nll, (Y01, P)),
        (gaussian_nll, (Y, MU)),
        (laplace_nll, (Y, MU)),
        (gaussian_kl, (MU, Y)),
    ],
)
def test_bad_reduction_raises(loss, args):
    with pytest.raises(
        ValueError,
        match=r"Received an invalid value for `reduction`, expected one of \('mean', 'sum', "
        r"'none'\)\. Received: reduction='avg'",
    ):
        loss(*args, reduction="avg")


@pytest.mark.parametrize("loss, args", [(bernoulli_nll, (Y01, P)), (gaussian_kl, (MU, Y))])
def test_bad_axis_of_a_function_raises(loss, args):
    # Used to reach ops.sum with the characters of the string as axes.
    with pytest.raises(
        ValueError,
        match=r"`axis`, expected None, an integer or a tuple of "
        r"integers\. Received: axis='last'",
    ):
        loss(*args, axis="last")


def test_bad_scale_arguments_raise():
    with pytest.raises(
        ValueError,
        match=r"`sigma`, expected a positive number\. Received: "
        r"sigma=0",
    ):
        gaussian_nll(Y, MU, sigma=0)
    # NumPy scalars are numbers too (a float32 zero used to give inf/NaN losses).
    for bad in (np.float32(0.0), np.float64(-1.0), float("nan")):
        with pytest.raises(ValueError, match=r"`sigma`, expected a positive number"):
            gaussian_nll(Y, MU, sigma=bad)
        with pytest.raises(ValueError, match=r"`scale`, expected a positive number"):
            laplace_nll(Y, MU, scale=bad)
    with pytest.raises(ValueError, match="either `sigma` or `log_var`"):
        gaussian_nll(Y, MU, sigma=2.0, log_var=np.zeros_like(Y))
    with pytest.raises(ValueError, match="Received: scale=-1"):
        laplace_nll(Y, MU, scale=-1)


# --- Loss classes and serialisation -----------------------------------------

W = RNG.uniform(0.0, 2.0, size=(6,)).astype(np.float32)
W[1] = 0.0  # a dropped example


@pytest.mark.parametrize(
    "loss, function, args",
    [
        (BernoulliNLL(), bernoulli_nll, (Y01, P)),
        (
            BernoulliNLL(from_logits=True),
            lambda y, z, **k: bernoulli_nll(y, z, from_logits=True, **k),
            (Y01, MU),
        ),
        (GaussianNLL(sigma=0.5), lambda y, m, **k: gaussian_nll(y, m, sigma=0.5, **k), (Y, MU)),
        (LaplaceNLL(scale=0.3), lambda y, m, **k: laplace_nll(y, m, scale=0.3, **k), (Y, MU)),
    ],
)
def test_N3_loss_classes_give_the_functions_per_example_values(loss, function, args):
    per_example = np.asarray(function(*args, reduction="none"))
    assert per_example.shape == (6,)
    config = {**loss.get_config(), "reduction": "none"}
    np.testing.assert_allclose(type(loss).from_config(config)(*args), per_example, rtol=1e-6)
    # Default reduction: the (weighted) mean over examples, as in Keras.
    np.testing.assert_allclose(loss(*args), per_example.mean(), rtol=1e-6)
    np.testing.assert_allclose(
        loss(*args, sample_weight=W), np.sum(W * per_example) / len(W), rtol=1e-5
    )
    # axis=-1 on rank-3 values sums the last axis only.
    y3, p3 = (np.stack([a, a]) for a in args)
    values = type(loss).from_config({**config, "axis": -1})(y3, p3)
    assert tuple(values.shape) == (2, 6)


@pytest.mark.parametrize(
    "reduction", ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]
)
@pytest.mark.parametrize("from_logits", [False, True])
def test_N3_bernoulli_class_weights_like_keras_binary_crossentropy(reduction, from_logits):
    pred = np.log(P) - np.log1p(-P) if from_logits else P
    ours = BernoulliNLL(from_logits=from_logits, reduction=reduction)
    keras_bce = keras.losses.BinaryCrossentropy(from_logits=from_logits, reduction=reduction)
    # One output per example: the same loss, weights and reduction included.
    for weights in (None, W, W[:, None]):
        np.testing.assert_allclose(
            ours(Y01[:, :1], pred[:, :1], sample_weight=weights),
            keras_bce(Y01[:, :1], pred[:, :1], sample_weight=weights),
            rtol=1e-5,
        )
    # Four outputs: Keras averages them, the likelihood sums them.
    np.testing.assert_allclose(
        ours(Y01, pred, sample_weight=W),
        4 * np.asarray(keras_bce(Y01, pred, sample_weight=W)),
        rtol=1e-5,
    )


def _tiny_model(output_activation=None, units=4):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(units, activation=output_activation)(inputs)
    return keras.Model(inputs, outputs)


def test_N3_weighted_fit_with_bernoulli_nll_equals_binary_crossentropy():
    trained = []
    for loss in (BernoulliNLL(from_logits=True), keras.losses.BinaryCrossentropy(from_logits=True)):
        model = _tiny_model(units=1)
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss=loss)
        model.fit(Y, Y01[:, :1], sample_weight=W, batch_size=3, epochs=2, shuffle=False, verbose=0)
        trained.append(model.get_weights())
    for ours, reference in zip(*trained):
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "loss, targets, activation",
    [
        (bernoulli_nll, Y01, "sigmoid"),
        (gaussian_nll, Y, None),
        (laplace_nll, Y, None),
        (BernoulliNLL(from_logits=True), Y01, None),
        (GaussianNLL(sigma=0.5, axis=[1]), Y, None),
        (LaplaceNLL(scale=2.0, reduction="sum"), Y, None),
    ],
    ids=[
        "bernoulli_nll",
        "gaussian_nll",
        "laplace_nll",
        "BernoulliNLL",
        "GaussianNLL",
        "LaplaceNLL",
    ],
)
def test_models_compiled_with_each_loss_save_and_reload(tmp_path, loss, targets, activation):
    model = _tiny_model(activation)
    model.compile(optimizer="adam", loss=loss)
    weights = W if isinstance(loss, keras.losses.Loss) else None
    model.fit(Y, targets, sample_weight=weights, batch_size=3, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(reloaded.predict(Y, verbose=0), model.predict(Y, verbose=0))
    if isinstance(loss, keras.losses.Loss):
        assert type(reloaded.loss) is type(loss)
        assert reloaded.loss.get_config() == loss.get_config()
    else:
        assert reloaded.loss is loss
    np.testing.assert_allclose(
        reloaded.evaluate(Y, targets, verbose=0), model.evaluate(Y, targets, verbose=0), rtol=1e-6
    )
    # Training goes on from the restored optimizer state.
    reloaded.fit(Y, targets, epochs=1, verbose=0)


@pytest.mark.parametrize("function", [bernoulli_nll, gaussian_nll, laplace_nll, gaussian_kl])
def test_every_loss_function_is_registered(function):
    config = keras.saving.serialize_keras_object(function)
    assert config["config"] == f"mpkeras>{function.__name__}"
    assert keras.saving.deserialize_keras_object(config) is function
    assert keras.losses.get(config) is function


def test_loss_classes_reject_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"`sigma`, expected a positive number\. Received: "
        r"sigma=0",
    ):
        GaussianNLL(sigma=0)
    with pytest.raises(ValueError, match="Received: sigma='1'"):
        GaussianNLL(sigma="1")
    with pytest.raises(
        ValueError,
        match=r"`scale`, expected a positive number\. Received: "
        r"scale=-1",
    ):
        LaplaceNLL(scale=-1)
    with pytest.raises(ValueError, match=r"`axis`, expected None, .* Received: axis='last'"):
        BernoulliNLL(axis="last")
    with pytest.raises(ValueError, match="reduction"):
        BernoulliNLL(reduction="avg")
    assert GaussianNLL(sigma=np.float32(0.5)).sigma == 0.5
