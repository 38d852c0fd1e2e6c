"""Image quality as Keras metrics: PSNR and SSIM (notes chapter 5a, claim A3).

Both average a per-example score over every example seen since the last
`reset_state()`, weighted by `sample_weight` (one weight per example) when
given. PSNR takes any shape `(batch, ...)` (images, or the flat vectors of
`build_autoencoder((64,), kind="mlp")`); SSIM needs images `(batch, height,
width, channels)` and says so. Values lie in [0, max_val]. Inputs of any
float dtype are computed in float32 (a mixed-precision model's bfloat16 or
float16 outputs included).
"""

import keras
import tensorflow as tf

from mpkeras import validation


def _as_float32(value):
    # tf.convert_to_tensor(x, dtype=float32) refuses a bfloat16 tensor; cast.
    return tf.cast(tf.convert_to_tensor(value), tf.float32)


def _check_same_shape(metric, y_true, y_pred):
    if not y_true.shape.is_compatible_with(y_pred.shape):
        raise ValueError(
            f"{metric} compares y_true and y_pred element by element; their shapes "
            f"differ. Received: y_true.shape={tuple(y_true.shape)}, "
            f"y_pred.shape={tuple(y_pred.shape)}"
        )


class _PerExampleMean(keras.metrics.Metric):
    """Weighted mean of a per-example score; subclasses define `_score`."""

    def __init__(self, max_val=1.0, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.max_val = validation.positive_number(max_val, "max_val")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def _score(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = _as_float32(y_true)
        y_pred = _as_float32(y_pred)
        if y_pred.shape.rank == 0:
            raise ValueError(
                f"{type(self).__name__} scores each example of a batch: y_pred needs a "
                f"batch axis. Received: y_pred.shape={tuple(y_pred.shape)}"
            )
        _check_same_shape(type(self).__name__, y_true, y_pred)
        scores = tf.cast(self._score(y_true, y_pred), self.dtype)
        if sample_weight is None:
            weights = tf.ones_like(scores)
        else:
            weights = tf.cast(tf.reshape(sample_weight, [-1]), self.dtype)
            weights = tf.broadcast_to(weights, tf.shape(scores))
        # A zero weight drops an example even when its score is inf (PSNR of
        # an example equal to its reference), which inf * 0 = nan would not.
        weighted = tf.where(weights > 0, scores * weights, tf.zeros_like(scores))
        self.total.assign_add(tf.reduce_sum(weighted))
        self.count.assign_add(tf.reduce_sum(weights))

    def result(self):
        return tf.math.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "max_val": self.max_val}


@keras.saving.register_keras_serializable(package="mpkeras")
class PSNR(_PerExampleMean):
    """Peak signal-to-noise ratio in dB, averaged over examples.

    For one example with n values and mean squared error
    MSE = 1/n sum_j (x_j - x_hat_j)^2 over all its values,

        PSNR = 10 log10(max_val^2 / MSE)

    so +10 dB is a tenfold smaller squared error. Any shape `(batch, ...)`
    works: images `(batch, H, W, C)` (where this is `tf.image.psnr`), flat
    vectors `(batch, features)`, sequences. Identical examples give +inf
    (and make the mean +inf); give them `sample_weight=0` to leave them out.
    Claim A3 compares the PSNR of a denoising/inpainting autoencoder's output
    with that of its corrupted input.

    Args:
        max_val: dynamic range of the images (1.0 for [0, 1], 255 for bytes).
        name: metric name (default "psnr").
        dtype: dtype of the result.

    Example:

    >>> metric = PSNR(max_val=1.0)
    >>> metric.update_state(clean, noisy)
    >>> float(metric.result())  # dB
    """

    def __init__(self, max_val=1.0, name="psnr", dtype=None):
        super().__init__(max_val=max_val, name=name, dtype=dtype)

    def _score(self, y_true, y_pred):
        # Per example: the mean over every non-batch axis (rank known or not).
        axes = tf.range(1, tf.rank(y_pred))
        mse = tf.reduce_mean(tf.math.squared_difference(y_true, y_pred), axis=axes)
        # tf.image.psnr's form: 20 log10(max_val) - 10 log10(MSE).
        log10 = tf.math.log(10.0)
        return 20.0 * tf.math.log(self.max_val) / log10 - 10.0 * tf.math.log(mse) / log10


@keras.saving.register_keras_serializable(package="mpkeras")
class SSIM(_PerExampleMean):
    """Structural similarity index (Wang et al. 2004), averaged over images.

    Within a Gaussian window (size `filter_size`, std `filter_sigma`),

        SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2)
               / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)),

    C1 = (k1 max_val)^2, C2 = (k2 max_val)^2, averaged over windows and
    channels (`tf.image.ssim`). 1 for identical images.

    It needs images `(batch, height, width, channels)` (a ValueError says so
    for any other rank: reshape flat outputs to images, or use PSNR, which
    takes any shape). The window is shrunk to the image when the image is
    smaller (e.g. 8x8 digits use an 8x8 window), so any static size works;
    images whose height or width is unknown until run time must be at least
    `filter_size` pixels high and wide, which is checked when they arrive.

    Args:
        max_val: dynamic range of the images.
        filter_size: side of the Gaussian window (11 in the paper).
        filter_sigma: its standard deviation.
        k1, k2: the stabilising constants.
        name: metric name (default "ssim").
        dtype: dtype of the result.
    """

    def __init__(
        self,
        max_val=1.0,
        filter_size=11,
        filter_sigma=1.5,
        k1=0.01,
        k2=0.03,
        name="ssim",
        dtype=None,
    ):
        super().__init__(max_val=max_val, name=name, dtype=dtype)
        filter_size = validation.positive_int(filter_size, "filter_size")
        for arg, value in (("filter_sigma", filter_sigma), ("k1", k1), ("k2", k2)):
            validation.positive_number(value, arg)
        self.filter_size = int(filter_size)
        self.filter_sigma = float(filter_sigma)
        self.k1 = float(k1)
        self.k2 = float(k2)

    def _score(self, y_true, y_pred):
        if y_pred.shape.rank is not None and y_pred.shape.rank != 4:
            hint = (
                " Reshape flat outputs to images (e.g. keras.layers.Reshape((8, 8, 1)))"
                " or use PSNR, which takes any shape."
                if y_pred.shape.rank == 2
                else ""
            )
            raise ValueError(
                "SSIM needs images of shape (batch, height, width, channels), rank 4. "
                f"Received: y_pred.shape={tuple(y_pred.shape)} (rank {y_pred.shape.rank}).{hint}"
            )
        height, width = y_pred.shape[1], y_pred.shape[2]
        size = self.filter_size
        if height is not None and width is not None:
            size = min(size, int(height), int(width))
        else:
            # Unknown until run time: tf.image.ssim needs the whole window
            # inside the image; say so in its terms.
            spatial = tf.shape(y_pred)[1:3]
            tf.debugging.assert_greater_equal(
                tf.reduce_min(spatial),
                size,
                message=(
                    f"SSIM with filter_size={size} needs images at least {size}x{size} "
                    "(height and width unknown when the metric was built); pass a "
                    "smaller filter_size or larger images"
                ),
            )
        return tf.image.ssim(
            y_true,
            y_pred,
            max_val=self.max_val,
            filter_size=size,
            filter_sigma=self.filter_sigma,
            k1=self.k1,
            k2=self.k2,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "filter_size": self.filter_size,
            "filter_sigma": self.filter_sigma,
            "k1": self.k1,
            "k2": self.k2,
        }
