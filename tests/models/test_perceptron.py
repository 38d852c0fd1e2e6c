"""N1: the Perceptron model, Rosenblatt's rule, Novikoff's bound."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.models import Perceptron


def numpy_perceptron(x, y, epochs=1, learning_rate=1.0, use_bias=True):
    """Reference: the notes' rule, one example at a time, in float32."""
    x = np.asarray(x, np.float32)
    eta = np.float32(learning_rate)
    w = np.zeros(x.shape[1], np.float32)
    b = np.float32(0.0)
    updates = 0
    for _ in range(epochs):
        for x_i, y_i in zip(x, y):
            y_hat = np.float32(float(x_i @ w + b) > 0)
            residual = np.float32(y_i) - y_hat
            if residual != 0:
                updates += 1
                w = w + eta * residual * x_i
                if use_bias:
                    b = b + eta * residual
    return w, b, updates


def dyadic_data(n=24, d=3, seed=0):
    # Values on a grid of multiples of 1/4: every sum and product is exact
    # in float32, so the NumPy and TF loops must agree bit for bit.
    rng = np.random.default_rng(seed)
    x = rng.integers(-8, 9, size=(n, d)).astype(np.float32) / 4
    y = (x @ np.array([1.0, -2.0, 0.5][:d]) + 0.25 > 0).astype(np.float32)
    return x, y


def separable_data(n=60, seed=1, margin=0.3):
    """Points at distance >= margin from a known line through augmented 0."""
    rng = np.random.default_rng(seed)
    separator = np.array([1.0, -1.0, 0.2])  # (w*, b*) acting on (x, 1)
    separator /= np.linalg.norm(separator)
    x = rng.uniform(-1, 1, size=(4 * n, 2))
    augmented = np.hstack([x, np.ones((len(x), 1))])
    keep = np.abs(augmented @ separator) >= margin
    x, augmented = x[keep][:n], augmented[keep][:n]
    y = (augmented @ separator > 0).astype(np.float32)
    return x.astype(np.float32), y, augmented, separator


def test_contract_build_fit_evaluate_predict():
    x, y = dyadic_data()
    model = Perceptron(name="perceptron")
    model.build((None, 3))
    assert [w.name for w in model.weights] == ["kernel", "bias", "updates"]
    assert model.kernel.shape == (3, 1) and model.bias.shape == (1,)
    assert [w.name for w in model.non_trainable_weights] == ["updates"]
    model.compile()
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert set(history.history) == {"accuracy", "updates"}
    assert 0.0 <= history.history["accuracy"][0] <= 1.0
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"accuracy"}
    predictions = model.predict(x, verbose=0)
    assert predictions.shape == (len(x), 1)
    assert set(np.unique(predictions)) <= {0.0, 1.0}
    scores = np.asarray(model.decision_function(x))
    np.testing.assert_array_equal(predictions, (scores > 0).astype(np.float32))
    np.testing.assert_allclose(logs["accuracy"], np.mean(predictions[:, 0] == y))
    # Symbolic call (functional use) and compute_output_shape agree.
    symbolic = model(keras.Input((3,)))
    assert tuple(symbolic.shape) == (None, 1)
    assert model.compute_output_shape((None, 3)) == (None, 1)


def test_unbuilt_model_builds_in_fit_and_labels_of_shape_batch_by_1():
    x, y = dyadic_data()
    model = Perceptron()
    model.compile()
    model.fit(x, y[:, None], epochs=1, batch_size=5, shuffle=False, verbose=0)
    w, b, updates = numpy_perceptron(x, y)
    np.testing.assert_array_equal(np.asarray(model.kernel)[:, 0], w)
    assert int(model.updates) == updates


@pytest.mark.parametrize("batch_size", [1, 4, 24])
@pytest.mark.parametrize("learning_rate", [1.0, 0.5])
def test_N1_matches_numpy_rosenblatt_exactly(batch_size, learning_rate):
    x, y = dyadic_data()
    model = Perceptron(learning_rate=learning_rate)
    model.compile()
    history = model.fit(x, y, epochs=2, batch_size=batch_size, shuffle=False, verbose=0)
    w, b, updates = numpy_perceptron(x, y, epochs=2, learning_rate=learning_rate)
    assert updates > 0  # the test exercises the rule
    np.testing.assert_array_equal(np.asarray(model.kernel)[:, 0], w)
    np.testing.assert_array_equal(np.asarray(model.bias)[0], b)
    assert int(model.updates) == updates
    assert history.history["updates"][-1] == updates
    # Online accuracy: 1 - (mistakes in the epoch) / examples.
    _, _, first_epoch_updates = numpy_perceptron(x, y, epochs=1, learning_rate=learning_rate)
    np.testing.assert_allclose(
        history.history["accuracy"][0], 1 - first_epoch_updates / len(x), atol=1e-6
    )


