"""R4: an LSTM learns the adding problem at lengths where an Elman RNN cannot."""

import dataclasses
import typing

import keras
import numpy as np
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results, premise
from mpkeras_experiments.training import StepBudget, require_positive

from mpkeras import data, plotting
from mpkeras.data.builders.adding import BASELINE_MSE
from mpkeras.data.builders.copy import NUM_CATEGORIES, NUM_SYMBOLS, NUM_TOKENS
from mpkeras.losses import SummedOverSteps
from mpkeras.models.rnn import build_many_to_one, build_one_to_one


def _budget(**kwargs):
    return dataclasses.field(default_factory=lambda: StepBudget(**kwargs))


@dataclasses.dataclass
class AddingProblemConfig:
    """Settings of the ``adding_problem`` experiment (claim R4).

    Attributes:
        lengths: sequence lengths T of the adding problem (offline
            ``adding/t<T>`` datasets).
        cells: the recurrent cells compared, with the same budget and size.
        units: hidden size of every model.
        train: the budget of each adding-problem fit (Adam, cosine-decayed
            learning rate, steps counted per epoch).
        clipnorm: global gradient-norm threshold of every optimiser (R5), the
            same for all cells.
        copy_length: delay T of the copy task run alongside (``copy/t<T>``);
            0 skips it.
        copy_train: the budget of each copy-task fit.
    """

    lengths: list[int] = dataclasses.field(default_factory=lambda: [10, 50, 100])
    cells: list[typing.Literal["elman", "lstm"]] = dataclasses.field(
        default_factory=lambda: ["elman", "lstm"]
    )
    units: int = 32
    train: StepBudget = _budget(epochs=10, steps_per_epoch=200, batch_size=128, learning_rate=0.02)
    clipnorm: float = 1.0
    copy_length: int = 10
    copy_train: StepBudget = _budget(
        epochs=10, steps_per_epoch=100, batch_size=128, learning_rate=0.01
    )

    def __post_init__(self):
        require_positive(self, ("lengths", "units", "clipnorm"))
        if not self.cells or any(c not in ("elman", "lstm") for c in self.cells):
            raise ValueError(
                f"`cells` must be a non-empty list of 'elman'/'lstm', got {self.cells}"
            )
        if self.copy_length < 0:
            raise ValueError(f"`copy_length` must be >= 0, got {self.copy_length}")


def _compile(model, budget, clipnorm, loss):
    schedule = keras.optimizers.schedules.CosineDecay(
        budget.learning_rate, budget.epochs * budget.steps_per_epoch, alpha=0.01
    )
    model.compile(
        optimizer=keras.optimizers.Adam(schedule, global_clipnorm=clipnorm),
        loss=loss,
        steps_per_execution=budget.steps_per_epoch,
    )


def _predict(model, x):
    return np.asarray(model.predict(x, batch_size=1000, verbose=0))


