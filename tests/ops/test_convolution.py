"""Correlation, convolution, the convolution matrix and the conv backward formulas (C1-C4)."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import scipy.signal
import scipy.sparse
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st

from mpkeras.ops import (
    conv2d_input_gradient,
    conv2d_kernel_gradient,
    conv_matrix,
    convolve2d,
    correlate2d,
)
from mpkeras.ops.convolution import DENSE_LIMIT_BYTES

PROPERTY = settings(max_examples=25, deadline=None)


def _pads(size, k, s, mode):
    if mode == "valid":
        return 0, (size - k) // s + 1
    if mode == "same":
        out = -(-size // s)
        return max((out - 1) * s + k - size, 0) // 2, out
    return k - 1, (size + k - 2) // s + 1


def reference_correlate(image, kernel, mode, strides):
    """The notes' correlation, one output element at a time (float64)."""
    batch, height, width, c_in = image.shape
    k_h, k_w, _, c_out = kernel.shape
    s_h, s_w = strides
    top, h_out = _pads(height, k_h, s_h, mode)
    left, w_out = _pads(width, k_w, s_w, mode)
    out = np.zeros((batch, h_out, w_out, c_out))
    for b in range(batch):
        for i in range(h_out):
            for j in range(w_out):
                for o in range(c_out):
                    total = 0.0
                    for m in range(k_h):
                        for n in range(k_w):
                            y, x = i * s_h + m - top, j * s_w + n - left
                            if 0 <= y < height and 0 <= x < width:
                                for c in range(c_in):
                                    total += kernel[m, n, c, o] * image[b, y, x, c]
                    out[b, i, j, o] = total
    return out


CASES = [
    # (image shape, kernel shape, mode, strides)
    ((2, 7, 6, 3), (3, 3, 3, 2), "valid", (1, 1)),
    ((2, 7, 6, 3), (3, 2, 3, 2), "same", (1, 1)),
    ((1, 6, 7, 2), (2, 3, 2, 4), "full", (1, 1)),
    ((2, 8, 7, 1), (3, 3, 1, 2), "valid", (2, 2)),
    ((2, 7, 8, 2), (4, 2, 2, 3), "same", (2, 3)),
    ((1, 5, 6, 3), (2, 2, 3, 1), "full", (2, 1)),
]