def test_N1_no_bias_matches_numpy():
    x, y = dyadic_data(seed=3)
    model = Perceptron(use_bias=False)
    model.compile()
    model.fit(x, y, epochs=3, batch_size=7, shuffle=False, verbose=0)
    w, _, updates = numpy_perceptron(x, y, epochs=3, use_bias=False)
    np.testing.assert_array_equal(np.asarray(model.kernel)[:, 0], w)
    assert model.bias is None and int(model.updates) == updates


def test_N1_updates_only_on_mistakes():
    # A correct example (score > 0, y = 1) leaves the weights untouched.
    model = Perceptron(kernel_initializer="ones")
    model.compile()
    model.fit(np.array([[1.0, 2.0]]), np.array([1.0]), verbose=0)
    np.testing.assert_array_equal(np.asarray(model.kernel), [[1.0], [1.0]])
    assert int(model.updates) == 0
    # A mistake (score 0 -> yhat = 0, y = 1): theta <- theta + eta (1 - 0) x.
    model = Perceptron(learning_rate=0.5)
    model.compile()
    model.fit(np.array([[1.0, 2.0]]), np.array([1.0]), verbose=0)
    np.testing.assert_array_equal(np.asarray(model.kernel), [[0.5], [1.0]])
    np.testing.assert_array_equal(np.asarray(model.bias), [0.5])
    assert int(model.updates) == 1


# Slow: the perceptron experiment checks N1 in `mpkeras reproduce --quick`.
@pytest.mark.slow
def test_N1_novikoff_bound_on_separable_data():
    x, y, augmented, separator = separable_data()
    signs = 2 * y - 1
    # Novikoff (with bias: augment x with 1): if ||u|| = 1 and
    # s_i u^T (x_i, 1) >= gamma > 0 for all i, then starting from zero the
    # perceptron makes at most (R / gamma)^2 updates, R = max ||(x_i, 1)||.
    gamma = np.min(signs * (augmented @ separator))
    radius = np.max(np.linalg.norm(augmented, axis=1))
    assert gamma > 0
    bound = (radius / gamma) ** 2

    class StopWhenNoMistakes(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            # Online accuracy 1.0 <=> no update during the whole epoch.
            if logs["accuracy"] == 1.0:
                self.model.stop_training = True

    model = Perceptron()
    model.compile()
    history = model.fit(
        x, y, epochs=200, batch_size=len(x), verbose=0, callbacks=[StopWhenNoMistakes()]
    )
    assert history.history["accuracy"][-1] == 1.0, "did not converge"
    assert 0 < int(model.updates) <= bound
    np.testing.assert_array_equal(model.predict(x, verbose=0)[:, 0], y)


def test_get_config_from_config():
    model = Perceptron(learning_rate=0.25, use_bias=False, kernel_initializer="ones", name="p")
    config = model.get_config()
    assert config["learning_rate"] == 0.25 and config["use_bias"] is False
    clone = Perceptron.from_config(config)
    assert clone.name == "p" and clone.learning_rate == 0.25 and not clone.use_bias
    assert clone.get_config() == config
    clone.build((None, 2))
    np.testing.assert_array_equal(np.asarray(clone.kernel), np.ones((2, 1)))


def test_keras_round_trip_identical_predictions(tmp_path):
    x, y = dyadic_data()
    model = Perceptron(learning_rate=0.5, name="perceptron")
    model.compile()
    model.fit(x, y, epochs=2, batch_size=4, verbose=0)
    path = os.path.join(tmp_path, "perceptron.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, Perceptron) and loaded.compiled
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_array_equal(
        np.asarray(loaded.decision_function(x)), np.asarray(model.decision_function(x))
    )
    assert int(loaded.updates) == int(model.updates) > 0
    # Training continues from the saved state, counter included.
    before = int(loaded.updates)
    history = loaded.fit(x, y, epochs=1, verbose=0)
    assert history.history["updates"][-1] >= before


def test_updates_survive_weights_checkpoint(tmp_path):
    # BackupAndRestore restores through the weights file: same mechanism.
    x, y = dyadic_data()
    model = Perceptron()
    model.compile()
    model.fit(x, y, epochs=1, verbose=0)
    path = os.path.join(tmp_path, "p.weights.h5")
    model.save_weights(path)
    fresh = Perceptron()
    fresh.build((None, 3))
    fresh.load_weights(path)
    assert int(fresh.updates) == int(model.updates) > 0


def test_compile_metrics_are_reported():
    x, y = dyadic_data()
    model = Perceptron()
    model.compile(metrics=[keras.metrics.Precision(name="precision")])
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y))
    assert {"accuracy", "updates", "precision", "val_accuracy", "val_precision"} <= set(
        history.history
    )


def test_bad_labels_raise_value_error():
    x, y = dyadic_data()
    model = Perceptron()
    model.compile()
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        model.fit(x, 2 * y - 1, verbose=0)
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        model.evaluate(x, 2 * y - 1, verbose=0)
    # Eager train_step checks the batch itself.
    eager = Perceptron()
    eager.compile(run_eagerly=True)
    dataset = tf.data.Dataset.from_tensor_slices((x, 2 * y - 1)).batch(8)
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        eager.fit(dataset, verbose=0)


