"""Latent codes in TensorBoard's Embedding Projector (claims A5, A6).

Keras 3's ``TensorBoard`` callback no longer writes embeddings
(keras-team/keras#20210), so this module writes what the projector plugin
reads, as its documentation describes, into one directory per embedding:

- ``embedding.ckpt-1.*`` and ``checkpoint``: the codes, shape (N, D), as the
  variable ``embedding`` of a ``tf.train.Checkpoint``;
- ``metadata.tsv``: one row per point, tab-separated; a header row names the
  columns when there are several (labels, or the factors of a sprite);
- ``sprite.png``: the N inputs as thumbnails on a square grid, row-major;
- ``projector_config.pbtxt``: the ``ProjectorConfig`` tying them together
  (paths relative to the directory, so a run directory can be moved);
- an event file with a short text summary, so TensorBoard lists the
  directory as a run (the projector only looks at runs).

Looking at the codes of a VAE's test images coloured by label shows whether
nearby codes are similar images (A5); a beta-VAE's codes coloured by one
ground-truth factor show whether that factor follows one direction (A6).
"""

import math
from pathlib import Path

import keras
import numpy as np

from mpkeras import validation

TENSOR_NAME = "embedding/.ATTRIBUTES/VARIABLE_VALUE"
"""The codes' name in the checkpoint (a ``tf.train.Checkpoint(embedding=...)``)."""

MAX_SPRITE_SIDE = 8192
"""The projector's limit on the sprite image's width and height, in pixels."""

MIN_THUMBNAIL_SIDE = 32
"""Smaller images (8x8 digits) are enlarged (nearest neighbour) to about this side."""

MIN_DIMENSIONS = 3
"""The Projector's default view is a 3-D PCA, which shows nothing (NaN variance) for
fewer dimensions: smaller codes get zero columns up to this many."""


def write_embedding(logdir, codes, metadata=None, images=None, description=""):
    """Write ``codes`` for the Embedding Projector into ``logdir``.

    Args:
        logdir: the directory (a TensorBoard run of its own, e.g. a run's
            ``logs/<name>/projector``); files written there before by this
            function are replaced.
        codes: array (N, D) of finite numbers, one row per point (e.g. the
            posterior means of the test images). Codes of 1 or 2 dimensions
            are stored with zero columns up to 3 (:data:`MIN_DIMENSIONS`),
            as the Projector's PCA view draws nothing for fewer.
        metadata: None; a sequence of N values (one column, no header, as
            the projector wants for a single column); or a dict of column
            name -> N values (a header row, tab-separated). Values are
            written with ``str``; they may not contain tabs or newlines.
        images: None or N images (N, H, W[, 1 or 3]), floats in [0, 1] or
            uint8, for the sprite; thumbnails shrink to fit the projector's
            8192 px limit and tiny ones are enlarged.
        description: Markdown for the text summary shown in the Text tab.

    Returns:
        The path of ``projector_config.pbtxt``.

    Raises:
        ValueError: ``codes`` is not a non-empty 2-D array of finite numbers,
            ``metadata`` or ``images`` do not have N rows, a metadata value
            holds a tab or a newline, or the images are not in [0, 1].
    """
    import tensorflow as tf
    from tensorboard.plugins import projector

    codes = _codes(codes)
    dims = codes.shape[1]
    if dims < MIN_DIMENSIONS:
        codes = np.pad(codes, ((0, 0), (0, MIN_DIMENSIONS - dims)))
    rows = _metadata_rows(metadata, len(codes))
    sprite = None if images is None else sprite_image(images, expected=len(codes))
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    for name in ("checkpoint", "metadata.tsv", "sprite.png"):
        (logdir / name).unlink(missing_ok=True)
    for old in [*logdir.glob("embedding.ckpt-*"), *logdir.glob("events.out.tfevents.*")]:
        old.unlink()

    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = TENSOR_NAME
    if rows is not None:
        (logdir / "metadata.tsv").write_text("".join(f"{row}\n" for row in rows))
        embedding.metadata_path = "metadata.tsv"
    if sprite is not None:
        grid, side = sprite
        _write_png(logdir / "sprite.png", grid)
        embedding.sprite.image_path = "sprite.png"
        embedding.sprite.single_image_dim.extend([side, side])
    checkpoint = tf.train.Checkpoint(embedding=tf.Variable(codes, trainable=False))
    checkpoint.save(str(logdir / "embedding.ckpt"))
    projector.visualize_embeddings(str(logdir), config)

    text = description or f"{len(codes)} points of {dims} dimensions"
    if dims < codes.shape[1]:
        text += f" (stored with {codes.shape[1] - dims} zero columns for the 3-D view)"
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        tf.summary.text("embedding", f"{text} (Projector tab)", step=0)
    writer.close()
    return logdir / "projector_config.pbtxt"


