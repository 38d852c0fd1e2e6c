"""C4: the notes' conv backward formulas train a CNN exactly as autodiff does."""

import dataclasses
from typing import Literal

import numpy as np
from mpkeras_experiments.registry import register
from mpkeras_experiments.replicas import on_replicas
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import TrainConfig, require_positive

from mpkeras import data, plotting
from mpkeras.models import build_cnn


@dataclasses.dataclass
class ExplicitVsAutodiffConfig:
    """Settings of the ``explicit_vs_autodiff`` experiment (claim C4).

    Attributes:
        dataset: image classification data, "digits" (offline) by default.
        filters: output channels of the conv/pool blocks.
        kernel_size: conv kernel side.
        padding: conv padding, "valid" or "same".
        train: optimiser and budget, shared by both models. Plain gradient
            descent, theta <- theta - eta grad L, so that the two runs differ
            only by the gradients: Adam divides by sqrt(v), which magnifies
            float32 round-off in near-zero gradients into learning-rate-sized
            steps.
    """

    dataset: Literal["digits", "mnist", "fashion_mnist"] = "digits"
    filters: list[int] = dataclasses.field(default_factory=lambda: [16, 32])
    kernel_size: int = 3
    padding: Literal["valid", "same"] = "same"
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(
            epochs=10, batch_size=32, learning_rate=0.05, optimizer="sgd"
        )
    )

    def __post_init__(self):
        require_positive(self, ("filters", "kernel_size"))


def _batch_losses(path):
    """A callback that records the loss Keras reports after every batch, resumably.

    The losses of each finished epoch are kept in ``path`` (beside the fit's
    checkpoint), so a run killed and resumed has every epoch's batch losses:
    those before the kill from the file (a fit that had finished is skipped
    on resume and adds none), those after it from training.
    """
    import json

    import keras

    class BatchLosses(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = []

        @property
        def losses(self):
            return [loss for epoch in self.epochs for loss in epoch]

        def on_train_begin(self, logs=None):
            self.epochs = json.loads(path.read_text()) if path.is_file() else []

        def on_epoch_begin(self, epoch, logs=None):
            # A resumed fit begins at the epoch after its checkpoint.
            del self.epochs[epoch:]
            self.epochs.append([])

        def on_train_batch_end(self, batch, logs=None):
            self.epochs[-1].append(float(logs["loss"]))

        def on_epoch_end(self, epoch, logs=None):
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.tmp")
            temp.write_text(json.dumps(self.epochs))
            temp.replace(path)

    return BatchLosses()


def _gradients(model, x, y, strategy):
    """dL/dtheta of one batch, in the run's replica context (see ``on_replicas``)."""
    import keras
    import tensorflow as tf

    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    def gradients(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        return tape.gradient(loss, model.trainable_weights)

    return [np.asarray(g) for g in on_replicas(strategy, gradients, x, y)]


@register(
    ExplicitVsAutodiffConfig,
    metrics=(
        "max_abs_loss_difference",
        "max_abs_weight_difference",
        "max_rel_gradient_difference",
        "weight_scale",
        "final_loss_keras",
        "final_loss_explicit",
        "test_accuracy_keras",
        "test_accuracy_explicit",
        "steps",
    ),
)
def explicit_vs_autodiff(config, context):
    """C4: delta^(l-1) = delta^(l) correlated (full) with Rot180(W) and
    dL/dW = delta^(l) correlated with Z^(l-1) give autodiff's gradients.

    Two CNNs, one with keras.layers.Conv2D (autodiff) and one with
    mpkeras.layers.ExplicitConv2D (the notes' formulas through
    tf.custom_gradient), start from the same weights and train with the same
    optimiser on the same batches (the pipeline's shuffle is a function of
    seed and epoch). Without dropout nothing else is random, so their loss
    curves and final weights may differ only by float32 round-off.
    """
    import keras

    train = data.load(
        config.dataset,
        "train",
        batch_size=config.train.batch_size,
        task="classification",
        seed=context.seed,
    )
    x_test, y_test = data.load_arrays(config.dataset, split="test", task="classification")
    x_probe, y_probe = next(iter(train))

    models, recorders, test_loss = {}, {}, {}
    for conv in ("keras", "explicit"):
        model = build_cnn(
            x_test.shape[1:],
            10,
            filters=config.filters,
            kernel_size=config.kernel_size,
            padding=config.padding,
            dropout=0.0,
            conv=conv,
            name=f"cnn_{conv}",
        )
        if conv == "explicit":
            model.set_weights(models["keras"].get_weights())
        model.compile(
            optimizer=config.train.make_optimizer(),
            loss="sparse_categorical_crossentropy",
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        )
        models[conv] = model

    initial = [
        np.abs(a - b).max()
        for a, b in zip(models["keras"].get_weights(), models["explicit"].get_weights())
    ]
    premise(max(initial) == 0.0, "both models start from the same weights")
    gradients = {
        conv: _gradients(m, x_probe, y_probe, context.strategy) for conv, m in models.items()
    }
    gradient_difference = max(
        float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-12))
        for a, b in zip(gradients["keras"], gradients["explicit"])
    )

    for conv, model in models.items():
        recorders[conv] = _batch_losses(
            context.run_dir / "checkpoints" / conv / "batch_losses.json"
        )
        context.fit(model, train, tag=conv, epochs=config.train.epochs, callbacks=[recorders[conv]])
        test_loss[conv] = model.evaluate(
            x_test, y_test, batch_size=512, verbose=0, return_dict=True
        )

    losses = {conv: np.array(r.losses) for conv, r in recorders.items()}
    premise(
        len(losses["keras"]) == len(losses["explicit"]) > 0,
        "both models took the same number of steps",
    )
    loss_difference = float(np.abs(losses["keras"] - losses["explicit"]).max())
    weight_difference = max(
        float(np.abs(a - b).max())
        for a, b in zip(models["keras"].get_weights(), models["explicit"].get_weights())
    )
    weight_scale = max(float(np.abs(w).max()) for w in models["keras"].get_weights())

    fig, axes = plotting.figure(ncols=2, size=4.5)
    steps = np.arange(1, len(losses["keras"]) + 1)
    axes[0, 0].plot(steps, losses["keras"], label="Conv2D (autodiff)")
    axes[0, 0].plot(steps, losses["explicit"], "--", label="ExplicitConv2D (notes' formulas)")
    axes[0, 0].set(
        xlabel="step",
        ylabel="training loss (running mean per epoch)",
        title="Same weights, same batches",
    )
    axes[0, 0].legend()
    axes[0, 1].semilogy(steps, np.abs(losses["keras"] - losses["explicit"]) + 1e-12)
    axes[0, 1].set(
        xlabel="step", ylabel="|loss difference| (+1e-12)", title=f"max {loss_difference:.2e}"
    )
    context.save_figure("loss_curves", fig)

    return Results(
        metrics={
            "max_abs_loss_difference": loss_difference,
            "max_abs_weight_difference": weight_difference,
            "max_rel_gradient_difference": gradient_difference,
            "weight_scale": weight_scale,
            "final_loss_keras": float(losses["keras"][-1]),
            "final_loss_explicit": float(losses["explicit"][-1]),
            "test_accuracy_keras": float(test_loss["keras"]["accuracy"]),
            "test_accuracy_explicit": float(test_loss["explicit"]["accuracy"]),
            "steps": int(len(steps)),
        },
        model=models["explicit"],
        extra_models={"keras": models["keras"]},
    )
