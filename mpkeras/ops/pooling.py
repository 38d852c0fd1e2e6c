"""Max pooling's backward pass: the gradient goes to the argmax only (claim C5).

The notes (section 2.2): the forward pass takes the maximum of each window,

    z^(l)[i, j] = max { z^(l-1)[i', j'] | i' in [s i : s i + k], j' in [s j : s j + k] }

and the backward pass routes each output's gradient to the position
[i*, j*] that held the maximum,

    dz^(l)[i, j] / dz^(l-1)[i', j'] = 1{[i', j'] = [i*, j*]},

so max pooling has no parameters and only propagates the error.
"""

import numpy as np
import tensorflow as tf

from mpkeras.ops.padding import pooling_arguments, window_padding


def max_pool2d_backward(inputs, upstream, pool_size=2, strides=None, padding="valid"):
    """Gradient of max pooling w.r.t. its input, routed to each window's argmax.

    For every window (and channel) the upstream gradient of its output is
    added to the one input position that holds the window's maximum, zeros
    elsewhere (claim C5). With overlapping windows (stride < pool size) a
    position that is the argmax of several windows receives the sum of their
    gradients.

    Tie rule: when a window holds its maximum more than once, the gradient
    goes to the first occurrence in row-major order within the window
    (smallest row, then smallest column). This is what TensorFlow's
    MaxPoolGrad does on CPU, so the result equals the autodiff gradient of
    `keras.layers.MaxPooling2D` (and `tf.nn.max_pool2d`), ties and overlaps
    included. "same" padding pads with -inf, so padding never wins.

    Arguments follow `keras.layers.MaxPooling2D` (channels_last).

    Args:
        inputs: the pooling layer's input z^(l-1), `(batch, H, W, C)`.
        upstream: dL/dz^(l), `(batch, H_out, W_out, C)` with H_out, W_out
            the pooled size.
        pool_size: positive int or tuple of 2.
        strides: positive int or tuple of 2; None means `pool_size`.
        padding: "valid" or "same" (TensorFlow's SAME, as Keras).

    Returns:
        dL/dz^(l-1), `(batch, H, W, C)`, in the dtype of `inputs`.

    Example:

    >>> x = np.array([[1., 3.], [3., 2.]]).reshape(1, 2, 2, 1)
    >>> g = max_pool2d_backward(x, np.ones((1, 1, 1, 1)), pool_size=2)
    >>> g.numpy()[0, :, :, 0]  # the tie goes to the first 3
    array([[0., 1.],
           [0., 0.]])
    """
    pool_size, strides, padding = pooling_arguments(pool_size, strides, padding, 2)
    inputs = tf.convert_to_tensor(inputs)
    if not inputs.dtype.is_floating:
        inputs = tf.cast(inputs, tf.float32)
    upstream = tf.cast(tf.convert_to_tensor(upstream), inputs.dtype)
    if inputs.shape.rank != 4:
        raise ValueError(
            "Expected `inputs` of rank 4 (batch, height, width, channels). "
            f"Received: inputs.shape={tuple(inputs.shape)}"
        )
    height, width = inputs.shape[1], inputs.shape[2]
    if height is None or width is None:
        raise ValueError(
            "max_pool2d_backward needs static height and width. Received: "
            f"inputs.shape={tuple(inputs.shape)}"
        )
    if padding == "valid" and (pool_size[0] > height or pool_size[1] > width):
        raise ValueError(
            f"In 'valid' padding the pool window {pool_size} must fit inside "
            f"the input ({height}, {width}). Received: pool_size={pool_size}"
        )
    top, bottom, h_out = window_padding(height, pool_size[0], strides[0], padding)
    left, right, w_out = window_padding(width, pool_size[1], strides[1], padding)
    expected = (h_out, w_out, inputs.shape[3])
    got = tuple(upstream.shape[1:])
    if upstream.shape.rank != 4 or any(
        g is not None and e is not None and g != e for g, e in zip(got, expected)
    ):
        raise ValueError(
            "`upstream` must have the pooled shape (batch, "
            f"{h_out}, {w_out}, {inputs.shape[3]}). Received: "
            f"upstream.shape={tuple(upstream.shape)}"
        )

    # Gather every window: rows (h_out, w_out, k_h * k_w) of flat indices
    # into the -inf padded image, taps in row-major order within the window.
    p_h, p_w = height + top + bottom, width + left + right
    i, j, m, n = np.meshgrid(
        np.arange(h_out),
        np.arange(w_out),
        np.arange(pool_size[0]),
        np.arange(pool_size[1]),
        indexing="ij",
    )
    flat = ((i * strides[0] + m) * p_w + (j * strides[1] + n)).reshape(
        h_out * w_out, pool_size[0] * pool_size[1]
    )
    lowest = tf.constant(-np.inf, inputs.dtype)
    padded = tf.pad(
        inputs,
        [[0, 0], [top, bottom], [left, right], [0, 0]],
        constant_values=lowest,
    )
    batch, channels = tf.shape(inputs)[0], tf.shape(inputs)[3]
    pixels = tf.reshape(padded, tf.stack([batch, p_h * p_w, channels]))
    windows = tf.gather(pixels, flat, axis=1)  # (b, windows, taps, c)
    is_max = windows == tf.reduce_max(windows, axis=2, keepdims=True)
    # Tie rule: keep only the first maximum (row-major) of each window.
    first = tf.logical_and(is_max, tf.cumsum(tf.cast(is_max, tf.int32), axis=2) == 1)
    routed = tf.where(
        first,
        tf.reshape(upstream, tf.stack([batch, h_out * w_out, 1, channels])),
        tf.zeros((), inputs.dtype),
    )
    # Overlap-add the windows' gradients back onto the pixels they came from.
    routed = tf.transpose(tf.reshape(routed, tf.stack([batch, -1, channels])), [1, 0, 2])
    grad = tf.math.unsorted_segment_sum(routed, flat.reshape(-1), p_h * p_w)
    grad = tf.reshape(tf.transpose(grad, [1, 0, 2]), tf.stack([batch, p_h, p_w, channels]))
    return grad[:, top : top + height, left : left + width, :]
