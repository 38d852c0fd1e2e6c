"""Correlation, convolution, the convolution matrix and the conv layer's backward pass.

The notes (section 2.1) define, for a kernel K and an image I,

    correlation  (K star I)[i, j] = sum_{m, n} K[m, n] I[i + m, j + n]
    convolution  (K  *   I)[i, j] = sum_{m, n} K[m, n] I[i - m, j - n]

so a convolution is a correlation with the kernel mirrored (rotated by 180
degrees, claim C1). Convolution commutes (K * I = I * K), correlation does
not. Both are linear and shift-equivariant (C2), hence a multiplication by a
(block-Toeplitz) matrix (C3, `conv_matrix`).

Conventions (those of `tf.nn.conv2d` and `keras.layers.Conv2D`): images are
`(batch, height, width, in_channels)`, kernels `(k_h, k_w, in_channels,
out_channels)`, the window of output pixel `(i, j)` starts at input pixel
`(i * s_h - pad_top, j * s_w - pad_left)` and channels are summed over:

    correlate2d(I, K)[b, i, j, o]
        = sum_{m, n, c} K[m, n, c, o] I[b, i s_h + m - pad_top, j s_w + n - pad_left, c]

with zeros outside the image. Modes: "valid" (no padding, output
`floor((H - k) / s) + 1`), "same" (TensorFlow's SAME: output `ceil(H / s)`,
total padding `max((out - 1) s + k - H, 0)`, the smaller half on top/left)
and "full" (`k - 1` zeros on every side, every overlap; output
`floor((H + k - 2) / s) + 1`). A 2-D image `(H, W)` with a 2-D kernel
`(k_h, k_w)` is a single-channel, single-image shorthand; the result is 2-D.

`tf.nn.conv2d` *is* the correlation above (not a convolution despite its
name), so every "correlate" below is realised by `tf.nn.conv2d`.

"same" with an even kernel: `correlate2d` agrees with
`scipy.signal.correlate2d`, but `convolve2d` keeps `full[k//2:]` where
`scipy.signal.convolve2d` keeps `full[(k-1)//2:]` (one pixel apart);
`convolve2d(..., align="scipy")` gives scipy's window (see `convolve2d`).

`conv_matrix` lives in `mpkeras.ops.toeplitz`, which needs NumPy only, and is
re-exported here; the window geometry of both is
`mpkeras.ops.padding.window_padding`.
"""

import numbers

import numpy as np
import tensorflow as tf

from mpkeras import validation
from mpkeras.ops.padding import window_padding
from mpkeras.ops.toeplitz import (
    DENSE_LIMIT_BYTES,
    check_align,
    check_fits,
    check_mode,
    conv_matrix,
    output_shape,
)

__all__ = [
    "DENSE_LIMIT_BYTES",
    "conv2d_input_gradient",
    "conv2d_kernel_gradient",
    "conv_matrix",
    "convolve2d",
    "correlate2d",
    "output_shape",
]


def _as_tensor(value, name, dtype=None):
    if isinstance(value, (tf.Tensor, tf.Variable)):
        tensor = tf.convert_to_tensor(value)
    else:
        array = np.asarray(value)
        if dtype is None and not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float32)
        tensor = tf.convert_to_tensor(array)
    if dtype is not None and tensor.dtype != dtype:
        tensor = tf.cast(tensor, dtype)
    if not tensor.dtype.is_floating:
        raise ValueError(
            f"`{name}` must be floating point. Received: {name}.dtype={tensor.dtype.name}"
        )
    return tensor


