"""Settings shared by experiments that train with gradient descent."""

import dataclasses


def require_positive(config, names):
    """Raise ValueError naming the first of ``names`` that is not > 0.

    A list field must be non-empty with every entry > 0 (layer widths, sizes).
    """
    for name in names:
        value = getattr(config, name)
        if isinstance(value, (list, tuple)):
            if not value or min(value) <= 0:
                raise ValueError(
                    f"`{name}` must be a non-empty list of positive numbers, got {value}"
                )
        elif value <= 0:
            raise ValueError(f"`{name}` must be positive, got {value}")


@dataclasses.dataclass
class TrainConfig:
    """The training budget and optimiser of one ``fit``.

    Attributes:
        epochs: passes over the training split.
        batch_size: examples per gradient step.
        learning_rate: step size eta in theta <- theta - eta * grad L.
        optimizer: any name ``keras.optimizers.get`` accepts ("adam", "sgd", ...).
    """

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    optimizer: str = "adam"

    def __post_init__(self):
        require_positive(self, ("epochs", "batch_size", "learning_rate"))

    def make_optimizer(self):
        import keras

        return keras.optimizers.get(
            {"class_name": self.optimizer, "config": {"learning_rate": self.learning_rate}}
        )


def in_memory_batches(x, y, batch_size, steps_per_epoch):
    """In-memory arrays as fixed batches, cycled: ``steps_per_epoch`` of them per epoch.

    The points are i.i.d. draws already, so no per-epoch shuffle is needed;
    skipping it removes the shuffle buffer's cost from every step. Epoch e
    continues the cycle where epoch e - 1 stopped: it takes the batches
    (e * steps_per_epoch + j) mod n for j < steps_per_epoch. The epoch is the
    dataset's pass index (``mpkeras.data.shuffling.per_pass``), which the
    runner sets at each epoch, so a run resumed at epoch k sees exactly the
    batches of the uninterrupted run.
    """
    import tensorflow as tf

    from mpkeras.data import shuffling

    batch_size = min(batch_size, len(x))
    batches = (
        tf.data.Dataset.from_tensor_slices((x.astype("float32"), y.astype("float32")))
        .batch(batch_size, drop_remainder=True)
        .cache()
    )
    count = len(x) // batch_size

    def one_epoch(pass_index):
        start = (pass_index * steps_per_epoch) % count
        return batches.repeat().skip(start).take(steps_per_epoch)

    # One pass is exactly one epoch, so Keras starts a new pass each epoch.
    return shuffling.per_pass(one_epoch, cardinality=steps_per_epoch)


@dataclasses.dataclass
class StepBudget:
    """A gradient-descent budget counted in steps, run as few long epochs.

    Keras pays a fixed cost per epoch (callbacks, TensorBoard) and per
    Python-level step; ``steps_per_execution = steps_per_epoch`` runs a whole
    epoch in one graph call.

    Attributes:
        epochs: epochs (TensorBoard points, checkpoints).
        steps_per_epoch: gradient steps per epoch.
        batch_size: examples per step (capped at the training-set size).
        learning_rate: Adam's initial step size, cosine-decayed to 1% of it.
    """

    epochs: int = 10
    steps_per_epoch: int = 200
    batch_size: int = 256
    learning_rate: float = 1e-2

    def __post_init__(self):
        require_positive(self, ("epochs", "steps_per_epoch", "batch_size", "learning_rate"))

    def compile(self, model, loss="mse"):
        import keras

        schedule = keras.optimizers.schedules.CosineDecay(
            self.learning_rate, self.epochs * self.steps_per_epoch, alpha=0.01
        )
        model.compile(
            optimizer=keras.optimizers.Adam(schedule),
            loss=loss,
            steps_per_execution=self.steps_per_epoch,
        )

    def fit(self, model, x, y, context, tag, figure=None, figure_every=10):
        """Fit ``model`` on in-memory ``(x, y)`` for this budget under the run's callbacks."""
        return context.fit(
            model,
            in_memory_batches(x, y, self.batch_size, self.steps_per_epoch),
            tag=tag,
            epochs=self.epochs,
            steps_per_epoch=self.steps_per_epoch,
            figure=figure,
            figure_every=figure_every,
        )
