"""R2, R6: each sequence mode learns an offline task and beats its trivial baseline; stacked vs single layer."""

import dataclasses
import typing

import keras
import numpy as np
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import StepBudget, require_positive

from mpkeras import data, plotting
from mpkeras.losses import SummedOverSteps
from mpkeras.models.rnn import (
    build_many_to_many,
    build_many_to_one,
    build_one_to_many,
    build_one_to_one,
)


@dataclasses.dataclass
class SequenceModesConfig:
    """Settings of the ``sequence_modes`` experiment (claims R2, R6).

    Attributes:
        digits: the 8x8 digits, read as sequences of 8 rows of 8 pixels.
        adding: the adding problem, whose running marked sum is the aligned
            (one-to-one) task.
        cell: the recurrent cell of every model.
        units: hidden size of every recurrent layer.
        stacked_layers: depth of the stacked many-to-one model (R6).
        train: the budget of every fit.
    """

    digits: str = "digits"
    adding: str = "adding/t10"
    cell: typing.Literal["elman", "lstm", "gru"] = "elman"
    units: int = 32
    stacked_layers: int = 2
    train: StepBudget = dataclasses.field(
        default_factory=lambda: StepBudget(
            epochs=10, steps_per_epoch=60, batch_size=64, learning_rate=0.01
        )
    )

    def __post_init__(self):
        require_positive(self, ("units", "stacked_layers"))
        if self.stacked_layers < 2:
            raise ValueError(f"`stacked_layers` must be at least 2, got {self.stacked_layers}")


