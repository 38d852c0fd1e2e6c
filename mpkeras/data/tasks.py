"""Turning TFDS feature dicts into ``(inputs, targets)`` for each task.

Work is split in two so that the cache stays small and randomness stays
fresh: ``element_fn`` runs once per example before the cache and keeps
compact dtypes (uint8 images, no duplicated targets); ``batch_fn`` runs per
batch after the cache and does the cheap, vectorised, possibly random part
(scaling to floats, dynamic binarisation, noise, holes, one-hot, user
augmentation).

Randomness is stateless: every random draw is a function of the user seed,
the pass index (only when the order changes per pass, see
``mpkeras.data.shuffling``) and the batch index within the pass, so a
resumed run sees exactly the noise the uninterrupted run would have seen.

Task outputs:

* classification: ``(image float32 HxWxC, label int64)``; points ``(x, label)``;
  text ``(string, label)``.
* reconstruction: ``(x, x)``; denoising: ``(noisy x, x)`` with Gaussian,
  salt-and-pepper or bit-flip noise; inpainting ``(x with a rectangular hole
  of zeros, x)``, the hole a square of a fixed side or of random height and
  width.
* segmentation: ``(image float32, mask int32 HxW)`` with classes from 0.
* factors (sprites, dsprites): ``(image, int64 factor indices of shape (5,))``
  in the order shape, scale, orientation, x_position, y_position.
* sequence: adding ``(float32 (T, 2) [value, marker], float32 sum)``;
  copy ``(float32 one-hot (T + 20, 10), int32 symbols (T + 20,))``.
"""

import tensorflow as tf

from mpkeras.data import registry
from mpkeras.data.builders.copy import NUM_TOKENS

# Ids folded into the per-batch seed so that different random ops draw
# independent numbers.
_BINARIZE, _NOISE, _HOLE, _HOLE_SIZE = 1, 2, 3, 4

NOISES = ("gaussian", "salt_and_pepper", "flip")


def _stateless_seed(seed, *data):
    key = tf.stack([tf.cast(seed, tf.int64), tf.constant(0, tf.int64)])
    for d in data:
        key = tf.random.experimental.stateless_fold_in(key, tf.cast(d, tf.int64))
    return key


def _resize(image, size, method):
    dtype = image.dtype
    image = tf.image.resize(image, size, method=method)
    if method == "bilinear":
        image = tf.round(image)
    return tf.cast(image, dtype)


def element_fn(spec, task, *, seed, binarize, image_size):
    """Per-example mapping applied before the cache.

    Args:
        spec: the dataset's ``registry.DatasetSpec``.
        task: a task the dataset serves.
        seed: the user seed (static binarisation draws from it).
        binarize: None, ``"static"`` or ``"dynamic"``.
        image_size: (height, width) to resize images to, or None.

    Returns:
        A function ``(index, features) -> element``.
    """
    kind = spec.kind
    size = image_size or spec.image_size

    def fn(index, ex):
        if kind == "points":
            return ex[spec.input_key], ex[spec.label_key]
        if kind == "text":
            return ex[spec.input_key], ex[spec.label_key]
        if kind == "adding":
            inputs = tf.stack(
                [tf.cast(ex["values"], tf.float32), tf.cast(ex["markers"], tf.float32)],
                axis=-1,
            )
            return inputs, tf.cast(ex["target"], tf.float32)
        if kind == "copy":
            return tf.cast(ex["tokens"], tf.uint8), tf.cast(ex["targets"], tf.uint8)

        image = ex[spec.input_key]
        if size is not None:
            image = _resize(image, size, "bilinear")
        if binarize == "static":
            # One fixed Bernoulli sample per example (Salakhutdinov & Murray's
            # static binarisation), drawn from (seed, example index).
            p = tf.cast(image, tf.float32) / spec.pixel_max
            u = tf.random.stateless_uniform(tf.shape(p), seed=_stateless_seed(seed, index))
            image = tf.cast(u < p, tf.uint8)
        if task == "classification":
            return image, ex[spec.label_key]
        if task == "segmentation":
            mask = ex[spec.mask_key]
            if size is not None:
                mask = _resize(mask, size, "nearest")
            mask = mask[..., 0] - tf.cast(spec.mask_offset, mask.dtype)
            return image, mask
        if task == "factors":
            labels = tf.stack(
                [tf.cast(ex[f"label_{f}"], tf.int64) for f in registry.SPRITE_FACTORS]
            )
            return image, labels
        return image  # Autoencoding tasks: the target is the input.

    return fn


