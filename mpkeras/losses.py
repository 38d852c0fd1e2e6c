"""Losses as negative log-likelihoods, and the Gaussian KL of the VAE.

The notes (section 1.2, claim N3) read every loss as a likelihood: the loss of
a model that predicts the parameters of a distribution over y is
-log p(y | parameters). The Bernoulli gives binary cross-entropy, the Gaussian
gives the squared error (up to constants), the Laplace gives the absolute
error (up to constants). `gaussian_kl` is the closed-form KL term of the VAE
ELBO (claim A4).

Conventions shared by every function here:

- The value per element is the exact negative log-density, constants included,
  so that sums of these are true log-likelihoods (needed for the ELBO and for
  importance-weighted log p(x) estimates).
- The value per example sums the elements over the event axes `axis`
  (default: every axis but the first, the batch axis), because the
  log-likelihood of independent coordinates is the sum of theirs.
- `reduction` then acts over the remaining (batch) axes: "mean" (default),
  "sum", or "none" (return the per-example values).

All functions use `keras.ops`, so they work inside `train_step`, in graph mode
and eagerly, and are differentiable. Every function is registered for Keras
serialisation (package "mpkeras"), so a model compiled with
`loss=losses.bernoulli_nll` saves and loads back with
`keras.saving.load_model`.

The `keras.losses.Loss` classes `BernoulliNLL`, `GaussianNLL` and
`LaplaceNLL` compute the same per-example values (summed over the event axes)
and leave weighting and reduction to Keras: `sample_weight` weights each
example and `reduction` works as for `keras.losses.BinaryCrossentropy`
(default "sum_over_batch_size", the weighted mean over the batch). Prefer
them in `compile` when examples carry weights; the functions reduce before
Keras sees the values, so a per-example weight can no longer apply.
"""

import math

import keras
import numpy as np
from keras import ops

_REDUCTIONS = ("mean", "sum", "none")
_LOG_2PI = math.log(2.0 * math.pi)


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(
            "Received an invalid value for `reduction`, expected one of "
            f"{_REDUCTIONS}. Received: reduction={reduction!r}"
        )


def _as_float(x, dtype=None):
    """Tensor of a float dtype: `dtype` if given, else x's own float dtype."""
    if dtype is not None and not ops.is_tensor(x):
        # Through float64 NumPy, so a Python 0.3 cast to float64 stays 0.3
        # (via a float32 tensor it would become 0.30000001).
        return ops.cast(np.asarray(x), dtype)
    x = ops.convert_to_tensor(x)
    if dtype is None:
        dtype = x.dtype
        if not keras.backend.is_float_dtype(dtype):
            dtype = keras.config.floatx()
    return ops.cast(x, dtype)


def _reduce(values, reduction, axis):
    """Sum `values` over the event axes, then reduce over the batch axes."""
    ndim = len(values.shape)
    if axis is None:
        axis = tuple(range(1, ndim))
    elif isinstance(axis, int):
        axis = (axis,)
    else:
        axis = tuple(axis)
    if axis:
        values = ops.sum(values, axis=axis)
    if reduction == "mean":
        return ops.mean(values)
    if reduction == "sum":
        return ops.sum(values)
    return values


