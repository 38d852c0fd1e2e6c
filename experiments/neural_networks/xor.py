"""N2: the perceptron cannot solve XOR; an MLP with one hidden layer can."""

import dataclasses

import keras
import numpy as np
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results
from mpkeras_experiments.training import TrainConfig, require_positive

from mpkeras import data, plotting
from mpkeras.models import Perceptron, build_mlp


@dataclasses.dataclass
class XorConfig:
    """Settings of the ``xor`` experiment (claim N2).

    Attributes:
        dataset: the XOR truth table, ``toy2d/xor``.
        perceptron_epochs: passes of Rosenblatt's rule over the four points.
        perceptron_learning_rate: eta in theta <- theta + eta (y - yhat) x.
        hidden: widths of the MLP's hidden layers (one layer for N2).
        activation: the hidden non-linearity.
        train: the MLP's gradient-descent budget.
    """

    dataset: str = "toy2d/xor"
    perceptron_epochs: int = 50
    perceptron_learning_rate: float = 1.0
    hidden: list[int] = dataclasses.field(default_factory=lambda: [8])
    activation: str = "tanh"
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=100, batch_size=4, learning_rate=0.1)
    )

    def __post_init__(self):
        require_positive(self, ("perceptron_epochs", "perceptron_learning_rate", "hidden"))


def updates_per_epoch(history):
    """Rosenblatt's updates in each epoch, from the cumulative ``updates`` log."""
    totals = np.asarray(history.history.get("updates", []), dtype=np.int64)
    return np.diff(totals, prepend=0)


@register(
    XorConfig,
    metrics=(
        "perceptron_accuracy",
        "perceptron_min_updates_per_epoch",
        "perceptron_updates",
        "mlp_accuracy",
        "mlp_loss",
    ),
    datasets=("toy2d/xor",),
)
def xor(config, context):
    """N2: the perceptron cannot solve XOR; an MLP with one hidden layer can.

    No line separates {(0,0), (1,1)} from {(0,1), (1,0)}, so any perceptron
    gets at least one of the four points wrong (accuracy <= 0.75) and
    Rosenblatt's rule keeps updating in every epoch. One hidden layer,
    yhat = sigma(W_2 sigma(W_1 x + b_1) + b_2), bends the boundary.
    """
    x, y = data.load_arrays(config.dataset, split="train")
    train_inputs = data.load(
        config.dataset, split="train", batch_size=config.train.batch_size, seed=context.seed
    )
    test_inputs = data.load(config.dataset, split="test", batch_size=config.train.batch_size)

    def boundary(title):
        def draw(model):
            fig, axes = plotting.figure()
            plotting.decision_boundary(axes[0, 0], plotting.batch_predict(model), x, y, title)
            return fig

        return draw

    perceptron = Perceptron(learning_rate=config.perceptron_learning_rate, name="perceptron")
    perceptron.build((None, x.shape[1]))  # BackupAndRestore needs built weights.
    perceptron.compile()
    history = context.fit(
        perceptron,
        train_inputs,
        tag="perceptron",
        epochs=config.perceptron_epochs,
        figure=boundary("Perceptron"),
    )
    updates = updates_per_epoch(history)
    perceptron_accuracy = perceptron.evaluate(test_inputs, verbose=0, return_dict=True)["accuracy"]

    mlp = build_mlp(
        (x.shape[1],), hidden=config.hidden, activation=config.activation, output="sigmoid"
    )
    mlp.compile(
        optimizer=config.train.make_optimizer(),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    context.fit(
        mlp,
        train_inputs,
        tag="mlp",
        epochs=config.train.epochs,
        figure=boundary("MLP"),
        figure_every=20,
    )
    mlp_metrics = mlp.evaluate(test_inputs, verbose=0, return_dict=True)

    fig, axes = plotting.figure(ncols=2)
    plotting.decision_boundary(
        axes[0, 0],
        plotting.batch_predict(perceptron),
        x,
        y,
        f"Perceptron: accuracy {perceptron_accuracy:.2f}",
    )
    plotting.decision_boundary(
        axes[0, 1],
        plotting.batch_predict(mlp),
        x,
        y,
        f"MLP {config.hidden}: accuracy {mlp_metrics['accuracy']:.2f}",
    )
    context.save_figure("decision_boundaries", fig)

    return Results(
        metrics={
            "perceptron_accuracy": float(perceptron_accuracy),
            # Rosenblatt's rule only updates on mistakes: at least one update
            # in every pass (the minimum over epochs) means it never converged.
            "perceptron_min_updates_per_epoch": int(updates.min()),
            "perceptron_updates": int(perceptron.updates.numpy()),
            "mlp_accuracy": float(mlp_metrics["accuracy"]),
            "mlp_loss": float(mlp_metrics["loss"]),
        },
        model=mlp,
        extra_models={"perceptron": perceptron},
    )
