"""Test-wide setup: TensorFlow backend, quiet logs, a private TFDS data dir."""

import atexit
import os
import shutil
import tempfile

# Before anything imports tensorflow_datasets or keras: tests never read or
# write the user's ~/tensorflow_datasets, and run on the TensorFlow backend.
if "TFDS_DATA_DIR" not in os.environ:
    os.environ["TFDS_DATA_DIR"] = tempfile.mkdtemp(prefix="mpkeras-tfds-")
    atexit.register(shutil.rmtree, os.environ["TFDS_DATA_DIR"], ignore_errors=True)
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mpkeras  # noqa: E402,F401
