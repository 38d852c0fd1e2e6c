"""A6: a larger KL weight beta gives a more disentangled code (sprites, MIG and BetaVAE score)."""

import dataclasses
from typing import Literal

import numpy as np
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import TrainConfig, require_positive
from mpkeras_experiments.vae._sprite_grids import GRIDS, grid_batches, model_seed, render_grid

from mpkeras import data
from mpkeras.callbacks.latent import LatentImageLogger, grid_figure, latent_traversals
from mpkeras.callbacks.projector import latent_means
from mpkeras.data.registry import SPRITE_FACTORS  # dSprites' factors, in label order
from mpkeras.metrics import beta_vae_score, mutual_information_gap
from mpkeras.models import build_vae

_PROJECTED = 2500  # observations shown in TensorBoard's Projector (a 50 x 50 sprite grid)


@dataclasses.dataclass
class BetaVaeSpritesConfig:
    """Settings of the ``beta_vae_sprites`` experiment (claim A6).

    Attributes:
        dataset: images with factor labels: ``sprites/full`` (the dSprites
            grid), ``sprites/small`` (its coarse sub-grid) or ``dsprites``.
        grid: a sub-grid of sprites/full rendered in memory (a name in
            ``_sprite_grids.GRIDS``; needs ``dataset="sprites/full"``), trained
            and scored on whole; "" for the dataset's own images.
        grid_repeats: passes over the grid per epoch (with `grid`).
        betas: the KL weights compared, one model each, same budget.
        beta: one KL weight instead of ``betas`` (None: use ``betas``), so
            that a sweep reads ``mpkeras sweep beta_vae_sprites --set
            beta=1,4,16`` and TensorBoard's HParams tab sorts it as a number.
        latent_dim: size of z.
        kind: encoder/decoder family ("mlp" as Higgins et al. used for
            dSprites, or "conv").
        hidden: Dense widths (mlp) or conv filters; empty for the defaults.
        restarts: models trained per beta, each from its own seed; the
            scores, KL and reconstruction reported are their means.
        score_examples: observations the scores are computed on (drawn
            uniformly from the factor grid).
        betavae_batch: pairs averaged per BetaVAE-score point (L).
        betavae_train: classifier training points of the BetaVAE score.
        betavae_eval: its evaluation points. The three defaults (64,
            10,000, 5,000) and the MIG's (10,000 points, 20 bins) are
            disentanglement_lib's protocol, so the scores compare with its
            published tables.
        traversal_dims: rows of the traversal figure.
        train: the budget of each model.
    """

    dataset: str = "sprites/full"
    grid: str = ""
    grid_repeats: int = 1
    betas: list[float] = dataclasses.field(default_factory=lambda: [1.0, 4.0])
    beta: float | None = None
    latent_dim: int = 10
    kind: Literal["mlp", "conv"] = "mlp"
    hidden: list[int] = dataclasses.field(default_factory=lambda: [256, 128])
    restarts: int = 1
    score_examples: int = 10000
    betavae_batch: int = 64
    betavae_train: int = 10000
    betavae_eval: int = 5000
    traversal_dims: int = 10
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=3, batch_size=64, learning_rate=1e-3)
    )

    def __post_init__(self):
        require_positive(
            self,
            (
                "latent_dim",
                "restarts",
                "grid_repeats",
                "score_examples",
                "betavae_batch",
                "betavae_train",
                "betavae_eval",
                "traversal_dims",
            ),
        )
        if not self.betas or min(self.betas) < 0:
            raise ValueError(f"`betas` must be a non-empty list of numbers >= 0, got {self.betas}")
        if self.beta is not None and self.beta < 0:
            raise ValueError(f"`beta` must be a number >= 0 (or None), got {self.beta}")
        if self.grid and self.grid not in GRIDS:
            raise ValueError(
                f"Received an invalid value for `grid`, expected one of {sorted(GRIDS)} "
                f"or ''. Received: grid={self.grid!r}"
            )
        if self.grid and self.dataset != "sprites/full":
            raise ValueError(
                "Received an invalid value for `dataset`, expected 'sprites/full' with "
                "`grid` (a sub-grid of it), or grid='' (--set grid=) to train on another "
                f"dataset. Received: dataset={self.dataset!r}, grid={self.grid!r}"
            )

    @property
    def trained_betas(self):
        """The KL weights this run trains: ``[beta]`` when given, else ``betas``."""
        return [self.beta] if self.beta is not None else list(self.betas)


