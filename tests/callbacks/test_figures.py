"""FigureLogger / PeriodicImageLogger: TensorBoard images from any model, mixed precision included."""

import glob

import keras
import numpy as np
import pytest
import tensorflow as tf

from mpkeras import plotting
from mpkeras.callbacks import FigureLogger
from mpkeras.callbacks.figures import PeriodicImageLogger, summary_image

X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], "float32")
Y = np.array([0, 1, 1, 0], "float32")


def _logged(log_dir):
    """tag -> list of (step, decoded uint8 image)."""
    found = {}
    for path in glob.glob(f"{log_dir}/images/events.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                image = tf.image.decode_png(tf.make_ndarray(value.tensor)[2]).numpy()
                found.setdefault(value.tag, []).append((event.step, image))
    return found


class _Fixed(PeriodicImageLogger):
    def __init__(self, log_dir, image):
        super().__init__(log_dir, every=1)
        self.image = image

    def images(self):
        return {"fixed": self.image}


def test_summary_image_keeps_uint8_and_makes_floats_float32():
    as_bytes = np.arange(12, dtype=np.uint8).reshape(1, 2, 2, 3)
    assert summary_image(as_bytes).dtype == np.uint8
    for dtype in ("bfloat16", "float16", "float64"):
        out = summary_image(tf.cast(tf.fill((1, 2, 2, 1), 0.5), dtype))
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, 0.5)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_images_are_logged_as_their_float32_values(tmp_path, dtype):
    image = np.linspace(0.0, 1.0, 16, dtype="float32").reshape(1, 4, 4, 1)
    _Fixed(tmp_path / "f32", image).log(0)
    _Fixed(tmp_path / "half", tf.cast(image, dtype)).log(0)
    expected, got = _logged(tmp_path / "f32")["fixed"], _logged(tmp_path / "half")["fixed"]
    # linspace(0, 1, 16) is exact in bfloat16/float16 up to 1/255 after encoding.
    np.testing.assert_allclose(got[0][1].astype(int), expected[0][1].astype(int), atol=1)


def test_figure_logger_draws_a_mixed_bfloat16_model(tmp_path):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = keras.Sequential(
            [
                keras.Input((2,)),
                keras.layers.Dense(4, activation="tanh"),
                keras.layers.Dense(1, activation="sigmoid"),
            ]
        )
        model.compile(optimizer="sgd", loss="binary_crossentropy")

        def draw(m):
            fig, axes = plotting.figure(size=2.0)
            plotting.decision_boundary(
                axes[0, 0], plotting.batch_predict(m), X, Y, "mlp", resolution=20
            )
            return fig

        logger = FigureLogger(tmp_path, draw, name="boundary", every=2)
        model.fit(X, Y, epochs=3, batch_size=4, verbose=0, callbacks=[logger])
    finally:
        keras.mixed_precision.set_global_policy(previous)
    steps = [step for step, _ in _logged(tmp_path)["boundary"]]
    assert steps == [1, 2]  # every 2nd epoch, and the last


def test_bad_every(tmp_path):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=r"expected a positive integer. Received: every="):
            FigureLogger(tmp_path, lambda m: None, every=bad)