def _codes(codes):
    array = np.asarray(codes)
    # bfloat16, a model's output under mixed_bfloat16, is no NumPy number type.
    numeric = np.issubdtype(array.dtype, np.number) or array.dtype.name == "bfloat16"
    if array.ndim != 2 or not array.size or not numeric:
        raise validation.invalid(
            "codes",
            "a non-empty 2-D array (points, dimensions) of numbers",
            f"array of shape {array.shape} and dtype {array.dtype}",
        )
    if not np.all(np.isfinite(array)):
        raise validation.invalid(
            "codes", "finite numbers", f"{int(np.sum(~np.isfinite(array)))} NaN or inf values"
        )
    return array.astype(np.float32)


def _metadata_rows(metadata, count):
    """The lines of ``metadata.tsv`` (header first when there are several columns)."""
    if metadata is None:
        return None
    if isinstance(metadata, dict):
        if not metadata:
            raise validation.invalid("metadata", "a non-empty dict of column -> values", metadata)
        names = [_cell(name, "metadata column name") for name in metadata]
        columns = [
            _column(values, count, f"metadata[{name!r}]") for name, values in metadata.items()
        ]
    else:
        names, columns = [], [_column(metadata, count, "metadata")]
    body = ["\t".join(cells) for cells in zip(*columns)]
    # The projector reads a first line with a tab as the header: only for >1 column.
    return ["\t".join(names), *body] if len(columns) > 1 else body


def _column(values, count, name):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise validation.invalid(name, f"a sequence of {count} values", values)
    values = np.asarray(values).tolist() if hasattr(values, "tolist") else list(values)
    if len(values) != count:
        raise validation.invalid(name, f"{count} values, one per point", f"{len(values)} values")
    return [_cell(value, name) for value in values]


def _cell(value, name):
    text = value.decode() if isinstance(value, bytes) else str(value)
    if any(ch in text for ch in "\t\n\r"):
        raise validation.invalid(name, "values without tabs or newlines", text)
    return text


def sprite_image(images, expected=None):
    """The projector's sprite: ``images`` as thumbnails on a square grid.

    Args:
        images: N images (N, H, W[, 1 or 3]), floats in [0, 1] or uint8.
        expected: if given, the number of images there must be.

    Returns:
        ``(grid, side)``: a uint8 array (rows * side, cols * side[, 3]) with
        cols = rows = ceil(sqrt(N)), the images row-major from the top left,
        and the thumbnails' side in pixels. Non-square images are padded
        (white) to a square first.
    """
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3) or not len(images):
        raise validation.invalid(
            "images", "N images of shape (N, H, W[, 1 or 3])", f"array of shape {images.shape}"
        )
    if expected is not None and len(images) != expected:
        raise validation.invalid(
            "images", f"{expected} images, one per point", f"{len(images)} images"
        )
    if images.dtype != np.uint8:
        images = images.astype(np.float64)
        low, high = float(np.min(images)), float(np.max(images))
        if not (0.0 <= low and high <= 1.0):
            raise validation.invalid(
                "images", "uint8 or floats in [0, 1]", f"values in [{low}, {high}]"
            )
        images = np.round(images * 255).astype(np.uint8)
    height, width = images.shape[1:3]
    side = max(height, width)
    if height != width:
        padded = np.full((len(images), side, side, *images.shape[3:]), 255, np.uint8)
        padded[:, :height, :width] = images
        images = padded
    cols = math.ceil(math.sqrt(len(images)))
    thumb = max(1, min(MAX_SPRITE_SIDE // cols, side * max(1, MIN_THUMBNAIL_SIDE // side)))
    images = _resize(images, thumb)
    grid = np.full((cols * thumb, cols * thumb, *images.shape[3:]), 255, np.uint8)
    for index, image in enumerate(images):
        row, col = divmod(index, cols)
        grid[row * thumb : (row + 1) * thumb, col * thumb : (col + 1) * thumb] = image
    return grid, thumb


def _resize(images, side):
    """Square uint8 images to ``side`` pixels: integer enlargement, else PIL's area filter."""
    current = images.shape[1]
    if side == current:
        return images
    if side % current == 0:
        factor = side // current
        return images.repeat(factor, axis=1).repeat(factor, axis=2)
    from PIL import Image

    return np.stack(
        [
            np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BOX))
            for image in images
        ]
    )


