"""Data, training and figures shared by the chapter-3 experiments."""

import numpy as np

from mpkeras import data, plotting

CLASS_NAMES = {
    "shapes": ("background", "circle", "square", "triangle"),
    # Trimaps 1 = pet, 2 = background, 3 = border, shifted to start at 0.
    "oxford_iiit_pet": ("pet", "background", "border"),
}
DATASETS = tuple(CLASS_NAMES)


def split_name(split, examples):
    """A TFDS split, or its first ``examples`` examples when ``examples`` > 0."""
    return f"{split}[:{examples}]" if examples else split


def load_segmentation(config, seed):
    """(train, validation or None, test, class names, input shape) for ``config``.

    ``config`` has ``dataset``, ``image_size`` (empty: the dataset's size),
    ``train_examples``/``test_examples`` (0: all) and ``train.batch_size``.
    Pixel values are in [0, 1]; masks are int32 class indices, clipped into
    range (TFDS mock data fills masks with arbitrary bytes).
    """
    import tensorflow as tf

    from mpkeras.data import registry

    spec = registry.resolve(config.dataset)[0]
    names = CLASS_NAMES[config.dataset]
    image_size = tuple(config.image_size) or None

    def clip(images, masks):
        return images, tf.clip_by_value(masks, 0, len(names) - 1)

    def load(split, **kwargs):
        return data.load(config.dataset, split, task="segmentation", image_size=image_size,
                         augment=clip, **kwargs)

    batch = config.train.batch_size
    train = load(split_name("train", config.train_examples), batch_size=batch, seed=seed)
    validation = None
    if "validation" in spec.splits:
        validation = load(split_name("validation", config.test_examples), batch_size=64)
    test = load(split_name("test", config.test_examples), batch_size=64)
    images, _ = next(iter(test))
    return train, validation, test, names, tuple(images.shape[1:])


def fixed_examples(dataset, count):
    """The first ``count`` (images, masks) of a dataset as NumPy arrays."""
    images, masks = [], []
    for x, y in dataset:
        images.append(x.numpy())
        masks.append(y.numpy())
        if sum(len(m) for m in masks) >= count:
            break
    return np.concatenate(images)[:count], np.concatenate(masks)[:count]


def segmentation_figure(rows, num_classes, size=1.8):
    """A grid with one row per example: input, true mask, then each prediction.

    Args:
        rows: list of (image, true mask, [(title, predicted mask), ...]).
        num_classes: fixes the colour scale of the masks.
    """
    columns = 2 + max(len(predictions) for _, _, predictions in rows)
    fig, axes = plotting.figure(ncols=columns, nrows=len(rows), size=size)
    for ax in axes.ravel():
        ax.axis("off")
    for r, (image, mask, predictions) in enumerate(rows):
        image = image[..., 0] if image.shape[-1] == 1 else image
        axes[r, 0].imshow(np.clip(image, 0, 1), cmap="gray" if image.ndim == 2 else None)
        axes[r, 1].imshow(mask, cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
        for c, (title, predicted) in enumerate(predictions):
            axes[r, 2 + c].imshow(predicted, cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
            if r == 0:
                axes[r, 2 + c].set_title(title, fontsize=8)
        if r == 0:
            axes[r, 0].set_title("input", fontsize=8)
            axes[r, 1].set_title("true mask", fontsize=8)
    return fig


def predicted_masks(model, images):
    return np.argmax(np.asarray(model(images, training=False)), axis=-1)


def steps_per_epoch(dataset):
    """Batches in one pass of ``dataset`` (counted if TensorFlow cannot tell)."""
    count = int(dataset.cardinality())
    if count >= 0:
        return count
    return int(dataset.reduce(0, lambda n, _: n + 1))


def compile_segmentation(model, train_config, num_classes, steps):
    """The optimiser with a cosine-decayed step size, sparse cross-entropy, mean IoU.

    The step size decays from ``train_config.learning_rate`` to 1% of it over
    ``train_config.epochs * steps`` steps, so the last epochs settle instead
    of jittering around the optimum.
    """
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        train_config.learning_rate, max(1, train_config.epochs * steps), alpha=0.01
    )
    optimizer = type(train_config.make_optimizer())(learning_rate=schedule)
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=[keras.metrics.MeanIoU(num_classes, sparse_y_pred=False, name="mean_iou")],
        # Tracing is the cost that matters on a busy 2-core machine; XLA
        # compilation of a U-Net train step costs more than it saves here.
        jit_compile=False,
    )


def check_config(config):
    """Shared range checks of the chapter-3 configs."""
    from mpkeras_experiments.training import require_positive

    require_positive(config, ("depth", "base_filters"))
    if config.image_size and (len(config.image_size) != 2 or min(config.image_size) <= 0):
        raise ValueError(f"`image_size` must be [] or [height, width] > 0, got {config.image_size}")
    for name in ("train_examples", "test_examples"):
        if getattr(config, name) < 0:
            raise ValueError(f"`{name}` must be >= 0 (0 = the whole split), got {getattr(config, name)}")
