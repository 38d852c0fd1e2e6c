"""Keras callbacks that draw the model as it trains, for TensorBoard."""

import io

import keras
import tensorflow as tf


def figure_to_image(figure, dpi=80):
    """Render a matplotlib figure to a ``(1, H, W, 4)`` uint8 tensor."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    image = tf.image.decode_png(buffer.getvalue(), channels=4)
    return tf.expand_dims(image, 0)


class FigureLogger(keras.callbacks.Callback):
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
        super().__init__()
        if every <= 0:
            raise ValueError(f"`every` must be a positive integer. Received: every={every}")
        self.log_dir = str(log_dir)
        self.make_figure = make_figure
        self.name = name
        self.every = every
        self._writer = None
        self._epochs = None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(f"{self.log_dir}/images")
        self._epochs = self.params.get("epochs") if self.params else None

    def on_epoch_end(self, epoch, logs=None):
        last = self._epochs is not None and epoch + 1 == self._epochs
        if (epoch + 1) % self.every == 0 or last:
            self.log(epoch)

    def log(self, step):
        image = figure_to_image(self.make_figure(self.model))
        with self._writer.as_default():
            tf.summary.image(self.name, image, step=step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
