"""The reparameterisation trick of the VAE (claim A4)."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from mpkeras import validation


@keras.saving.register_keras_serializable(package="mpkeras")
class Sampling(keras.layers.Layer):
    """Draw z ~ N(mean, diag(exp(log_var))) by the reparameterisation trick.

    The notes' VAE encoder outputs the mean and the (log-)variance of
    q(z | x); sampling z from it is written as a deterministic function of
    the encoder outputs and independent noise (claim A4):

        z = mean + exp(0.5 * log_var) * eps,        eps ~ N(0, I)

    so the gradient of any function of z reaches `mean` and `log_var`
    (dz/dmean = 1, dz/dlog_var = 0.5 * exp(0.5 * log_var) * eps) while the
    randomness sits in eps, which has no parameters. eps comes from
    `keras.random.normal` with a `keras.random.SeedGenerator`, so a seeded
    layer gives the same sequence of draws on every run.

    Args:
        seed: int or None; seeds the layer's `SeedGenerator`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a list `[mean, log_var]` of two tensors of the same shape.
            Shapes are compared before anything is drawn: a mismatch raises
            a ValueError eagerly, in a functional model and in a traced
            graph alike (no silent broadcasting of a `(batch, 1)` log_var).
            Dimensions unknown while tracing are compared when the graph
            runs (an `InvalidArgumentError` with the same message).

    Input shape:
        Two tensors of shape `(batch, ..., latent_dim)`.

    Output shape:
        The shape of `mean`.

    Example:

    >>> mean = keras.Input((2,))
    >>> log_var = keras.Input((2,))
    >>> z = Sampling(seed=0)([mean, log_var])
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and not validation.is_int(seed):
            raise validation.invalid("seed", "an integer or None", seed)
        self.seed = None if seed is None else int(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _check_shapes(self, input_shape):
        if (
            not isinstance(input_shape, (list, tuple))
            or len(input_shape) != 2
            or (not isinstance(input_shape[0], (list, tuple)))
        ):
            raise ValueError(
                "`Sampling` expects a list `[mean, log_var]` of two tensors. "
                f"Received: input_shape={input_shape}"
            )
        mean_shape, log_var_shape = (tuple(s) for s in input_shape)
        # Every axis, the batch axis included: z = mean + exp(log_var / 2) eps
        # would broadcast a (batch, 1) log_var (or a batch of 1) silently.
        if len(mean_shape) != len(log_var_shape) or any(
            a is not None and b is not None and a != b for a, b in zip(mean_shape, log_var_shape)
        ):
            raise ValueError(_mismatch(mean_shape, log_var_shape))
        return mean_shape

    def build(self, input_shape):
        self._check_shapes(input_shape)
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(
                "`Sampling` expects a list `[mean, log_var]` of two tensors. "
                f"Received: inputs={inputs!r}"
            )
        mean, log_var = inputs
        mean_shape, log_var_shape = tuple(mean.shape), tuple(log_var.shape)
        self._check_shapes([mean_shape, log_var_shape])
        if None in mean_shape or None in log_var_shape:
            # Axes unknown while tracing: compare them when the graph runs.
            tf.debugging.assert_equal(
                tf.shape(mean),
                tf.shape(log_var),
                message=_mismatch(mean_shape, log_var_shape),
            )
        eps = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def compute_output_shape(self, input_shape):
        return self._check_shapes(input_shape)

    # Keras leaves seed-generator states out of saved weights; saving it here
    # makes a reloaded (or resumed) model draw the same eps as the original,
    # so a `.keras` round trip reproduces a sampled ELBO exactly.
    def save_own_variables(self, store):
        super().save_own_variables(store)
        store["seed_state"] = np.asarray(self.seed_generator.state.numpy())

    def load_own_variables(self, store):
        if "seed_state" in store:
            self.seed_generator.state.assign(store["seed_state"][...])
        own = {k: store[k] for k in store.keys() if k != "seed_state"}
        super().load_own_variables(own)

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def _mismatch(mean_shape, log_var_shape):
    return (
        "`Sampling` expects `mean` and `log_var` of the same shape. "
        f"Received: mean.shape={mean_shape}, log_var.shape={log_var_shape}"
    )
