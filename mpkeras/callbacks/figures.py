"""Keras callbacks that draw the model as it trains, for TensorBoard.

What reaches TensorBoard is uint8 or float32: images computed under a
mixed-precision policy (bfloat16, float16 model outputs) are converted here,
at the library boundary, so an experiment never has to.
"""

import io

import keras
import numpy as np
import tensorflow as tf

from mpkeras import validation
from mpkeras.plotting import as_float32


def figure_to_image(figure, dpi=80):
    """Render a matplotlib figure to a ``(1, H, W, 4)`` uint8 tensor."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    image = tf.image.decode_png(buffer.getvalue(), channels=4)
    return tf.expand_dims(image, 0)


def summary_image(images):
    """An image batch as ``tf.summary.image`` takes it: uint8 kept, floats float32.

    ``tf.summary.image`` accepts uint8 and float32 (floats in [0, 1]); the
    bfloat16 or float16 outputs of a mixed-precision model are converted.
    """
    array = np.asarray(images)
    if array.dtype == np.uint8:
        return array
    return as_float32(array)


class PeriodicImageLogger(keras.callbacks.Callback):
    """Write images to TensorBoard every ``every`` epochs, and after the last one.

    Subclasses say what to draw in ``images()``: a dict of tag -> image
    batch ``(N, H, W, C)`` (uint8, or floats in [0, 1] of any float dtype:
    bfloat16 and float16 are written as float32).

    Args:
        log_dir: the TensorBoard directory (images go to ``log_dir/images``).
        every: epochs between logs; the last epoch is always logged.
    """

    def __init__(self, log_dir, every=10):
        super().__init__()
        self.log_dir = str(log_dir)
        self.every = validation.positive_int(every, "every")
        self._writer = None
        self._epochs = None

    def images(self):
        raise NotImplementedError

    def on_train_begin(self, logs=None):
        self._epochs = self.params.get("epochs") if self.params else None

    def on_epoch_end(self, epoch, logs=None):
        last = self._epochs is not None and epoch + 1 == self._epochs
        if (epoch + 1) % self.every == 0 or last:
            self.log(epoch)

    def log(self, step):
        """Write ``images()`` at ``step`` (also callable outside ``fit``)."""
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(f"{self.log_dir}/images")
        with self._writer.as_default():
            for name, image in self.images().items():
                tf.summary.image(name, summary_image(image), step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class FigureLogger(PeriodicImageLogger):
    """Log a figure of the model to TensorBoard every ``every`` epochs.

    Args:
        log_dir: the TensorBoard directory (the figure goes to ``log_dir/images``).
        make_figure: ``model -> matplotlib.figure.Figure``.
        name: the image tag in TensorBoard.
        every: epochs between figures; the last epoch is always logged.

    Example:

    >>> logger = FigureLogger("logs/mlp", lambda m: plot_boundary(m, x, y), "boundary")
    >>> model.fit(x, y, epochs=100, callbacks=[logger])
    """

    def __init__(self, log_dir, make_figure, name="figure", every=10):
        super().__init__(log_dir, every=every)
        self.make_figure = make_figure
        self.name = name

    def images(self):
        return {self.name: figure_to_image(self.make_figure(self.model))}
