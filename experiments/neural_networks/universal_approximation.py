"""N7: universal approximation; the error falls with width, and deeper beats wider."""

import dataclasses

import keras
import numpy as np
import scipy.stats
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import StepBudget, require_positive

from mpkeras import plotting
from mpkeras.models.mlp import build_parallel_mlps


def approximation_target(x):
    """The smooth targets of the width sweep on [0, 1]^m (m = 1 or 2).

    m = 1: f(x) = sin(2 pi x) + 0.5 sin(6 pi x) + |x - 1/3|
    m = 2: f(x) = sin(2 pi x_1) cos(pi x_2) + |x_1 + x_2 - 1|

    Two frequencies plus a kink: continuous but not smooth, so the error keeps
    falling over the whole width range instead of hitting float32 precision
    at N ~ 32 as it does for a smooth f.
    """
    if x.shape[1] == 1:
        t = x[:, 0]
        return np.sin(2 * np.pi * t) + 0.5 * np.sin(6 * np.pi * t) + np.abs(t - 1.0 / 3.0)
    return np.sin(2 * np.pi * x[:, 0]) * np.cos(np.pi * x[:, 1]) + np.abs(x[:, 0] + x[:, 1] - 1.0)


def ripple_target(x):
    """The harder target of the depth comparison: radial ripples
    f(x) = cos(6 pi ||x - (1/2, 1/2)||) on [0, 1]^2. A sum of ridge functions
    sigma(w^T x + b) needs many terms for a radial function; a deeper network
    can compute ||x - c|| first and then a function of one variable.
    """
    return np.cos(6 * np.pi * np.linalg.norm(x - 0.5, axis=1))


def dense_grid(m, points_per_side):
    """A regular grid of [0, 1]^m, corners included, shape (points_per_side^m, m)."""
    side = np.linspace(0.0, 1.0, points_per_side)
    return np.stack(np.meshgrid(*[side] * m, indexing="ij"), axis=-1).reshape(-1, m)


def predict(model, x):
    """``model(x)`` as float64 NumPy; a dense grid goes in few large batches."""
    return model.predict(x.astype("float32"), batch_size=8192, verbose=0).astype(np.float64)


def count_params(model, prefix):
    """Parameters of the layers of ``model`` whose names start with ``prefix``."""
    return sum(layer.count_params() for layer in model.layers if layer.name.startswith(prefix))


def spread_hidden_layer(layer, m, slope, rng):
    """Initialise one sigmoid layer so its units tile [0, 1]^m.

    Unit i gets a random direction d_i, a centre c_i uniform in the cube and a
    steepness |w_i| = slope * N^(1/m) * U(0.5, 1.5): sigma(w_i^T (x - c_i)) rises
    across a band about as wide as the spacing of N points in the cube.
    Keras's default (Glorot) init gives |w_i| ~ N^(-1/2) instead, so all units
    of a wide layer are nearly linear on [0, 1]^m and a wide net starts
    worse than a narrow one.
    """
    units = layer.units
    directions = rng.normal(size=(m, units))
    directions /= np.linalg.norm(directions, axis=0)
    kernel = directions * slope * units ** (1.0 / m) * rng.uniform(0.5, 1.5, size=units)
    centres = rng.uniform(size=(units, m))
    bias = -np.einsum("um,mu->u", centres, kernel)
    layer.set_weights([kernel.astype("float32"), bias.astype("float32")])


def least_squares_readout(hidden, output, x, y, ridge):
    """Set ``output`` to the ridge least-squares v, b of y ~ sum_i v_i h_i(x) + b.

    With the hidden layer fixed, g(x) = sum_i v_i sigma(w_i^T x + b_i) + b is
    linear in (v, b): its best fit in squared error is a linear solve.
    """
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in hidden.get_weights())
    features = keras.ops.convert_to_numpy(hidden.activation(x @ kernel + bias))
    features = np.concatenate([features, np.ones((len(x), 1))], axis=1)
    gram = features.T @ features + ridge * len(x) * np.eye(features.shape[1])
    solution = np.linalg.solve(gram, features.T @ y)
    output.set_weights([solution[:-1, None].astype("float32"), solution[-1:].astype("float32")])