def factor_observations(dataset, num, seed):
    """`num` images drawn uniformly from the factor grid, and their factor indices.

    sprites/full is rendered from random factor indices (the same renderer
    as its builder) instead of reading 737,280 images; other datasets are
    read whole when small enough, else a shuffled batch of `num` examples.
    """
    rng = np.random.default_rng(seed)
    if dataset == "sprites/full":
        from mpkeras.data.builders.sprites import FULL_VALUES, render

        factors = np.stack(
            [rng.integers(len(FULL_VALUES[f]), size=num) for f in SPRITE_FACTORS], axis=1
        )
        images = np.stack(
            [render(*(FULL_VALUES[f][i] for f, i in zip(SPRITE_FACTORS, row))) for row in factors]
        ).astype(np.float32)
        return images, factors
    if dataset.startswith("sprites"):
        images, factors = data.load_arrays(dataset, task="factors")
        if num < len(images):
            index = np.sort(rng.choice(len(images), num, replace=False))
            images, factors = images[index], factors[index]
        return images, factors
    batch = data.load(dataset, task="factors", batch_size=num, shuffle=True, seed=seed).take(1)
    images, factors = next(iter(batch.as_numpy_iterator()))
    return images, factors


def scores_figure(betas, metrics):
    """MIG and BetaVAE score against beta (log scale), one point per trained model."""
    from mpkeras import plotting

    fig, axes = plotting.figure(ncols=2, size=3.5)
    for ax, key, label in (
        (axes[0, 0], "mig", "MIG"),
        (axes[0, 1], "betavae_score", "BetaVAE score"),
    ):
        ax.plot(betas, [metrics[f"{key}_{_tag(b)}"] for b in betas], "o-")
        ax.set_xscale("log", base=2)
        ax.set_xticks(betas, [f"{b:g}" for b in betas])
        ax.set_xlabel("beta")
        ax.set_ylabel(label)
    return fig


def _tag(beta):
    return f"beta{beta:g}".replace(".", "_")


def single_beta_names(metrics, betas):
    """``metrics`` named per beta (``mig_beta4``), or plain (``mig``) when one beta is trained.

    A sweep over beta (``mpkeras sweep beta_vae_sprites --set beta=1,4``)
    trains one beta per point: plain names give every point the same metric
    names, so the sweep's summary and TensorBoard's HParams table have one
    column per metric. With two or more betas the names keep their suffix
    (the spec's expectations compare ``mig_beta4`` with ``mig_beta1``).
    """
    if len(betas) != 1:
        return dict(metrics)
    suffix = f"_{_tag(betas[0])}"
    return {name.removesuffix(suffix): value for name, value in metrics.items()}


