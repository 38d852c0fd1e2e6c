"""Settings shared by experiments that train with gradient descent."""

import dataclasses


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
        for name in ("epochs", "batch_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"`{name}` must be positive, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"`learning_rate` must be positive, got {self.learning_rate}")

    def make_optimizer(self):
        import keras

        return keras.optimizers.get(
            {"class_name": self.optimizer, "config": {"learning_rate": self.learning_rate}}
        )
