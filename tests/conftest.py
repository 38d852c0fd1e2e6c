"""Test-wide setup: TensorFlow backend, quiet logs, a private TFDS data dir."""

import atexit
import os
import shutil
import tempfile

# Before anything imports tensorflow_datasets or keras: tests never read or
# write the user's ~/tensorflow_datasets, and run on the TensorFlow backend.
# Each process gets its own data dir: pytest-xdist's workers inherit the
# controller's environment, and two workers preparing one dataset in the same
# directory would race. A TFDS_DATA_DIR the user set is kept as it is.
_OURS = "MPKERAS_TESTS_TFDS_DIR"
if os.environ.get("TFDS_DATA_DIR", os.environ.get(_OURS)) == os.environ.get(_OURS):
    os.environ["TFDS_DATA_DIR"] = os.environ[_OURS] = tempfile.mkdtemp(prefix="mpkeras-tfds-")
    atexit.register(shutil.rmtree, os.environ[_OURS], ignore_errors=True)
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mpkeras  # noqa: E402,F401
