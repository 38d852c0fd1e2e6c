"""A2: a non-linear (convolutional) autoencoder beats a linear one at equal latent size."""

import dataclasses

import numpy as np
from mpkeras_experiments.autoencoders._common import (
    cosine_adam,
    rows_figure,
    steps_per_epoch,
)
from mpkeras_experiments.embeddings import log_test_codes
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results
from mpkeras_experiments.training import StepBudget, TrainConfig, require_positive

from mpkeras import data
from mpkeras.models import build_autoencoder


@dataclasses.dataclass
class NonlinearAEConfig:
    """Settings of the ``nonlinear_ae`` experiment (claim A2).

    Attributes:
        dataset: images to reconstruct: digits (8x8, offline), or mnist /
            fashion_mnist (28x28; remote TFDS).
        train_split: the split both autoencoders and PCA are fitted on.
        test_split: the split reconstruction errors are compared on.
        latent_dim: the common latent size k.
        hidden: filters per stride-2 conv stage; [] for the builder's
            default for the image size ((32, 64) for 8x8, (32, 64, 64) for
            28x28).
        train: the conv autoencoder's budget (Adam, cosine-decayed step size).
        linear_train: the linear autoencoder's full-batch budget (it
            converges to PCA, see linear_ae_pca).
        figure_every: epochs between TensorBoard reconstruction figures.
    """

    dataset: str = "digits"
    train_split: str = "train"
    test_split: str = "test"
    latent_dim: int = 8
    hidden: list[int] = dataclasses.field(default_factory=list)
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=60, batch_size=32, learning_rate=3e-3)
    )
    linear_train: StepBudget = dataclasses.field(
        default_factory=lambda: StepBudget(
            epochs=5, steps_per_epoch=1000, batch_size=4096, learning_rate=1e-2
        )
    )
    figure_every: int = 5

    def __post_init__(self):
        require_positive(self, ("latent_dim", "figure_every"))
        if any(h <= 0 for h in self.hidden):
            raise ValueError(f"`hidden` must hold positive filter counts, got {self.hidden}")


@register(
    NonlinearAEConfig,
    metrics=(
        "latent_dim",
        "pca_test_mse",
        "linear_test_mse",
        "conv_test_mse",
        "conv_train_mse",
        "conv_over_linear_test_mse",
        "conv_over_pca_test_mse",
        "conv_params",
        "linear_params",
    ),
    datasets=("digits", "mnist", "fashion_mnist"),
)
def nonlinear_ae(config, context):
    """A2: with the same latent size k, a conv autoencoder reconstructs better than a linear one.

    The best linear autoencoder reconstructs x from its projection on the
    top-k principal subspace (A1). A non-linear encoder/decoder maps x to a
    k-dimensional code along a curved manifold, so with the same k it can
    reach a lower reconstruction error L = 1/N sum ||x - g(f(x))||^2 on held-out
    images. We compare the test MSE of a conv autoencoder, a linear
    autoencoder trained by gradient descent and PCA's closed form, all
    fitted on the training split.
    """
    from sklearn.decomposition import PCA

    k = config.latent_dim
    x, _ = data.load_arrays(config.dataset, split=config.train_split, task="reconstruction")
    x_test, _ = data.load_arrays(config.dataset, split=config.test_split, task="reconstruction")
    shape = x.shape[1:]
    flat, flat_test = x.reshape(len(x), -1), x_test.reshape(len(x_test), -1)

    pca = PCA(n_components=min(k, *flat.shape), svd_solver="full").fit(flat)
    pca_test = pca.inverse_transform(pca.transform(flat_test))
    pca_test_mse = float(np.mean((pca_test - flat_test) ** 2))

    linear = build_autoencoder(shape, min(k, flat.shape[1]), kind="linear", name="linear")
    config.linear_train.compile(linear)
    config.linear_train.fit(linear, x, x, context, tag="linear")
    linear_out = np.asarray(linear.predict(x_test, batch_size=1024, verbose=0))
    linear_test_mse = float(np.mean((linear_out - x_test) ** 2))

    examples = x_test[:10]

    def reconstructions(model):
        return rows_figure([examples, np.asarray(model(examples))], ["test", "conv AE"])

    conv = build_autoencoder(shape, k, kind="conv", hidden=config.hidden or None, name="conv")
    conv.compile(
        optimizer=cosine_adam(
            config.train.learning_rate,
            config.train.epochs,
            steps_per_epoch(len(x), config.train.batch_size),
        ),
        loss="mse",
    )
    train = data.load(
        config.dataset,
        split=config.train_split,
        batch_size=config.train.batch_size,
        task="reconstruction",
        seed=context.seed,
    )
    context.fit(
        conv,
        train,
        tag="conv",
        epochs=config.train.epochs,
        figure=reconstructions,
        figure_every=config.figure_every,
    )
    conv_out = np.asarray(conv.predict(x_test, batch_size=1024, verbose=0))
    conv_test_mse = float(np.mean((conv_out - x_test) ** 2))
    conv_train_mse = float(
        np.mean((np.asarray(conv.predict(x, batch_size=1024, verbose=0)) - x) ** 2)
    )

    fig = rows_figure(
        [examples, pca_test[:10].reshape(-1, *shape), linear_out[:10], conv_out[:10]],
        ["test", "PCA", "linear AE", "conv AE"],
        title=f"k = {k}: test MSE PCA {pca_test_mse:.4f}, linear {linear_test_mse:.4f}, "
        f"conv {conv_test_mse:.4f}",
    )
    context.save_figure("reconstructions", fig)
    log_test_codes(context, "conv", conv, config.dataset, x_test, split=config.test_split)

    return Results(
        metrics={
            "latent_dim": k,
            "pca_test_mse": pca_test_mse,
            "linear_test_mse": linear_test_mse,
            "conv_test_mse": conv_test_mse,
            "conv_train_mse": conv_train_mse,
            "conv_over_linear_test_mse": conv_test_mse / linear_test_mse,
            "conv_over_pca_test_mse": conv_test_mse / pca_test_mse,
            "conv_params": int(conv.count_params()),
            "linear_params": int(linear.count_params()),
        },
        model=conv,
        extra_models={"linear": linear},
    )
