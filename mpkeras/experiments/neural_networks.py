"""Chapter 1 of the notes, neural networks: experiments for claims N1-N7."""

import dataclasses

import keras
import numpy as np

from mpkeras import data, plotting
from mpkeras.experiments.registry import register
from mpkeras.experiments.results import Results
from mpkeras.experiments.training import TrainConfig
from mpkeras.models import Perceptron, build_mlp


def train_perceptron(x_train, train_inputs, epochs, learning_rate, context, tag="perceptron", figure=None):
    """Fit a :class:`Perceptron` with Rosenblatt's rule under the run's callbacks.

    Returns the model and its number of updates (mistakes) over all epochs.
    """
    perceptron = Perceptron(learning_rate=learning_rate, name=tag)
    perceptron.build((None, x_train.shape[1]))  # BackupAndRestore needs built weights.
    perceptron.compile()
    perceptron.fit(
        train_inputs,
        epochs=epochs,
        callbacks=context.callbacks(tag, figure=figure),
        verbose=context.verbose,
    )
    return perceptron, int(perceptron.updates.numpy())


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


@register("xor", XorConfig)
def xor(config, context):
    """N2: the perceptron cannot solve XOR; an MLP with one hidden layer can.

    No line separates {(0,0), (1,1)} from {(0,1), (1,0)}, so any perceptron
    gets at least one of the four points wrong (accuracy <= 0.75) and
    Rosenblatt's rule never stops updating. One hidden layer,
    yhat = sigma(W_2 sigma(W_1 x + b_1) + b_2), bends the boundary.
    """
    x, y = data.load_arrays(config.dataset, split="train")
    train_inputs = data.load(config.dataset, split="train", batch_size=config.train.batch_size, seed=context.seed)
    test_inputs = data.load(config.dataset, split="test", batch_size=config.train.batch_size)

    def boundary(title):
        def draw(model):
            fig, axes = plotting.figure()
            plotting.decision_boundary(axes[0, 0], plotting.batch_predict(model), x, y, title)
            return fig

        return draw

    perceptron, updates = train_perceptron(
        x, train_inputs, config.perceptron_epochs, config.perceptron_learning_rate, context,
        figure=boundary("Perceptron"),
    )
    perceptron_accuracy = perceptron.evaluate(test_inputs, verbose=0, return_dict=True)["accuracy"]

    mlp = build_mlp((x.shape[1],), hidden=config.hidden, activation=config.activation, output="sigmoid")
    mlp.compile(
        optimizer=config.train.make_optimizer(),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    mlp.fit(
        train_inputs,
        epochs=config.train.epochs,
        callbacks=context.callbacks("mlp", figure=boundary("MLP"), figure_every=20),
        verbose=context.verbose,
    )
    mlp_metrics = mlp.evaluate(test_inputs, verbose=0, return_dict=True)

    fig, axes = plotting.figure(ncols=2)
    plotting.decision_boundary(axes[0, 0], plotting.batch_predict(perceptron), x, y,
                               f"Perceptron: accuracy {perceptron_accuracy:.2f}")
    plotting.decision_boundary(axes[0, 1], plotting.batch_predict(mlp), x, y,
                               f"MLP {config.hidden}: accuracy {mlp_metrics['accuracy']:.2f}")
    context.save_figure("decision_boundaries", fig)

    return Results(
        metrics={
            "perceptron_accuracy": float(perceptron_accuracy),
            # Rosenblatt's rule only updates on mistakes: at least one update
            # per pass means it never converged.
            "perceptron_updates_per_epoch": updates / config.perceptron_epochs,
            "mlp_accuracy": float(mlp_metrics["accuracy"]),
            "mlp_loss": float(mlp_metrics["loss"]),
        },
        model=mlp,
        extra_models={"perceptron": perceptron},
    )
