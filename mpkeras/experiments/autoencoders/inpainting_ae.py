"""A3: an overcomplete conv autoencoder trained to fill holes."""

import dataclasses

from mpkeras.experiments.autoencoders._corruption import restore_experiment
from mpkeras.experiments.registry import register
from mpkeras.experiments.results import Results
from mpkeras.experiments.training import TrainConfig, require_positive


@dataclasses.dataclass
class InpaintingAEConfig:
    """Settings of the ``inpainting_ae`` experiment (claim A3).

    Attributes:
        dataset: clean images (digits: 8x8, 64 features).
        train_split: the split the models train on (TFDS slicing works).
        test_split: the split PSNR and SSIM are measured on.
        hole_size: side in pixels of the square hole of zeros the data
            pipeline's ``task="inpainting"`` cuts at a random place; None
            for half the image side.
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
    hole_size: int | None = None
    latent_dim: int = 256
    undercomplete_latent_dim: int = 16
    hidden: list[int] = dataclasses.field(default_factory=lambda: [64, 128])
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=60, batch_size=32, learning_rate=2e-3)
    )
    images_every: int = 1

    def __post_init__(self):
        require_positive(self, ("latent_dim", "undercomplete_latent_dim", "images_every"))
        if self.hole_size is not None and self.hole_size <= 0:
            raise ValueError(f"`hole_size` must be positive (or None for half the image), got {self.hole_size}")
        if any(h <= 0 for h in self.hidden):
            raise ValueError(f"`hidden` must hold positive filter counts, got {self.hidden}")


@register("inpainting_ae", InpaintingAEConfig)
def inpainting_ae(config, context):
    """A3: an overcomplete autoencoder trained on (x with a hole, x) fills the hole.

    Like denoising, inpainting gives an overcomplete code a task the identity
    cannot solve: the pixels under the hole are gone and must be inferred
    from the rest of the image. We measure the PSNR of the output and of the
    holed input against the clean test images (over images the hole
    changed), and train an undercomplete model the same way for comparison.
    """
    options = {} if config.hole_size is None else {"hole_size": config.hole_size}
    side = "half the image" if config.hole_size is None else f"{config.hole_size} px"
    metrics, models = restore_experiment(config, context, "inpainting", options, f"hole of {side}")
    return Results(metrics=metrics, model=models["overcomplete"],
                   extra_models={"undercomplete": models["undercomplete"]})
