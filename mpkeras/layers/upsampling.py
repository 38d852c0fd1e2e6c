"""Bed-of-nails upsampling (claim F1); nearest neighbour is keras.layers.UpSampling2D."""

import keras
import tensorflow as tf

from mpkeras import validation


@keras.saving.register_keras_serializable(package="mpkeras")
class BedOfNails2D(keras.layers.Layer):
    """Bed-of-nails upsampling: each value at the top-left of its block, zeros elsewhere.

    The notes' second upsampling method (Figure 9): with block size (a, b),

        out[a*i + p, b*j + q, c] = x[i, j, c] if p = q = 0, else 0,

    so a 2x2 input [[6, 8], [4, 8]] becomes [[6, 0, 8, 0], [0, 0, 0, 0],
    [4, 0, 8, 0], [0, 0, 0, 0]]. It is max unpooling with every index at the
    window's first cell; nearest neighbour (Figure 8) is
    `keras.layers.UpSampling2D(interpolation="nearest")`. The gradient with
    respect to the input is the upstream gradient at the top-left cells.

    Args:
        size: int or tuple of 2, the block size (a, b). Default 2.
        **kwargs: base layer arguments (name, dtype, ...).

    Call arguments:
        inputs: (batch, height, width, channels), channels last.

    Input shape:
        (batch, height, width, channels); any sizes, also unknown ones.

    Output shape:
        (batch, a * height, b * width, channels).

    Example:

    >>> x = np.array([[6.0, 8.0], [4.0, 8.0]]).reshape(1, 2, 2, 1)
    >>> BedOfNails2D(2)(x)[0, :, :, 0].numpy().tolist()
    [[6.0, 0.0, 8.0, 0.0], [0.0, 0.0, 0.0, 0.0], [4.0, 0.0, 8.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = validation.normalize_tuple(size, 2, "size")
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        inputs = tf.convert_to_tensor(inputs)
        a, b = self.size
        shape = tf.shape(inputs)
        batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
        # (batch, h, 1, w, 1, C) padded with zeros after the singleton axes to
        # (batch, h, a, w, b, C): one pad, then a free reshape.
        expanded = tf.reshape(inputs, [batch, height, 1, width, 1, channels])
        padded = tf.pad(expanded, [[0, 0], [0, 0], [0, a - 1], [0, 0], [0, b - 1], [0, 0]])
        out = tf.reshape(padded, [batch, height * a, width * b, channels])
        out.set_shape(self.compute_output_shape(inputs.shape))
        return out

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        a, b = self.size
        return (
            batch,
            None if height is None else height * a,
            None if width is None else width * b,
            channels,
        )

    def get_config(self):
        return {**super().get_config(), "size": self.size}
