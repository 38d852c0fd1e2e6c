"""A3: an overcomplete conv autoencoder trained to fill holes."""

import dataclasses

from mpkeras_experiments.autoencoders._corruption import (
    RESTORATION_METRICS,
    restore_experiment,
)
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results
from mpkeras_experiments.training import TrainConfig, require_positive


@dataclasses.dataclass
class InpaintingAEConfig:
    """Settings of the ``inpainting_ae`` experiment (claim A3).

    Attributes:
        dataset: clean images (digits: 8x8, 64 features).
        train_split: the split the models train on (TFDS slicing works).
        test_split: the split PSNR and SSIM are measured on.
        hole_size: the hole of zeros the data pipeline's
            ``task="inpainting"`` cuts at a random place: [min, max] for a
            rectangle whose height and width are drawn from min..max per
            image, an int side for a square, None for a square of half the
            image side.
        latent_dim: the overcomplete code size (> input features).
        undercomplete_latent_dim: the code size of the comparison model
            (< input features).
        hidden: filters per stride-2 conv stage of both models; [] for the
            builder's default.
        train: the budget of each model (Adam, cosine-decayed step size).
        images_every: epochs between TensorBoard images (corrupted / output /
            clean).
    """

    dataset: str = "digits"
    train_split: str = "train"
    test_split: str = "test"
    hole_size: int | list[int] | None = dataclasses.field(default_factory=lambda: [4, 6])
    latent_dim: int = 256
    undercomplete_latent_dim: int = 16
    hidden: list[int] = dataclasses.field(default_factory=lambda: [64, 128])
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=60, batch_size=32, learning_rate=2e-3)
    )
    images_every: int = 1

    def __post_init__(self):
        require_positive(self, ("latent_dim", "undercomplete_latent_dim", "images_every"))
        sizes = (
            []
            if self.hole_size is None
            else (self.hole_size if isinstance(self.hole_size, list) else [self.hole_size])
        )
        if isinstance(self.hole_size, list) and (len(sizes) != 2 or sizes[0] > sizes[1]):
            raise ValueError(
                f"`hole_size` as a list must be [min, max] with min <= max, got {self.hole_size}"
            )
        if any(size <= 0 for size in sizes):
            raise ValueError(
                f"`hole_size` must be positive (or None for half the image), got {self.hole_size}"
            )
        if any(h <= 0 for h in self.hidden):
            raise ValueError(f"`hidden` must hold positive filter counts, got {self.hidden}")


@register(
    InpaintingAEConfig, metrics=RESTORATION_METRICS, datasets=("digits", "mnist", "fashion_mnist")
)
def inpainting_ae(config, context):
    """A3: an overcomplete autoencoder trained on (x with a hole, x) fills the hole.

    Like denoising, inpainting gives an overcomplete code a task the identity
    cannot solve: the pixels under the hole are gone and must be inferred
    from the rest of the image. We measure the PSNR of the output and of the
    holed input against the clean test images (over images the hole
    changed), and train an undercomplete model the same way for comparison.
    """
    hole = config.hole_size
    if hole is None:
        options, description = {}, "square hole of half the image"
    elif isinstance(hole, list):
        options, description = (
            {"hole_size": tuple(hole)},
            f"rectangular holes, sides {hole[0]}-{hole[1]} px",
        )
    else:
        options, description = {"hole_size": hole}, f"square hole of {hole} px"
    metrics, models = restore_experiment(config, context, "inpainting", options, description)
    return Results(
        metrics=metrics,
        model=models["overcomplete"],
        extra_models={"undercomplete": models["undercomplete"]},
    )
