"""`import mpkeras`: cheap, and always on the TensorFlow backend."""

import os
import subprocess
import sys
import types

import pytest

from mpkeras._backend import BackendError, ensure_tensorflow_backend


def python(code, **env):
    environment = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120
    )


def test_import_is_cheap_and_selects_the_tensorflow_backend():
    result = python(
        "import os, sys, mpkeras\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
        "print(os.environ['KERAS_BACKEND'])\n",
        KERAS_BACKEND="jax",  # keras not imported yet: mpkeras may still choose
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tensorflow"


def test_keras_already_on_another_backend_is_refused(monkeypatch):
    # Other backends need jax or torch, which this machine lacks: a stand-in
    # keras module that reports one is enough to exercise the guard.
    fake_keras = types.SimpleNamespace(backend=types.SimpleNamespace(backend=lambda: "jax"))
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    with pytest.raises(BackendError, match="already imported with the 'jax' backend"):
        ensure_tensorflow_backend()


def test_submodules_load_on_first_use():
    result = python("import mpkeras\nprint(mpkeras.models.Perceptron.__name__)\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("Perceptron")
