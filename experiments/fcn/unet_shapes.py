"""F3: a U-Net segments images: per-pixel classes by downsampling, upsampling and copying."""

import dataclasses
from typing import Literal

from mpkeras_experiments.fcn import _common
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import TrainConfig, require_positive

from mpkeras.models import build_unet


@dataclasses.dataclass
class UnetShapesConfig:
    """Settings of the ``unet_shapes`` experiment (claim F3).

    Attributes:
        dataset: "shapes" (offline: 64x64 random circles, squares and
            triangles on textured noise, 4 classes) or "oxford_iiit_pet"
            (TFDS, trimaps resized to 128x128 in the pipeline, 3 classes).
        image_size: [height, width] to resize to, or [] for the dataset's.
        depth: downsampling stages of the U-Net.
        base_filters: filters of the first stage, doubled per stage.
        upsampling: "transpose", "nearest", "bed_of_nails" or "max_unpool".
        skips: copy encoder features into the decoder (the U-Net).
        batch_norm: batch normalisation after each 3x3 convolution.
        augment: turn each training example by a random one of the 8
            symmetries of the square (rotations by 90 degrees, flips).
        dice_weight: w in the loss cross-entropy + w * soft Dice
            (``_common.CrossEntropyDice``); 0 is cross-entropy alone.
        train_examples: use the first N training images (0: all).
        test_examples: evaluate on the first N test images (0: all).
        train: optimiser and budget.
        figure_examples: test images drawn in TensorBoard every epoch.
    """

    dataset: Literal["shapes", "oxford_iiit_pet"] = "shapes"
    image_size: list[int] = dataclasses.field(default_factory=list)
    depth: int = 4
    base_filters: int = 8
    upsampling: Literal["transpose", "nearest", "bed_of_nails", "max_unpool"] = "transpose"
    skips: bool = True
    batch_norm: bool = True
    augment: bool = True
    dice_weight: float = 1.0
    train_examples: int = 0
    test_examples: int = 0
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=40, batch_size=16, learning_rate=2e-3)
    )
    figure_examples: int = 3

    def __post_init__(self):
        _common.check_config(self)
        require_positive(self, ("figure_examples",))


@register(
    UnetShapesConfig,
    metrics=("test_mean_iou", "test_per_class_iou", "parameters", "test_iou_{class}"),
)
def unet_shapes(config, context):
    """F3: downsample-then-upsample with copied encoder features segments images.

    The notes (section 3): semantic segmentation assigns a class to every
    pixel; a fully convolutional network downsamples (convolutions + max
    pooling: cheap, large receptive field) and upsamples back to the input
    resolution, and the U-Net concatenates the encoder's feature maps into
    each upsampling stage so the output keeps fine detail. Trained with
    per-pixel cross-entropy; keras.metrics.MeanIoU on the test split, per-class
    IoU in results.json; input, true mask and predicted mask go to TensorBoard
    every epoch.
    """
    from mpkeras.metrics import evaluate_iou

    train, validation, test, names, input_shape = _common.load_segmentation(config, context.seed)
    num_classes = len(names)
    steps = _common.steps_per_epoch(train)
    images, masks = _common.fixed_examples(test, config.figure_examples)
    premise(masks.min() >= 0 and masks.max() < num_classes, "mask labels are class indices")

    model = build_unet(
        input_shape,
        num_classes,
        depth=config.depth,
        base_filters=config.base_filters,
        upsampling=config.upsampling,
        skips=config.skips,
        batch_norm=config.batch_norm,
        name="unet",
    )
    premise(model.output_shape[1:3] == input_shape[:2], "the U-Net keeps the input resolution")
    _common.compile_segmentation(
        model, config.train, num_classes, steps, dice_weight=config.dice_weight
    )

    def draw(model):
        predicted = _common.predicted_masks(model, images)
        rows = [(images[i], masks[i], [("predicted", predicted[i])]) for i in range(len(images))]
        return _common.segmentation_figure(rows, num_classes)

    context.fit(
        model,
        train,
        tag="unet",
        epochs=config.train.epochs,
        validation_data=validation,
        figure=draw,
        figure_every=1,
    )
    result = evaluate_iou(model, test, num_classes)
    context.save_figure("test_predictions", draw(model))

    metrics = {
        "test_mean_iou": result["mean_iou"],
        "test_per_class_iou": result["per_class_iou"],
        "parameters": int(model.count_params()),
    }
    for name, iou in zip(names, result["per_class_iou"]):
        metrics[f"test_iou_{name}"] = iou
    return Results(metrics=metrics, model=_common.portable(model, num_classes))
