"""A6: the constrained beta-VAE, KL <= delta, with beta learned by dual ascent."""

import dataclasses
from typing import Literal

import numpy as np
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results
from mpkeras_experiments.training import TrainConfig, require_positive
from mpkeras_experiments.vae._common import BetaTrajectory, image_splits

from mpkeras.models import build_vae


@dataclasses.dataclass
class ConstrainedBetaVaeConfig:
    """Settings of the ``constrained_beta_vae`` experiment (claim A6).

    Attributes:
        dataset: images with train/validation/test splits (``digits``).
        binarize: training binarisation, "dynamic" or "static".
        deltas: the KL budgets delta in nats, one model each.
        initial_beta: the multiplier's starting value.
        beta_learning_rate: the dual-ascent step size.
        latent_dim: size of z.
        kind: encoder/decoder family.
        hidden: Dense widths (mlp) or conv filters; empty for the defaults.
        final_epochs: epochs whose mean KL is the "final KL" (the last ones).
        train: the training budget of each model.
    """

    dataset: str = "digits"
    binarize: Literal["dynamic", "static"] = "dynamic"
    deltas: list[float] = dataclasses.field(default_factory=lambda: [5.0, 15.0])
    initial_beta: float = 1.0
    beta_learning_rate: float = 0.003
    latent_dim: int = 8
    kind: Literal["mlp", "conv"] = "mlp"
    hidden: list[int] = dataclasses.field(default_factory=lambda: [128, 64])
    final_epochs: int = 10
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=200, batch_size=64, learning_rate=3e-3)
    )

    def __post_init__(self):
        require_positive(self, ("deltas", "beta_learning_rate", "latent_dim", "final_epochs"))
        if self.initial_beta < 0:
            raise ValueError(f"`initial_beta` must be >= 0, got {self.initial_beta}")
        if self.final_epochs > self.train.epochs:
            raise ValueError(
                f"`final_epochs` ({self.final_epochs}) must be <= `train.epochs` ({self.train.epochs})"
            )


def _tag(delta):
    return f"delta{delta:g}".replace(".", "_")


def _trajectory_figure(trajectories, deltas, steps_per_epoch):
    from mpkeras import plotting

    fig, axes = plotting.figure(ncols=2)
    beta_ax, kl_ax = axes[0, 0], axes[0, 1]
    for delta in deltas:
        beta, kl = trajectories[delta]
        beta_ax.plot(
            np.arange(1, len(beta) + 1) / steps_per_epoch, beta, label=f"delta = {delta:g}"
        )
        line = kl_ax.plot(np.arange(1, len(kl) + 1), kl, label=f"KL, delta = {delta:g}")[0]
        kl_ax.axhline(delta, color=line.get_color(), linestyle="--", linewidth=1)
    beta_ax.set(xlabel="epoch", ylabel="beta", title="beta <- max(0, beta + lr (KL - delta))")
    kl_ax.set(xlabel="epoch", ylabel="KL (nats, epoch mean)", title="KL settles at delta (dashed)")
    beta_ax.legend()
    kl_ax.legend()
    return fig


@register(
    ConstrainedBetaVaeConfig,
    metrics=tuple(
        f"{metric}_delta{{delta}}"
        for metric in (
            "final_kl",
            "kl_relative_error",
            "final_beta",
            "test_kl",
            "test_reconstruction",
            "test_elbo",
        )
    ),
    datasets=("digits", "binarized_mnist"),
)
def constrained_beta_vae(config, context):
    """A6: min reconstruction s.t. KL <= delta, via the Lagrangian and dual ascent.

    L = rec + beta (KL - delta), beta >= 0. The networks descend L; after
    every batch beta ascends it: beta <- max(0, beta + lr (KL - delta)). At
    a stationary point KL = delta (when the constraint binds), so the final
    KL of each model should sit at its delta; a larger budget buys a better
    reconstruction.
    """
    train, validation, x_test = image_splits(
        config.dataset, config.binarize, config.train.batch_size, context.seed
    )
    from mpkeras import data

    x_train, _ = data.load_arrays(
        config.dataset, split="train", task="reconstruction", binarize="static"
    )
    shape = tuple(x_test.shape[1:])
    steps_per_epoch = int(np.ceil(len(x_train) / config.train.batch_size))
    metrics, trajectories, models = {}, {}, {}
    for delta in config.deltas:
        tag = _tag(delta)
        vae = build_vae(
            shape,
            config.latent_dim,
            kind=config.kind,
            hidden=config.hidden or None,
            beta=config.initial_beta,
            kl_threshold=delta,
            beta_learning_rate=config.beta_learning_rate,
            from_logits=True,
            seed=context.seed,
            name=f"vae_{tag}",
        )
        vae.compile(optimizer=config.train.make_optimizer())
        record = BetaTrajectory()
        history = context.fit(
            vae,
            train,
            tag=tag,
            epochs=config.train.epochs,
            validation_data=validation,
            callbacks=[record],
        )
        epoch_kl = list(history.history.get("kl", []))
        final_kl = float(np.mean(epoch_kl[-config.final_epochs :])) if epoch_kl else float("nan")
        test = vae.evaluate(x_test, batch_size=256, verbose=0, return_dict=True)
        trajectories[delta] = (record.beta, epoch_kl)
        metrics[f"final_kl_{tag}"] = final_kl
        metrics[f"kl_relative_error_{tag}"] = abs(final_kl / delta - 1.0)
        metrics[f"final_beta_{tag}"] = float(vae.beta.numpy())
        metrics[f"test_kl_{tag}"] = float(test["kl"])
        metrics[f"test_reconstruction_{tag}"] = float(test["reconstruction"])
        metrics[f"test_elbo_{tag}"] = float(test["elbo"])
        models[tag] = vae
    context.save_figure(
        "beta_trajectory", _trajectory_figure(trajectories, config.deltas, steps_per_epoch)
    )
    first, *rest = [models[_tag(d)] for d in config.deltas]
    return Results(
        metrics=metrics,
        model=first,
        extra_models={_tag(d): models[_tag(d)] for d in config.deltas[1:]},
    )
