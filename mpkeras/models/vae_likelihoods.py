"""p(x | z): the VAE decoder's output read as a Bernoulli or a Gaussian (claim A4).

The decoder maps z to the parameters of p(x | z), one per value of x, and
the reconstruction term of the ELBO is -log p(x | z) SUMMED over the event
axes (every axis but the batch axis), in nats per example:

- "bernoulli": the decoder outputs probabilities in [0, 1] (Keras's
  convention, `from_logits=False`: a decoder ending in a sigmoid, as in the
  Keras VAE example) or logits (`from_logits=True`: a linear last layer).
  -log p(x | z) is the binary cross-entropy; the targets x must lie in
  [0, 1] (0/1 data gives a true likelihood).
- "gaussian": the decoder outputs the means; the standard deviation is a
  fixed sigma, -log p(x | z) = sum (x - mean)^2 / (2 sigma^2)
  + 0.5 log(2 pi sigma^2).

A Bernoulli decoder ending in a sigmoid (then maybe a Reshape) is read
through its logits, the sigmoid's input, wherever the graph shows them (in
`fit`/`evaluate` unless `run_eagerly`), as Keras's own binary cross-entropy
does, so saturated probabilities never give log(0) or a zero gradient.

Checks that need the data run in the graph (`tf.debugging.Assert`, an
`InvalidArgumentError` naming the fix): Bernoulli targets outside [0, 1]
(un-normalised images) and, with `from_logits=False`, decoder outputs
outside [0, 1] that cannot be probabilities. XLA drops Assert ops, so under
`jit_compile=True` (Keras's "auto" where there is a GPU) only the
trace-time checks (shapes, a visible sigmoid) remain.
"""

import keras
import tensorflow as tf
from keras import ops

from mpkeras.losses import bernoulli_nll, gaussian_nll

LIKELIHOODS = ("bernoulli", "gaussian")


# Ops that keep the order of the elements: a sigmoid's output reshaped (an
# MLP decoder's Dense(sigmoid) + Reshape) or cast (a float32 output layer
# under mixed precision) still has its logits behind it.
_ORDER_PRESERVING_OPS = ("Reshape", "Identity", "Squeeze", "ExpandDims", "Cast")


def logits_behind_sigmoid(tensor):
    """The logits of the sigmoid that produced `tensor` in a graph, else None.

    Keras's binary cross-entropy looks for the same op; here also through
    reshapes. Eager tensors have no op: there the Keras op finds the logits
    of a sigmoid's own output, not of a reshaped one.
    """
    try:
        op = tensor.op
    except AttributeError:  # eager tensors and KerasTensors
        return None
    reshaped = False
    while op is not None and op.type in _ORDER_PRESERVING_OPS and op.inputs:
        op, reshaped = op.inputs[0].op, True
    if op is None or op.type != "Sigmoid" or len(op.inputs) != 1:
        return None
    logits = op.inputs[0]
    return tf.reshape(logits, tf.shape(tensor)) if reshaped else logits


def decoded_mean(params, likelihood, from_logits):
    """The mean of p(x | z): probabilities (Bernoulli) or means (Gaussian)."""
    if likelihood == "bernoulli" and from_logits:
        return ops.sigmoid(params)
    return params


def check_same_shape(target, params):
    """Raise when the decoder's output cannot be compared with the target."""
    target_shape, params_shape = tuple(target.shape), tuple(params.shape)
    if len(target_shape) != len(params_shape) or any(
        a is not None and b is not None and a != b
        for a, b in zip(target_shape[1:], params_shape[1:])
    ):
        raise ValueError(
            "The decoder's output must have the shape of the data it "
            "reconstructs (one parameter of p(x | z) per value of x). "
            f"Received: decoder output shape {params_shape}, data shape "
            f"{target_shape}"
        )


def reconstruction_loss(target, params, likelihood, from_logits=False, sigma=1.0):
    """-log p(target | params) per example, summed over the event axes, float32.

    Args:
        target: the data reconstructed, shape (batch, ...).
        params: the decoder's output, the same shape.
        likelihood: "bernoulli" or "gaussian".
        from_logits: whether a Bernoulli `params` holds logits.
        sigma: the Gaussian's fixed standard deviation.

    Returns:
        A float32 tensor of shape (batch,).
    """
    check_same_shape(target, params)
    target = ops.cast(target, "float32")
    if likelihood == "gaussian":
        return gaussian_nll(target, ops.cast(params, "float32"), sigma=sigma, reduction="none")
    _assert_in_unit_interval(
        target,
        "Bernoulli targets must lie in [0, 1] (pixel intensities as "
        "probabilities). Normalise the data first (e.g. x / 255 for 8-bit "
        "images), or use likelihood='gaussian'.",
    )
    logits = logits_behind_sigmoid(params)
    if from_logits:
        if logits is not None:
            raise ValueError(
                "The decoder's output comes from a sigmoid, so it holds "
                "probabilities, but `from_logits=True` reads it as logits: "
                "the likelihood would be wrong. Pass `from_logits=False` (the "
                "default), or drop the sigmoid so that the decoder outputs logits."
            )
        logits = params
    if logits is not None:
        return bernoulli_nll(
            target, ops.cast(logits, "float32"), from_logits=True, reduction="none"
        )
    _assert_in_unit_interval(
        params,
        "With `from_logits=False` (the default) a Bernoulli decoder must "
        "output probabilities in [0, 1] (e.g. end in a sigmoid). Pass "
        "`from_logits=True` if the decoder outputs logits.",
    )
    # Keras's op finds the logits of an eager sigmoid output, else clips to
    # [eps, 1 - eps] exactly as `bernoulli_nll` does.
    values = keras.ops.binary_crossentropy(target, ops.cast(params, "float32"))
    return ops.sum(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


def _assert_in_unit_interval(values, message):
    low, high = ops.min(values), ops.max(values)
    tf.debugging.Assert(
        ops.logical_and(low >= 0, high <= 1),
        [message, "Received: min and max", low, high],
    )
