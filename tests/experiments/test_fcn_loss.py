"""The chapter-3 experiments' loss: cross-entropy + w * soft Dice (experiments/fcn/_common.py)."""

import subprocess
import sys

import keras
import numpy as np
import pytest
from mpkeras_experiments.fcn._common import CrossEntropyDice, portable

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(size=(2, 3, 5, 4)).astype("float32")
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
# Class 3 never occurs: its Dice is (0 + 1) / (sum of its probabilities + 1).
LABELS = RNG.integers(0, 3, size=(2, 3, 5)).astype("int32")


def _reference(labels, probs, weight):
    """The docstring's formula, written out in NumPy."""
    flat_p = probs.reshape(-1, probs.shape[-1])
    flat_y = labels.reshape(-1)
    cross_entropy = -np.mean(np.log(flat_p[np.arange(len(flat_y)), flat_y]))
    one_hot = np.eye(probs.shape[-1])[flat_y]
    dice = (2 * (one_hot * flat_p).sum(0) + 1) / (flat_p.sum(0) + one_hot.sum(0) + 1)
    return cross_entropy + weight * (1 - dice.mean())


@pytest.mark.parametrize("weight", [0.0, 1.0, 2.5])
def test_loss_is_cross_entropy_plus_weighted_soft_dice(weight):
    loss = CrossEntropyDice(4, weight)
    np.testing.assert_allclose(
        float(loss(LABELS, PROBS)), _reference(LABELS, PROBS, weight), rtol=1e-5
    )
    # Masks with a trailing channel axis (TFDS's (H, W, 1)) give the same loss.
    np.testing.assert_allclose(
        float(loss(LABELS[..., None], PROBS)), float(loss(LABELS, PROBS)), rtol=1e-6
    )


def test_dice_term_vanishes_for_a_perfect_prediction():
    perfect = np.eye(4, dtype="float32")[LABELS]
    # Cross-entropy of probabilities 1 is clipped at Keras's epsilon, ~1e-7.
    assert float(CrossEntropyDice(4, 1.0)(LABELS, perfect)) < 1e-5


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="dice_weight"):
        CrossEntropyDice(4, -1.0)
    with pytest.raises(ValueError, match="num_classes"):
        CrossEntropyDice(0)
    with pytest.raises(ValueError, match="num_classes=3"):
        CrossEntropyDice(3)(LABELS, PROBS)


def test_saved_model_reloads_with_plain_keras_in_a_fresh_process(tmp_path):
    inputs = keras.Input((3, 5, 2))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 1, activation="softmax")(inputs))
    model.compile(optimizer="adam", loss=CrossEntropyDice(4, 1.0))
    config = keras.saving.serialize_keras_object(model.loss)
    again = keras.saving.deserialize_keras_object(config)
    assert (again.num_classes, again.dice_weight) == (4, 1.0)
    path = tmp_path / "model.keras"
    portable(model, 4).save(path)
    x = RNG.normal(size=(1, 3, 5, 2)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    # A process that never imports mpkeras_experiments (where the loss lives).
    script = (
        "import sys, keras, numpy as np;"
        f"m = keras.saving.load_model({str(path)!r});"
        f"print(float(np.abs(m(np.load({str(tmp_path / 'x.npy')!r}))).sum()))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    np.testing.assert_allclose(float(out.stdout.split()[-1]), np.abs(model(x)).sum(), rtol=1e-5)