def _prepare(image, kernel, image_name="image", kernel_name="kernel"):
    """Tensors of rank 4, and whether the inputs were the 2-D shorthand."""
    image = _as_tensor(image, image_name)
    kernel = _as_tensor(kernel, kernel_name, dtype=image.dtype)
    if image.shape.rank == 2 and kernel.shape.rank == 2:
        return image[None, :, :, None], kernel[:, :, None, None], True
    if image.shape.rank != 4:
        raise ValueError(
            f"Expected `{image_name}` of rank 4 (batch, height, width, "
            f"channels), or rank 2 with a rank-2 kernel. Received: "
            f"{image_name}.shape={tuple(image.shape)}"
        )
    if kernel.shape.rank != 4:
        raise ValueError(
            f"Expected `{kernel_name}` of rank 4 (k_h, k_w, in_channels, "
            f"out_channels). Received: {kernel_name}.shape={tuple(kernel.shape)}"
        )
    c_image, c_kernel = image.shape[-1], kernel.shape[2]
    if c_image is not None and c_kernel is not None and c_image != c_kernel:
        raise ValueError(
            f"The channel counts do not match: `{image_name}` has {c_image} "
            f"channels but `{kernel_name}` expects {c_kernel} input channels. "
            f"Received: {image_name}.shape={tuple(image.shape)}, "
            f"{kernel_name}.shape={tuple(kernel.shape)}"
        )
    return image, kernel, False


def _spatial_size(tensor):
    """(H, W) of a rank-4 tensor: static ints where known, else tensors."""
    static = tensor.shape[1:3]
    dynamic = tf.shape(tensor)
    return tuple(int(d) if d is not None else dynamic[1 + axis] for axis, d in enumerate(static))


def _pad(image, kernel_hw, mode, strides, align="tensorflow"):
    """Zero-pads `image` for `mode`; returns the padded image."""
    if mode == "valid":
        return image
    hw = _spatial_size(image)
    pads = [window_padding(n, k, s, mode, align)[:2] for n, k, s in zip(hw, kernel_hw, strides)]
    return tf.pad(image, [[0, 0], list(pads[0]), list(pads[1]), [0, 0]])


# ----------------------------------------------------------------------------
# C1: correlation and convolution.


def _correlate(image, kernel, mode, strides, align="tensorflow"):
    """Rank-4 correlation, no checks; `tf.nn.conv2d` is the correlation."""
    if mode == "full" or (mode == "same" and align == "scipy"):
        image = _pad(image, kernel.shape[:2], mode, strides, align)
        mode = "valid"
    return tf.nn.conv2d(image, kernel, strides=strides, padding=mode.upper())


def correlate2d(image, kernel, mode="valid", strides=1):
    """The notes' correlation `K star I`, batched and multi-channel (C1).

        out[b, i, j, o] = sum_{m, n, c} K[m, n, c, o] I[b, i s + m - p, j s + n - p', c]

    Realised by `tf.nn.conv2d` (which is a correlation), with `tf.pad` for
    "full".

    Args:
        image: `(batch, H, W, C_in)` (or `(H, W)` with a 2-D kernel).
        kernel: `(k_h, k_w, C_in, C_out)` (or `(k_h, k_w)`); rectangular
            kernels are fine.
        mode: "valid", "same" or "full" (see the module docstring).
        strides: positive int or tuple of 2.

    Returns:
        A float tensor `(batch, H_out, W_out, C_out)` (or `(H_out, W_out)`),
        in the image's dtype.

    Raises:
        ValueError: unknown `mode`, non-positive `strides`, channel counts
            that do not match, or a kernel larger than the image in "valid".
    """
    mode = check_mode(mode)
    strides = validation.normalize_tuple(strides, 2, "strides")
    image4, kernel4, squeeze = _prepare(image, kernel)
    check_fits(image4.shape[1:3], kernel4.shape[:2], mode)
    out = _correlate(image4, kernel4, mode, strides)
    return out[0, :, :, 0] if squeeze else out


