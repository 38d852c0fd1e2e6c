"""Gradient clipping by norm (notes section 4.3, claim R5)."""

import numbers

import tensorflow as tf


def clip_gradient_norm(gradients, threshold):
    """The notes' clipping rule: rescale g to norm T when ||g|| > T.

    The notes' update (section 4.3, claim R5) is

        theta <- theta - gamma g                 if ||g|| <= T
        theta <- theta - gamma T g / ||g||       otherwise,

    so the step uses `clip(g) = g * T / max(||g||, T)`, which this function
    returns. `||g||` is the norm of all gradients together (the global
    norm, sqrt of the sum of squares over every tensor), as when g is the
    gradient with respect to the vector of all parameters theta. This is
    exactly what a Keras optimizer applies with `global_clipnorm=T`
    (`clipnorm=T` clips each tensor separately instead); train with that,
    this function states the rule and is what the tests compare it to.

    Args:
        gradients: a tensor or a list of tensors (None entries stay None).
        threshold: the threshold T, a positive number.

    Returns:
        `(clipped, norm)`: the clipped gradients in the structure given and
        the global norm ||g|| before clipping.
    """
    if not (
        isinstance(threshold, numbers.Real) and not isinstance(threshold, bool) and threshold > 0
    ):
        raise ValueError(
            "Received an invalid value for `threshold`, expected a positive "
            f"number. Received: threshold={threshold!r}"
        )
    single = tf.is_tensor(gradients) or not isinstance(gradients, (list, tuple))
    tensors = [gradients] if single else list(gradients)
    clipped, norm = tf.clip_by_global_norm(tensors, float(threshold))
    return (clipped[0] if single else clipped), norm
