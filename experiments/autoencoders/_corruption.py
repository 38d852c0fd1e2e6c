"""The shared body of denoising_ae and inpainting_ae (claim A3)."""

import numpy as np
from mpkeras_experiments.autoencoders._common import (
    ImageRowsLogger,
    cosine_adam,
    rows_figure,
    steps_per_epoch,
)
from mpkeras_experiments.results import premise

from mpkeras import data
from mpkeras.metrics import PSNR, SSIM
from mpkeras.models import build_autoencoder


def _mean_score(metric, clean, images, weights):
    metric.update_state(clean, images, sample_weight=weights)
    return float(metric.result())


# Every metric restore_experiment reports: the overcomplete model's unprefixed,
# the undercomplete model's with "undercomplete_".
RESTORATION_METRICS = (
    "latent_dim",
    "undercomplete_latent_dim",
    "input_features",
    "fraction_changed",
    "input_psnr",
    "input_ssim",
    "overcomplete_minus_undercomplete_psnr",
    *(
        f"{prefix}{metric}"
        for prefix in ("", "undercomplete_")
        for metric in ("output_psnr", "output_ssim", "psnr_gain", "test_mse")
    ),
)


def restore_experiment(config, context, task, load_options, corruption):
    """Train an overcomplete and an undercomplete conv AE on (corrupted x, x).

    Both have the same conv stages (``config.hidden``) and budget; only the
    latent size differs: ``config.latent_dim`` > the number of input
    features (overcomplete) and ``config.undercomplete_latent_dim`` < it.
    PSNR and SSIM are averaged over the test images whose corruption changed
    something (an inpainting hole over blank background leaves the image
    as it was, with PSNR +inf); ``fraction_changed`` says how many.

    Returns:
        ``(metrics, models)`` with models keyed "overcomplete",
        "undercomplete".
    """
    corrupted, clean = data.load_arrays(
        config.dataset, split=config.test_split, task=task, **load_options
    )
    shape = clean.shape[1:]
    features = int(np.prod(shape))
    premise(
        config.latent_dim > features,
        f"latent_dim={config.latent_dim} is overcomplete: more than the {features} input features",
    )
    premise(
        config.undercomplete_latent_dim < features,
        f"undercomplete_latent_dim={config.undercomplete_latent_dim} is below the {features} input features",
    )
    changed = np.any(corrupted != clean, axis=tuple(range(1, clean.ndim)))
    premise(changed.any(), "the corruption changes some test images")
    weights = changed.astype(np.float32)
    train = data.load(
        config.dataset,
        split=config.train_split,
        batch_size=config.train.batch_size,
        task=task,
        seed=context.seed,
        **load_options,
    )
    num_train = sum(
        int(b[0].shape[0])
        for b in data.load(
            config.dataset, split=config.train_split, batch_size=4096, task=task, **load_options
        )
    )
    shown = slice(0, 8)

    metrics = {
        "latent_dim": config.latent_dim,
        "undercomplete_latent_dim": config.undercomplete_latent_dim,
        "input_features": features,
        "fraction_changed": float(changed.mean()),
        "input_psnr": _mean_score(PSNR(), clean, corrupted, weights),
        "input_ssim": _mean_score(SSIM(), clean, corrupted, weights),
    }
    models, outputs = {}, {}
    for label, k in (
        ("overcomplete", config.latent_dim),
        ("undercomplete", config.undercomplete_latent_dim),
    ):
        model = build_autoencoder(shape, k, kind="conv", hidden=config.hidden or None, name=label)
        model.compile(
            optimizer=cosine_adam(
                config.train.learning_rate,
                config.train.epochs,
                steps_per_epoch(num_train, config.train.batch_size),
            ),
            loss="mse",
            metrics=[PSNR(), SSIM()],
        )
        context.fit(
            model,
            train,
            tag=label,
            epochs=config.train.epochs,
            callbacks=[
                ImageRowsLogger(
                    context.log_dir(label),
                    corrupted[shown],
                    clean[shown],
                    every=config.images_every,
                )
            ],
        )
        output = np.asarray(model.predict(corrupted, batch_size=1024, verbose=0))
        prefix = "" if label == "overcomplete" else "undercomplete_"
        metrics[f"{prefix}output_psnr"] = _mean_score(PSNR(), clean, output, weights)
        metrics[f"{prefix}output_ssim"] = _mean_score(SSIM(), clean, output, weights)
        metrics[f"{prefix}psnr_gain"] = metrics[f"{prefix}output_psnr"] - metrics["input_psnr"]
        metrics[f"{prefix}test_mse"] = float(np.mean((output - clean) ** 2))
        models[label], outputs[label] = model, output
    metrics["overcomplete_minus_undercomplete_psnr"] = (
        metrics["output_psnr"] - metrics["undercomplete_output_psnr"]
    )

    rows = [corrupted[:10], outputs["overcomplete"][:10], outputs["undercomplete"][:10], clean[:10]]
    fig = rows_figure(
        rows,
        [
            "corrupted",
            f"k = {config.latent_dim}",
            f"k = {config.undercomplete_latent_dim}",
            "clean",
        ],
        title=f"{corruption}: PSNR {metrics['input_psnr']:.1f} -> {metrics['output_psnr']:.1f} dB "
        f"(overcomplete), {metrics['undercomplete_output_psnr']:.1f} dB (undercomplete)",
    )
    context.save_figure("restorations", fig)
    return metrics, models