@dataclasses.dataclass
class UniversalApproximationConfig:
    """Settings of the ``universal_approximation`` experiment (claim N7).

    Attributes:
        widths: the hidden widths N of the one-hidden-layer sigmoid nets.
        dims: the input dimensions m of the width sweep.
        train_size: training points uniform in [0, 1]^m, per m.
        grid_points: points per side of the dense grid the max error is taken
            on, per m (same order as ``dims``).
        slope: steepness scale of the spread initialisation.
        ridge: ridge weight (per example) of the least-squares readout.
        train: Adam fine-tuning budget of every width (one fit per m).
        deep_hidden: hidden widths of the deep net of the depth comparison.
        comparison_activation: activation of both nets in the comparison
            (tanh(z) = 2 sigmoid(2z) - 1: the same function class as sigmoid,
            but centred, which deep nets train better with).
        comparison_train: budget of the depth comparison (both nets, one fit).
        figure_every: epochs between TensorBoard figures.
    """

    widths: list[int] = dataclasses.field(default_factory=lambda: [2, 4, 8, 16, 32, 64, 128, 256])
    dims: list[int] = dataclasses.field(default_factory=lambda: [1, 2])
    train_size: int = 4096
    grid_points: list[int] = dataclasses.field(default_factory=lambda: [10001, 201])
    slope: float = 0.5
    ridge: float = 1e-8
    train: StepBudget = dataclasses.field(
        default_factory=lambda: StepBudget(
            epochs=10, steps_per_epoch=200, batch_size=256, learning_rate=1e-3
        )
    )
    deep_hidden: list[int] = dataclasses.field(default_factory=lambda: [16, 16, 16, 16])
    comparison_activation: str = "tanh"
    comparison_train: StepBudget = dataclasses.field(
        default_factory=lambda: StepBudget(
            epochs=10, steps_per_epoch=400, batch_size=256, learning_rate=1e-2
        )
    )
    figure_every: int = 5

    def __post_init__(self):
        require_positive(
            self,
            ("widths", "dims", "train_size", "grid_points", "slope", "deep_hidden", "figure_every"),
        )
        if not set(self.dims) <= {1, 2}:
            raise ValueError(
                f"`dims` may hold 1 and 2 (the targets are defined there), got {self.dims}"
            )
        if len(self.grid_points) != len(self.dims):
            raise ValueError(
                f"`grid_points` needs one entry per dim {self.dims}, got {self.grid_points}"
            )
        if len(self.widths) < 2:
            raise ValueError(
                f"`widths` needs at least two widths to show a trend, got {self.widths}"
            )


def _fits_figure(model, x_plot, widths, shown, title):
    fig, axes = plotting.figure(ncols=1, size=5.0)
    ax = axes[0, 0]
    predictions = predict(model, x_plot)
    ax.plot(x_plot[:, 0], approximation_target(x_plot), color="k", linewidth=2.5, label="f")
    for width in shown:
        ax.plot(
            x_plot[:, 0], predictions[:, widths.index(width)], linewidth=1.2, label=f"g, N={width}"
        )
    ax.set_xlabel("x")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return fig


