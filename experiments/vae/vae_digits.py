"""A4, A5: a VAE on binarised digits: ELBO and log-likelihood in nats, samples and interpolations."""

import dataclasses
from typing import Literal

import numpy as np
from mpkeras_experiments.embeddings import log_test_codes
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import TrainConfig, require_positive
from mpkeras_experiments.vae._common import image_splits, nearest_distance

from mpkeras.callbacks.latent import LatentImageLogger, grid_figure
from mpkeras.models import build_vae
from mpkeras.plotting import as_float32


@dataclasses.dataclass
class VaeDigitsConfig:
    """Settings of the ``vae_digits`` experiment (claims A4, A5).

    Attributes:
        dataset: binary or [0, 1] images with train/validation/test splits:
            ``digits`` (8x8, offline) or ``binarized_mnist`` (28x28, remote).
        binarize: training images binarised afresh every epoch ("dynamic")
            or once ("static"); validation and test are always static.
        latent_dim: size of z.
        kind: encoder/decoder family ("mlp" or "conv").
        hidden: Dense widths (mlp) or conv filters per stage (conv); an
            empty list takes the builders' defaults for the image size.
        num_samples: K of the importance-weighted log-likelihood.
        test_examples: test images scored (0: all).
        figure_examples: images in the sample / reconstruction figures.
        interpolation_steps: points on each latent line.
        train: the ELBO's training budget.
    """

    dataset: str = "digits"
    binarize: Literal["dynamic", "static"] = "dynamic"
    latent_dim: int = 8
    kind: Literal["mlp", "conv"] = "mlp"
    hidden: list[int] = dataclasses.field(default_factory=lambda: [128, 64])
    num_samples: int = 1000
    test_examples: int = 0
    figure_examples: int = 16
    interpolation_steps: int = 9
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=300, batch_size=64, learning_rate=3e-3)
    )

    def __post_init__(self):
        require_positive(self, ("latent_dim", "num_samples", "figure_examples"))
        if self.interpolation_steps < 3:
            raise ValueError(f"`interpolation_steps` must be >= 3, got {self.interpolation_steps}")
        if self.test_examples < 0:
            raise ValueError(f"`test_examples` must be >= 0, got {self.test_examples}")


def _interpolation_pairs(n, rng, count):
    first = rng.permutation(n)[:count]
    second = rng.permutation(n)[:count]
    keep = first != second
    return first[keep], second[keep]


@register(
    VaeDigitsConfig,
    metrics=(
        "test_elbo",
        "test_reconstruction",
        "test_kl",
        "test_elbo_k1",
        "test_log_likelihood",
        "log_likelihood_gap",
        "sample_distance_ratio",
        "interpolation_distance_ratio",
        "noise_distance_ratio",
        "interpolation_max_step_ratio",
    ),
    datasets=("digits", "binarized_mnist"),
)
def vae_digits(config, context):
    """A4, A5: train a VAE on the ELBO, measure log p(x), look at its latent space.

    ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || N(0, I)) <= log p(x) (A4); the
    importance-weighted bound with K samples tightens it towards log p(x).
    Prior samples and straight lines in latent space decode to images near
    the data (A5): their distance to the nearest training image is compared
    with that of reconstructions of test images (decoded means, like the
    samples) and with that of noise images of the same mean intensity.
    """
    train, validation, x_test = image_splits(
        config.dataset, config.binarize, config.train.batch_size, context.seed
    )
    if config.test_examples:
        x_test = x_test[: config.test_examples]
    from mpkeras import data

    x_train, _ = data.load_arrays(
        config.dataset, split="train", task="reconstruction", binarize="static"
    )
    shape = tuple(x_test.shape[1:])
    premise(
        set(np.unique(x_test)) <= {0.0, 1.0},
        "the test images are binary (a true Bernoulli likelihood)",
    )

    vae = build_vae(
        shape,
        config.latent_dim,
        kind=config.kind,
        hidden=config.hidden or None,
        likelihood="bernoulli",
        from_logits=True,
        seed=context.seed,
        name="vae",
    )
    vae.compile(optimizer=config.train.make_optimizer())
    logger = LatentImageLogger(
        context.log_dir("vae"),
        x_test[: config.figure_examples],
        every=max(1, config.train.epochs // 10),
        seed=context.seed,
    )
    context.fit(
        vae,
        train,
        tag="vae",
        epochs=config.train.epochs,
        validation_data=validation,
        callbacks=[logger],
    )

    test = vae.evaluate(x_test, batch_size=256, verbose=0, return_dict=True)
    log_px = vae.log_likelihood(
        x_test, num_samples=config.num_samples, batch_size=64, max_decoded=8192, seed=context.seed
    )
    elbo_1 = vae.log_likelihood(x_test, num_samples=1, seed=context.seed)

    # A5: samples and interpolations against the data.
    rng = np.random.default_rng(context.seed)
    n_fig = config.figure_examples
    # float32: under mixed_float16 the decoded means are float16, in which the
    # distances below lose their small values (1e-12 is 0 there).
    samples = as_float32(vae.sample(max(n_fig, 200), seed=context.seed))
    recon = as_float32(vae.reconstruct(x_test[:200]))
    a, b = _interpolation_pairs(len(x_test), rng, 100)
    lines = as_float32(vae.interpolate(x_test[a], x_test[b], steps=config.interpolation_steps))
    inner = lines[:, 1:-1].reshape((-1,) + shape)
    noise = (rng.random((200,) + shape) < x_train.mean()).astype("float32")
    reference = nearest_distance(recon, x_train)
    steps = np.sqrt(
        ((lines[:, 1:] - lines[:, :-1]) ** 2).reshape(len(lines), lines.shape[1] - 1, -1).sum(-1)
    )
    max_step_ratio = float(np.mean(steps.max(1) / np.maximum(steps.mean(1), 1e-12)))

    side = int(np.ceil(np.sqrt(n_fig)))
    grid = np.ones((side * side,) + shape, np.float32)
    grid[:n_fig] = samples[:n_fig]
    context.save_figure(
        "samples",
        grid_figure(
            grid.reshape((side, side) + shape), title="Samples from the prior (decoded means)"
        ),
    )
    context.save_figure(
        "reconstructions",
        grid_figure(
            np.stack([x_test[:n_fig], recon[:n_fig]]),
            title="Test images (top), reconstructions (bottom)",
            row_labels=["x", "x_hat"],
        ),
    )
    shown = min(8, len(lines))
    context.save_figure(
        "interpolation",
        grid_figure(lines[:shown], title="Straight lines between posterior means, decoded"),
    )
    log_test_codes(context, "vae", vae, config.dataset, x_test)  # A5 in the Projector, by label

    return Results(
        metrics={
            "test_elbo": float(test["elbo"]),
            "test_reconstruction": float(test["reconstruction"]),
            "test_kl": float(test["kl"]),
            "test_elbo_k1": float(elbo_1.mean()),
            "test_log_likelihood": float(log_px.mean()),
            "log_likelihood_gap": float(log_px.mean() - test["elbo"]),
            "sample_distance_ratio": nearest_distance(samples, x_train) / reference,
            "interpolation_distance_ratio": nearest_distance(inner, x_train) / reference,
            "noise_distance_ratio": nearest_distance(noise, x_train) / reference,
            "interpolation_max_step_ratio": max_step_ratio,
        },
        model=vae,
    )
