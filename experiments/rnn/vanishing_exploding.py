"""R3: ||dh_T/dh_k|| vanishes or explodes exponentially in T - k with the spectral radius of W_h."""

import dataclasses
import typing

import keras
import numpy as np
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import require_positive

from mpkeras import plotting
from mpkeras.diagnostics import hidden_state_gradient_norms, log_norm_slope, set_spectral_radius
from mpkeras.diagnostics.gradients import plot_gradient_norms
from mpkeras.layers import ElmanCell

# The notes' threshold 1/gamma, with gamma = sup |act'| = 1 for tanh and linear.
THRESHOLD = 1.0


@dataclasses.dataclass
class VanishingExplodingConfig:
    """Settings of the ``vanishing_exploding`` experiment (claim R3).

    Attributes:
        radii: spectral radii of W_h (orthogonal W_h scaled, so every
            singular value equals the radius).
        activations: the recurrence's non-linearities ("tanh", "linear").
        units: size of h_t.
        steps: sequence length T.
        batch_size: sequences the norms are averaged over.
        features: input features per step (inputs are standard normal).
        input_scale: standard deviation of the inputs.
    """

    radii: list[float] = dataclasses.field(default_factory=lambda: [0.5, 0.9, 1.0, 1.1, 1.5])
    activations: list[typing.Literal["tanh", "linear"]] = dataclasses.field(
        default_factory=lambda: ["tanh", "linear"]
    )
    units: int = 32
    steps: int = 100
    batch_size: int = 16
    features: int = 1
    input_scale: float = 1.0

    def __post_init__(self):
        require_positive(self, ("radii", "units", "steps", "batch_size", "features", "input_scale"))
        if self.steps < 3:
            raise ValueError(f"`steps` must be at least 3 to fit a slope, got {self.steps}")
        if not self.activations or any(a not in ("tanh", "linear") for a in self.activations):
            raise ValueError(
                f"`activations` must be a non-empty list of 'tanh'/'linear', got {self.activations}"
            )


def radius_key(radius):
    """Metric-name form of a radius: 0.5 -> "r050", 1.5 -> "r150"."""
    return f"r{int(round(100 * radius)):03d}"


@register(
    VanishingExplodingConfig,
    metrics=(
        "slope_{activation}_r{radius}",
        "log_norm_farthest_{activation}_r{radius}",
        "{activation}_max_slope_below_threshold",
        "{activation}_min_slope_above_threshold",
    ),
)
def vanishing_exploding(config, context):
    """R3: measured ||dh_T/dh_k|| against T - k for several spectral radii of W_h.

    dh_T/dh_k = prod_{i=k+1}^T W_h^T diag(act'(a_i)) has norm at most
    (||W_h|| gamma)^(T-k); with gamma = 1 the log-norm falls linearly in
    T - k when ||W_h|| < 1 (vanishing) and, for the linear recurrence where
    act' = 1, rises as (T - k) log ||W_h|| when ||W_h|| > 1 (exploding).
    tanh saturates, so above the threshold its norms need not explode; the
    experiment reports those slopes without a claim.
    """
    rng = np.random.default_rng(context.seed)
    inputs = (
        config.input_scale * rng.standard_normal((config.batch_size, config.steps, config.features))
    ).astype(np.float32)
    metrics, curves = {}, {}
    for activation in config.activations:
        curves[activation] = {}
        for radius in config.radii:
            keras.utils.set_random_seed(context.seed)
            cell = ElmanCell(config.units, activation=activation, name=f"elman_{activation}")
            cell.build((None, config.features))
            set_spectral_radius(cell, radius)
            singular = np.linalg.svd(np.asarray(cell.recurrent_kernel), compute_uv=False)
            premise(
                np.allclose(singular, radius, rtol=1e-4),
                "the scaled orthogonal W_h has every singular value equal to the radius",
            )
            norms = hidden_state_gradient_norms(cell, inputs)
            curves[activation][f"radius {radius:g}"] = norms
            key = f"{activation}_{radius_key(radius)}"
            metrics[f"slope_{key}"] = log_norm_slope(norms)
            metrics[f"log_norm_farthest_{key}"] = (
                float(np.log(norms[0])) if norms[0] > 0 else float("-inf")
            )

    def slopes(activation, below):
        return [
            metrics[f"slope_{activation}_{radius_key(r)}"]
            for r in config.radii
            if (r < THRESHOLD if below else r > THRESHOLD)
        ]

    for activation in config.activations:
        below, above = slopes(activation, True), slopes(activation, False)
        if below:
            metrics[f"{activation}_max_slope_below_threshold"] = float(max(below))
        if above:
            metrics[f"{activation}_min_slope_above_threshold"] = float(min(above))

    fig, axes = plotting.figure(ncols=len(config.activations), size=4.5)
    for ax, activation in zip(axes[0], config.activations):
        plot_gradient_norms(
            ax,
            curves[activation],
            title=f"{activation} Elman, {config.units} units, T = {config.steps}",
        )
    context.save_figure("gradient_norms", fig)
    return Results(metrics=metrics)