@register(
    UniversalApproximationConfig,
    metrics=(
        "widths",
        "least_squares_max_error_m{m}",
        "max_error_m{m}",
        "spearman_m{m}",
        "error_ratio_m{m}",
        "shallow_params",
        "deep_params",
        "shallow_max_error",
        "deep_max_error",
        "deep_over_shallow_max_error",
        "shallow_rms_error",
        "deep_rms_error",
    ),
)
def universal_approximation(config, context):
    """N7: one hidden sigmoid layer approximates continuous f on [0, 1]^m; deeper beats wider.

    The theorem: for a bounded, non-constant, continuous sigma there are N,
    v_i, w_i, b_i with |f(x) - g(x)| < eps on [0, 1]^m for
    g(x) = sum_i v_i sigma(w_i^T x + b_i). We fit g for m = 1, 2 and widths
    N = 2 ... 256 and measure the max error on a dense grid (corners
    included): it falls with N. Each g is fitted in two stages: the hidden
    units are spread over the cube (``spread_hidden_layer``), v by ridge least
    squares (the convex part, exact), then all weights are fine-tuned by Adam
    on the squared error. All widths of one m train in one ``fit`` of
    independent networks (``build_parallel_nets``).

    "In practice deeper beats wider": a deep net with no more parameters than
    the widest shallow one, both trained by Adam alone with the same budget
    (the shallow one from the spread init, its best start), gets a lower
    max error on a harder target, radial ripples (``ripple_target``).

    Data: points uniform in [0, 1]^m from a NumPy Generator seeded by the run's seed.
    """
    rng = np.random.default_rng([context.seed, 7])
    widths = list(config.widths)
    metrics = {"widths": widths}
    sweep_models = {}
    x_plot = dense_grid(1, 1001)
    shown = sorted({widths[0], widths[len(widths) // 3], widths[2 * len(widths) // 3], widths[-1]})

    for m, points in zip(config.dims, config.grid_points):
        name = f"sweep_m{m}"
        x = rng.uniform(size=(config.train_size, m))
        y = approximation_target(x)
        model = build_parallel_mlps(m, [[n] for n in widths], "sigmoid", name)
        for k in range(len(widths)):
            hidden, output = (
                model.get_layer(f"{name}_net{k}_hidden0"),
                model.get_layer(f"{name}_net{k}_output"),
            )
            spread_hidden_layer(hidden, m, config.slope, rng)
            least_squares_readout(hidden, output, x, y, config.ridge)
        grid = dense_grid(m, points)
        target = approximation_target(grid)[:, None]
        metrics[f"least_squares_max_error_m{m}"] = np.abs(predict(model, grid) - target).max(axis=0)

        # TensorBoard shows the fits as they train for m = 1 (a 2-D surface per width is too much).
        figure = (
            (
                lambda mdl: _fits_figure(
                    mdl, x_plot, widths, shown, "One hidden sigmoid layer, m = 1"
                )
            )
            if m == 1
            else None
        )
        config.train.compile(model)
        config.train.fit(
            model,
            x,
            np.repeat(y[:, None], len(widths), axis=1),
            context,
            name,
            figure=figure,
            figure_every=config.figure_every,
        )
        errors = np.abs(predict(model, grid) - target).max(axis=0)
        metrics[f"max_error_m{m}"] = errors
        metrics[f"spearman_m{m}"] = float(scipy.stats.spearmanr(widths, errors).statistic)
        metrics[f"error_ratio_m{m}"] = float(errors[-1] / errors[0])
        sweep_models[m] = model
        if m == 1:
            context.save_figure(
                "fits_m1",
                _fits_figure(model, x_plot, widths, shown, "One hidden sigmoid layer, m = 1"),
            )

    # Deeper vs wider, on the harder target.
    x = rng.uniform(size=(config.train_size, 2))
    y = ripple_target(x)
    comparison = build_parallel_mlps(
        2,
        [[widths[-1]], list(config.deep_hidden)],
        config.comparison_activation,
        "depth",
        centred=(1,),
    )
    spread_hidden_layer(comparison.get_layer("depth_net0_hidden0"), 2, config.slope, rng)
    config.comparison_train.compile(comparison)
    config.comparison_train.fit(comparison, x, np.repeat(y[:, None], 2, axis=1), context, "depth")
    grid = dense_grid(2, config.grid_points[-1])
    predictions = predict(comparison, grid)
    shallow_error, deep_error = np.abs(predictions - ripple_target(grid)[:, None]).max(axis=0)
    shallow_params = count_params(comparison, "depth_net0_")
    deep_params = count_params(comparison, "depth_net1_")
    premise(
        deep_params <= shallow_params,
        f"the deep net has no more parameters than the shallow one ({deep_params} vs {shallow_params})",
    )
    metrics.update(
        shallow_params=shallow_params,
        deep_params=deep_params,
        shallow_max_error=float(shallow_error),
        deep_max_error=float(deep_error),
        deep_over_shallow_max_error=float(deep_error / shallow_error),
        shallow_rms_error=float(np.sqrt(np.mean((predictions[:, 0] - ripple_target(grid)) ** 2))),
        deep_rms_error=float(np.sqrt(np.mean((predictions[:, 1] - ripple_target(grid)) ** 2))),
    )

    fig, axes = plotting.figure(ncols=2, size=4.5)
    for ax, m in zip(axes[0], config.dims):
        ax.loglog(
            widths,
            metrics[f"least_squares_max_error_m{m}"],
            "o--",
            color="0.6",
            label="least-squares readout",
        )
        ax.loglog(widths, metrics[f"max_error_m{m}"], "o-", color="#d94801", label="after Adam")
        ax.set_xlabel("hidden width N")
        ax.set_ylabel("max |f - g| on the grid")
        ax.set_title(f"m = {m}: Spearman {metrics[f'spearman_m{m}']:.2f}")
        ax.set_xticks(widths, [str(n) for n in widths])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    context.save_figure("max_error_vs_width", fig)

    side = config.grid_points[-1]
    fig, axes = plotting.figure(ncols=3, size=3.5)
    panels = [
        ("target: cos(6 pi |x - c|)", ripple_target(grid)),
        (
            f"shallow [{widths[-1]}], {shallow_params} params\nmax error {shallow_error:.2f}",
            predictions[:, 0],
        ),
        (
            f"deep {config.deep_hidden}, {deep_params} params\nmax error {deep_error:.2f}",
            predictions[:, 1],
        ),
    ]
    for ax, (title, values) in zip(axes[0], panels):
        ax.imshow(
            values.reshape(side, side).T,
            origin="lower",
            extent=(0, 1, 0, 1),
            vmin=-1.2,
            vmax=1.2,
            cmap="RdBu_r",
        )
        ax.set_title(title, fontsize="small")
        ax.set_xlabel("$x_1$")
    axes[0, 0].set_ylabel("$x_2$")
    context.save_figure("deep_vs_shallow", fig)

    return Results(
        metrics=metrics,
        model=sweep_models[config.dims[0]],
        extra_models={
            **{f"m{m}": model for m, model in sweep_models.items() if m != config.dims[0]},
            "depth": comparison,
        },
    )
