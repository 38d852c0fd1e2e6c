"""F1, F3: the four upsampling methods in one U-Net, and the U-Net without its skips."""

import dataclasses
import time
from typing import Literal

import numpy as np
from mpkeras_experiments.fcn import _common
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import TrainConfig

from mpkeras import plotting
from mpkeras.models import build_unet
from mpkeras.models.unet import UPSAMPLING


@dataclasses.dataclass
class UpsamplingCompareConfig:
    """Settings of the ``upsampling_compare`` experiment (claims F1, F3).

    Every model is the same U-Net (depth, filters) trained with the same
    budget, data order and seed; only the upsampling (or the skips) differ.

    Attributes:
        dataset: "shapes" (offline) or "oxford_iiit_pet" (TFDS).
        image_size: [height, width] to resize to, or [] for the dataset's.
        depth: downsampling stages.
        base_filters: filters of the first stage, doubled per stage.
        methods: the upsampling methods compared (with skips).
        no_skip_upsampling: upsampling of the U-Net trained without skips;
            compared with the same method with skips.
        batch_norm: batch normalisation after each 3x3 convolution.
        augment: turn each training example by a random one of the 8
            symmetries of the square (rotations by 90 degrees, flips).
        dice_weight: w in the loss cross-entropy + w * soft Dice
            (``_common.CrossEntropyDice``); 0 is cross-entropy alone.
        train_examples: use the first N training images (0: all).
        test_examples: evaluate on the first N test images (0: all).
        train: optimiser and budget of every model.
        figure_examples: test images in the comparison figure.
    """

    dataset: Literal["shapes", "oxford_iiit_pet"] = "shapes"
    image_size: list[int] = dataclasses.field(default_factory=list)
    depth: int = 4
    base_filters: int = 8
    methods: list[str] = dataclasses.field(default_factory=lambda: list(UPSAMPLING))
    no_skip_upsampling: Literal["transpose", "nearest", "bed_of_nails", "max_unpool"] = "transpose"
    batch_norm: bool = True
    augment: bool = False
    dice_weight: float = 0.0
    train_examples: int = 0
    test_examples: int = 0
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=10, batch_size=16, learning_rate=2e-3)
    )
    figure_examples: int = 3

    def __post_init__(self):
        _common.check_config(self)
        unknown = [m for m in self.methods if m not in UPSAMPLING]
        if not self.methods or unknown or len(set(self.methods)) != len(self.methods):
            raise ValueError(
                f"`methods` must be distinct entries of {UPSAMPLING}, got {self.methods}"
            )
        if self.figure_examples <= 0:
            raise ValueError(f"`figure_examples` must be positive, got {self.figure_examples}")


class _StepTimer:
    """Wall time of every training batch (median reported; includes input)."""

    def __init__(self):
        import keras

        timer = self

        class Callback(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                timer.start = time.perf_counter()

            def on_train_batch_end(self, batch, logs=None):
                timer.times.append(time.perf_counter() - timer.start)

        self.times = []
        self.callback = Callback()

    def median_ms(self):
        # The first steps include tracing; the median ignores them.
        return 1e3 * float(np.median(self.times)) if self.times else float("nan")


@register(
    UpsamplingCompareConfig,
    # {variant}: each method of `methods`, and no_skips.
    metrics=("{variant}_mean_iou", "{variant}_parameters", "{variant}_step_ms", "skip_gain"),
)
def upsampling_compare(config, context):
    """F1, F3: nearest, bed of nails, max unpooling and transposed convolution compared.

    The notes list four ways to upsample in a fully convolutional network
    (section 3.1) and motivate the U-Net's copies of encoder features
    ("combining these allows for more fine-grained outputs", section 3.2).
    Each method is trained in the same U-Net on the same budget and seed;
    the U-Net with `no_skip_upsampling` is also trained without skips. The
    results table holds each model's test mean IoU, parameter count and
    median training step time; figures/ holds a bar chart and predictions.
    """
    import keras

    from mpkeras.metrics import evaluate_iou

    train, validation, test, names, input_shape = _common.load_segmentation(config, context.seed)
    num_classes = len(names)
    steps = _common.steps_per_epoch(train)
    images, masks = _common.fixed_examples(test, config.figure_examples)

    variants = [(method, method, True) for method in config.methods]
    variants.append(("no_skips", config.no_skip_upsampling, False))
    metrics, predictions, models = {}, [], {}
    for key, method, skips in variants:
        keras.utils.set_random_seed(context.seed)  # same initial draws for every model
        model = build_unet(
            input_shape,
            num_classes,
            depth=config.depth,
            base_filters=config.base_filters,
            upsampling=method,
            skips=skips,
            batch_norm=config.batch_norm,
            name=f"unet_{key}",
        )
        _common.compile_segmentation(
            model, config.train, num_classes, steps, dice_weight=config.dice_weight
        )
        timer = _StepTimer()
        context.fit(
            model,
            train,
            tag=key,
            epochs=config.train.epochs,
            validation_data=validation,
            callbacks=[timer.callback],
        )
        result = evaluate_iou(model, test, num_classes)
        metrics[f"{key}_mean_iou"] = result["mean_iou"]
        metrics[f"{key}_parameters"] = int(model.count_params())
        metrics[f"{key}_step_ms"] = timer.median_ms()
        predictions.append(
            (f"{key}: {result['mean_iou']:.2f}", _common.predicted_masks(model, images))
        )
        models[key] = _common.portable(model, num_classes)

    premise(
        metrics["no_skips_parameters"] < metrics[f"{config.no_skip_upsampling}_parameters"]
        if config.no_skip_upsampling in config.methods
        else True,
        "dropping the skips only removes input channels of the decoder convolutions",
    )
    with_skips = f"{config.no_skip_upsampling}_mean_iou"
    if with_skips in metrics:
        metrics["skip_gain"] = metrics[with_skips] - metrics["no_skips_mean_iou"]

    rows = [(images[i], masks[i], [(t, p[i]) for t, p in predictions]) for i in range(len(images))]
    context.save_figure("predictions", _common.segmentation_figure(rows, num_classes))
    context.save_figure("mean_iou", _bar_figure(variants, metrics))

    main = config.methods[0]
    return Results(
        metrics=metrics,
        model=models[main],
        extra_models={key: m for key, m in models.items() if key != main},
    )


def _bar_figure(variants, metrics):
    keys = [key for key, _, _ in variants]
    fig, axes = plotting.figure(ncols=2, size=4.0)
    ax = axes[0, 0]
    ax.bar(keys, [metrics[f"{k}_mean_iou"] for k in keys], color="tab:blue")
    ax.set_ylabel("test mean IoU")
    ax.set_ylim(0, 1)
    ax.tick_params(axis="x", rotation=30)
    ax = axes[0, 1]
    ax.bar(keys, [metrics[f"{k}_step_ms"] for k in keys], color="tab:orange")
    ax.set_ylabel("median training step (ms)")
    ax.tick_params(axis="x", rotation=30)
    for k, x in zip(keys, range(len(keys))):
        axes[0, 0].text(
            x,
            0.02,
            f"{metrics[f'{k}_parameters']:,}",
            ha="center",
            rotation=90,
            fontsize=7,
            color="white",
        )
    return fig
