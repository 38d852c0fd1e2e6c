"""Losses as negative log-likelihoods, and the Gaussian KL of the VAE.

The notes (section 1.2, claim N3) read every loss as a likelihood: the loss of
a model that predicts the parameters of a distribution over y is
-log p(y | parameters). The Bernoulli gives binary cross-entropy, the Gaussian
gives the squared error (up to constants), the Laplace gives the absolute
error (up to constants). `gaussian_kl` is the closed-form KL term of the VAE
ELBO (claim A4). `SummedOverSteps` is the recurrent network's sequence loss
L = sum_t l^(t) (section 4, claim R1).

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

One module, over 400 lines, because the functions and the classes are one
concept (each loss once, in both of Keras's forms) and share the conventions
above and their helpers; about half of it is the formulas' docstrings.
"""

import math
import numbers

import keras
import numpy as np
from keras import ops

from mpkeras import validation

_REDUCTIONS = ("mean", "sum", "none")
_LOG_2PI = math.log(2.0 * math.pi)


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


def _check_axis(axis):
    if axis is None or validation.is_int(axis):
        return axis
    if isinstance(axis, (list, tuple)) and all(validation.is_int(a) for a in axis):
        return tuple(int(a) for a in axis)
    raise validation.invalid("axis", "None, an integer or a tuple of integers", axis)


def _reduce(values, reduction, axis):
    """Sum `values` over the event axes, then reduce over the batch axes."""
    ndim = len(values.shape)
    axis = _check_axis(axis)
    if axis is None:
        axis = tuple(range(1, ndim))
    elif validation.is_int(axis):
        axis = (axis,)
    if axis:
        values = ops.sum(values, axis=axis)
    if reduction == "mean":
        return ops.mean(values)
    if reduction == "sum":
        return ops.sum(values)
    return values


def _check_positive_number(value, name):
    # Only numbers can be checked without running the graph; tensors (e.g. a
    # learned scale) are the caller's responsibility.
    if isinstance(value, numbers.Number):
        validation.positive_number(value, name)


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
    reduction = validation.one_of(reduction, "reduction", _REDUCTIONS)
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
def gaussian_nll(y_true, mean, sigma=None, log_var=None, reduction="mean", axis=None):
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
    reduction = validation.one_of(reduction, "reduction", _REDUCTIONS)
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
        values = squared / (2.0 * variance) + 0.5 * (_LOG_2PI + ops.log(variance))
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
    reduction = validation.one_of(reduction, "reduction", _REDUCTIONS)
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
    reduction = validation.one_of(reduction, "reduction", _REDUCTIONS)
    mean = _as_float(mean)
    log_var = _as_float(log_var, mean.dtype)
    values = 0.5 * (ops.exp(log_var) + ops.square(mean) - 1.0 - log_var)
    return _reduce(values, reduction, axis)


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
        self.sigma = validation.positive_number(sigma, "sigma")

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
        self.scale = validation.positive_number(scale, "scale")

    def call(self, y_true, y_pred):
        return laplace_nll(y_true, y_pred, scale=self.scale, reduction="none", axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package="mpkeras")
class SummedOverSteps(keras.losses.Loss):
    """The notes' sequence loss L = sum_{t=1}^{T} l^(t) (claim R1).

    Wraps a per-step loss l (any Keras loss identifier or instance; it must
    return one value per step, i.e. reduce only the last axis, as
    "mse" or `SparseCategoricalCrossentropy` do on `(batch, T, k)`
    predictions) and sums it over every axis after the batch axis, so each
    example contributes sum_t l^(t). The reduction across the batch is
    Keras's `reduction` (default "sum_over_batch_size": the batch mean of
    the per-sequence sums, T times the per-step mean Keras would report).

    A Keras mask on the predictions (from `Embedding(mask_zero=True)`
    upstream) marks padded steps: they are left out of the sum,
    L = sum_t m_t l^(t).

    Args:
        loss: the per-step loss, e.g. "mse" or
            `keras.losses.SparseCategoricalCrossentropy(from_logits=True)`.
        reduction, name, dtype: as for `keras.losses.Loss`.
    """

    _step_mask = None

    def __init__(
        self, loss="mse", reduction="sum_over_batch_size", name="summed_over_steps", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        step_loss = keras.losses.get(loss)
        if step_loss is None:
            raise validation.invalid(
                "loss",
                "a per-step Keras loss (a name such as 'mse', a function or a keras.losses.Loss)",
                loss,
            )
        self.step_loss = step_loss

    def __call__(self, y_true, y_pred, sample_weight=None):
        # Keras would multiply the (batch, T) step mask into the (batch,)
        # sums; apply it per step in call() instead, and hand Keras a copy of
        # the predictions without the mask.
        step_mask = getattr(y_pred, "_keras_mask", None)
        if step_mask is None:
            return super().__call__(y_true, y_pred, sample_weight)
        self._step_mask = step_mask
        try:
            return super().__call__(y_true, ops.copy(y_pred), sample_weight)
        finally:
            self._step_mask = None

    def call(self, y_true, y_pred):
        if isinstance(self.step_loss, keras.losses.Loss):
            per_step = self.step_loss.call(y_true, y_pred)
        else:
            per_step = self.step_loss(y_true, y_pred)
        if self._step_mask is not None:
            step_mask = ops.reshape(self._step_mask, ops.shape(per_step))
            per_step = per_step * ops.cast(step_mask, per_step.dtype)
        rank = len(per_step.shape)
        if rank < 2:
            return per_step
        return ops.sum(per_step, axis=tuple(range(1, rank)))

    def get_config(self):
        return {
            **super().get_config(),
            "loss": keras.losses.serialize(self.step_loss),
        }
