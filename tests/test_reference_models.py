"""Old .keras files keep loading: the committed reference models (issue 14).

`saved_models/reference/<name>.keras` were written by the code of the day
they were generated (`saved_models/reference/make_references.py`, which
documents what each `.npz` holds and when regenerating is allowed). Here the
CURRENT code loads each of them with `keras.saving.load_model` (safe mode on,
the default) and must reproduce the stored outputs, state, method results,
config and compiled losses/metrics; the loaded objects must be the mpkeras
classes. A coverage test fails when a registered mpkeras class or function
has no reference, so a new layer cannot ship without one.

Tolerance: rtol 1e-5, atol 1e-6 on float results (the same float32
computation, only summation order may differ between builds); integer
results (argmax indices, counters, seed states) must be equal.
"""

import importlib.util
import inspect
import json
from pathlib import Path

import keras
import numpy as np
import pytest

import mpkeras  # noqa: F401  (sets the TensorFlow backend)
from mpkeras.saving import register_all

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "saved_models" / "reference"
RTOL, ATOL = 1e-5, 1e-6
MAX_BYTES = 1_000_000
PATHS = sorted(REFERENCE_DIR.glob("*.keras"))


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_references", REFERENCE_DIR / "make_references.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


refs = _load_generator()


@pytest.fixture(scope="module")
def registry():
    register_all()
    return refs.registered_objects()


def _expected(path):
    with np.load(path.with_suffix(".npz"), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _numbered(expected, prefix):
    count = sum(1 for key in expected if key.startswith(prefix))
    return [expected[f"{prefix}{i}"] for i in range(count)]


def _assert_close(actual, expected, what):
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if np.issubdtype(expected.dtype, np.integer) or expected.dtype == bool:
        np.testing.assert_array_equal(actual, expected, err_msg=what)
    else:
        np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, err_msg=what)


def test_there_are_reference_models():
    assert PATHS, f"no .keras files in {REFERENCE_DIR}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_reference_model_loads_and_reproduces_its_outputs(path, registry):
    expected = _expected(path)
    model = keras.saving.load_model(path)

    # The loaded objects are the registered mpkeras classes (checked by
    # identity inside mpkeras_names), and all of them came back.
    assert refs.mpkeras_names(model, registry) == sorted(expected["classes"].tolist())

    # State before any call: a Sampling call advances its seed state.
    for key in (k for k in expected if k.startswith("state:")):
        path_ = key[len("state:") :]
        _assert_close(refs.as_array(refs.get_path(model, path_)), expected[key], key)

    inputs = _numbered(expected, "input_")
    outputs = refs.call_model(model, inputs)
    wanted = _numbered(expected, "output_")
    assert len(outputs) == len(wanted), f"{len(outputs)} outputs, stored {len(wanted)}"
    for i, (actual, value) in enumerate(zip(outputs, wanted)):
        _assert_close(actual, value, f"output_{i}")

    for key in (k for k in expected if k.startswith("method:")):
        method = refs.get_path(model, key[len("method:") :])
        _assert_close(refs.as_array(method(inputs[0])), expected[key], key)

    if "config" in expected:
        stored = json.loads(str(expected["config"]))
        config = model.get_config()
        assert {k: config[k] for k in stored} == stored

    evaluated = {k[len("evaluate:") :]: expected[k] for k in expected if k.startswith("evaluate:")}
    if evaluated:
        logs = refs.evaluate_model(model, inputs, _numbered(expected, "target_"))
        # Keras may add logs in a later version; the stored ones must be there.
        assert set(evaluated) <= set(logs), (sorted(evaluated), sorted(logs))
        for key, value in evaluated.items():
            _assert_close(np.float64(logs[key]), value, f"evaluate:{key}")


def test_compiled_losses_and_metrics_come_back_as_mpkeras_objects(registry):
    """Losses/metrics of the compiled references are the registered objects."""
    path = REFERENCE_DIR / "losses_and_metrics.keras"
    model = keras.saving.load_model(path)
    compiled = refs.compiled_objects(model)
    kinds = {type(obj).__name__ for obj in compiled}
    assert {"BernoulliNLL", "GaussianNLL", "LaplaceNLL", "SummedOverSteps", "PSNR", "SSIM"} <= kinds
    for obj in compiled:
        name = f"mpkeras>{type(obj).__name__}"
        assert registry[name] is type(obj), name
    losses = {type(obj).__name__: obj for obj in model.loss}
    assert losses["GaussianNLL"].sigma == 0.5
    assert losses["LaplaceNLL"].scale == 2.0 and losses["LaplaceNLL"].reduction == "sum"
    assert losses["BernoulliNLL"].axis == (1, 2)
    assert losses["SummedOverSteps"].step_loss is keras.losses.get("mae")


def test_every_registered_mpkeras_class_has_a_reference(registry):
    """Every layer/model class is inside some reference model, every loss,
    metric and registered function in some reference's compile()."""
    covered = set()
    for path in PATHS:
        covered |= set(_expected(path)["classes"].tolist())
    layers = {
        name
        for name, obj in registry.items()
        if inspect.isclass(obj) and issubclass(obj, keras.layers.Layer)
    }
    assert layers, "no registered mpkeras layers found: register_all walked nothing?"
    missing_layers = sorted(layers - covered)
    missing_other = sorted(set(registry) - layers - covered)
    assert not missing_layers, (
        f"registered mpkeras layers/models without a reference model: {missing_layers}. "
        "Add a ref_<name> to saved_models/reference/make_references.py and run it "
        "(existing files are kept)."
    )
    assert not missing_other, (
        f"registered mpkeras losses/metrics/functions no reference model is compiled "
        f"with: {missing_other}"
    )
    assert not covered - set(registry), (
        f"references name unregistered objects: {sorted(covered - set(registry))}"
    )


def test_reference_files_are_small_and_paired():
    npz = {p.stem for p in REFERENCE_DIR.glob("*.npz")}
    assert npz == {p.stem for p in PATHS}
    for path in PATHS:
        size = path.stat().st_size
        assert size < MAX_BYTES, f"{path.name} is {size} bytes (limit 1 MB)"
    assert set(refs.REFERENCES) == {p.stem for p in PATHS}, (
        "make_references.py and the committed files disagree; run the script "
        "(without --force) to add missing files"
    )


def test_generator_refuses_to_overwrite_without_force(tmp_path, capsys):
    for name in refs.REFERENCES:
        (tmp_path / f"{name}.keras").write_text("old")
        (tmp_path / f"{name}.npz").write_text("old")
    assert refs.main(["--out", str(tmp_path)]) == []
    assert all((tmp_path / f"{n}.keras").read_text() == "old" for n in refs.REFERENCES)
    assert "--force" in capsys.readouterr().out
    name = next(iter(refs.REFERENCES))
    (tmp_path / f"{name}.npz").unlink()
    with pytest.raises(SystemExit):
        refs.main(["--out", str(tmp_path), name])
    assert (tmp_path / f"{name}.keras").read_text() == "old"


@pytest.mark.parametrize(
    "name",
    sorted(p.stem for p in PATHS if "config" in np.load(p.with_suffix(".npz")).files),
)
def test_generator_still_builds_the_committed_config(name):
    """make_references.py describes the committed file: building the reference
    now gives the stored config (e.g. a VAE's `from_logits`, whose default
    changed after the file was written), so a regeneration changes no model."""
    keras.utils.set_random_seed(1000)
    model = refs.REFERENCES[name](0).model
    stored = json.loads(str(_expected(PATHS[0].with_name(f"{name}.keras"))["config"]))
    config = model.get_config()
    assert {k: config[k] for k in stored} == stored