def _write_png(path, grid):
    from PIL import Image

    Image.fromarray(grid).save(path)


def latent_means(model, x, batch_size=256):
    """The codes of ``x``: posterior means of a VAE, else the encoder's output.

    A model with ``encode`` (``mpkeras.models.VAE``) gives the mean of
    q(z | x); a model with an ``encoder`` sub-model (``Autoencoder``) gives
    that encoder's output. Computed in batches of ``batch_size``.

    Raises:
        ValueError: the model has neither ``encode`` nor ``encoder``.
    """
    x = np.asarray(x)
    if hasattr(model, "encode"):
        parts = [
            np.asarray(model.encode(x[i : i + batch_size])[0]) for i in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts)
    if hasattr(model, "encoder"):
        codes = model.encoder.predict(x, batch_size=batch_size, verbose=0)
        if isinstance(codes, (list, tuple, dict)):
            # Which output is the code (z_mean? z?) is the model's to say.
            raise validation.invalid(
                "model",
                "an encoder with one output; this one has several, so pass "
                "`encode=lambda model, x: ...` that returns the codes",
                type(model).__name__,
            )
        return np.asarray(codes)
    raise validation.invalid(
        "model",
        "a VAE (with `encode`) or an autoencoder (with an `encoder` sub-model); "
        "for another model compute the codes and call `write_embedding`",
        type(model).__name__,
    )


class EmbeddingLogger(keras.callbacks.Callback):
    """At the end of ``fit``, write the codes of ``inputs`` for the Projector.

    Args:
        log_dir: the embedding's directory (see :func:`write_embedding`).
        inputs: the examples to encode (e.g. the test images).
        metadata: labels or factors, as for :func:`write_embedding`.
        images: the sprite's images (often ``inputs`` themselves), or None.
        encode: ``encode(model, inputs) -> codes``; default
            :func:`latent_means` (a VAE's posterior means, an autoencoder's
            encoder output).

    Example:

    ```python
    logger = EmbeddingLogger("logs/vae/projector", x_test, metadata=y_test, images=x_test)
    vae.fit(x_train, epochs=10, callbacks=[logger])
    ```
    """

    def __init__(self, log_dir, inputs, metadata=None, images=None, encode=None):
        super().__init__()
        self.log_dir = Path(log_dir)
        self.inputs = np.asarray(inputs)
        # Checked now, not after training.
        _metadata_rows(metadata, len(self.inputs))
        if images is not None:
            sprite_image(images, expected=len(self.inputs))
        if encode is not None and not callable(encode):
            raise validation.invalid("encode", "a callable (model, inputs) -> codes", encode)
        self.metadata = metadata
        self.images = images
        self.encode = encode or latent_means

    def on_train_begin(self, logs=None):
        if self.encode is latent_means and not (
            hasattr(self.model, "encode") or hasattr(self.model, "encoder")
        ):
            # Now, not after the whole fit.
            raise validation.invalid(
                "encode",
                "a callable (model, inputs) -> codes for a model without `encode` "
                "or an `encoder` sub-model",
                None,
            )

    def on_train_end(self, logs=None):
        codes = self.encode(self.model, self.inputs)
        write_embedding(self.log_dir, codes, metadata=self.metadata, images=self.images)
