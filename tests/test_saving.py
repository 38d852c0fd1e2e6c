"""mpkeras.saving.load_model knows every registered mpkeras class without importing it first."""

import subprocess
import sys

import keras
import numpy as np

import mpkeras.layers
from mpkeras.saving import register_all


def test_load_model_finds_layers_whose_module_was_never_imported(tmp_path):
    path = tmp_path / "model.keras"
    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, mpkeras.layers.BedOfNails2D(2)(inputs))
    model.save(path)
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    np.save(tmp_path / "expected.npy", model.predict(x, verbose=0))
    # A fresh interpreter that imports nothing of mpkeras.layers before loading.
    code = (
        "import sys, numpy as np\n"
        "from mpkeras.saving import load_model\n"
        f"model = load_model({str(path)!r})\n"
        "x = np.arange(16, dtype='float32').reshape(1, 4, 4, 1)\n"
        f"np.testing.assert_array_equal(model.predict(x, verbose=0), np.load({str(tmp_path / 'expected.npy')!r}))\n"
        "print(type(model.layers[-1]).__module__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("mpkeras.layers.upsampling")


def test_register_all_registers_every_exported_class():
    register_all()
    registered = keras.saving.get_custom_objects()
    for package in (mpkeras.layers,):
        for name in package.__all__:
            assert f"mpkeras>{name}" in registered, name
