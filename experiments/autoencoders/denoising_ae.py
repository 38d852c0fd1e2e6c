"""A3: an overcomplete conv autoencoder trained to denoise."""

import dataclasses
from typing import Literal

from mpkeras_experiments.autoencoders._corruption import (
    RESTORATION_METRICS,
    restore_experiment,
)
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results
from mpkeras_experiments.training import TrainConfig, require_positive


@dataclasses.dataclass
class DenoisingAEConfig:
    """Settings of the ``denoising_ae`` experiment (claim A3).

    Attributes:
        dataset: clean images (digits: 8x8, 64 features).
        train_split: the split the models train on (TFDS slicing works).
        test_split: the split PSNR and SSIM are measured on.
        noise: the corruption the data pipeline's ``task="denoising"``
            applies: "gaussian" (x + sigma eps, clipped to [0, 1]) or
            "salt_and_pepper" (a fraction of the pixels set to white or
            black, half each).
        noise_levels: the level of each kind: sigma for "gaussian", the
            corrupted fraction for "salt_and_pepper".
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
    noise: Literal["gaussian", "salt_and_pepper"] = "gaussian"
    noise_levels: dict[str, float] = dataclasses.field(
        default_factory=lambda: {"gaussian": 0.5, "salt_and_pepper": 0.2}
    )
    latent_dim: int = 256
    undercomplete_latent_dim: int = 16
    hidden: list[int] = dataclasses.field(default_factory=lambda: [64, 128])
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=60, batch_size=32, learning_rate=2e-3)
    )
    images_every: int = 1

    def __post_init__(self):
        if self.noise not in self.noise_levels:
            raise ValueError(
                f"`noise_levels` has no level for noise={self.noise!r}: {self.noise_levels}"
            )
        if not all(0 < level <= 1 for level in self.noise_levels.values()):
            raise ValueError(f"`noise_levels` must be in (0, 1], got {self.noise_levels}")
        require_positive(self, ("latent_dim", "undercomplete_latent_dim", "images_every"))
        if any(h <= 0 for h in self.hidden):
            raise ValueError(f"`hidden` must hold positive filter counts, got {self.hidden}")


@register(
    DenoisingAEConfig, metrics=RESTORATION_METRICS, datasets=("digits", "mnist", "fashion_mnist")
)
def denoising_ae(config, context):
    """A3: an overcomplete autoencoder trained on (x + noise, x) removes the noise.

    With more latent units than inputs an autoencoder trained on
    reconstruction could learn the identity. Trained instead to map a noisy
    x~ (Gaussian: clip(x + sigma eps); salt and pepper: a fraction of the
    pixels set to 0 or 1) to the clean x, minimising
    1/N sum ||x - g(f(x~))||^2, it must learn what clean images look like.
    We measure the PSNR (10 log10(1 / MSE), dB, per image) of its output
    and of the noisy input against the clean test images, and train an
    undercomplete model the same way for comparison.
    """
    level = config.noise_levels[config.noise]
    description = (
        f"Gaussian noise sigma = {level}"
        if config.noise == "gaussian"
        else f"salt and pepper, {level:.0%} of the pixels"
    )
    metrics, models = restore_experiment(
        config,
        context,
        "denoising",
        {"noise": config.noise, "noise_level": level},
        description,
    )
    return Results(
        metrics=metrics,
        model=models["overcomplete"],
        extra_models={"undercomplete": models["undercomplete"]},
    )
