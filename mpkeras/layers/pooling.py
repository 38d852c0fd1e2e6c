"""Max pooling that remembers where each maximum came from, and max unpooling (claim F1).

The notes (chapter 3) upsample a fully convolutional network's features by
max unpooling: every value goes back to the position its maximum had in the
matching max pooling, zeros elsewhere (Figures 7 and 10). Keras has neither
layer; these are thin Keras layers over ``mpkeras.ops.max_pool_with_argmax``
and ``mpkeras.ops.max_unpool`` (the formulas, index convention, checks and
speed are documented there), in 1D, 2D and 3D as PyTorch has
``MaxUnpool1d/2d/3d``. Indices follow ``tf.nn.max_pool_with_argmax``
(``include_batch_in_index=False``), so code written for TensorFlow Addons'
``MaxUnpooling2D`` works unchanged.
"""

import keras
import tensorflow as tf

from mpkeras.ops import argmax_pooling, unpooling
from mpkeras.ops.padding import output_length, pooling_arguments


class _Pooling(keras.layers.Layer):
    """Constructor and config shared by the pooling and unpooling layers."""

    rank = None

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size, self.strides, self.padding = pooling_arguments(
            pool_size, strides, padding, self.rank
        )

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
        }


class _MaxPoolingWithArgmax(_Pooling):
    """Base of MaxPoolingWithArgmax1D/2D/3D: only `rank` differs."""

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(pool_size=pool_size, strides=strides, padding=padding, **kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        return argmax_pooling.pool(
            tf.convert_to_tensor(inputs), self.pool_size, self.strides, self.padding
        )

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for d in range(self.rank):
            if shape[1 + d] is not None:
                shape[1 + d] = output_length(
                    shape[1 + d], self.pool_size[d], self.strides[d], self.padding
                )
        return tuple(shape), tuple(shape)

    def compute_output_spec(self, inputs):
        shape, _ = self.compute_output_shape(inputs.shape)
        return (
            keras.KerasTensor(shape, dtype=self.compute_dtype),
            keras.KerasTensor(shape, dtype="int64"),
        )


class _MaxUnpooling(_Pooling):
    """Base of MaxUnpooling1D/2D/3D: only `rank` differs."""

    def call(self, values, indices, output_size=None):
        return unpooling.unpool(
            tf.convert_to_tensor(values),
            indices,
            self.pool_size,
            self.strides,
            self.padding,
            output_size,
        )

    def compute_output_shape(self, values_shape, indices_shape=None, output_size=None):
        values_shape = tf.TensorShape(values_shape)
        size = unpooling.output_size_of(
            output_size, values_shape, self.pool_size, self.strides, self.padding
        )
        out = values_shape.as_list()[1:-1]
        unpooling.check_geometry(
            size, out, self.pool_size, self.strides, self.padding, values_shape
        )
        return (values_shape[0], *size, values_shape[-1])

    def compute_output_spec(self, values, indices, output_size=None):
        unpooling.check_inputs(
            tf.TensorShape(values.shape),
            tf.TensorShape(indices.shape),
            keras.backend.standardize_dtype(indices.dtype),
            self.rank,
        )
        shape = self.compute_output_shape(values.shape, indices.shape, output_size)
        return keras.KerasTensor(shape, dtype=values.dtype)


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxPoolingWithArgmax1D(_MaxPoolingWithArgmax):
    """Max pooling over 1D windows that also returns where each maximum was.

    z[i] = max { x[i'] : i' in [s*i, s*i + k) } (the notes' max pooling,
    Figure 7), with the index x * C + c of the maximum within its sequence
    (tf.nn.max_pool_with_argmax's convention; ties go to the first maximum).
    `values` equal keras.layers.MaxPooling1D's (a NaN, which Keras skips, wins
    its window here). Feed both outputs to `MaxUnpooling1D` with the same
    arguments to put the maxima back. The gradient is the max-pool backward:
    d z[i] / d x[i'] = 1{i' = i*}.

    Args:
        pool_size: int or tuple of 1, the window size k. Default 2.
        strides: int, tuple of 1 or None (= pool_size), the stride s.
        padding: "valid" or "same" (TensorFlow's: ceil(n / s) outputs, the
            smaller half of the padding before). Padded cells never win.
        **kwargs: base layer arguments (name, dtype, ...).

    Call arguments:
        inputs: (batch, steps, channels).

    Returns:
        (values, indices): pooled values and int64 indices, same shape.

    Input shape:
        (batch, steps, channels); any sizes, also unknown ones.

    Output shape:
        (batch, pooled_steps, channels) for both outputs.

    Example:

    >>> x = np.array([1, 3, 2, 5, 4, 0], dtype="float32").reshape(1, 6, 1)
    >>> values, indices = MaxPoolingWithArgmax1D(2)(x)
    >>> values[0, :, 0].numpy().tolist(), indices[0, :, 0].numpy().tolist()
    ([3.0, 5.0, 4.0], [1, 3, 4])
    """

    rank = 1


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxPoolingWithArgmax2D(_MaxPoolingWithArgmax):
    """Max pooling over 2D windows that also returns where each maximum was.

    z[i, j] = max { x[i', j'] : i' in [s0*i, s0*i + k0), j' in [s1*j, s1*j + k1) }
    (the notes' max pooling, Figure 7), with the index (y * W + x) * C + c of
    the maximum within its image: exactly tf.nn.max_pool_with_argmax's
    (include_batch_in_index=False), ties (the first maximum in row-major
    window order) included. `values` equal keras.layers.MaxPooling2D's (a
    NaN, which Keras skips, wins its window here). Feed both outputs to
    `MaxUnpooling2D` with the same arguments to put the maxima back
    (SegNet-style decoders, claim F1). The gradient is the
    max-pool backward: d z[i, j] / d x[i', j'] = 1{[i', j'] = [i*, j*]}.

    Args:
        pool_size: int or tuple of 2, the window size k. Default 2.
        strides: int, tuple of 2 or None (= pool_size), the stride s.
        padding: "valid" or "same" (TensorFlow's: ceil(n / s) outputs, the
            smaller half of the padding before). Padded cells never win.
        **kwargs: base layer arguments (name, dtype, ...).

    Call arguments:
        inputs: (batch, height, width, channels).

    Returns:
        (values, indices): pooled values and int64 indices, same shape.

    Input shape:
        (batch, height, width, channels); any sizes, also unknown ones.

    Output shape:
        (batch, pooled_height, pooled_width, channels) for both outputs.

    Example:

    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> values, indices = MaxPoolingWithArgmax2D(2)(x)
    >>> values[0, ..., 0].numpy().tolist(), indices[0, ..., 0].numpy().tolist()
    ([[5.0, 7.0], [13.0, 15.0]], [[5, 7], [13, 15]])
    """

    rank = 2


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxPoolingWithArgmax3D(_MaxPoolingWithArgmax):
    """Max pooling over 3D windows that also returns where each maximum was.

    z[i] = max { x[i'] : i' in [s*i, s*i + k) } along depth, height and width
    (the notes' max pooling, Figure 7, in 3D), with the index
    ((z * H + y) * W + x) * C + c of the maximum within its volume
    (tf.nn.max_pool_with_argmax's convention; ties go to the first maximum
    in row-major window order). `values` equal keras.layers.MaxPooling3D's
    (a NaN, which Keras skips, wins its window here). Feed both outputs to
    `MaxUnpooling3D` with the same arguments to put the maxima back. The
    gradient is the max-pool backward: 1{i' = i*}.

    Args:
        pool_size: int or tuple of 3, the window size k. Default 2.
        strides: int, tuple of 3 or None (= pool_size), the stride s.
        padding: "valid" or "same" (TensorFlow's: ceil(n / s) outputs, the
            smaller half of the padding before). Padded cells never win.
        **kwargs: base layer arguments (name, dtype, ...).

    Call arguments:
        inputs: (batch, depth, height, width, channels).

    Returns:
        (values, indices): pooled values and int64 indices, same shape.

    Input shape:
        (batch, depth, height, width, channels); any sizes, also unknown ones.

    Output shape:
        (batch, pooled_depth, pooled_height, pooled_width, channels), both.

    Example:

    >>> x = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype="float32").reshape(1, 2, 2, 2, 1)
    >>> values, indices = MaxPoolingWithArgmax3D(2)(x)
    >>> values.numpy().ravel().tolist(), indices.numpy().ravel().tolist()
    ([9.0], [5])
    """

    rank = 3


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxUnpooling1D(_MaxUnpooling):
    """Max unpooling in 1D: each value back at the position its index names.

    out[b, p, c] = values[b, j, c] if indices[b, j, c] = p * C + c, else 0
    (Figures 7 and 10 of the notes in 1D, claim F1; PyTorch's MaxUnpool1d).
    Use the pool_size, strides and padding of the matching
    `MaxPoolingWithArgmax1D`. Where entries name the same position
    (overlapping windows) the first writes it. An index outside the output
    raises a ValueError that says what to pass.

    Args:
        pool_size: int or tuple of 1, the pooling's window size. Default 2.
        strides: int, tuple of 1 or None (= pool_size).
        padding: "valid" or "same", as in the pooling.
        **kwargs: base layer arguments (name, dtype, ...).

    Call arguments:
        values: (batch, pooled_steps, channels), the pooled (or decoded) values.
        indices: integer tensor of the same shape, the pooling's argmax.
        output_size: the length before pooling: an int tuple (steps,), a full
            shape (batch, steps, channels), a shape tensor, or the tensor
            before pooling itself (its length at run time: use it in a
            functional model of unknown length). Default None:
            (h - 1) * s + k for "valid", h * s for "same".

    Output shape:
        (batch, steps, channels).

    Example:

    >>> x = np.array([1, 3, 2, 5, 4, 0], dtype="float32").reshape(1, 6, 1)
    >>> values, indices = MaxPoolingWithArgmax1D(2)(x)
    >>> MaxUnpooling1D(2)(values, indices, output_size=x)[0, :, 0].numpy().tolist()
    [0.0, 3.0, 0.0, 5.0, 4.0, 0.0]
    """

    rank = 1


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxUnpooling2D(_MaxUnpooling):
    """Max unpooling in 2D: each value back at the position its index names.

    out[b, p, c] = values[b, j, c] if indices[b, j, c] = p * C + c, else 0,
    with p = y * W + x the row-major position in the output image (Figures 7
    and 10 of the notes, claim F1). Indices as tf.nn.max_pool_with_argmax
    gives them, so code and test vectors of TensorFlow Addons'
    MaxUnpooling2D work unchanged. Use the pool_size, strides and padding of
    the matching `MaxPoolingWithArgmax2D`. Where entries name the same
    position (overlapping windows) the first writes it. An index outside the
    output, or an output_size that does not pool to the values' size,
    raises a ValueError that says what to pass.

    Args:
        pool_size: int or tuple of 2, the pooling's window size. Default 2.
        strides: int, tuple of 2 or None (= pool_size).
        padding: "valid" or "same", as in the pooling.
        **kwargs: base layer arguments (name, dtype, ...).

    Call arguments:
        values: (batch, pooled_height, pooled_width, channels).
        indices: integer tensor of the same shape, the pooling's argmax.
        output_size: the size before pooling: (height, width), a full shape,
            a shape tensor such as tf.shape(x), or the tensor before pooling
            itself (its size at run time: the way to unpool in a functional
            model of unknown or odd size). Default None: (h - 1) * s + k for
            "valid", h * s for "same" -- right only when the pooled image
            had exactly that size.

    Output shape:
        (batch, height, width, channels).

    Example:

    >>> x = np.array([1, 3, 2, 1, 2, 6, 5, 8, 3, 2, 8, 1, 4, 1, 0, 3],
    ...              dtype="float32").reshape(1, 4, 4, 1)
    >>> values, indices = MaxPoolingWithArgmax2D(2)(x)
    >>> MaxUnpooling2D(2)(values, indices, output_size=x)[0, ..., 0].numpy().tolist()
    [[0.0, 0.0, 0.0, 0.0], [0.0, 6.0, 0.0, 8.0], [0.0, 0.0, 8.0, 0.0], [4.0, 0.0, 0.0, 0.0]]
    """

    rank = 2


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxUnpooling3D(_MaxUnpooling):
    """Max unpooling in 3D: each value back at the position its index names.

    out[b, p, c] = values[b, j, c] if indices[b, j, c] = p * C + c, else 0,
    with p = (z * H + y) * W + x the row-major position in the output volume
    (Figures 7 and 10 of the notes in 3D, claim F1; PyTorch's MaxUnpool3d).
    Use the pool_size, strides and padding of the matching
    `MaxPoolingWithArgmax3D`. Where entries name the same position
    (overlapping windows) the first writes it. An index outside the output
    raises a ValueError that says what to pass.

    Args:
        pool_size: int or tuple of 3, the pooling's window size. Default 2.
        strides: int, tuple of 3 or None (= pool_size).
        padding: "valid" or "same", as in the pooling.
        **kwargs: base layer arguments (name, dtype, ...).

    Call arguments:
        values: (batch, pooled_depth, pooled_height, pooled_width, channels).
        indices: integer tensor of the same shape, the pooling's argmax.
        output_size: the size before pooling: (depth, height, width), a full
            shape, a shape tensor, or the tensor before pooling itself (its
            size at run time). Default None: (h - 1) * s + k for "valid",
            h * s for "same".

    Output shape:
        (batch, depth, height, width, channels).

    Example:

    >>> x = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype="float32").reshape(1, 2, 2, 2, 1)
    >>> values, indices = MaxPoolingWithArgmax3D(2)(x)
    >>> MaxUnpooling3D(2)(values, indices).numpy().ravel().tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0]
    """

    rank = 3