def test_bad_labels_in_dataset_fail_in_graph():
    x, y = dyadic_data()
    model = Perceptron()
    model.compile()
    dataset = tf.data.Dataset.from_tensor_slices((x, 2 * y - 1)).batch(8)
    with pytest.raises(tf.errors.InvalidArgumentError, match="labels must be 0 or 1"):
        model.fit(dataset, verbose=0)
    assert int(model.updates) == 0  # the assertion ran before any update


def test_wrong_width_raises_value_error():
    x, y = dyadic_data()
    model = Perceptron(name="p")
    model.compile()
    model.fit(x, y, verbose=0)
    wide = np.ones((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"built for inputs of shape \(batch, 3\)"):
        model.predict(wide, verbose=0)
    with pytest.raises(ValueError, match=r"built for inputs of shape \(batch, 3\)"):
        model.fit(wide, np.ones(4), verbose=0)
    with pytest.raises(ValueError, match=r"built for inputs of shape \(batch, 3\)"):
        model.evaluate(wide, np.ones(4), verbose=0)
    with pytest.raises(ValueError):
        model(wide)
    with pytest.raises(ValueError, match=r"built for inputs of shape \(batch, 3\)"):
        model.decision_function(wide)
    dataset = tf.data.Dataset.from_tensor_slices((wide, np.ones(4))).batch(2)
    with pytest.raises(ValueError, match=r"built for inputs of shape \(batch, 3\)"):
        model.fit(dataset, verbose=0)


def test_bad_constructor_and_compile_arguments():
    for bad in (0, -1.0, float("inf"), True, "1"):
        with pytest.raises(
            ValueError,
            match=r"Received an invalid value for `learning_rate`, "
            r"expected a positive number\. Received: "
            r"learning_rate=",
        ):
            Perceptron(learning_rate=bad)
    with pytest.raises(ValueError, match="expects inputs of shape"):
        Perceptron().build((None, 2, 2))
    with pytest.raises(ValueError, match="no optimizer and no loss"):
        Perceptron().compile(optimizer="sgd")
    with pytest.raises(ValueError, match="no optimizer and no loss"):
        Perceptron().compile(loss="binary_crossentropy")


def test_updates_resume_with_backup_and_restore(tmp_path):
    x, y = dyadic_data()

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise RuntimeError("interrupted")

    def new_model():
        model = Perceptron()
        model.build((None, 3))  # BackupAndRestore restores into built weights
        model.compile()
        return model

    backup = keras.callbacks.BackupAndRestore(str(tmp_path))
    interrupted = new_model()
    with pytest.raises(RuntimeError, match="interrupted"):
        interrupted.fit(
            x, y, epochs=4, batch_size=6, shuffle=False, verbose=0, callbacks=[backup, Interrupt()]
        )
    resumed = new_model()
    history = resumed.fit(
        x,
        y,
        epochs=4,
        batch_size=6,
        shuffle=False,
        verbose=0,
        callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path))],
    )
    # Epochs 0-1 came from the backup: two more epochs ran, and the count
    # continued from the interrupted run's total, as one uninterrupted run.
    assert len(history.history["updates"]) == 2
    w, b, updates = numpy_perceptron(x, y, epochs=4)
    assert int(resumed.updates) == updates
    np.testing.assert_array_equal(np.asarray(resumed.kernel)[:, 0], w)


_MIRRORED_SCRIPT = r"""
import json, sys
import numpy as np
import mpkeras
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from mpkeras.models import Perceptron
x, y = np.asarray(json.loads(sys.argv[1]), np.float32), np.asarray(json.loads(sys.argv[2]), np.float32)
with tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]).scope():
    model = Perceptron()
    model.compile()
model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
print(json.dumps([np.asarray(model.kernel)[:, 0].tolist(), float(np.asarray(model.bias)[0]), int(model.updates.numpy())]))
"""


@pytest.mark.slow
def test_mirrored_strategy_sums_replica_updates():
    # Two replicas, each running the rule on its half of every batch from the
    # same weights; the changes add up (a parallel perceptron).
    import json
    import subprocess
    import sys

    x, y = dyadic_data()
    out = (
        subprocess.run(
            [
                sys.executable,
                "-c",
                _MIRRORED_SCRIPT,
                json.dumps(x.tolist()),
                json.dumps(y.tolist()),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    kernel, bias, updates = json.loads(out)
    w, b, total = np.zeros(3, np.float32), np.float32(0), 0
    for _ in range(2):
        for start in range(0, len(x), 8):
            dw, db = np.zeros(3, np.float32), np.float32(0)
            for half in (slice(start, start + 4), slice(start + 4, start + 8)):
                w_r, b_r = w.copy(), b
                for x_i, y_i in zip(x[half], y[half]):
                    residual = y_i - np.float32(float(x_i @ w_r + b_r) > 0)
                    total += residual != 0
                    w_r, b_r = w_r + residual * x_i, b_r + residual
                dw, db = dw + (w_r - w), db + (b_r - b)
            w, b = w + dw, b + db
    np.testing.assert_array_equal(kernel, w)
    assert bias == b and updates == total
