"""N1: Rosenblatt's rule converges on separable data within Novikoff's (R / gamma)^2 updates."""

import dataclasses

import keras
import numpy as np
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import require_positive

from mpkeras import data, plotting
from mpkeras.diagnostics.margins import augment_with_one, augmented_margin, max_margin_separator
from mpkeras.models import Perceptron


@dataclasses.dataclass
class PerceptronConfig:
    """Settings of the ``perceptron`` experiment (claim N1).

    Attributes:
        dataset: linearly separable points with a known margin, ``toy2d/blobs``.
        max_epochs: passes of Rosenblatt's rule at most; training stops
            earlier, after the first pass without a mistake.
        learning_rate: eta; from zero weights it only rescales them, so the
            number of updates does not depend on it.
        batch_size: examples per ``train_step`` (the rule still visits them
            one by one; a batch is a unit of work).
        figure_every: epochs between decision-boundary images in TensorBoard.
    """

    dataset: str = "toy2d/blobs"
    max_epochs: int = 100
    learning_rate: float = 1.0
    batch_size: int = 200
    figure_every: int = 1

    def __post_init__(self):
        require_positive(self, ("max_epochs", "learning_rate", "batch_size", "figure_every"))


class StopWhenNoMistakes(keras.callbacks.Callback):
    """Stop ``fit`` after an epoch in which Rosenblatt's rule made no update.

    The perceptron's training ``accuracy`` is its online accuracy (each
    example judged before its own update), so 1.0 means a mistake-free pass:
    the weights did not move and never will again.
    """

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("accuracy", 0.0) >= 1.0:
            self.model.stop_training = True


def _draw_line(ax, normal, offset, x, **style):
    """The line {p : normal . p + offset = 0} across the x-range of ``x``."""
    low, high = x[:, 0].min() - 0.5, x[:, 0].max() + 0.5
    if abs(normal[1]) > 1e-12:
        xs = np.array([low, high])
        ax.plot(xs, -(normal[0] * xs + offset) / normal[1], **style)
    else:
        ax.axvline(-offset / normal[0], **style)


def _perceptron_figure(model, x, y, u, gamma, title):
    fig, axes = plotting.figure(size=5.0)
    ax = axes[0, 0]
    plotting.decision_boundary(ax, plotting.batch_predict(model), x, y, title)
    # The reference separator and its margin band |<u, (x, 1)>| < gamma: Novikoff's gamma.
    _draw_line(
        ax, u[:2], u[2], x, color="#238b45", linestyle="-", linewidth=1, label="max-margin u"
    )
    for side in (-1, 1):
        _draw_line(
            ax, u[:2], u[2] - side * gamma, x, color="#238b45", linestyle="--", linewidth=0.8
        )
    ax.set_xlim(x[:, 0].min() - 0.5, x[:, 0].max() + 0.5)
    ax.set_ylim(x[:, 1].min() - 0.5, x[:, 1].max() + 0.5)
    ax.legend(loc="upper right", fontsize="small")
    return fig


@register(
    PerceptronConfig,
    metrics=(
        "train_accuracy",
        "test_accuracy",
        "updates",
        "radius",
        "margin",
        "data_separator_margin",
        "novikoff_bound",
        "updates_over_bound",
        "learned_margin",
    ),
    datasets=("toy2d/blobs",),
)
def perceptron(config, context):
    """N1: Rosenblatt's rule converges on separable data within (R / gamma)^2 updates.

    The perceptron (zero initial weights) learns by theta <- theta + eta (y - yhat) x
    on mistakes, with x = (x, 1) augmented so theta = (w, b). On linearly
    separable data it stops making mistakes after finitely many updates:
    Novikoff's theorem bounds their number by (R / gamma)^2, where
    R = max_i ||(x_i, 1)|| over the training points and gamma is the margin
    min_i (2 y_i - 1) <u, (x_i, 1)> of any unit-norm separator u. We take the
    better of the data's own separator (the metadata normal, bias 0) and the
    max-margin separator of the augmented points.

    Premises (checked, not claims): the data is separable (gamma > 0) and
    Rosenblatt's rule had something to learn (at least one update from zero).
    """
    x, y = data.load_arrays(config.dataset, split="train")
    x_test, y_test = data.load_arrays(config.dataset, split="test")
    normal = np.asarray(data.info(config.dataset).metadata["normal"], dtype=np.float64)

    u_data = np.append(normal, 0.0)
    gamma_data = augmented_margin(u_data, x, y)
    u_best = max_margin_separator(x, y)
    gamma_best = augmented_margin(u_best, x, y)
    u, gamma = (u_best, gamma_best) if gamma_best > gamma_data else (u_data, gamma_data)
    premise(gamma > 0, f"{config.dataset} is linearly separable (best margin found: {gamma:.4g})")
    radius = float(np.linalg.norm(augment_with_one(x), axis=1).max())
    bound = (radius / gamma) ** 2

    train_inputs = data.load(
        config.dataset, split="train", batch_size=config.batch_size, seed=context.seed
    )
    model = Perceptron(learning_rate=config.learning_rate, name="perceptron")
    model.build((None, x.shape[1]))  # BackupAndRestore needs built weights.
    model.compile()
    context.fit(
        model,
        train_inputs,
        tag="perceptron",
        epochs=config.max_epochs,
        figure=lambda m: _perceptron_figure(m, x, y, u, gamma, "Perceptron"),
        figure_every=config.figure_every,
        callbacks=[StopWhenNoMistakes()],
    )
    updates = int(model.updates.numpy())
    premise(updates >= 1, "from zero weights Rosenblatt's rule updates at least once")
    train_accuracy = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)[
        "accuracy"
    ]
    test_accuracy = model.evaluate(
        x_test, y_test, batch_size=len(x_test), verbose=0, return_dict=True
    )["accuracy"]
    learned = np.append(model.kernel.numpy().ravel(), model.bias.numpy().ravel())

    context.save_figure(
        "decision_boundary",
        _perceptron_figure(
            model,
            x,
            y,
            u,
            gamma,
            f"{updates} updates <= (R/gamma)^2 = {bound:.0f}\n"
            f"R = {radius:.2f}, gamma = {gamma:.3f}, test accuracy {test_accuracy:.2f}",
        ),
    )
    return Results(
        metrics={
            "train_accuracy": float(train_accuracy),
            "test_accuracy": float(test_accuracy),
            "updates": updates,
            "radius": radius,
            "margin": gamma,
            "data_separator_margin": gamma_data,
            "novikoff_bound": bound,
            "updates_over_bound": updates / bound,
            # The learned theta separates the training points too: its margin is positive.
            "learned_margin": augmented_margin(learned, x, y),
        },
        model=model,
    )
