"""Image quality as Keras metrics: PSNR and SSIM (notes chapter 5a, claim A3).

Both average a per-image score over every image seen since the last
`reset_state()`, weighted by `sample_weight` (one weight per image) when
given. The per-image scores are TensorFlow's `tf.image.psnr` and
`tf.image.ssim`; images are `(batch, height, width, channels)` with values
in [0, max_val].
"""

import numbers

import keras
import tensorflow as tf


def _check_max_val(max_val):
    if (
        isinstance(max_val, bool)
        or not isinstance(max_val, numbers.Real)
        or not max_val > 0
    ):
        raise ValueError(
            "Received an invalid value for `max_val`, expected a positive "
            f"number (the dynamic range of the images). Received: max_val={max_val!r}"
        )
    return float(max_val)


class _PerImageMean(keras.metrics.Metric):
    """Weighted mean of a per-image score; subclasses define `_score`."""

    def __init__(self, max_val=1.0, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.max_val = _check_max_val(max_val)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def _score(self, y_true, y_pred):
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.convert_to_tensor(y_true, dtype=tf.float32)
        y_pred = tf.convert_to_tensor(y_pred, dtype=tf.float32)
        if y_pred.shape.rank is not None and y_pred.shape.rank != 4:
            raise ValueError(
                f"{type(self).__name__} expects images of shape (batch, height, "
                f"width, channels). Received: y_pred.shape={y_pred.shape}"
            )
        scores = tf.cast(self._score(y_true, y_pred), self.dtype)
        if sample_weight is None:
            weights = tf.ones_like(scores)
        else:
            weights = tf.cast(tf.reshape(sample_weight, [-1]), self.dtype)
            weights = tf.broadcast_to(weights, tf.shape(scores))
        # A zero weight drops an image even when its score is inf (PSNR of
        # an image equal to its reference), which inf * 0 = nan would not.
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
class PSNR(_PerImageMean):
    """Peak signal-to-noise ratio in dB, averaged over images.

    For one image with mean squared error MSE = 1/n sum_j (x_j - x_hat_j)^2,

        PSNR = 10 log10(max_val^2 / MSE)   (`tf.image.psnr`)

    so +10 dB is a tenfold smaller squared error. Identical images give +inf
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
        return tf.image.psnr(y_true, y_pred, max_val=self.max_val)


@keras.saving.register_keras_serializable(package="mpkeras")
class SSIM(_PerImageMean):
    """Structural similarity index (Wang et al. 2004), averaged over images.

    Within a Gaussian window (size `filter_size`, std `filter_sigma`),

        SSIM = (2 mu_x mu_y + C1)(2 sigma_xy + C2)
               / ((mu_x^2 + mu_y^2 + C1)(sigma_x^2 + sigma_y^2 + C2)),

    C1 = (k1 max_val)^2, C2 = (k2 max_val)^2, averaged over windows and
    channels (`tf.image.ssim`). 1 for identical images. The window is
    shrunk to the image when the image is smaller (e.g. 8x8 digits use an
    8x8 window), since `tf.image.ssim` rejects images smaller than it.

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
        if (
            isinstance(filter_size, bool)
            or not isinstance(filter_size, numbers.Integral)
            or filter_size <= 0
        ):
            raise ValueError(
                "Received an invalid value for `filter_size`, expected a "
                f"positive integer. Received: filter_size={filter_size!r}"
            )
        for arg, value in (("filter_sigma", filter_sigma), ("k1", k1), ("k2", k2)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
                raise ValueError(
                    f"Received an invalid value for `{arg}`, expected a "
                    f"positive number. Received: {arg}={value!r}"
                )
        self.filter_size = int(filter_size)
        self.filter_sigma = float(filter_sigma)
        self.k1 = float(k1)
        self.k2 = float(k2)

    def _score(self, y_true, y_pred):
        height, width = y_pred.shape[1], y_pred.shape[2]
        size = self.filter_size
        if height is not None and width is not None:
            size = min(size, int(height), int(width))
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