def batch_fn(
    spec,
    task,
    *,
    seed,
    binarize,
    normalize,
    noise_level,
    hole_size,
    augment,
    noise=None,
):
    """Per-batch mapping applied after cache, shuffle and batch.

    Args:
        spec: the dataset's ``registry.DatasetSpec``.
        task: a task the dataset serves.
        seed: the user seed for dynamic binarisation, noise and holes.
        binarize: None, ``"static"`` or ``"dynamic"``.
        normalize: scale images to [0, 1] floats; False keeps the source's
            range (0..``spec.source_max`` where the data are stored rescaled,
            else 0..``spec.pixel_max``).
        noise_level: the denoising noise's level (see ``noise``); None for
            its default.
        hole_size: the inpainting hole: an int side (a square), a
            ``(min, max)`` pair (height and width drawn independently and
            uniformly from min..max, both included, per example) or None
            (a square of half the smaller image side).
        augment: optional ``(inputs, targets) -> (inputs, targets)`` applied
            last, to batches.
        noise: the denoising corruption, one of ``NOISES``; None for
            ``"flip"`` on binary images and ``"gaussian"`` on grey ones.
            ``"gaussian"``: x + level * eps, eps ~ N(0, 1), clipped to the
            pixel range (level = standard deviation in [0, 1] units, default
            0.3). ``"salt_and_pepper"``: each pixel (all channels together)
            becomes white with probability level / 2 and black with
            probability level / 2 (default level 0.1). ``"flip"``: each value
            becomes white - value with probability level (default 0.1).

    Returns:
        A function ``(index, element) -> (inputs, targets)``; ``index`` is
        ``(pass_index, batch_index)`` for per-pass (training) datasets, whose
        draws change every pass, or ``batch_index`` alone for datasets that
        yield the same numbers every pass (evaluation splits).
    """
    kind = spec.kind
    binary = binarize is not None or spec.pixel_max == 1

    def key(index, op):
        return _stateless_seed(seed, *tf.nest.flatten(index), op)

    # The white value of un-normalised images: the source's own (digits'
    # 0..16 counts are stored as round(v * 255 / 16) and inverted exactly).
    raw_top = float(spec.source_max or spec.pixel_max)

    def to_float(image, index):
        x = tf.cast(image, tf.float32)
        scale = 1.0 if binarize == "static" else float(spec.pixel_max)
        if normalize or binarize:
            # Clipping is a no-op on real data; it keeps mocked remote data
            # (uniform 0-255 even where white is 1) in range.
            x = tf.clip_by_value(x / scale, 0.0, 1.0)
        elif spec.source_max:
            x = tf.round(x * (raw_top / spec.pixel_max))
        if binarize == "dynamic":
            # A fresh Bernoulli sample every pass (dynamic binarisation).
            u = tf.random.stateless_uniform(tf.shape(x), seed=key(index, _BINARIZE))
            x = tf.cast(u < tf.clip_by_value(x, 0.0, 1.0), tf.float32)
        return x

    if noise is None:
        noise = "flip" if binary else "gaussian"
    if noise_level is None:
        noise_level = 0.3 if noise == "gaussian" else 0.1

    def noisy(x, index):
        top = 1.0 if (normalize or binarize) else raw_top
        if noise == "flip":
            u = tf.random.stateless_uniform(tf.shape(x), seed=key(index, _NOISE))
            return tf.where(u < noise_level, top - x, x)
        if noise == "salt_and_pepper":
            # One draw per pixel, shared by its channels.
            shape = tf.concat([tf.shape(x)[:-1], [1]], axis=0)
            u = tf.random.stateless_uniform(shape, seed=key(index, _NOISE))
            x = tf.where(u < noise_level / 2, top, x)
            return tf.where((u >= noise_level / 2) & (u < noise_level), 0.0, x)
        eps = tf.random.stateless_normal(tf.shape(x), seed=key(index, _NOISE))
        return tf.clip_by_value(x + noise_level * top * eps, 0.0, top)

    def holed(x, index):
        shape = tf.shape(x)
        batch, height, width = shape[0], shape[1], shape[2]
        if hole_size is None or isinstance(hole_size, int):
            side = hole_size if hole_size is not None else tf.minimum(height, width) // 2
            hole_height = hole_width = tf.fill([batch], tf.cast(side, tf.int32))
        else:
            low, high = hole_size
            sizes = tf.random.stateless_uniform(
                tf.stack([batch, 2]),
                seed=key(index, _HOLE_SIZE),
                minval=int(low),
                maxval=int(high) + 1,
                dtype=tf.int32,
            )
            hole_height, hole_width = sizes[:, 0], sizes[:, 1]
        corners = tf.random.stateless_uniform(
            tf.stack([batch, 2]),
            seed=key(index, _HOLE),
            minval=0,
            maxval=tf.int32.max,
            dtype=tf.int32,
        )
        top = corners[:, 0] % (height - hole_height + 1)
        left = corners[:, 1] % (width - hole_width + 1)
        rows = tf.range(height)[None, :, None]
        cols = tf.range(width)[None, None, :]
        inside = (
            (rows >= top[:, None, None])
            & (rows < (top + hole_height)[:, None, None])
            & (cols >= left[:, None, None])
            & (cols < (left + hole_width)[:, None, None])
        )
        return tf.where(inside[..., None], tf.zeros_like(x), x)

    def fn(index, element):
        if kind in ("points", "text", "adding"):
            inputs, targets = element
        elif kind == "copy":
            tokens, targets = element
            inputs = tf.one_hot(tf.cast(tokens, tf.int32), NUM_TOKENS, dtype=tf.float32)
            targets = tf.cast(targets, tf.int32)
        elif task in ("classification", "factors"):
            image, targets = element
            inputs = to_float(image, index)
        elif task == "segmentation":
            image, mask = element
            inputs, targets = to_float(image, index), tf.cast(mask, tf.int32)
        else:
            targets = to_float(element, index)
            if task == "denoising":
                inputs = noisy(targets, index)
            elif task == "inpainting":
                inputs = holed(targets, index)
            else:
                inputs = targets
        if augment is not None:
            inputs, targets = augment(inputs, targets)
        return inputs, targets

    # Whether fn reads its index (random draws); where it does not, the
    # pipeline need not carry the index to it.
    fn.draws = binarize == "dynamic" or task in ("denoising", "inpainting")
    return fn