def convolve2d(image, kernel, mode="valid", strides=1, align="tensorflow"):
    """The notes' convolution `K * I`: correlation with the kernel mirrored (C1).

        out[b, i, j, o] = sum_{m, n, c} K[m, n, c, o] I[b, i - m, j - n, c]
                        = correlate2d(I, Rot180(K))

    `Rot180` flips both spatial axes of the kernel (channels untouched). With
    one channel and mode "full", `convolve2d(I, K) == convolve2d(K, I)`
    (convolution commutes); correlation does not.

    "same" with an even kernel side k: the output is a window of the "full"
    convolution, and the two libraries take different windows:

        align="tensorflow" (default): out = full[k//2 : k//2 + H]
            (TensorFlow's SAME padding of the mirrored kernel; what
            `keras.layers.Conv2D` computes with a mirrored kernel);
        align="scipy": out = full[(k-1)//2 : (k-1)//2 + H]
            (`scipy.signal.convolve2d(..., mode="same")`),

    i.e. scipy's output is TensorFlow's shifted by one pixel down/right along
    each even axis. For odd k, and for "valid" and "full", both are the same.
    (`correlate2d`'s "same" is `scipy.signal.correlate2d`'s for every k.)

    Args:
        image, kernel, mode, strides: as `correlate2d`.
        align: "tensorflow" or "scipy": which half of an odd total "same"
            padding goes before each axis (see above): TensorFlow puts the
            smaller half there, scipy the larger.

    Raises: as `correlate2d`, and for an unknown `align`.
    """
    mode = check_mode(mode)
    strides = validation.normalize_tuple(strides, 2, "strides")
    align = check_align(align)
    image4, kernel4, squeeze = _prepare(image, kernel)
    check_fits(image4.shape[1:3], kernel4.shape[:2], mode)
    out = _correlate(image4, tf.reverse(kernel4, axis=[0, 1]), mode, strides, align)
    return out[0, :, :, 0] if squeeze else out


# ----------------------------------------------------------------------------
# C4: the backward pass of a convolutional layer.


def _dilate(delta, strides):
    """Insert `s - 1` zeros between the rows/columns of `delta` (stride s)."""
    s_h, s_w = strides
    if s_h == 1 and s_w == 1:
        return delta
    shape = tf.shape(delta)
    n, h, w, ch = shape[0], shape[1], shape[2], shape[3]
    x = delta[:, :, None, :, None, :]
    x = tf.pad(x, [[0, 0], [0, 0], [0, s_h - 1], [0, 0], [0, s_w - 1], [0, 0]])
    x = tf.reshape(x, tf.stack([n, h * s_h, w * s_w, ch]))
    return x[:, : (h - 1) * s_h + 1, : (w - 1) * s_w + 1, :]


def _check_backward(mode, strides):
    mode = check_mode(mode)
    if mode == "full":
        # The layer's forward pass is "valid" or "same" (keras.layers.Conv2D).
        raise ValueError(
            f"The conv layer backward formulas take mode 'valid' or 'same'. Received: mode={mode!r}"
        )
    return mode, validation.normalize_tuple(strides, 2, "strides")