def _positive_float(value, name):
    """A Loss class's fixed parameter: a positive Python number, as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive number. Received: {name}={value!r}"
        )
    _check_positive_number(value, name)
    return float(value)


def _check_positive_number(value, name):
    # Only Python numbers can be checked without running the graph; tensors
    # (e.g. a learned scale) are the caller's responsibility.
    if isinstance(value, (int, float)) and not value > 0:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive "
            f"number. Received: {name}={value}"
        )


@keras.saving.register_keras_serializable(package="mpkeras")
def bernoulli_nll(y_true, p, from_logits=False, reduction="mean", axis=None):
    """Negative log-likelihood of y under Bernoulli(p): binary cross-entropy.

    Per element (notes, section 1.2):

        -log Ber(y | p) = -log p^y (1 - p)^(1 - y)
                        = -y log p - (1 - y) log(1 - p)

    With `from_logits=True`, `p` holds logits z (p = sigmoid(z)) and the value
    is computed in the numerically stable form

        max(z, 0) - z y + log(1 + exp(-|z|)),

    which never takes the log of a rounded-to-zero probability. Without
    logits, p is clipped to [eps, 1 - eps] (eps = `keras.config.epsilon()`),
    as Keras' own binary cross-entropy does, so the two agree.

    Unlike `keras.losses.binary_crossentropy`, which *averages* over the last
    axis, the per-example value *sums* over the event axes: it is the
    log-likelihood of all coordinates of the example (e.g. all pixels).

    Args:
        y_true: targets in [0, 1] (0/1 for a true Bernoulli likelihood).
        p: probabilities, or logits if `from_logits=True`; same shape as
            `y_true` (or broadcastable to it).
        from_logits: whether `p` holds logits.
        reduction: "mean" or "sum" over the batch axes, or "none" to return
            the per-example values.
        axis: event axes summed per example; default every axis but the
            first. Use `axis=()` for per-element values.

    Returns:
        A scalar, or the per-example values for `reduction="none"`.

    Example:

    >>> loss = bernoulli_nll([[1.0], [0.0]], [[0.9], [0.2]])
    >>> # (-log 0.9 - log 0.8) / 2 = 0.1643
    """
    _check_reduction(reduction)
    p = _as_float(p)
    y = _as_float(y_true, p.dtype)
    if from_logits:
        z = p
        values = ops.relu(z) - z * y + ops.log1p(ops.exp(-ops.abs(z)))
    else:
        eps = keras.config.epsilon()
        p = ops.clip(p, eps, 1.0 - eps)
        values = -(y * ops.log(p) + (1.0 - y) * ops.log(1.0 - p))
    return _reduce(values, reduction, axis)


@keras.saving.register_keras_serializable(package="mpkeras")
def gaussian_nll(
    y_true, mean, sigma=None, log_var=None, reduction="mean", axis=None
):
    """Negative log-likelihood of y under N(mean, sigma^2): MSE up to constants.

    Per element:

        -log N(y | mu, sigma^2) = (y - mu)^2 / (2 sigma^2) + 0.5 log(2 pi sigma^2)

    so with a fixed sigma, minimising it minimises the squared error (claim
    N3): the value is MSE / (2 sigma^2) plus a constant. Pass either `sigma`
    (the standard deviation: a number or a tensor broadcastable to y) or
    `log_var` = log sigma^2 (the usual output of a network that predicts its
    own variance, which keeps sigma positive without a constraint); then

        -log N(y | mu, exp(log_var)) = 0.5 (log(2 pi) + log_var
                                            + (y - mu)^2 exp(-log_var)).

    Args:
        y_true: targets.
        mean: predicted means, same shape as `y_true`.
        sigma: standard deviation (> 0); default 1.0 when `log_var` is None.
        log_var: log-variance, broadcastable to `y_true`; mutually exclusive
            with `sigma`.
        reduction: "mean" or "sum" over the batch axes, or "none".
        axis: event axes summed per example; default every axis but the first.

    Returns:
        A scalar, or the per-example values for `reduction="none"`.
    """
    _check_reduction(reduction)
    if log_var is not None and sigma is not None:
        raise ValueError(
            "Pass either `sigma` or `log_var`, not both. Received: "
            f"sigma={sigma!r} and a `log_var`."
        )
    mean = _as_float(mean)
    y = _as_float(y_true, mean.dtype)
    squared = ops.square(y - mean)
    if log_var is not None:
        log_var = _as_float(log_var, mean.dtype)
        values = 0.5 * (_LOG_2PI + log_var + squared * ops.exp(-log_var))
    else:
        sigma = 1.0 if sigma is None else sigma
        _check_positive_number(sigma, "sigma")
        sigma = _as_float(sigma, mean.dtype)
        variance = ops.square(sigma)
        values = squared / (2.0 * variance) + 0.5 * (
            _LOG_2PI + ops.log(variance)
        )
    return _reduce(values, reduction, axis)


@keras.saving.register_keras_serializable(package="mpkeras")
def laplace_nll(y_true, loc, scale=1.0, reduction="mean", axis=None):
    """Negative log-likelihood of y under Laplace(loc, scale): L1 up to constants.

    Per element, with the Laplace density p(y) = exp(-|y - mu| / b) / (2 b):

        -log Laplace(y | mu, b) = |y - mu| / b + log(2 b)

    so with a fixed scale b, minimising it minimises the absolute error
    (claim N3).

    Args:
        y_true: targets.
        loc: predicted locations (the median mu), same shape as `y_true`.
        scale: the scale b > 0, a number or a tensor broadcastable to y.
        reduction: "mean" or "sum" over the batch axes, or "none".
        axis: event axes summed per example; default every axis but the first.

    Returns:
        A scalar, or the per-example values for `reduction="none"`.
    """
    _check_reduction(reduction)
    _check_positive_number(scale, "scale")
    loc = _as_float(loc)
    y = _as_float(y_true, loc.dtype)
    scale = _as_float(scale, loc.dtype)
    values = ops.abs(y - loc) / scale + ops.log(2.0 * scale)
    return _reduce(values, reduction, axis)


@keras.saving.register_keras_serializable(package="mpkeras")
def gaussian_kl(mean, log_var, reduction="mean", axis=None):
    """KL(N(mean, diag(exp(log_var))) || N(0, I)), the VAE's KL term.

    Per example, summed over the latent (event) axes:

        KL = 0.5 * sum(exp(log_var) + mean^2 - 1 - log_var)

    It is >= 0, and 0 exactly when mean = 0 and log_var = 0 (claim A4).

    Args:
        mean: the encoder's means, shape (batch, latent_dim, ...).
        log_var: the encoder's log-variances log sigma^2, same shape.
        reduction: "mean" or "sum" over the batch axes, or "none".
        axis: latent axes summed per example; default every axis but the first.

    Returns:
        A scalar, or the per-example values for `reduction="none"`.
    """
    _check_reduction(reduction)
    mean = _as_float(mean)
    log_var = _as_float(log_var, mean.dtype)
    values = 0.5 * (ops.exp(log_var) + ops.square(mean) - 1.0 - log_var)
    return _reduce(values, reduction, axis)


def _check_axis(axis):
    if axis is None or isinstance(axis, int):
        return axis
    if isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis):
        return tuple(axis)
    raise ValueError(
        "Received an invalid value for `axis`, expected None, an integer or a tuple "
        f"of integers. Received: axis={axis!r}"
    )


class _PerExampleNLL(keras.losses.Loss):
    """A negative log-likelihood loss returning one value per example."""

    def __init__(self, axis=None, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.axis = _check_axis(axis)
        # As given (None follows keras.config.floatx() when loaded).
        self._dtype_arg = getattr(dtype, "name", dtype)

    def get_config(self):
        config = super().get_config()
        axis = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        config.update({"axis": axis, "dtype": self._dtype_arg})
        return config


@keras.saving.register_keras_serializable(package="mpkeras")
class BernoulliNLL(_PerExampleNLL):
    """Bernoulli negative log-likelihood (binary cross-entropy), per example.

    Per example, summed over the event axes (see `bernoulli_nll`):

        -log p(y | p) = -sum_j [y_j log p_j + (1 - y_j) log(1 - p_j)]

    For a single output per example this equals
    `keras.losses.BinaryCrossentropy`, `sample_weight` and reduction
    included; with several outputs it is their sum, where Keras takes the
    mean.

    Args:
        from_logits: whether predictions are logits.
        axis: event axes summed per example; default every axis but the first.
        name: the loss name.
        reduction: a Keras reduction ("sum_over_batch_size", "sum", "mean",
            "mean_with_sample_weight", "none" or None).
        dtype: the dtype of the computation; default `keras.config.floatx()`.

    Example:

    >>> model.compile(optimizer="adam", loss=BernoulliNLL(from_logits=True))
    """

    def __init__(
        self,
        from_logits=False,
        axis=None,
        name="bernoulli_nll",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(axis=axis, name=name, reduction=reduction, dtype=dtype)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        return bernoulli_nll(
            y_true, y_pred, from_logits=self.from_logits, reduction="none", axis=self.axis
        )

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits}


@keras.saving.register_keras_serializable(package="mpkeras")
class GaussianNLL(_PerExampleNLL):
    """Gaussian negative log-likelihood with a fixed sigma, per example.

    Per example, summed over the event axes (see `gaussian_nll`):

        -log N(y | mu, sigma^2) = sum_j [(y_j - mu_j)^2 / (2 sigma^2)
                                         + 0.5 log(2 pi sigma^2)]

    so minimising it minimises the squared error (claim N3).

    Args:
        sigma: the standard deviation, a positive number.
        axis: event axes summed per example; default every axis but the first.
        name: the loss name.
        reduction: a Keras reduction.
        dtype: the dtype of the computation.
    """

    def __init__(
        self,
        sigma=1.0,
        axis=None,
        name="gaussian_nll",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(axis=axis, name=name, reduction=reduction, dtype=dtype)
        self.sigma = _positive_float(sigma, "sigma")

    def call(self, y_true, y_pred):
        return gaussian_nll(y_true, y_pred, sigma=self.sigma, reduction="none", axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "sigma": self.sigma}


@keras.saving.register_keras_serializable(package="mpkeras")
class LaplaceNLL(_PerExampleNLL):
    """Laplace negative log-likelihood with a fixed scale, per example.

    Per example, summed over the event axes (see `laplace_nll`):

        -log Laplace(y | mu, b) = sum_j [|y_j - mu_j| / b + log(2 b)]

    so minimising it minimises the absolute error (claim N3).

    Args:
        scale: the scale b, a positive number.
        axis: event axes summed per example; default every axis but the first.
        name: the loss name.
        reduction: a Keras reduction.
        dtype: the dtype of the computation.
    """

    def __init__(
        self,
        scale=1.0,
        axis=None,
        name="laplace_nll",
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(axis=axis, name=name, reduction=reduction, dtype=dtype)
        self.scale = _positive_float(scale, "scale")

    def call(self, y_true, y_pred):
        return laplace_nll(y_true, y_pred, scale=self.scale, reduction="none", axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
