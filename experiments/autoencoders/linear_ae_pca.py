"""A1: a linear autoencoder trained by gradient descent is PCA."""

import dataclasses

import numpy as np
from mpkeras_experiments.autoencoders._common import display_basis, rows_figure
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import StepBudget, require_positive

from mpkeras import data
from mpkeras.diagnostics.subspaces import linear_decoder_basis, subspace_angles
from mpkeras.models import build_autoencoder


@dataclasses.dataclass
class LinearAEPCAConfig:
    """Settings of the ``linear_ae_pca`` experiment (claim A1).

    Attributes:
        dataset: images to reconstruct (digits: 8x8, 64 features).
        train_split: the split PCA and the autoencoders are fitted on.
        test_split: the split the test errors are measured on.
        latent_dims: the latent sizes k compared with the top-k PCA subspace.
        center: subtract the training mean before training. PCA centres the
            data; the autoencoder's biases can learn the mean too, but that
            couples the bias and the subspace and slows convergence of the
            subspace ~10x (measured: 4.5 degrees vs 0.000 after 4000 steps,
            k = 8).
        train: full-batch Adam budget per k (batch_size >= the split size
            means one batch: plain gradient descent on the exact loss).
    """

    dataset: str = "digits"
    train_split: str = "train"
    test_split: str = "test"
    latent_dims: list[int] = dataclasses.field(default_factory=lambda: [2, 8, 16])
    center: bool = True
    train: StepBudget = dataclasses.field(
        default_factory=lambda: StepBudget(
            epochs=10, steps_per_epoch=1000, batch_size=4096, learning_rate=1e-2
        )
    )

    def __post_init__(self):
        require_positive(self, ("latent_dims",))


def _flat(x):
    return x.reshape(len(x), -1).astype(np.float64)


@register(
    LinearAEPCAConfig,
    metrics=(
        "latent_dims",
        "max_angle_deg",
        "max_mse_ratio",
        *(
            f"{metric}_k{{k}}"
            for metric in (
                "max_angle_deg",
                "angles_deg",
                "pca_mse",
                "ae_mse",
                "mse_ratio",
                "pca_test_mse",
                "ae_test_mse",
                "test_mse_ratio",
            )
        ),
    ),
    datasets=("digits", "mnist", "fashion_mnist"),
)
def linear_ae_pca(config, context):
    """A1: the linear autoencoder's subspace and error are PCA's.

    The linear autoencoder x_hat = W_d (W_e x + b_e) + b_d trained on
    L = 1/N sum_i ||x_i - x_hat_i||^2 has no spurious local minima; at the
    optimum the columns of W_d span the top-k principal subspace (a basis of
    it, not PCA's orthonormal eigenvectors). For each k we train by full-batch
    gradient descent (Adam) and measure the largest principal angle between
    span(W_d) and the top-k components of ``sklearn.decomposition.PCA`` fitted
    to the same training split, and the ratio of the two reconstruction
    errors (train and test).
    """
    from sklearn.decomposition import PCA

    x, _ = data.load_arrays(config.dataset, split=config.train_split, task="reconstruction")
    x_test, _ = data.load_arrays(config.dataset, split=config.test_split, task="reconstruction")
    shape = x.shape[1:]
    features = int(np.prod(shape))
    premise(
        max(config.latent_dims) <= features,
        f"every latent size is at most the {features} input features",
    )
    mean = x.mean(axis=0) if config.center else np.zeros_like(x[0])
    train_in = (x - mean).astype(np.float32)
    flat_x, flat_test = _flat(x), _flat(x_test)

    metrics = {"latent_dims": list(config.latent_dims)}
    models = {}
    for k in config.latent_dims:
        pca = PCA(n_components=k, svd_solver="full").fit(flat_x)

        def pca_mse(flat):
            # Called within this iteration only, so the late binding of pca is safe.
            return float(np.mean((pca.inverse_transform(pca.transform(flat)) - flat) ** 2))  # noqa: B023

        model = build_autoencoder(shape, k, kind="linear", name=f"linear_k{k}")
        config.train.compile(model)
        config.train.fit(model, train_in, train_in, context, tag=f"linear_k{k}")

        def ae_mse(images, flat):
            centred = (images - mean).astype(np.float32)
            output = np.asarray(model(centred)) + mean  # noqa: B023 - used in this iteration
            return float(np.mean((_flat(output) - flat) ** 2))

        angles = subspace_angles(
            linear_decoder_basis(model.decoder), pca.components_.T, degrees=True
        )
        metrics[f"max_angle_deg_k{k}"] = float(angles[-1])
        metrics[f"angles_deg_k{k}"] = [float(a) for a in angles]
        metrics[f"pca_mse_k{k}"] = pca_mse(flat_x)
        metrics[f"ae_mse_k{k}"] = ae_mse(x, flat_x)
        metrics[f"mse_ratio_k{k}"] = metrics[f"ae_mse_k{k}"] / metrics[f"pca_mse_k{k}"]
        metrics[f"pca_test_mse_k{k}"] = pca_mse(flat_test)
        metrics[f"ae_test_mse_k{k}"] = ae_mse(x_test, flat_test)
        metrics[f"test_mse_ratio_k{k}"] = (
            metrics[f"ae_test_mse_k{k}"] / metrics[f"pca_test_mse_k{k}"]
        )
        models[k] = model

        # Both bases, and the decoder's basis mapped onto PCA's by least
        # squares (W_d M ~ V): equal to V when the subspaces agree.
        decoder_basis = linear_decoder_basis(model.decoder)
        components = pca.components_.T
        mapping = np.linalg.lstsq(decoder_basis, components, rcond=None)[0]
        shown = min(k, 16)
        fig = rows_figure(
            [
                display_basis(components[:, :shown], shape),
                display_basis(decoder_basis[:, :shown], shape),
                display_basis((decoder_basis @ mapping)[:, :shown], shape),
            ],
            ["PCA", "decoder W_d", "W_d M (lstsq)"],
            title=f"k = {k}: largest principal angle {angles[-1]:.3f} deg, "
            f"MSE / PCA's = {metrics[f'mse_ratio_k{k}']:.4f}",
        )
        context.save_figure(f"bases_k{k}", fig)

    metrics["max_angle_deg"] = max(metrics[f"max_angle_deg_k{k}"] for k in config.latent_dims)
    metrics["max_mse_ratio"] = max(metrics[f"mse_ratio_k{k}"] for k in config.latent_dims)
    first, *rest = config.latent_dims
    return Results(
        metrics=metrics,
        model=models[first],
        extra_models={f"k{k}": models[k] for k in rest},
    )
