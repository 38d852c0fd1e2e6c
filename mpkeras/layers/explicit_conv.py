"""A Conv2D whose gradients come from the notes' backward formulas (claim C4)."""

import keras
import tensorflow as tf

from mpkeras import validation
from mpkeras.ops.convolution import (
    conv2d_input_gradient,
    conv2d_kernel_gradient,
    correlate2d,
)


def _shape_for_gradient(tensor):
    """Static shape where fully known, else `tf.shape` (dynamic H, W)."""
    if tensor.shape[1:3].is_fully_defined():
        return tuple(tensor.shape)
    return tf.shape(tensor)


def explicit_conv2d(inputs, kernel, bias=None, strides=(1, 1), padding="valid"):
    """`correlate2d(inputs, kernel) + bias` with a hand-written gradient.

    Forward: z^(l) = correlate2d(z^(l-1), W) + b (Keras' Conv2D). Backward,
    through `tf.custom_gradient` instead of autodiff (claim C4):

        dL/dz^(l-1) = delta^(l) correlated ("full") with Rot180(W)
                      -> `conv2d_input_gradient` (one tf.nn.conv2d)
        dL/dW       = delta^(l) correlated with z^(l-1)
                      -> `conv2d_kernel_gradient` (tap by tap, tf.einsum)
        dL/db       = sum of delta^(l) over batch and positions

    Args:
        inputs: `(batch, H, W, C_in)`.
        kernel: `(k_h, k_w, C_in, C_out)`.
        bias: `(C_out,)` or None.
        strides: tuple of 2 positive ints.
        padding: "valid" or "same".
    """
    strides = tuple(strides)

    def forward(z, w, b=None):
        @tf.custom_gradient
        def conv(z, w, *maybe_bias):
            outputs = correlate2d(z, w, mode=padding, strides=strides)
            if maybe_bias:
                outputs = tf.nn.bias_add(outputs, maybe_bias[0])

            def grad(delta):
                grads = [
                    conv2d_input_gradient(delta, w, _shape_for_gradient(z), padding, strides),
                    conv2d_kernel_gradient(delta, z, w.shape, padding, strides),
                ]
                if maybe_bias:
                    grads.append(tf.reduce_sum(delta, axis=[0, 1, 2]))
                return grads

            return outputs, grad

        return conv(z, w) if b is None else conv(z, w, b)

    inputs = tf.convert_to_tensor(inputs)
    kernel = tf.convert_to_tensor(kernel)
    if bias is not None:
        bias = tf.convert_to_tensor(bias)
    return forward(inputs, kernel, bias)


@keras.saving.register_keras_serializable(package="mpkeras")
class ExplicitConv2D(keras.layers.Conv2D):
    """2-D convolution layer trained with the notes' backward formulas.

    A drop-in replacement for `keras.layers.Conv2D` (same arguments, weights,
    outputs, saved configuration fields) whose gradients are not produced
    by autodiff of the convolution but by the formulas of the notes (section
    2.2, claim C4), wired in with `tf.custom_gradient`. With
    z^(l) = W star z^(l-1) + b (Keras' convolution is a correlation) and
    delta^(l) = dL/dz^(l):

        delta^(l-1) = delta^(l) correlated ("full") with Rot180(W)
                      (channels swapped; stride s: delta dilated by s first)
        dL/dW       = delta^(l) correlated with z^(l-1)  (summed over the batch)
        dL/db       = sum_{batch, i, j} delta^(l)

    The input gradient's "full" correlation is one `tf.nn.conv2d` (which is
    a correlation) in `mpkeras.ops.conv2d_input_gradient`; the kernel
    gradient's correlation is evaluated tap by tap (one `tf.einsum` matrix
    product per kernel position) in `mpkeras.ops.conv2d_kernel_gradient`. Neither uses
    autodiff or TensorFlow's conv2d_backprop ops; the activation's
    derivative is left to autodiff. The gradients equal Conv2D's autodiff gradients to
    float32 precision.

    Args:
        filters: number of output channels C_out.
        kernel_size: int or tuple of 2.
        strides: int or tuple of 2, positive.
        padding: "valid" or "same".
        activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint: as `keras.layers.Conv2D`.
        **kwargs: base layer arguments (`name`, `dtype`, ...). Only
            `data_format="channels_last"`, `dilation_rate=1` and `groups=1`
            are supported (the notes' layer).

    Input shape:
        `(batch, height, width, channels)`.

    Output shape:
        `(batch, new_height, new_width, filters)`, as Conv2D.

    Example:

    >>> layer = ExplicitConv2D(4, 3, padding="same", activation="relu")
    >>> layer(np.zeros((2, 8, 8, 1))).shape
    TensorShape([2, 8, 8, 4])
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        groups=1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            groups=groups,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
        # Keras has checked the values themselves (e.g. strides > 0); these
        # are what the notes' backward formulas do not cover.
        if self.data_format != "channels_last":
            raise validation.invalid(
                "data_format",
                "'channels_last' (ExplicitConv2D supports no other)",
                self.data_format,
            )
        if tuple(self.dilation_rate) != (1, 1):
            raise validation.invalid(
                "dilation_rate",
                "1 (the notes' layer; ExplicitConv2D supports no other)",
                dilation_rate,
            )
        if self.groups != 1:
            raise validation.invalid("groups", "1 (ExplicitConv2D supports no other)", groups)

    def call(self, inputs):
        outputs = explicit_conv2d(
            inputs,
            self.kernel,
            self.bias if self.use_bias else None,
            strides=self.strides,
            padding=self.padding,
        )
        if self.activation is not None:
            return self.activation(outputs)
        return outputs
