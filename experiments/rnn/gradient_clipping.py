"""R5: an exploding Elman RNN diverges or stalls under plain gradient descent and trains with clipping."""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf
from mpkeras_experiments.registry import register
from mpkeras_experiments.replicas import clip_after_all_reduce, on_replicas
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import in_memory_batches, require_positive

from mpkeras import data, plotting
from mpkeras.callbacks import ResumableHistory, TrainingDiverged
from mpkeras.diagnostics import set_spectral_radius
from mpkeras.models.rnn import build_many_to_one


@dataclasses.dataclass
class GradientClippingConfig:
    """Settings of the ``gradient_clipping`` experiment (claim R5).

    Attributes:
        dataset: a sequence-regression task (the adding problem).
        units: size of the Elman RNN's hidden state.
        radius: spectral radius of W_h at initialisation (orthogonal W_h
            scaled, so ||W_h|| = radius > 1/gamma = 1: exploding gradients, R3).
        learning_rate: gamma of the update theta <- theta - gamma g.
        momentum: SGD momentum (0 for the notes' plain rule).
        clipnorm: the threshold T of the clipped run (Keras's
            ``global_clipnorm``: g <- T g / ||g|| when ||g|| > T).
        batch_size: examples per step.
        epochs: epochs of each run.
        steps_per_epoch: steps per epoch.
        stall_fraction: an unclipped run whose test MSE stays above this
            fraction of the best constant's MSE has stalled.
    """

    dataset: str = "adding/t10"
    units: int = 32
    radius: float = 3.0
    learning_rate: float = 0.1
    momentum: float = 0.9
    clipnorm: float = 0.5
    batch_size: int = 64
    epochs: int = 30
    steps_per_epoch: int = 50
    stall_fraction: float = 0.75

    def __post_init__(self):
        require_positive(
            self,
            (
                "units",
                "radius",
                "learning_rate",
                "clipnorm",
                "batch_size",
                "epochs",
                "steps_per_epoch",
                "stall_fraction",
            ),
        )
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"`momentum` must be in [0, 1), got {self.momentum}")


def _model(config, context, x_shape):
    keras.utils.set_random_seed(context.seed)
    model = build_many_to_one(x_shape, config.units, 1, cell="elman", name="elman_adding")
    set_spectral_radius(model.get_layer("elman_adding_rnn0"), config.radius)
    return model


def _gradient_norm(model, x, y, strategy):
    """||dL/dtheta|| of one batch, in the run's replica context (see ``on_replicas``)."""

    def norm(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.mean_squared_error(y, model(x)))
        return tf.linalg.global_norm(tape.gradient(loss, model.trainable_weights))

    return float(on_replicas(strategy, norm, x, y))


@register(
    GradientClippingConfig,
    metrics=(
        "mean_predictor_mse",
        "initial_gradient_norm",
        "unclipped_stalled",
        "unclipped_diverged",
        *(
            f"{run}_{metric}"
            for run in ("unclipped", "clipped")
            for metric in ("nan", "epochs_completed", "test_mse", "test_mse_ratio")
        ),
    ),
    datasets=("adding/t*",),
)
def gradient_clipping(config, context):
    """R5: the same exploding network, trained without and with clipping by global norm.

    theta <- theta - gamma g                if ||g|| <= T
    theta <- theta - gamma T g / ||g||      otherwise.

    The unclipped fit runs under the run's NaN stop like every fit; its
    ``TrainingDiverged`` is caught and recorded as a metric instead of ending
    the run, since the divergence is what the claim predicts.
    """
    x, y = data.load_arrays(config.dataset, split="train")
    x_test, y_test = data.load_arrays(config.dataset, split="test")
    y = y.reshape(len(y), -1)
    mean_mse = float(np.mean((y_test.reshape(len(y_test), -1) - y.mean(0)) ** 2))
    batches = in_memory_batches(x, y, config.batch_size, config.steps_per_epoch)
    probe_x, probe_y = x[: config.batch_size], y[: config.batch_size]

    metrics = {"mean_predictor_mse": mean_mse}
    histories = {}
    for run, clip in (("unclipped", None), ("clipped", config.clipnorm)):
        model = _model(config, context, x.shape[1:])
        if run == "unclipped":
            metrics["initial_gradient_norm"] = _gradient_norm(
                model, probe_x, probe_y, context.strategy
            )
        # Under several replicas Keras would clip each replica's share of g.
        optimizer = clip_after_all_reduce(
            keras.optimizers.SGD(
                config.learning_rate, momentum=config.momentum, global_clipnorm=clip
            )
        )
        model.compile(
            optimizer=optimizer,
            loss="mse",
            steps_per_execution=config.steps_per_epoch,
        )
        # Resumable: a fit that diverged after a resume still counts the epochs before the kill.
        recorder = ResumableHistory(context.run_dir / "checkpoints" / run / "recorded_history.json")
        diverged = False
        try:
            context.fit(
                model,
                batches,
                tag=run,
                epochs=config.epochs,
                steps_per_epoch=config.steps_per_epoch,
                callbacks=[recorder],
            )
        except TrainingDiverged:
            diverged = True
        losses = list(recorder.history.get("loss", []))
        histories[run] = losses
        predictions = np.asarray(model.predict(x_test, batch_size=1000, verbose=0))
        test_mse = float(
            np.mean((predictions.reshape(len(y_test), -1) - y_test.reshape(len(y_test), -1)) ** 2)
        )
        finite = math.isfinite(test_mse)
        metrics[f"{run}_nan"] = float(diverged or not finite)
        metrics[f"{run}_epochs_completed"] = len(losses)
        if finite:
            metrics[f"{run}_test_mse"] = test_mse
            metrics[f"{run}_test_mse_ratio"] = test_mse / mean_mse
        if run == "unclipped":
            stalled = finite and test_mse > config.stall_fraction * mean_mse
            metrics["unclipped_stalled"] = float(stalled)
            metrics["unclipped_diverged"] = float(diverged or not finite or stalled)
            unclipped = model
        else:
            clipped = model
            premise(not diverged, "clipping keeps every step bounded by gamma * T")

    fig, axes = plotting.figure(size=4.5)
    ax = axes[0, 0]
    for run, losses in histories.items():
        steps = np.arange(1, len(losses) + 1) * config.steps_per_epoch
        values = np.asarray(losses, dtype=np.float64)
        ax.semilogy(
            steps,
            np.where(np.isfinite(values), values, np.nan),
            marker=".",
            label=f"{run}{' (NaN: stopped)' if metrics[f'{run}_nan'] else ''}",
        )
    ax.axhline(mean_mse, color="gray", linewidth=0.8, label="best constant")
    ax.set(
        xlabel="step",
        ylabel="training MSE",
        title=f"Elman, ||W_h|| = {config.radius:g}, SGD lr {config.learning_rate:g}, T = {config.clipnorm:g}",
    )
    ax.legend(fontsize="small")
    context.save_figure("clipping_losses", fig)
    return Results(
        metrics=metrics,
        model=clipped,
        extra_models={"unclipped": unclipped} if metrics["unclipped_nan"] == 0 else {},
    )
