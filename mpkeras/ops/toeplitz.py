"""Convolution as a matrix (claim C3) and the output size of `correlate2d`.

NumPy and SciPy only: `conv_matrix` on NumPy inputs never imports TensorFlow
(it takes a kernel of any array type, a tensor included, and returns NumPy or
SciPy objects). Its window geometry is `mpkeras.ops.padding.window_padding`,
which `mpkeras.ops.convolution` uses for its TensorFlow ops too, so a matrix
and the op it stands for always agree: along one axis of length n, a kernel
of size k with stride s gives

    "valid": out = floor((n - k) / s) + 1, no padding;
    "same":  out = ceil(n / s), total padding max((out - 1) s + k - n, 0)
             with the smaller half before the axis (TensorFlow's SAME);
    "full":  out = floor((n + k - 2) / s) + 1, k - 1 zeros on each side.

and output pixel i's window starts at input pixel i s - pad_before.
"""

import numpy as np

from mpkeras import validation
from mpkeras.ops.padding import ALIGNS, MODES, window_padding

# A dense convolution matrix above this size is returned as a sparse matrix.
DENSE_LIMIT_BYTES = 256 * 2**20


def check_mode(mode):
    """``mode`` if it is one of :data:`MODES` (case-insensitive), lower-cased."""
    if not isinstance(mode, str):
        raise validation.invalid("mode", f"one of {MODES}", mode)
    return validation.one_of(mode, "mode", MODES)


def check_align(align):
    """``align`` if it is one of :data:`ALIGNS`."""
    if not isinstance(align, str):
        raise validation.invalid("align", f"one of {ALIGNS}", align)
    return validation.one_of(align, "align", ALIGNS)


def output_shape(input_hw, kernel_hw, mode="valid", strides=1):
    """Spatial output size `(H_out, W_out)` of `correlate2d` (see module doc)."""
    mode = check_mode(mode)
    strides = validation.normalize_tuple(strides, 2, "strides")
    return tuple(window_padding(n, k, s, mode)[2] for n, k, s in zip(input_hw, kernel_hw, strides))


def check_fits(image_hw, kernel_hw, mode, image_name="image"):
    """In "valid" mode a kernel larger than the image has no output: refuse it."""
    if mode != "valid":
        return
    for n, k in zip(image_hw, kernel_hw):
        if n is not None and k is not None and k > n:
            raise ValueError(
                f"In 'valid' mode the kernel must fit inside `{image_name}`: "
                f"the kernel is {tuple(kernel_hw)} but the image is "
                f"{tuple(image_hw)}. Use mode='same' or mode='full'. "
                f"Received: mode={mode!r}"
            )


def _kernel_and_input_shape(kernel, input_shape):
    kernel = np.asarray(kernel)
    if not np.issubdtype(kernel.dtype, np.floating):
        kernel = kernel.astype(np.float32)
    given = input_shape
    try:
        input_shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        input_shape = None
    if kernel.ndim == 2 and input_shape is not None and len(input_shape) == 2:
        kernel = kernel[:, :, None, None]
        input_shape = input_shape + (1,)
    if kernel.ndim != 4:
        raise ValueError(
            "Expected `kernel` of rank 4 (k_h, k_w, in_channels, "
            f"out_channels), or rank 2. Received: kernel.shape={kernel.shape}"
        )
    if input_shape is None or len(input_shape) != 3 or not all(d > 0 for d in input_shape):
        raise validation.invalid(
            "input_shape",
            "(height, width, channels) of positive integers (or (height, width) with a 2-D kernel)",
            given,
        )
    if kernel.shape[2] != input_shape[2]:
        raise ValueError(
            f"The channel counts do not match: `input_shape` has {input_shape[2]} "
            f"channels but `kernel` expects {kernel.shape[2]}. Received: "
            f"input_shape={input_shape}, kernel.shape={kernel.shape}"
        )
    return kernel, input_shape


def conv_matrix(kernel, input_shape, mode="valid", strides=1, sparse=None):
    """The matrix M with `M @ vec(I) == vec(correlate2d(I, K))` (claim C3).

    Correlation is linear, so for one image I of shape `(H, W, C_in)` it is a
    matrix product: row `(i, j, o)` of M holds the kernel taps `K[m, n, c, o]`
    at the columns of the pixels `(i s + m - p, j s + n - p', c)` its window
    covers (a block-Toeplitz matrix; the notes' 1-D example is the banded
    lower-triangular matrix of the kernel). `vec` is row-major (NumPy's
    `reshape(-1)`), so M has `H_out * W_out * C_out` rows and `H * W * C_in`
    columns. `M.T` is the transposed convolution (chapter 3, F2). For the
    convolution `convolve2d`, pass the mirrored kernel `K[::-1, ::-1]`.

    NumPy and SciPy only: TensorFlow is not imported.

    Args:
        kernel: `(k_h, k_w, C_in, C_out)`, or `(k_h, k_w)` with a 2-D
            `input_shape`; any array (a tensor is converted with NumPy).
        input_shape: `(H, W, C_in)`, or `(H, W)` for a 2-D kernel.
        mode: "valid", "same" or "full".
        strides: positive int or tuple of 2.
        sparse: None (default) returns a `scipy.sparse.csr_matrix` when the
            dense matrix would take more than 256 MB (`DENSE_LIMIT_BYTES`)
            and a dense `np.ndarray` otherwise; True / False force the format.
            Only the non-zero entries are ever built, so a sparse result
            never passes through a dense one.

    Returns:
        `np.ndarray` or `scipy.sparse.csr_matrix` in the kernel's dtype.
    """
    mode = check_mode(mode)
    strides = validation.normalize_tuple(strides, 2, "strides")
    kernel, (height, width, c_in) = _kernel_and_input_shape(kernel, input_shape)
    k_h, k_w, _, c_out = kernel.shape
    check_fits((height, width), (k_h, k_w), mode, image_name="input_shape")
    pad_h, _, h_out = window_padding(height, k_h, strides[0], mode)
    pad_w, _, w_out = window_padding(width, k_w, strides[1], mode)
    n_rows, n_cols = h_out * w_out * c_out, height * width * c_in

    if sparse is None:
        sparse = n_rows * n_cols * kernel.dtype.itemsize > DENSE_LIMIT_BYTES

    # One entry per (output pixel, kernel tap) whose input pixel exists; the
    # (c, o) block of every entry is the kernel's c_in x c_out tap matrix.
    i, j, m, n = np.meshgrid(
        np.arange(h_out),
        np.arange(w_out),
        np.arange(k_h),
        np.arange(k_w),
        indexing="ij",
    )
    y = i * strides[0] + m - pad_h
    x = j * strides[1] + n - pad_w
    inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
    pixel_out = (i * w_out + j)[inside]
    pixel_in = (y * width + x)[inside]
    taps = kernel[m[inside], n[inside]]  # (entries, c_in, c_out)
    c, o = np.meshgrid(np.arange(c_in), np.arange(c_out), indexing="ij")
    rows = (pixel_out[:, None, None] * c_out + o).ravel()
    cols = (pixel_in[:, None, None] * c_in + c).ravel()
    values = taps.ravel()
    if sparse:
        import scipy.sparse

        return scipy.sparse.csr_matrix(
            (values, (rows, cols)), shape=(n_rows, n_cols), dtype=kernel.dtype
        )
    matrix = np.zeros((n_rows, n_cols), dtype=kernel.dtype)
    matrix[rows, cols] = values  # (row, col) pairs are distinct
    return matrix
