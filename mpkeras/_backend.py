"""Keras backend selection: mpkeras runs on the TensorFlow backend only."""

import os
import sys


class BackendError(RuntimeError):
    """Keras was imported with a backend other than TensorFlow."""


def ensure_tensorflow_backend():
    """Select the TensorFlow backend, or refuse if keras already runs another.

    Keras reads ``KERAS_BACKEND`` once, when it is first imported, so we set
    it while that is still possible. Once keras is loaded with another backend
    the choice cannot be undone: we refuse rather than let tensors of the
    wrong kind fail deep inside a model.
    """
    keras_module = sys.modules.get("keras")
    if keras_module is None:
        os.environ["KERAS_BACKEND"] = "tensorflow"
        return
    backend = keras_module.backend.backend()
    if backend != "tensorflow":
        raise BackendError(
            f"keras was already imported with the {backend!r} backend; mpkeras "
            "needs 'tensorflow'. Import mpkeras before keras, or set "
            "KERAS_BACKEND=tensorflow."
        )