@register(
    BetaVaeSpritesConfig,
    metrics=(
        "mig_beta{beta}",
        "betavae_score_beta{beta}",
        "kl_beta{beta}",
        "reconstruction_beta{beta}",
        # One beta trained (a point of a sweep over beta): see single_beta_names.
        "mig",
        "betavae_score",
        "kl",
        "reconstruction",
    ),
    datasets=("sprites/small", "sprites/full", "dsprites"),
)
def beta_vae_sprites(config, context):
    """A6: the same VAE trained with beta = 1 and beta = 4; disentanglement per beta.

    The objective rec + beta KL presses q(z|x) harder towards the factorised
    prior N(0, I) when beta > 1, which favours codes whose dimensions follow
    independent factors of variation. The MIG (Chen et al. 2018) and the
    BetaVAE score (Higgins et al. 2017) measure that against the sprites'
    known factors (shape, scale, orientation, x, y).

    Both scores follow disentanglement_lib's protocol (see
    `mpkeras.metrics.disentanglement`); the scored observations are drawn
    uniformly from the factor grid (`factor_observations`), or are the whole
    in-memory sub-grid when `grid` is set (the quick budget). Every model is
    seeded from (run seed, beta, restart) alone (`_sprite_grids.model_seed`),
    so it does not depend on the betas trained before it, and with
    `restarts` > 1 each beta's scores are the means over its models. The
    training is far from Locatello et al. 2019's (conv encoder, Adam 1e-4,
    300,000 steps on the full grid): an MLP, Adam 1e-3 and a few thousand
    steps, so the absolute MIGs are lower than its tables'.
    """
    if config.grid:
        images, factors = render_grid(config.grid)
        train = grid_batches(
            images, config.train.batch_size, context.seed, repeats=config.grid_repeats
        )
    else:
        train = data.load(
            config.dataset,
            split="train",
            batch_size=config.train.batch_size,
            task="reconstruction",
            seed=context.seed,
        )
        images, factors = factor_observations(config.dataset, config.score_examples, context.seed)
    premise(factors.shape[1] == len(SPRITE_FACTORS), "the dataset labels the five sprite factors")
    shape = tuple(images.shape[1:])
    shown = images[np.random.default_rng(context.seed).choice(len(images), 16, replace=False)]
    metrics, models = {}, {}
    betas = config.trained_betas
    for beta in betas:
        tag = _tag(beta)
        runs = [
            _train_and_score(config, context, beta, restart, shape, train, images, factors, shown)
            for restart in range(config.restarts)
        ]
        for key in ("mig", "betavae_score", "kl", "reconstruction"):
            metrics[f"{key}_{tag}"] = float(np.mean([scores[key] for scores, _ in runs]))
        vae = runs[0][1]
        rows, dims = latent_traversals(
            vae, shown[0], max_dims=config.traversal_dims, reference=shown
        )
        context.save_figure(
            f"traversals_{tag}",
            grid_figure(
                rows,
                title=f"beta = {beta:g}: one latent per row (by KL), others fixed",
                row_labels=[f"z{d}" for d in dims],
            ),
        )
        # A6 in the Projector: the codes coloured by each ground-truth factor.
        seen = slice(0, _PROJECTED)
        context.log_embedding(
            tag,
            latent_means(vae, images[seen]),
            dict(zip(SPRITE_FACTORS, factors[seen].T)),
            images[seen],
        )
        models[tag] = vae
    context.save_figure("scores_vs_beta", scores_figure(betas, metrics))
    tags = [_tag(b) for b in betas]
    return Results(
        metrics=single_beta_names(metrics, betas),
        model=models[tags[-1]],
        extra_models={t: models[t] for t in tags[:-1]},
    )


def _train_and_score(config, context, beta, restart, shape, train, images, factors, shown):
    """One model of ``beta`` (restart ``restart``), trained and scored; (scores, model)."""
    import keras

    seed = model_seed(context.seed, beta, restart)
    # The initial weights follow Keras's global seed: reset it per model.
    keras.utils.set_random_seed(seed)
    tag = _tag(beta) if restart == 0 else f"{_tag(beta)}_restart{restart}"
    vae = build_vae(
        shape,
        config.latent_dim,
        kind=config.kind,
        hidden=config.hidden or None,
        beta=beta,
        from_logits=True,
        seed=seed,
        name=f"vae_{tag}",
    )
    vae.compile(optimizer=config.train.make_optimizer())
    logger = LatentImageLogger(
        context.log_dir(tag),
        shown,
        every=max(1, config.train.epochs // 5),
        max_dims=config.traversal_dims,
        seed=context.seed,
    )
    history = context.fit(vae, train, tag=tag, epochs=config.train.epochs, callbacks=[logger])
    scores = {
        "mig": mutual_information_gap(
            vae, images, factors, num_samples=config.score_examples, seed=context.seed
        ),
        "betavae_score": beta_vae_score(
            vae,
            images,
            factors,
            batch_size=config.betavae_batch,
            num_train=config.betavae_train,
            num_eval=config.betavae_eval,
            seed=context.seed,
        ),
        "kl": float(history.history["kl"][-1]),
        "reconstruction": float(history.history["reconstruction"][-1]),
    }
    return scores, vae
