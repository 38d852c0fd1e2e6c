"""C7: a CNN (conv + pool stack, dense head) classifies images."""

import dataclasses
from typing import Literal

import numpy as np
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results
from mpkeras_experiments.training import TrainConfig, require_positive

from mpkeras import data, plotting
from mpkeras.models import build_cnn


@dataclasses.dataclass
class CnnDigitsConfig:
    """Settings of the ``cnn_digits`` experiment (claim C7).

    Attributes:
        dataset: "digits" (offline, 8x8), or the TFDS "mnist" /
            "fashion_mnist" (28x28, remote).
        filters: output channels of the conv/pool blocks.
        kernel_size: conv kernel side K.
        padding: conv padding; "same" keeps 8x8 digits big enough for two
            pooling layers ("valid" is the Keras MNIST example's).
        dense: hidden Dense widths of the head.
        dropout: dropout rate before the softmax layer.
        conv: "keras" (Conv2D) or "explicit" (ExplicitConv2D, claim C4).
        shift: random translation (fraction of the image side) applied to
            training images only; 0 for none.
        train: optimiser and budget.
        figure_every: epochs between confusion matrices in TensorBoard.
        max_misclassified: how many misclassified test images to draw.
    """

    dataset: Literal["digits", "mnist", "fashion_mnist"] = "digits"
    filters: list[int] = dataclasses.field(default_factory=lambda: [32, 64])
    kernel_size: int = 3
    padding: Literal["valid", "same"] = "same"
    dense: list[int] = dataclasses.field(default_factory=list)
    dropout: float = 0.5
    conv: Literal["keras", "explicit"] = "keras"
    shift: float = 0.125
    train: TrainConfig = dataclasses.field(
        default_factory=lambda: TrainConfig(epochs=100, batch_size=32, learning_rate=1e-3)
    )
    figure_every: int = 10
    max_misclassified: int = 32

    def __post_init__(self):
        require_positive(self, ("filters", "kernel_size", "figure_every", "max_misclassified"))
        if any(d <= 0 for d in self.dense):
            raise ValueError(f"`dense` must hold positive widths, got {self.dense}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"`dropout` must be in [0, 1), got {self.dropout}")
        if not 0 <= self.shift < 0.5:
            raise ValueError(f"`shift` must be in [0, 0.5), got {self.shift}")


def confusion_figure(y_true, y_pred, num_classes, title):
    """The confusion matrix (rows: true class, columns: predicted) as a figure."""
    from sklearn.metrics import ConfusionMatrixDisplay

    fig, axes = plotting.figure(size=5.0)
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=list(range(num_classes)), ax=axes[0, 0], colorbar=False
    )
    axes[0, 0].set_title(title)
    return fig


def misclassified_figure(images, y_true, y_pred, max_images, columns=8):
    """A grid of misclassified images titled "true -> predicted"."""
    wrong = np.flatnonzero(y_true != y_pred)[:max_images]
    rows = max(1, -(-len(wrong) // columns))
    fig, axes = plotting.figure(ncols=columns, nrows=rows, size=1.2)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, index in zip(axes.ravel(), wrong):
        ax.imshow(images[index, :, :, 0], cmap="gray_r", vmin=0.0, vmax=1.0)
        ax.set_title(f"{y_true[index]} -> {y_pred[index]}", fontsize=8)
    if not len(wrong):
        axes[0, 0].set_title("no misclassified test images")
    return fig


@register(
    CnnDigitsConfig,
    metrics=(
        "test_accuracy",
        "test_loss",
        "train_accuracy",
        "misclassified",
        "test_examples",
        "conv_params",
        "params",
    ),
)
def cnn_digits(config, context):
    """C7: conv + pool blocks extract features, a dense layer classifies.

    The notes (section 2.2): "a sequence of convolutional layers and pooling
    layers, followed by a final dense layer". build_cnn's softmax output is
    trained with sparse categorical cross-entropy; the test split is
    evaluated once at the end; the confusion matrix goes to TensorBoard
    every `figure_every` epochs and, with the misclassified test images, to
    figures/.

    The Keras MNIST convnet example (keras.io/examples/vision/mnist_convnet)
    is `mpkeras run cnn_digits --set dataset=mnist --set padding=valid
    --set shift=0 --set train.batch_size=128 --set train.epochs=15`
    (same model, optimiser, loss and budget; it holds out 10% of the
    training set for validation where this run trains on all of it).
    """
    import keras

    from mpkeras.data import registry

    spec = registry.resolve(config.dataset)[0]
    batch_size = config.train.batch_size
    augment = None
    if config.shift:
        shift = keras.layers.RandomTranslation(
            config.shift, config.shift, fill_mode="constant", seed=context.seed
        )

        def augment(images, labels):
            return shift(images, training=True), labels

    train = data.load(
        config.dataset,
        "train",
        batch_size=batch_size,
        task="classification",
        seed=context.seed,
        augment=augment,
    )
    validation = None
    if "validation" in spec.splits:
        validation = data.load(config.dataset, "validation", batch_size=256, task="classification")
    x_test, y_test = data.load_arrays(config.dataset, split="test", task="classification")
    num_classes = 10
    y_test = np.asarray(y_test).astype(np.int64)

    model = build_cnn(
        x_test.shape[1:],
        num_classes,
        filters=config.filters,
        kernel_size=config.kernel_size,
        padding=config.padding,
        dense=config.dense,
        dropout=config.dropout,
        conv=config.conv,
        seed=context.seed,
        name="cnn",
    )
    model.compile(
        optimizer=config.train.make_optimizer(),
        loss="sparse_categorical_crossentropy",
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )

    def predict(m):
        return np.argmax(m.predict(x_test, batch_size=512, verbose=0), axis=1)

    def confusion(m):
        return confusion_figure(y_test, predict(m), num_classes, "Test confusion matrix")

    history = context.fit(
        model,
        train,
        tag="cnn",
        epochs=config.train.epochs,
        validation_data=validation,
        figure=confusion,
        figure_every=config.figure_every,
    )
    test = model.evaluate(x_test, y_test, batch_size=512, verbose=0, return_dict=True)
    y_pred = predict(model)
    accuracy = float(np.mean(y_pred == y_test))
    context.save_figure(
        "confusion_matrix",
        confusion_figure(
            y_test, y_pred, num_classes, f"{config.dataset} test: accuracy {accuracy:.4f}"
        ),
    )
    context.save_figure(
        "misclassified",
        misclassified_figure(x_test, y_test, y_pred, config.max_misclassified),
    )
    conv_params = [
        model.get_layer(f"cnn_conv{i}").count_params() for i in range(len(config.filters))
    ]
    return Results(
        metrics={
            "test_accuracy": accuracy,
            "test_loss": float(test["loss"]),
            "train_accuracy": float(history.history["accuracy"][-1]),
            "misclassified": int(np.sum(y_pred != y_test)),
            "test_examples": int(len(y_test)),
            "conv_params": conv_params,
            "params": int(model.count_params()),
        },
        model=model,
    )
