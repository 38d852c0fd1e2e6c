"""Data, training and figures shared by the chapter-3 experiments."""

import keras
import numpy as np
from keras import ops

from mpkeras import data, plotting, validation

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
    range (TFDS mock data fills masks with arbitrary bytes). With
    ``config.augment`` each training example is turned by a random symmetry
    of the square (``dihedral_augment``); validation and test are not.
    """
    import tensorflow as tf

    from mpkeras.data import registry

    spec = registry.resolve(config.dataset)[0]
    names = CLASS_NAMES[config.dataset]
    image_size = tuple(config.image_size) or None

    def clip(images, masks):
        return images, tf.clip_by_value(masks, 0, len(names) - 1)

    def load(split, **kwargs):
        return data.load(
            config.dataset,
            split,
            task="segmentation",
            image_size=image_size,
            augment=clip,
            **kwargs,
        )

    batch = config.train.batch_size
    train = load(split_name("train", config.train_examples), batch_size=batch, seed=seed)
    if getattr(config, "augment", False):
        train = train.enumerate().map(dihedral_augment(seed))
    validation = None
    if "validation" in spec.splits:
        validation = load(split_name("validation", config.test_examples), batch_size=64)
    test = load(split_name("test", config.test_examples), batch_size=64)
    images, _ = next(iter(test))
    return train, validation, test, names, tuple(images.shape[1:])


def dihedral_augment(seed):
    """Batch map: each example turned by one of the 8 symmetries of the square.

    The eight maps (rotations by 0, 90, 180, 270 degrees, each with or
    without a left-right flip) move every pixel of the image and its mask
    together, and a circle, square or triangle stays one, so each training
    image counts as eight: the U-Net paper's point that augmentation teaches
    the invariances a small training set cannot (Ronneberger et al. 2015).
    The draw is stateless, a function of (seed, batch index in the pass);
    the examples in batch i differ each pass (the order is reshuffled), so
    each epoch pairs examples with new symmetries, and a resumed run sees
    the batches of the uninterrupted one.

    Returns:
        ``(batch_index, (images, masks)) -> (images, masks)`` for
        ``dataset.enumerate().map``; images are (batch, s, s, channels),
        masks (batch, s, s) or (batch, s, s, 1), square.
    """
    import tensorflow as tf

    def turned(x, k):
        # The k-th symmetry of the square, k in 0..7, of a (batch, s, s, c) tensor.
        x = tf.image.rot90(x, k % 4)
        return tf.image.flip_left_right(x) if k >= 4 else x

    def augment(index, batch):
        images, masks = (tf.convert_to_tensor(t) for t in batch)
        if images.shape[1] is not None and images.shape[1] != images.shape[2]:
            raise ValueError(
                "dihedral_augment needs square images (a 90-degree turn keeps their "
                f"shape); received {images.shape[1]}x{images.shape[2]}. Set augment=false "
                "or a square image_size."
            )
        flat = masks.shape.rank == 3
        masks4 = masks[..., None] if flat else masks
        draws = tf.random.stateless_uniform(
            [tf.shape(images)[0]],
            seed=tf.stack([tf.cast(seed, tf.int64), index]),
            minval=0,
            maxval=8,
            dtype=tf.int32,
        )
        out_images, out_masks = images, masks4
        for k in range(1, 8):
            chosen = tf.equal(draws, k)[:, None, None, None]
            out_images = tf.where(chosen, turned(images, k), out_images)
            out_masks = tf.where(chosen, turned(masks4, k), out_masks)
        return out_images, (out_masks[..., 0] if flat else out_masks)

    return augment


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


@keras.saving.register_keras_serializable(package="mpkeras_experiments")
class CrossEntropyDice(keras.losses.Loss):
    """Per-pixel cross-entropy plus ``dice_weight`` times the soft Dice loss.

    With predicted probabilities p_ic and one-hot labels y_ic over the
    pixels i of a batch and classes c = 1..K,

        L = mean_i(-log p_i,y_i) + w * (1 - (1/K) sum_c D_c),
        D_c = (2 sum_i p_ic y_ic + 1) / (sum_i p_ic + sum_i y_ic + 1),

    the soft Dice of V-Net (Milletari et al. 2016). Cross-entropy weighs every
    pixel alike, so the background (most of the shapes' pixels) sets its
    gradient; each D_c is a ratio within one class, so a small class weighs
    as much as the background and its boundary pixels count. The +1 keeps
    D_c = 1 for a class absent from the batch and predicted absent.
    ``dice_weight`` 0 is plain sparse cross-entropy.

    Args:
        num_classes: K, the last axis of the predictions.
        dice_weight: w >= 0.
    """

    def __init__(self, num_classes, dice_weight=1.0, name="cross_entropy_dice", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = validation.positive_int(num_classes, "num_classes")
        if not dice_weight >= 0:
            raise validation.invalid("dice_weight", "a number >= 0", dice_weight)
        self.dice_weight = float(dice_weight)

    def call(self, y_true, y_pred):
        if y_pred.shape[-1] is not None and y_pred.shape[-1] != self.num_classes:
            raise ValueError(
                f"CrossEntropyDice(num_classes={self.num_classes}) received predictions "
                f"with {y_pred.shape[-1]} classes (shape {y_pred.shape}); pass "
                "num_classes equal to the model's output channels."
            )
        labels = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
        cross_entropy = ops.mean(keras.losses.sparse_categorical_crossentropy(labels, y_pred))
        if not self.dice_weight:
            return cross_entropy
        one_hot = ops.one_hot(labels, self.num_classes, dtype=y_pred.dtype)
        axes = tuple(range(len(y_pred.shape) - 1))
        overlap = ops.sum(one_hot * y_pred, axis=axes)
        total = ops.sum(one_hot + y_pred, axis=axes)
        dice = ops.mean((2.0 * overlap + 1.0) / (total + 1.0))
        return cross_entropy + self.dice_weight * (1.0 - dice)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "dice_weight": self.dice_weight,
        }


def compile_segmentation(model, train_config, num_classes, steps, dice_weight=0.0):
    """The optimiser with a cosine-decayed step size, the loss, mean IoU.

    The step size decays from ``train_config.learning_rate`` to 1% of it over
    ``train_config.epochs * steps`` steps, so the last epochs settle instead
    of jittering around the optimum. The loss is sparse cross-entropy, plus
    ``dice_weight`` times the soft Dice loss (``CrossEntropyDice``).
    """

    schedule = keras.optimizers.schedules.CosineDecay(
        train_config.learning_rate, max(1, train_config.epochs * steps), alpha=0.01
    )
    optimizer = type(train_config.make_optimizer())(learning_rate=schedule)
    model.compile(
        optimizer=optimizer,
        loss=(
            CrossEntropyDice(num_classes, dice_weight)
            if dice_weight
            else "sparse_categorical_crossentropy"
        ),
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
    size = config.image_size
    if getattr(config, "augment", False) and size and size[0] != size[1]:
        raise ValueError(
            f"`augment` turns images by 90 degrees and needs a square `image_size`, got {size}"
        )
    if not getattr(config, "dice_weight", 0.0) >= 0:  # NaN too
        raise ValueError(
            f"`dice_weight` must be >= 0 (0 = cross-entropy alone), got {config.dice_weight}"
        )
    for name in ("train_examples", "test_examples"):
        if getattr(config, name) < 0:
            raise ValueError(
                f"`{name}` must be >= 0 (0 = the whole split), got {getattr(config, name)}"
            )


def portable(model, num_classes):
    """``model`` recompiled with plain sparse cross-entropy, for saving.

    The runner saves the compiled model; a ``CrossEntropyDice`` loss in its
    compile config would make plain ``keras.saving.load_model`` fail in a
    process that never imported this package. The weights are unchanged;
    to fine-tune with the Dice term, compile with ``CrossEntropyDice`` again.
    """
    if isinstance(model.loss, CrossEntropyDice):
        model.compile(
            optimizer=model.optimizer,
            loss="sparse_categorical_crossentropy",
            metrics=[keras.metrics.MeanIoU(num_classes, sparse_y_pred=False, name="mean_iou")],
            jit_compile=False,
        )
    return model