@register(
    AddingProblemConfig,
    metrics=(
        "mean_predictor_mse_t{length}",
        "{cell}_mse_t{length}",
        "shortest_length",
        "longest_length",
        "baseline_mse",
        "{cell}_mse_shortest",
        "{cell}_mse_longest",
        "elman_to_lstm_mse_longest",
        "copy_length",
        "copy_guess_accuracy",
        "copy_baseline_loss",
        "{cell}_copy_accuracy",
        "{cell}_copy_loss",
    ),
)
def adding_problem(config, context):
    """R4: Elman vs LSTM on the adding problem over sequence lengths.

    The target is the sum of the two marked values, one in each half of the
    sequence, so the model must carry a number across ~T/2 steps. The
    constant prediction 1 scores 1/6; below that a model has learnt to add.
    An Elman RNN's gradient dh_T/dh_k vanishes exponentially in T - k (R3),
    the LSTM's cell state c_t = f * c_{t-1} + i * g keeps a path along which
    it does not (R4). Every model has the same hidden size and budget.
    """
    metrics, histories = {}, {}
    models = {}
    for length in config.lengths:
        name = f"adding/t{length}"
        x, y = data.load_arrays(name, split="train")
        x_test, y_test = data.load_arrays(name, split="test")
        # The best constant on the test split, from training targets.
        metrics[f"mean_predictor_mse_t{length}"] = float(np.mean((y_test - y.mean()) ** 2))
        for cell in config.cells:
            keras.utils.set_random_seed(context.seed)
            model = build_many_to_one(
                (length, 2), config.units, 1, cell=cell, name=f"{cell}_adding_t{length}"
            )
            _compile(model, config.train, config.clipnorm, "mse")
            history = config.train.fit(model, x, y[:, None], context, tag=f"{cell}_t{length}")
            histories[(cell, length)] = history.history["loss"]
            mse = float(np.mean((_predict(model, x_test)[:, 0] - y_test) ** 2))
            metrics[f"{cell}_mse_t{length}"] = mse
            models[f"{cell}_t{length}"] = model

    shortest, longest = min(config.lengths), max(config.lengths)
    metrics["shortest_length"], metrics["longest_length"] = shortest, longest
    metrics["baseline_mse"] = BASELINE_MSE
    for cell in config.cells:
        metrics[f"{cell}_mse_shortest"] = metrics[f"{cell}_mse_t{shortest}"]
        metrics[f"{cell}_mse_longest"] = metrics[f"{cell}_mse_t{longest}"]
    if {"elman", "lstm"} <= set(config.cells):
        metrics["elman_to_lstm_mse_longest"] = metrics["elman_mse_longest"] / max(
            metrics["lstm_mse_longest"], 1e-12
        )

    fig, axes = plotting.figure(ncols=2, size=4.5)
    for (cell, length), losses in histories.items():
        axes[0, 0].semilogy(
            np.arange(1, len(losses) + 1) * config.train.steps_per_epoch,
            losses,
            label=f"{cell}, T = {length}",
            linestyle="-" if cell == "lstm" else "--",
        )
    axes[0, 0].axhline(BASELINE_MSE, color="gray", linewidth=0.8, label="predict 1 (1/6)")
    axes[0, 0].set(xlabel="step", ylabel="training MSE", title="Adding problem: training")
    axes[0, 0].legend(fontsize="small")
    for cell in config.cells:
        axes[0, 1].semilogy(
            config.lengths,
            [metrics[f"{cell}_mse_t{t}"] for t in config.lengths],
            marker="o",
            label=cell,
        )
    axes[0, 1].axhline(BASELINE_MSE, color="gray", linewidth=0.8, label="predict 1 (1/6)")
    axes[0, 1].set(
        xlabel="sequence length T",
        ylabel="test MSE",
        title=f"{config.units} units, {config.train.epochs * config.train.steps_per_epoch} steps",
    )
    axes[0, 1].legend(fontsize="small")
    context.save_figure("adding_mse", fig)

    if config.copy_length:
        metrics.update(_copy_task(config, context, models))
    main = models.get(f"lstm_t{longest}") or next(iter(models.values()))
    return Results(
        metrics=metrics, model=main, extra_models={k: m for k, m in models.items() if m is not main}
    )


def _copy_task(config, context, models):
    """Copy at one delay: accuracy on the 10 recalled symbols, against 1/8 by guessing."""
    name = f"copy/t{config.copy_length}"
    x, y = data.load_arrays(name, split="train")
    x_test, y_test = data.load_arrays(name, split="test")
    premise(x.shape[-1] == NUM_TOKENS, "copy inputs are one-hot over the token vocabulary")
    length = x.shape[1]
    metrics = {
        "copy_length": config.copy_length,
        "copy_guess_accuracy": 1.0 / NUM_CATEGORIES,
        # Blanks, then a uniform guess over 8 symbols: the notes' summed loss.
        "copy_baseline_loss": float(NUM_SYMBOLS * np.log(NUM_CATEGORIES)),
    }
    loss = SummedOverSteps(keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for cell in config.cells:
        keras.utils.set_random_seed(context.seed)
        model = build_one_to_one(
            (length, NUM_TOKENS),
            config.units,
            NUM_TOKENS,
            cell=cell,
            name=f"{cell}_copy_t{config.copy_length}",
        )
        _compile(model, config.copy_train, config.clipnorm, loss)
        config.copy_train.fit(model, x, y, context, tag=f"{cell}_copy")
        logits = _predict(model, x_test)
        recalled = logits[:, -NUM_SYMBOLS:].argmax(-1) == y_test[:, -NUM_SYMBOLS:]
        metrics[f"{cell}_copy_accuracy"] = float(recalled.mean())
        metrics[f"{cell}_copy_loss"] = float(loss(y_test, logits))
        models[f"{cell}_copy"] = model
    return metrics
