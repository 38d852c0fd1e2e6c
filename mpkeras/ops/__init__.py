"""Pure tensor functions of the notes (no state, no weights)."""

from mpkeras._lazy import lazy_exports

_EXPORTS = {
    # Chapter 2: correlation, convolution, the convolution matrix (C1-C3) and
    # the conv layer's backward formulas (C4).
    "correlate2d": "convolution",
    "convolve2d": "convolution",
    "conv_matrix": "toeplitz",
    "conv2d_input_gradient": "convolution",
    "conv2d_kernel_gradient": "convolution",
    # Chapter 2: max pooling's backward pass routes the gradient to the argmax (C5).
    "max_pool2d_backward": "pooling",
    # Chapter 3: max pooling with argmax indices and max unpooling, any rank (F1).
    "max_pool_with_argmax": "argmax_pooling",
    "max_unpool": "unpooling",
    # Chapter 4: gradient clipping by norm (R5).
    "clip_gradient_norm": "clipping",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
