"""Many-to-one on real text (R2): an LSTM over TextVectorization classifies IMDB review sentiment."""

import dataclasses
import typing

import keras
import numpy as np
import tensorflow as tf
from mpkeras_experiments.registry import register
from mpkeras_experiments.results import Results
from mpkeras_experiments.training import require_positive

from mpkeras import data, plotting
from mpkeras.models.rnn import build_many_to_one


@dataclasses.dataclass
class SentimentConfig:
    """Settings of the ``sentiment`` experiment (claim R2, the notes' sentiment example).

    Attributes:
        dataset: the remote ``imdb_reviews`` (raw text, binary label); it must
            be prepared (``mpkeras prepare imdb_reviews``) or downloadable.
        vocabulary_size: tokens kept by TextVectorization (ids 0 = padding,
            1 = out of vocabulary).
        sequence_length: reviews are cut or padded to this many tokens.
        adapt_batches: training batches the vocabulary is built from.
        embedding_dim: width of the token embedding.
        units: size of the LSTM's hidden state.
        cell: the recurrent cell.
        batch_size: reviews per step.
        epochs: passes over the training split.
        learning_rate: Adam's step size.
    """

    dataset: str = "imdb_reviews"
    vocabulary_size: int = 10000
    sequence_length: int = 200
    adapt_batches: int = 200
    embedding_dim: int = 32
    units: int = 32
    cell: typing.Literal["lstm", "gru", "elman"] = "lstm"
    batch_size: int = 64
    epochs: int = 3
    learning_rate: float = 1e-3

    def __post_init__(self):
        require_positive(
            self,
            (
                "vocabulary_size",
                "sequence_length",
                "adapt_batches",
                "embedding_dim",
                "units",
                "batch_size",
                "epochs",
                "learning_rate",
            ),
        )
        if self.vocabulary_size < 3:
            raise ValueError(
                f"`vocabulary_size` must be at least 3 (padding, OOV, a word), got {self.vocabulary_size}"
            )


@register(
    SentimentConfig,
    metrics=(
        "test_accuracy",
        "test_loss",
        "majority_accuracy",
        "accuracy_over_majority",
        "vocabulary_size",
    ),
    datasets=("imdb_reviews",),
)
def sentiment(config, context):
    """Many to one on text: h_t = LSTM(h_{t-1}, embed(w_t)), p(positive) = sigmoid(W_y h_T + b_y).

    A review is a sequence of word ids (``keras.layers.TextVectorization``,
    padding id 0 masked); only the last hidden state feeds the output, the
    notes' sentiment-classification example of "many to one". Baseline:
    the majority class of the training labels.
    """
    train = data.load(
        config.dataset, split="train", batch_size=config.batch_size, seed=context.seed
    )
    test = data.load(config.dataset, split="test", batch_size=config.batch_size)
    vectorizer = keras.layers.TextVectorization(
        max_tokens=config.vocabulary_size,
        output_mode="int",
        output_sequence_length=config.sequence_length,
        name="vectorizer",
    )
    vectorizer.adapt(train.map(lambda text, label: text).take(config.adapt_batches))

    def vectorize(text, label):
        return vectorizer(text), label

    train_ids = train.map(vectorize, num_parallel_calls=tf.data.AUTOTUNE)
    test_ids = test.map(vectorize, num_parallel_calls=tf.data.AUTOTUNE)

    keras.utils.set_random_seed(context.seed)
    classifier = build_many_to_one(
        (config.sequence_length,),
        config.units,
        1,
        cell=config.cell,
        output_activation="sigmoid",
        vocabulary_size=vectorizer.vocabulary_size(),
        embedding_dim=config.embedding_dim,
        name="sentiment",
    )
    classifier.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="binary_crossentropy",
        metrics=[keras.metrics.BinaryAccuracy(name="accuracy")],
    )
    history = context.fit(
        classifier, train_ids, tag=config.cell, epochs=config.epochs, validation_data=test_ids
    )
    scores = classifier.evaluate(test_ids, verbose=0, return_dict=True)

    labels = np.concatenate([np.asarray(y) for _, y in train])
    test_labels = np.concatenate([np.asarray(y) for _, y in test])
    majority = float(np.bincount(labels.astype(int), minlength=2).argmax())
    baseline = float(np.mean(test_labels == majority))

    # The saved model reads raw strings: vectorizer + classifier.
    text = keras.Input(shape=(), dtype="string", name="review")
    end_to_end = keras.Model(text, classifier(vectorizer(text)), name="sentiment_text")

    fig, axes = plotting.figure(size=4.5)
    epochs = np.arange(1, len(history.history["accuracy"]) + 1)
    axes[0, 0].plot(epochs, history.history["accuracy"], marker="o", label="train")
    if "val_accuracy" in history.history:
        axes[0, 0].plot(epochs, history.history["val_accuracy"], marker="o", label="test")
    axes[0, 0].axhline(baseline, color="gray", linewidth=0.8, label="majority class")
    axes[0, 0].set(
        xlabel="epoch", ylabel="accuracy", title=f"IMDB sentiment, {config.cell} {config.units}"
    )
    axes[0, 0].legend(fontsize="small")
    context.save_figure("sentiment_accuracy", fig)
    return Results(
        metrics={
            "test_accuracy": float(scores["accuracy"]),
            "test_loss": float(scores["loss"]),
            "majority_accuracy": baseline,
            "accuracy_over_majority": float(scores["accuracy"]) - baseline,
            "vocabulary_size": int(vectorizer.vocabulary_size()),
        },
        model=end_to_end,
    )