@pytest.mark.parametrize("image_shape,kernel_shape,mode,strides", CASES)
def test_correlate2d_matches_direct_loop(image_shape, kernel_shape, mode, strides):
    rng = np.random.default_rng(0)
    image = rng.normal(size=image_shape)
    kernel = rng.normal(size=kernel_shape)
    got = correlate2d(image, kernel, mode=mode, strides=strides).numpy()
    np.testing.assert_allclose(
        got, reference_correlate(image, kernel, mode, strides), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("image_shape,kernel_shape,mode,strides", CASES)
def test_convolve2d_is_correlation_with_the_mirrored_kernel_C1(
    image_shape, kernel_shape, mode, strides
):
    rng = np.random.default_rng(1)
    image = rng.normal(size=image_shape)
    kernel = rng.normal(size=kernel_shape)
    got = convolve2d(image, kernel, mode=mode, strides=strides).numpy()
    expected = reference_correlate(image, kernel[::-1, ::-1], mode, strides)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
def test_single_channel_matches_scipy_C1(mode):
    rng = np.random.default_rng(2)
    image = rng.normal(size=(9, 8))
    kernel = rng.normal(size=(3, 3))  # odd, so scipy's "same" centring agrees
    np.testing.assert_allclose(
        convolve2d(image, kernel, mode).numpy(),
        scipy.signal.convolve2d(image, kernel, mode=mode),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        correlate2d(image, kernel, mode).numpy(),
        scipy.signal.correlate2d(image, kernel, mode=mode),
        atol=1e-12,
    )


@pytest.mark.parametrize("kernel_shape", [(2, 2), (4, 3), (3, 4), (2, 5), (4, 4), (3, 3)])
@pytest.mark.parametrize("image_shape", [(9, 8), (6, 7)])
def test_same_with_even_kernels_tensorflow_and_scipy_alignment_C1(image_shape, kernel_shape):
    rng = np.random.default_rng(3)
    image, kernel = rng.normal(size=image_shape), rng.normal(size=kernel_shape)
    k_h, k_w = kernel_shape
    height, width = image_shape
    full = scipy.signal.convolve2d(image, kernel, mode="full")
    # TensorFlow's SAME (the default) keeps full[k//2:]; scipy keeps full[(k-1)//2:].
    np.testing.assert_allclose(
        convolve2d(image, kernel, "same").numpy(),
        full[k_h // 2 : k_h // 2 + height, k_w // 2 : k_w // 2 + width],
        atol=1e-12,
    )
    np.testing.assert_allclose(
        convolve2d(image, kernel, "same", align="scipy").numpy(),
        scipy.signal.convolve2d(image, kernel, mode="same"),
        atol=1e-12,
    )
    # The TensorFlow alignment is keras.layers.Conv2D with the mirrored kernel.
    layer = keras.layers.Conv2D(1, kernel_shape, padding="same", use_bias=False, dtype="float64")
    layer.build((1, height, width, 1))
    layer.kernel.assign(kernel[::-1, ::-1, None, None])
    np.testing.assert_allclose(
        layer(image[None, :, :, None]).numpy()[0, :, :, 0],
        convolve2d(image, kernel, "same").numpy(),
        atol=1e-12,
    )
    # correlate2d's "same" is scipy's for every kernel size.
    np.testing.assert_allclose(
        correlate2d(image, kernel, "same").numpy(),
        scipy.signal.correlate2d(image, kernel, mode="same"),
        atol=1e-12,
    )
    # valid and full do not depend on the alignment.
    for mode in ("valid", "full"):
        np.testing.assert_allclose(
            convolve2d(image, kernel, mode, align="scipy").numpy(),
            scipy.signal.convolve2d(image, kernel, mode=mode),
            atol=1e-12,
        )


@pytest.mark.parametrize("strides", [(1, 1), (2, 2), (3, 2)])
def test_scipy_alignment_with_strides_and_channels_C1(strides):
    # align="scipy" puts the larger half of the total "same" padding first:
    # output pixel i is full[i s + (k - 1) - ceil(total / 2)], channels summed.
    rng = np.random.default_rng(4)
    image = rng.normal(size=(2, 9, 8, 3))
    kernel = rng.normal(size=(4, 2, 3, 2))
    got = convolve2d(image, kernel, "same", strides=strides, align="scipy").numpy()
    starts = []
    for n, k, s in zip((9, 8), (4, 2), strides):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        starts.append(k - 1 - (total - total // 2) + s * np.arange(out))
    assert got.shape == (2, len(starts[0]), len(starts[1]), 2)
    for b in range(2):
        for o in range(2):
            full = sum(
                scipy.signal.convolve2d(image[b, :, :, c], kernel[:, :, c, o], "full")
                for c in range(3)
            )
            np.testing.assert_allclose(got[b, :, :, o], full[np.ix_(*starts)], atol=1e-12)


def test_conv_matrix_on_numpy_does_not_import_tensorflow_C3():
    script = textwrap.dedent("""
        import sys
        import numpy as np
        from mpkeras.ops import conv_matrix
        kernel = np.arange(18, dtype="float32").reshape(3, 3, 2, 1)
        dense = conv_matrix(kernel, (5, 4, 2), "same")
        sparse = conv_matrix(kernel, (5, 4, 2), "full", strides=2, sparse=True)
        flat = conv_matrix(np.ones((2, 2)), (3, 3))
        assert dense.shape == (20, 40) and sparse.shape == (12, 40) and flat.shape == (4, 9)
        print("tensorflow" in sys.modules)
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "False", proc.stdout


def test_convolution_with_the_notes_index_convention_C1():
    # (K * I)[i, j] = sum_{m,n} K[m, n] I[i - m, j - n] on the "full" grid.
    rng = np.random.default_rng(3)
    image, kernel = rng.normal(size=(5, 4)), rng.normal(size=(2, 3))
    expected = np.zeros((6, 6))
    for i in range(6):
        for j in range(6):
            for m in range(2):
                for n in range(3):
                    if 0 <= i - m < 5 and 0 <= j - n < 4:
                        expected[i, j] += kernel[m, n] * image[i - m, j - n]
    np.testing.assert_allclose(convolve2d(image, kernel, "full").numpy(), expected, atol=1e-12)


small_arrays = st.tuples(
    st.integers(1, 5),
    st.integers(1, 5),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(0, 2**31 - 1),
)


@PROPERTY
@given(small_arrays)
def test_convolution_commutes_C1(dims):
    h, w, k_h, k_w, seed = dims
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(k_h, k_w))
    np.testing.assert_allclose(
        convolve2d(image, kernel, "full").numpy(),
        convolve2d(kernel, image, "full").numpy(),
        atol=1e-12,
    )


@PROPERTY
@given(small_arrays)
def test_correlation_swaps_to_its_mirror_image_C1(dims):
    # K star I = Rot180(I star K): swapping the arguments mirrors the result.
    h, w, k_h, k_w, seed = dims
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(k_h, k_w))
    np.testing.assert_allclose(
        correlate2d(kernel, image, "full").numpy(),
        correlate2d(image, kernel, "full").numpy()[::-1, ::-1],
        atol=1e-12,
    )


def test_correlation_does_not_commute_C1():
    image = np.arange(12.0).reshape(3, 4)
    kernel = np.array([[1.0, 2.0], [0.0, -1.0]])
    forward = correlate2d(image, kernel, "full").numpy()
    swapped = correlate2d(kernel, image, "full").numpy()
    assert np.abs(forward - swapped).max() > 1.0


@PROPERTY
@given(
    st.sampled_from(["valid", "same", "full"]),
    st.integers(1, 2),
    st.floats(-3, 3),
    st.floats(-3, 3),
    st.integers(0, 2**31 - 1),
)
def test_convolution_is_linear_C2(mode, stride, alpha, beta, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(2, 2, 7, 6, 2))
    kernel = rng.normal(size=(3, 2, 2, 3))
    lhs = convolve2d(alpha * x + beta * y, kernel, mode, stride).numpy()
    rhs = (
        alpha * convolve2d(x, kernel, mode, stride).numpy()
        + beta * convolve2d(y, kernel, mode, stride).numpy()
    )
    np.testing.assert_allclose(lhs, rhs, atol=1e-10)


@PROPERTY
@given(
    st.sampled_from(["same", "full"]),
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 2**31 - 1),
)
def test_convolution_is_shift_equivariant_C2(mode, t_y, t_x, seed):
    # An interior shift T_t: the content (a 4x4 patch inside a zero canvas)
    # moves by t without reaching the border, so T_t(C(x)) = C(T_t(x)).
    rng = np.random.default_rng(seed)
    canvas = np.zeros((1, 14, 14, 2))
    canvas[:, 3:7, 3:7, :] = rng.normal(size=(1, 4, 4, 2))
    kernel = rng.normal(size=(3, 3, 2, 2))

    def shift(a):
        return np.roll(a, (t_y, t_x), axis=(1, 2))

    np.testing.assert_allclose(
        convolve2d(shift(canvas), kernel, mode).numpy(),
        shift(convolve2d(canvas, kernel, mode).numpy()),
        atol=1e-12,
    )


@pytest.mark.parametrize(
    "input_shape,kernel_shape,mode,strides",
    [
        ((6, 7, 2), (3, 2, 2, 3), "valid", 1),
        ((6, 7, 2), (3, 2, 2, 3), "same", 1),
        ((5, 5, 1), (2, 2, 1, 2), "full", 1),
        ((7, 6, 3), (3, 3, 3, 2), "same", 2),
        ((8, 8, 1), (3, 3, 1, 1), "valid", (2, 3)),
    ],
)
def test_conv_matrix_times_vec_is_the_correlation_C3(input_shape, kernel_shape, mode, strides):
    rng = np.random.default_rng(4)
    kernel = rng.normal(size=kernel_shape)
    image = rng.normal(size=input_shape)
    expected = correlate2d(image[None], kernel, mode, strides).numpy()[0].reshape(-1)
    dense = conv_matrix(kernel, input_shape, mode, strides)
    assert isinstance(dense, np.ndarray)
    np.testing.assert_allclose(dense @ image.reshape(-1), expected, atol=1e-12)
    sparse = conv_matrix(kernel, input_shape, mode, strides, sparse=True)
    assert scipy.sparse.issparse(sparse)
    np.testing.assert_allclose(sparse.toarray(), dense)


def test_conv_matrix_is_the_notes_toeplitz_matrix_C3():
    # A 1-D kernel [k1, k2, k3] convolved ("full") with I: the banded
    # lower-triangular matrix of the notes' example.
    k = np.array([1.0, 2.0, 3.0])
    matrix = conv_matrix(k[::-1][None, :], (1, 4), mode="full")
    expected = np.array(
        [
            [1, 0, 0, 0],
            [2, 1, 0, 0],
            [3, 2, 1, 0],
            [0, 3, 2, 1],
            [0, 0, 3, 2],
            [0, 0, 0, 3],
        ],
        dtype=float,
    )
    np.testing.assert_array_equal(matrix, expected)


def test_conv_matrix_goes_sparse_when_dense_would_pass_256mb_C3():
    # 64x64x3 input, 3x3x3x16 kernel: a dense M would be 65536 x 12288 float32
    # = 3 GiB; the sparse one holds only the non-zero taps.
    rng = np.random.default_rng(5)
    kernel = rng.normal(size=(3, 3, 3, 16)).astype(np.float32)
    matrix = conv_matrix(kernel, (64, 64, 3), mode="same")
    assert scipy.sparse.issparse(matrix)
    assert matrix.shape == (64 * 64 * 16, 64 * 64 * 3)
    assert matrix.shape[0] * matrix.shape[1] * 4 > DENSE_LIMIT_BYTES
    # Interior pixels see 9 taps, edges 6, corners 4; times 3 x 16 channels.
    assert matrix.nnz == (62 * 62 * 9 + 4 * 62 * 6 + 4 * 4) * 3 * 16
    assert matrix.dtype == np.float32
    image = rng.normal(size=(64, 64, 3)).astype(np.float32)
    expected = correlate2d(image[None], kernel, "same").numpy()[0].reshape(-1)
    np.testing.assert_allclose(matrix @ image.reshape(-1), expected, rtol=1e-4, atol=1e-4)


def test_conv_matrix_transpose_is_the_input_gradient_C3_C4():
    # M^T delta is the gradient of <delta, M vec(I)> w.r.t. I, i.e. the
    # backward formula of C4 (and chapter 3's transposed convolution).
    rng = np.random.default_rng(6)
    kernel = rng.normal(size=(3, 3, 2, 3))
    matrix = conv_matrix(kernel, (7, 6, 2), "same", 2)
    delta = rng.normal(size=(1, 4, 3, 3))
    expected = conv2d_input_gradient(delta, kernel, (1, 7, 6, 2), "same", 2).numpy()
    np.testing.assert_allclose(matrix.T @ delta.reshape(-1), expected.reshape(-1), atol=1e-12)


GRADIENT_CASES = [
    (mode, stride, size, channels)
    for mode in ("valid", "same")
    for stride in (1, 2)
    for size in ((7, 7), (8, 6))
    for channels in (1, 3, 8)
]


@pytest.mark.parametrize("mode,stride,size,channels", GRADIENT_CASES)
def test_backward_formulas_equal_autodiff_C4(mode, stride, size, channels):
    rng = np.random.default_rng(7)
    inputs = tf.constant(rng.normal(size=(2, *size, channels)))
    kernel = tf.constant(rng.normal(size=(3, 2, channels, 4)))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([inputs, kernel])
        outputs = tf.nn.conv2d(inputs, kernel, stride, mode.upper())
        loss = tf.reduce_sum(tf.sin(outputs))
    delta = tape.gradient(loss, outputs)
    grad_inputs, grad_kernel = tape.gradient(loss, [inputs, kernel])
    np.testing.assert_allclose(
        conv2d_input_gradient(delta, kernel, inputs.shape, mode, stride).numpy(),
        grad_inputs.numpy(),
        atol=1e-10,
    )
    np.testing.assert_allclose(
        conv2d_kernel_gradient(delta, inputs, kernel.shape, mode, stride).numpy(),
        grad_kernel.numpy(),
        atol=1e-10,
    )


def test_backward_formulas_are_the_notes_correlations_C4():
    # Stride 1, "valid": delta^(l-1) = delta^(l) correlated ("full") with the
    # mirrored W, dL/dW = delta^(l) correlated with Z^(l-1), written out.
    rng = np.random.default_rng(8)
    z = rng.normal(size=(1, 6, 5, 1))
    w = rng.normal(size=(3, 2, 1, 1))
    delta = rng.normal(size=(1, 4, 4, 1))
    np.testing.assert_allclose(
        conv2d_input_gradient(delta, w, z.shape).numpy()[0, :, :, 0],
        scipy.signal.correlate2d(delta[0, :, :, 0], w[::-1, ::-1, 0, 0], "full"),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        conv2d_kernel_gradient(delta, z, w.shape).numpy()[:, :, 0, 0],
        scipy.signal.correlate2d(z[0, :, :, 0], delta[0, :, :, 0], "valid"),
        atol=1e-12,
    )


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: correlate2d(np.zeros((1, 5, 5, 3)), np.zeros((3, 3, 2, 1))), "channel"),
        (lambda: convolve2d(np.zeros((1, 5, 5, 1)), np.zeros((3, 3, 2, 1))), "channel"),
        (lambda: correlate2d(np.zeros((1, 2, 5, 1)), np.zeros((3, 3, 1, 1))), "mode"),
        (lambda: correlate2d(np.zeros((4, 4)), np.zeros((2, 2)), strides=0), "strides"),
        (lambda: convolve2d(np.zeros((4, 4)), np.zeros((2, 2)), strides=(1, -1)), "strides"),
        (lambda: correlate2d(np.zeros((4, 4)), np.zeros((2, 2)), mode="circular"), "mode"),
        (lambda: convolve2d(np.zeros((4, 4)), np.zeros((2, 2)), "same", align="numpy"), "align"),
        (lambda: convolve2d(np.zeros((4, 4)), np.zeros((2, 2)), mode=None), "mode"),
        (lambda: correlate2d(np.zeros((4, 4, 1)), np.zeros((2, 2, 1, 1))), "image"),
        (lambda: conv_matrix(np.zeros((3, 3, 2, 1)), (5, 5, 3)), "channel"),
        (lambda: conv_matrix(np.zeros((3, 3, 1, 1)), (2, 5, 1)), "mode"),
        (lambda: conv_matrix(np.zeros((3, 3, 1, 1)), (5, 5, 1), mode="wrap"), "mode"),
        (lambda: conv_matrix(np.zeros((3, 3, 1, 1)), (5, 5, 1), strides=0), "strides"),
        (lambda: conv_matrix(np.zeros((3, 3, 1, 1)), (5, -5, 1)), "input_shape"),
        (
            lambda: conv2d_input_gradient(
                np.zeros((1, 3, 3, 1)), np.zeros((3, 3, 1, 1)), (1, 5, 5, 1), mode="full"
            ),
            "mode",
        ),
        (
            lambda: conv2d_kernel_gradient(
                np.zeros((1, 3, 3, 1)), np.zeros((1, 5, 5, 1)), (3, 3, 1, 1), strides=-2
            ),
            "strides",
        ),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