def _pooled(images, size=2):
    """2x2 mean pooling: (n, 8, 8) -> (n, 4, 4), the encoder-decoder's shorter target."""
    n, h, w = images.shape
    return images.reshape(n, h // size, size, w // size, size).mean(axis=(2, 4))


def _mse(model, x, y):
    predictions = np.asarray(model.predict(x, batch_size=1000, verbose=0))
    return float(np.mean((predictions - y) ** 2))


def _constant_mse(y_train, y_test):
    """The trivial baseline of a regression: the training mean at every position."""
    return float(np.mean((y_test - y_train.mean(axis=0)) ** 2))


@register(
    SequenceModesConfig,
    metrics=(
        "many_to_one_baseline_accuracy",
        "many_to_one_accuracy",
        "many_to_one_parameters",
        "stacked_many_to_one_accuracy",
        "stacked_many_to_one_parameters",
        "stacked_minus_single_accuracy",
        *(
            f"{mode}_{metric}"
            for mode in ("one_to_many", "one_to_one", "encoder_decoder")
            for metric in ("mse", "baseline_mse", "mse_ratio")
        ),
    ),
    datasets={"digits": ("digits",), "adding": ("adding/t*",)},
)
def sequence_modes(config, context):
    """R2: one model per sequence mode, each against a stated trivial baseline; R6: depth.

    * many to one: a digit read row by row (T = 8 steps of 8 pixels) -> its
      class; baseline: the most frequent training class.
    * one to many: a one-hot digit class -> the 8 rows of a digit image
      (x presented at every step); baseline: the mean training image.
    * one to one (aligned many to many): adding-problem steps -> the running
      sum of the marked values so far, one output per step, loss summed over
      steps (R1); baseline: the training mean at every step.
    * many to many (encoder-decoder): the 8 rows of a digit -> the 4 rows of
      its 2x2-pooled image, an output of another length; baseline: the mean
      pooled image.
    * stacked: the many-to-one model with `stacked_layers` recurrent layers,
      each reading the hidden vectors of the one below (R6).
    """
    x, labels = data.load_arrays(config.digits, split="train")
    x_test, labels_test = data.load_arrays(config.digits, split="test")
    rows, rows_test = x[..., 0], x_test[..., 0]  # (n, 8 steps, 8 pixels)
    labels, labels_test = labels.astype(int), labels_test.astype(int)
    classes = int(labels.max()) + 1
    budget = config.train
    metrics, models, curves = {}, {}, {}

    def train(model, inputs, targets, loss, tag):
        budget.compile(model, loss=loss)
        history = budget.fit(model, inputs, targets, context, tag=tag)
        curves[tag] = history.history["loss"]
        models[tag] = model
        return model

    # many to one (and stacked, R6)
    majority = np.bincount(labels).argmax()
    metrics["many_to_one_baseline_accuracy"] = float(np.mean(labels_test == majority))
    for tag, units in (
        ("many_to_one", [config.units]),
        ("stacked_many_to_one", [config.units] * config.stacked_layers),
    ):
        keras.utils.set_random_seed(context.seed)
        model = build_many_to_one(rows.shape[1:], units, classes, cell=config.cell, name=tag)
        train(
            model, rows, labels, keras.losses.SparseCategoricalCrossentropy(from_logits=True), tag
        )
        predicted = np.asarray(model.predict(rows_test, batch_size=1000, verbose=0)).argmax(-1)
        metrics[f"{tag}_accuracy"] = float(np.mean(predicted == labels_test))
        metrics[f"{tag}_parameters"] = int(model.count_params())
    premise(
        metrics["stacked_many_to_one_parameters"] > metrics["many_to_one_parameters"],
        "the stacked model adds layers on top of the single-layer one",
    )

    # one to many: class -> image rows
    one_hot, one_hot_test = np.eye(classes)[labels], np.eye(classes)[labels_test]
    keras.utils.set_random_seed(context.seed)
    model = build_one_to_many(
        (classes,),
        rows.shape[1],
        config.units,
        rows.shape[2],
        cell=config.cell,
        output_activation="sigmoid",
        name="one_to_many",
    )
    train(model, one_hot, rows, SummedOverSteps("mse"), "one_to_many")
    metrics["one_to_many_mse"] = _mse(model, one_hot_test, rows_test)
    metrics["one_to_many_baseline_mse"] = _constant_mse(rows, rows_test)

    # one to one (aligned): running marked sum of the adding problem
    seq, _ = data.load_arrays(config.adding, split="train")
    seq_test, _ = data.load_arrays(config.adding, split="test")
    running = np.cumsum(seq[..., 0] * seq[..., 1], axis=1)[..., None]
    running_test = np.cumsum(seq_test[..., 0] * seq_test[..., 1], axis=1)[..., None]
    keras.utils.set_random_seed(context.seed)
    model = build_one_to_one(seq.shape[1:], config.units, 1, cell=config.cell, name="one_to_one")
    train(model, seq, running, SummedOverSteps("mse"), "one_to_one")
    metrics["one_to_one_mse"] = _mse(model, seq_test, running_test)
    metrics["one_to_one_baseline_mse"] = _constant_mse(running, running_test)

    # many to many, encoder-decoder: 8 rows -> 4 pooled rows
    pooled, pooled_test = _pooled(rows), _pooled(rows_test)
    keras.utils.set_random_seed(context.seed)
    model = build_many_to_many(
        rows.shape[1:],
        config.units,
        pooled.shape[2],
        output_length=pooled.shape[1],
        cell=config.cell,
        output_activation="sigmoid",
        name="encoder_decoder",
    )
    train(model, rows, pooled, SummedOverSteps("mse"), "encoder_decoder")
    metrics["encoder_decoder_mse"] = _mse(model, rows_test, pooled_test)
    metrics["encoder_decoder_baseline_mse"] = _constant_mse(pooled, pooled_test)

    for mode in ("one_to_many", "one_to_one", "encoder_decoder"):
        metrics[f"{mode}_mse_ratio"] = metrics[f"{mode}_mse"] / metrics[f"{mode}_baseline_mse"]
    metrics["stacked_minus_single_accuracy"] = (
        metrics["stacked_many_to_one_accuracy"] - metrics["many_to_one_accuracy"]
    )

    fig, axes = plotting.figure(ncols=2, size=4.5)
    for tag, losses in curves.items():
        steps = np.arange(1, len(losses) + 1) * budget.steps_per_epoch
        axes[0, 0].semilogy(steps, losses, label=tag)
    axes[0, 0].set(
        xlabel="step", ylabel="training loss", title=f"{config.cell}: one model per mode"
    )
    axes[0, 0].legend(fontsize="small")
    generated = np.asarray(models["one_to_many"].predict(np.eye(classes), verbose=0))
    axes[0, 1].imshow(np.concatenate(list(generated), axis=1), cmap="gray", vmin=0, vmax=1)
    axes[0, 1].set(title="one to many: digit class -> 8 rows", xticks=[], yticks=[])
    context.save_figure("sequence_modes", fig)
    main = models["many_to_one"]
    return Results(
        metrics=metrics,
        model=main,
        extra_models={tag: m for tag, m in models.items() if m is not main},
    )
