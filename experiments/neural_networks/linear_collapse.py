"""N6: without a non-linearity an MLP collapses to one affine map."""

import dataclasses

import keras
import numpy as np
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import StepBudget, require_positive

from mpkeras import plotting
from mpkeras.diagnostics.margins import augment_with_one
from mpkeras.models import build_mlp, compose_affine


def regression_target(x):
    """f(x) = sin(2 pi x_1) cos(pi x_2) + x_1 x_2 on [0, 1]^2: smooth, far from affine."""
    return np.sin(2 * np.pi * x[:, 0]) * np.cos(np.pi * x[:, 1]) + x[:, 0] * x[:, 1]


def mse(model, x, y):
    """Mean squared error of ``model`` on ``(x, y)``, computed directly (float64)."""
    prediction = keras.ops.convert_to_numpy(model(x.astype("float32"), training=False)).astype(
        np.float64
    )
    return float(np.mean((prediction.reshape(y.shape) - y) ** 2))


@dataclasses.dataclass
class LinearCollapseConfig:
    """Settings of the ``linear_collapse`` experiment (claim N6).

    Attributes:
        train_size: points drawn uniformly from [0, 1]^2 to fit.
        test_size: fresh points for the collapse check and the test MSE.
        hidden: widths of the hidden layers of both networks.
        nonlinear_activation: the activation of the comparison network.
        train: the gradient-descent budget of each network.
    """

    train_size: int = 2048
    test_size: int = 1024
    hidden: list[int] = dataclasses.field(default_factory=lambda: [32, 32, 32])
    nonlinear_activation: str = "tanh"
    train: StepBudget = dataclasses.field(
        default_factory=lambda: StepBudget(
            epochs=10, steps_per_epoch=200, batch_size=2048, learning_rate=1e-2
        )
    )

    def __post_init__(self):
        require_positive(self, ("train_size", "test_size", "hidden"))


@register(
    LinearCollapseConfig,
    metrics=(
        "collapse_relative_error",
        "least_squares_mse",
        "deep_linear_mse",
        "nonlinear_mse",
        "deep_linear_over_least_squares",
        "nonlinear_over_least_squares",
        "least_squares_test_mse",
        "deep_linear_test_mse",
        "nonlinear_test_mse",
    ),
)
def linear_collapse(config, context):
    """N6: an MLP without non-linearities collapses to one affine map.

    Data: x uniform on [0, 1]^2 (a NumPy Generator seeded by the run's seed),
    y = f(x) = sin(2 pi x_1) cos(pi x_2) + x_1 x_2. A deep MLP with identity
    activations computes x W_1 ... W_k + b for the (W, b) of
    ``compose_affine``: (a) its outputs equal that affine map, (b) trained on
    f it fits no better than the least-squares affine fit, while (c) the same
    architecture with a non-linearity fits f far better.
    """
    rng = np.random.default_rng([context.seed, 6])
    x = rng.uniform(size=(config.train_size, 2))
    x_test = rng.uniform(size=(config.test_size, 2))
    y, y_test = regression_target(x), regression_target(x_test)

    # The best any affine map can do: ordinary least squares on (x, 1).
    design = augment_with_one(x)
    coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
    least_squares_mse = float(np.mean((design @ coefficients - y) ** 2))
    least_squares_test_mse = float(np.mean((augment_with_one(x_test) @ coefficients - y_test) ** 2))

    def fitted(activation, tag):
        model = build_mlp(
            (2,), hidden=config.hidden, activation=activation, output="linear", name=tag
        )
        config.train.compile(model)
        config.train.fit(model, x, y, context, tag)
        return model

    deep_linear = fitted("linear", "deep_linear")
    nonlinear = fitted(config.nonlinear_activation, "nonlinear")

    weight, bias = compose_affine(deep_linear)
    network_out = keras.ops.convert_to_numpy(deep_linear(x_test.astype("float32"))).astype(
        np.float64
    )
    affine_out = x_test.astype("float32").astype(np.float64) @ weight + bias
    collapse_error = float(np.max(np.abs(network_out - affine_out)) / np.max(np.abs(affine_out)))

    deep_linear_mse, nonlinear_mse = mse(deep_linear, x, y), mse(nonlinear, x, y)
    # Least squares is the best affine fit of the training points, so no
    # affine map (the deep linear net included) can beat it: (b)'s floor.
    premise(
        deep_linear_mse >= least_squares_mse * (1 - 1e-6),
        f"least squares is optimal among affine maps ({deep_linear_mse:.6g} vs {least_squares_mse:.6g})",
    )

    fig, axes = plotting.figure(ncols=4, size=3.2)
    side = np.linspace(0, 1, 101)
    grid = np.stack(np.meshgrid(side, side), axis=-1).reshape(-1, 2)
    panels = [
        ("target f", regression_target(grid)),
        ("least-squares affine", augment_with_one(grid) @ coefficients),
        (
            f"deep linear {config.hidden}",
            keras.ops.convert_to_numpy(deep_linear(grid.astype("float32"))),
        ),
        (
            f"{config.nonlinear_activation} {config.hidden}",
            keras.ops.convert_to_numpy(nonlinear(grid.astype("float32"))),
        ),
    ]
    low, high = panels[0][1].min(), panels[0][1].max()
    for ax, (title, values) in zip(axes[0], panels):
        image = ax.imshow(
            np.asarray(values).reshape(101, 101),
            origin="lower",
            extent=(0, 1, 0, 1),
            vmin=low,
            vmax=high,
            cmap="viridis",
        )
        ax.set_title(title, fontsize="small")
        ax.set_xlabel("$x_1$")
    axes[0, 0].set_ylabel("$x_2$")
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8)
    context.save_figure("fits", fig)

    return Results(
        metrics={
            "collapse_relative_error": collapse_error,
            "least_squares_mse": least_squares_mse,
            "deep_linear_mse": deep_linear_mse,
            "nonlinear_mse": nonlinear_mse,
            "deep_linear_over_least_squares": deep_linear_mse / least_squares_mse,
            "nonlinear_over_least_squares": nonlinear_mse / least_squares_mse,
            "least_squares_test_mse": least_squares_test_mse,
            "deep_linear_test_mse": mse(deep_linear, x_test, y_test),
            "nonlinear_test_mse": mse(nonlinear, x_test, y_test),
        },
        model=deep_linear,
        extra_models={"nonlinear": nonlinear},
    )
