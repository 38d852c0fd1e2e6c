"""Window geometry shared by pooling and convolution: output sizes and TensorFlow's padding.

Along one axis of length n, a window of size k moved with stride s gives

    "valid": out = floor((n - k) / s) + 1 windows, no padding;
    "same":  out = ceil(n / s) windows; the total padding
             max((out - 1) * s + k - n, 0) is split with the smaller half
             before the axis (TensorFlow's SAME, which Keras follows;
             ``align="scipy"`` puts the larger half before it instead, as
             scipy.signal.convolve2d's "same" does);
    "full":  out = floor((n + k - 2) / s) + 1 windows, k - 1 zeros on each
             side (the full correlation of chapter 2; convolution only).

Window i covers the padded positions [i*s, i*s + k), i.e. the input positions
[i*s - before, i*s - before + k). Every function takes Python ints or scalar
integer tensors (dynamic shapes) and returns the same kind. NumPy-free
and TensorFlow-free on ints: ``mpkeras.ops.conv_matrix`` computes its
geometry here without importing TensorFlow.
"""

import numbers

from mpkeras import validation

MODES = ("valid", "same", "full")
# Which half of an odd total "same" padding goes before the axis: TensorFlow's
# (the smaller) or scipy.signal.convolve2d's (the larger).
ALIGNS = ("tensorflow", "scipy")


def is_static(*values):
    """True when every value is a Python or NumPy integer (not a tensor)."""
    return all(isinstance(v, numbers.Integral) for v in values)


def maximum(a, b):
    """max(a, b) for ints, tf.maximum where either is a tensor."""
    if is_static(a, b):
        return max(a, b)
    import tensorflow as tf  # a tensor was given: TensorFlow is loaded already

    return tf.maximum(a, b)


def window_padding(size, kernel, stride, padding, align="tensorflow"):
    """(before, after, out) along one axis: the padding and the number of windows.

    ``align`` (one of :data:`ALIGNS`) says which half of an odd total "same"
    padding goes before the axis; the other modes pad symmetrically.
    """
    if padding == "valid":
        return 0, 0, (size - kernel) // stride + 1
    if padding == "same":
        out = -(-size // stride)
        total = maximum((out - 1) * stride + kernel - size, 0)
        small, large = total // 2, total - total // 2
        return (large, small, out) if align == "scipy" else (small, large, out)
    if padding == "full":
        return kernel - 1, kernel - 1, (size + kernel - 2) // stride + 1
    raise validation.invalid("padding", f"one of {MODES}", padding)


def output_length(size, kernel, stride, padding):
    """The number of windows along one axis (see the module docstring)."""
    return window_padding(size, kernel, stride, padding)[2]


def input_length_range(out, kernel, stride, padding):
    """(smallest, largest) input length that gives `out` windows ("valid"/"same")."""
    if padding == "valid":
        low = (out - 1) * stride + kernel
    elif padding == "same":
        low = (out - 1) * stride + 1
    else:
        raise validation.invalid("padding", "'valid' or 'same'", padding)
    return low, low + stride - 1


def default_input_length(out, kernel, stride, padding):
    """The input length unpooling assumes: (out - 1) * s + k ("valid"), out * s ("same")."""
    if padding == "valid":
        return (out - 1) * stride + kernel
    if padding == "same":
        return out * stride
    raise validation.invalid("padding", "'valid' or 'same'", padding)


def pooling_arguments(pool_size, strides, padding, rank):
    """(pool_size, strides, padding) checked and normalised: tuples of `rank` ints, a mode.

    ``strides=None`` means ``pool_size``, as in ``keras.layers.MaxPooling2D``.
    """
    pool_size = validation.normalize_tuple(pool_size, rank, "pool_size")
    strides = pool_size if strides is None else validation.normalize_tuple(strides, rank, "strides")
    return pool_size, strides, validation.padding(padding)
