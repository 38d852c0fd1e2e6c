"""mpkeras.plotting: figures take whatever a model returns, bfloat16 included."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras import plotting

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], "float32")
Y = np.array([0, 1, 1, 0])


def _step(points):
    # Exactly 0 or 1: the same in float32, bfloat16 and float16, so the
    # figures drawn from each dtype must be identical.
    points = np.asarray(points)
    return (points[:, 0] > 0.5).astype("float32")


def _pixels(predict, x=X):
    fig, axes = plotting.figure()
    plotting.decision_boundary(axes[0, 0], predict, x, Y, "boundary", resolution=40)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="rgba", dpi=30)
    return np.frombuffer(buffer.getvalue(), np.uint8)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_decision_boundary_draws_half_precision_predictions(dtype):
    # Under mixed_bfloat16 the model's scores reached contourf as bfloat16 and
    # matplotlib failed: "Cannot convert fill_value np.bytes_(b'???') to dtype float64".
    expected = _pixels(_step)
    half = _pixels(lambda p: tf.cast(_step(p), dtype))
    np.testing.assert_array_equal(half, expected)
    # Points given as a half-precision tensor too.
    np.testing.assert_array_equal(_pixels(_step, x=tf.cast(X, dtype)), expected)


def test_batch_predict_returns_float32_under_mixed_precision():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    finally:
        keras.mixed_precision.set_global_policy(previous)
    raw = keras.ops.convert_to_numpy(model(X))
    assert raw.dtype.name == "bfloat16"  # what the plot used to receive
    scores = plotting.batch_predict(model)(X)
    assert scores.dtype == np.float32
    np.testing.assert_array_equal(scores, raw.astype("float32"))
    fig, axes = plotting.figure()
    plotting.decision_boundary(
        axes[0, 0], plotting.batch_predict(model), X, Y, "mlp", resolution=20
    )
    fig.savefig(io.BytesIO(), format="png")


def test_as_float32_converts_tensors_variables_and_lists():
    for value in (
        tf.constant([1.5, 2.0], tf.bfloat16),
        keras.Variable([1.5, 2.0]),
        [1.5, 2],
        np.array([1.5, 2.0], "float16"),
    ):
        out = plotting.as_float32(value)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, [1.5, 2.0])
