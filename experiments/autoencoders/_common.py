"""Pieces the chapter-5a experiments share: optimiser, image rows for TensorBoard."""

import math

import keras
import numpy as np
import tensorflow as tf

from mpkeras.callbacks.latent import grid_figure, image_grid


def cosine_adam(learning_rate, epochs, steps_per_epoch):
    """Adam whose step size decays from ``learning_rate`` to 1% of it (cosine)."""
    schedule = keras.optimizers.schedules.CosineDecay(
        learning_rate, max(1, epochs * steps_per_epoch), alpha=0.01
    )
    return keras.optimizers.Adam(schedule)


def steps_per_epoch(num_examples, batch_size):
    return max(1, math.ceil(num_examples / batch_size))


def display_basis(vectors, image_shape):
    """Basis vectors (columns) as images in [0, 1]: 0.5 is zero, signs kept."""
    vectors = np.asarray(vectors, np.float64)
    scale = np.abs(vectors).max(axis=0, keepdims=True)
    scaled = 0.5 + 0.5 * vectors / np.where(scale > 0, scale, 1.0)
    return scaled.T.reshape(-1, *image_shape)


def rows_figure(rows, labels, title=None):
    """A figure of image rows (e.g. corrupted / output / clean)."""
    return grid_figure(np.clip(np.stack(rows), 0.0, 1.0), title=title, row_labels=labels)


class ImageRowsLogger(keras.callbacks.Callback):
    """Log rows of images to TensorBoard every ``every`` epochs (claim A3).

    Row 1 is ``inputs`` (the corrupted images), row 2 the model's output on
    them, row 3 ``targets`` (the clean images): one grid image under ``name``
    in ``log_dir/images``. Written directly as an image (no matplotlib), so
    logging every epoch costs a forward pass of a few images.
    """

    def __init__(self, log_dir, inputs, targets, name="corrupted_output_clean", every=1):
        super().__init__()
        self.log_dir = str(log_dir)
        self.inputs = np.asarray(inputs, np.float32)
        self.targets = np.asarray(targets, np.float32)
        self.name = name
        self.every = every
        self._writer = None

    def on_train_begin(self, logs=None):
        self._writer = tf.summary.create_file_writer(f"{self.log_dir}/images")

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        outputs = np.asarray(self.model(self.inputs, training=False))
        grid = image_grid(np.clip(np.stack([self.inputs, outputs, self.targets]), 0.0, 1.0))
        with self._writer.as_default():
            tf.summary.image(self.name, grid[None], step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