def conv2d_input_gradient(delta, kernel, input_shape, mode="valid", strides=1):
    """delta^(l-1) = delta^(l) correlated ("full") with Rot180(W) (claim C4).

    For the layer z^(l) = correlate2d(z^(l-1), W) (Keras' Conv2D), the notes'
    derivation gives

        delta^(l-1)[i, j] = sum_{i', j'} delta^(l)[i', j'] W[i - i', j - j']
                          = correlate2d(delta^(l), Rot180(W), "full")[i, j]

    i.e. the "full" correlation of the upstream gradient with the mirrored
    kernel whose channel axes are swapped (out -> in), a convolution of
    delta with W. (The notes write the forward pass as a convolution, so
    their backward pass is the correlation `delta star W`; the kernel is
    mirrored once either way.) With stride s, delta is first dilated (s - 1
    zeros between its entries: the positions the strided forward pass
    skipped); only the entries of the "full" result that are pixels of the
    input are computed ("same" padding is not), and rows/columns the forward
    windows never reached get zero gradient.

    Realised by one `tf.pad` and one `tf.nn.conv2d` (the "full"
    correlation); no autodiff and no `conv2d_backprop_input`.

    Args:
        delta: upstream gradient dL/dz^(l), `(batch, H_out, W_out, C_out)`.
        kernel: W, `(k_h, k_w, C_in, C_out)`.
        input_shape: shape of z^(l-1), `(batch, H, W, C_in)`: ints, scalar
            int tensors, or `tf.shape(z)`; only H and W are used.
        mode: the forward pass' padding, "valid" or "same".
        strides: the forward pass' strides.

    Returns:
        dL/dz^(l-1), `(batch, H, W, C_in)`.
    """
    mode, strides = _check_backward(mode, strides)
    delta = tf.convert_to_tensor(delta)
    kernel = tf.cast(tf.convert_to_tensor(kernel), delta.dtype)
    k_h, k_w = int(kernel.shape[0]), int(kernel.shape[1])
    height, width = (
        int(d) if isinstance(d, numbers.Integral) else d for d in (input_shape[1], input_shape[2])
    )
    pad_top, _, _ = window_padding(height, k_h, strides[0], mode)
    pad_left, _, _ = window_padding(width, k_w, strides[1], mode)

    mirrored = tf.transpose(tf.reverse(kernel, axis=[0, 1]), [0, 1, 3, 2])
    dilated = _dilate(delta, strides)
    # The "full" correlation pads delta by k - 1 on every side; of its
    # output only the rows/columns of the (unpadded) input are needed, so
    # pad just enough for exactly those: k - 1 - pad_top on top and up to
    # H + k - 1 in total (rows the forward windows never reached get zeros).
    d_h, d_w = _spatial_size(dilated)
    top, left = k_h - 1 - pad_top, k_w - 1 - pad_left
    padded = tf.pad(
        dilated,
        [[0, 0], [top, height + k_h - 1 - top - d_h], [left, width + k_w - 1 - left - d_w], [0, 0]],
    )
    return tf.nn.conv2d(padded, mirrored, strides=1, padding="VALID")


def conv2d_kernel_gradient(delta, inputs, kernel_shape, mode="valid", strides=1):
    """dL/dW = delta^(l) correlated with Z^(l-1) (claim C4).

    For z^(l) = correlate2d(z^(l-1), W), the notes' derivation gives

        dL/dW[m, n, c, o] = sum_{b, i, j} delta^(l)[b, i, j, o] Z[b, i s + m, j s + n, c]

    (Z = z^(l-1), zero-padded as the forward pass padded it): the "valid"
    correlation `delta star Z` of the input with the upstream gradient as the
    kernel, summed over the batch. It is evaluated tap by tap, as written:
    for each kernel position (m, n) the slice Z[:, m::s, n::s, :] of the
    size of delta is contracted with delta over (batch, i, j), one
    `tf.einsum("bijc,bijo->co")` (a matrix product) per tap; no autodiff and
    no `conv2d_backprop_filter`. On CPU this is faster than one
    `tf.nn.conv2d` with delta as a (H_out, W_out) kernel and the batch as
    the channels, which computes the same correlation, and than stacking
    the taps im2col-style into one product.

    Args:
        delta: upstream gradient, `(batch, H_out, W_out, C_out)`.
        inputs: Z = z^(l-1), `(batch, H, W, C_in)`.
        kernel_shape: `(k_h, k_w, C_in, C_out)`.
        mode: the forward pass' padding, "valid" or "same".
        strides: the forward pass' strides.

    Returns:
        dL/dW, `(k_h, k_w, C_in, C_out)`.
    """
    mode, strides = _check_backward(mode, strides)
    delta = tf.convert_to_tensor(delta)
    inputs = tf.cast(tf.convert_to_tensor(inputs), delta.dtype)
    k_h, k_w = int(kernel_shape[0]), int(kernel_shape[1])
    c_in, c_out = inputs.shape[-1], delta.shape[-1]
    padded = _pad(inputs, (k_h, k_w), mode, strides)
    h_out, w_out = _spatial_size(delta)
    span_h = (h_out - 1) * strides[0] + 1
    span_w = (w_out - 1) * strides[1] + 1
    taps = [
        tf.einsum(
            "bijc,bijo->co",
            padded[:, m : m + span_h : strides[0], n : n + span_w : strides[1], :],
            delta,
        )
        for m in range(k_h)
        for n in range(k_w)
    ]
    return tf.reshape(tf.stack(taps), [k_h, k_w, c_in, c_out])
