"""`import mpkeras.<subpackage>`, then plain `keras.saving.load_model` (issue 18, section 2).

For each public subpackage a model using its classes is saved here; a fresh
Python process then runs what a user's script would,

    import keras
    import mpkeras.layers          # nothing else of mpkeras
    model = keras.saving.load_model("model.keras")

and must give the same outputs (or `evaluate` results, for losses and
metrics). The same process checks that none of the subpackage's classes was
registered before its import and that all of them are after it. The four
processes run at once. `import mpkeras` itself stays free of TensorFlow
(tests/test_package.py, tests/test_cli.py).
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import mpkeras.layers
import mpkeras.losses
import mpkeras.metrics
import mpkeras.models
from mpkeras.losses import SummedOverSteps
from mpkeras.saving import register_all

SUBPACKAGES = ("mpkeras.layers", "mpkeras.losses", "mpkeras.metrics", "mpkeras.models")
RTOL, ATOL = 1e-5, 1e-6

SCRIPT = r"""
import importlib, json, sys
import numpy as np
import keras

job = json.load(open(sys.argv[1]))
early = [n for n in job["names"] if keras.saving.get_registered_object(n) is not None]
assert not early, f"registered before the import: {early}"
importlib.import_module(job["subpackage"])
missing = [n for n in job["names"] if keras.saving.get_registered_object(n) is None]
assert not missing, f"not registered by `import {job['subpackage']}`: {missing}"
for path in job["files"]:
    model = keras.saving.load_model(path)
    data = np.load(path[: -len(".keras")] + ".npz")
    count = lambda prefix: sum(k.startswith(prefix) for k in data)
    x = [data[f"input_{i}"] for i in range(count("input_"))]
    x = x[0] if len(x) == 1 else x
    if count("target_"):
        y = [data[f"target_{i}"] for i in range(count("target_"))]
        logs = model.evaluate(x, y[0] if len(y) == 1 else y, verbose=0, return_dict=True)
        for key in job["evaluated"][path]:
            np.testing.assert_allclose(logs[key], data[f"evaluate:{key}"], rtol=job["rtol"],
                                       atol=job["atol"], err_msg=f"{path}: {key}")
    outputs = keras.tree.flatten(model(x))
    assert len(outputs) == count("output_"), path
    for i, output in enumerate(outputs):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(output), data[f"output_{i}"],
                                   rtol=job["rtol"], atol=job["atol"], err_msg=f"{path}: {i}")
print("loaded", len(job["files"]), "files")
"""


def _registered_in(subpackage):
    register_all()
    return sorted(
        name
        for name, obj in keras.saving.get_custom_objects().items()
        if name.startswith("mpkeras>")
        and (obj.__module__ == subpackage or obj.__module__.startswith(subpackage + "."))
    )


def _layers_model():
    L = mpkeras.layers
    image = keras.Input((16, 16, 3))
    sequence = keras.Input((6, 3))
    code = keras.Input((4,))
    volume = keras.Input((4, 4, 4, 2))
    values, indices = L.MaxPoolingWithArgmax2D(2)(image)
    pooled_1d, indices_1d = L.MaxPoolingWithArgmax1D(2)(sequence)
    pooled_3d, indices_3d = L.MaxPoolingWithArgmax3D(2)(volume)
    outputs = [
        L.MaxUnpooling2D(2)(values, indices),
        L.BedOfNails2D(2)(values),
        L.ExplicitConv2D(4, 3)(image),
        L.MaxUnpooling1D(2)(pooled_1d, indices_1d),
        L.MaxUnpooling3D(2)(pooled_3d, indices_3d),
        keras.layers.RNN(L.ElmanCell(4))(sequence),
        L.Elman(4, return_sequences=True)(sequence),
        L.Sampling(seed=0)([code, code]),
    ]
    rng = np.random.default_rng(0)
    inputs = [
        rng.standard_normal((2,) + tuple(t.shape[1:])).astype("float32")
        for t in (image, sequence, code, volume)
    ]
    return keras.Model([image, sequence, code, volume], outputs), inputs, None


def _models_models():
    M = mpkeras.models
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(4, 16, 16, 1)).astype("float32")
    vae = M.VAE(
        M.build_encoder((16, 16, 1), 8, hidden=(8,)),
        M.build_decoder(4, (16, 16, 1), hidden=(8,), output_activation=None),
        from_logits=True,
        seed=0,
    )
    autoencoder = M.Autoencoder(
        M.build_encoder((16, 16, 1), 4, hidden=(8,)), M.build_decoder(4, (16, 16, 1), hidden=(8,))
    )
    features = rng.standard_normal((8, 4)).astype("float32")
    perceptron = M.Perceptron(kernel_initializer="glorot_uniform")
    sequences = rng.standard_normal((4, 5, 3)).astype("float32")
    rnn = M.rnn.build_many_to_many((5, 3), 4, 3)
    rnn.compile(loss=SummedOverSteps("mse"))
    # Unknown sizes, as build_unet handles them: pad to a multiple of 4, crop back.
    image = keras.Input((None, None, 1))
    padded = M.unet.PadToMultiple2D(4)(image)
    unet = keras.Model(image, [padded, M.unet.CropToMatch2D()([padded, image])])
    odd_images = rng.uniform(size=(2, 13, 11, 1)).astype("float32")
    return [
        (vae, [images], None),
        (autoencoder, [images], None),
        (perceptron, [features], None),
        (rnn, [sequences], [sequences]),
        (unet, [odd_images], None),
    ]


def _compiled(losses=("mse",), metrics=None, shape=(4, 6)):
    """One sigmoid Dense head per loss (predictions in (0, 1) suit every loss)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=shape).astype("float32")
    y = (rng.uniform(size=shape) > 0.5).astype("float32")
    inputs = keras.Input(shape[1:])
    heads = [keras.layers.Dense(shape[-1], activation="sigmoid")(inputs) for _ in losses]
    model = keras.Model(inputs, heads)
    if metrics is not None and len(heads) > 1:
        metrics = [metrics] * len(heads)  # one list per head; Keras 3.10 rejects [[...]] for one
    model.compile(loss=list(losses), metrics=metrics)
    return model, [x], [y] * len(heads)


def _losses_models():
    L = mpkeras.losses
    return [
        _compiled(
            [
                L.BernoulliNLL(),
                L.GaussianNLL(sigma=0.5),
                L.LaplaceNLL(scale=2.0),
                L.bernoulli_nll,
                L.gaussian_nll,
                L.laplace_nll,
                L.gaussian_kl,
                L.SummedOverSteps("mse"),
            ]
        )
    ]


def _metrics_models():
    metrics = [mpkeras.metrics.PSNR(), mpkeras.metrics.SSIM(filter_size=3)]
    return [_compiled(metrics=metrics, shape=(4, 8, 8, 1))]


def _mpkeras_names(model):
    """Registered names of the mpkeras layers, losses and metrics in `model`."""
    objects = list(model._flatten_layers(include_self=True, recursive=True))
    objects += keras.tree.flatten(getattr(model, "loss", None) or [])
    compiled = getattr(model, "_compile_metrics", None)
    objects += keras.tree.flatten(compiled._user_metrics) if compiled is not None else []
    names = set()
    for obj in objects:
        target = obj if callable(obj) and not hasattr(obj, "get_config") else type(obj)
        names.add(keras.saving.get_registered_name(target))
    return {n for n in names if n.startswith("mpkeras>")}


BUILDERS = {
    "mpkeras.layers": lambda: [_layers_model()],
    "mpkeras.models": _models_models,
    "mpkeras.losses": _losses_models,
    "mpkeras.metrics": _metrics_models,
}


def _save(subpackage, directory):
    files, evaluated, covered = [], {}, set()
    for i, (model, inputs, targets) in enumerate(BUILDERS[subpackage]()):
        path = str(directory / f"{subpackage.split('.')[-1]}_{i}.keras")
        x = inputs[0] if len(inputs) == 1 else inputs
        model(x)  # builds a subclassed model before saving
        model.save(path)
        data = {f"input_{j}": a for j, a in enumerate(inputs)}
        outputs = keras.tree.flatten(model(x))
        data.update({f"output_{j}": keras.ops.convert_to_numpy(o) for j, o in enumerate(outputs)})
        if targets is not None:
            y = targets[0] if len(targets) == 1 else targets
            logs = model.evaluate(x, y, verbose=0, return_dict=True)
            data.update({f"target_{j}": t for j, t in enumerate(targets)})
            data.update({f"evaluate:{k}": np.float64(v) for k, v in logs.items()})
            evaluated[path] = sorted(logs)
        np.savez(path[: -len(".keras")] + ".npz", **data)
        files.append(path)
        covered |= _mpkeras_names(model)
    return {
        "subpackage": subpackage,
        "names": _registered_in(subpackage),
        "files": files,
        "evaluated": evaluated,
        "covered": sorted(covered),
        "rtol": RTOL,
        "atol": ATOL,
    }


@pytest.fixture(scope="module")
def fresh_processes(tmp_path_factory):
    """Start the four fresh processes at once; {subpackage: CompletedProcess-like}."""
    directory = tmp_path_factory.mktemp("registration")
    running, jobs = {}, {}
    for subpackage in SUBPACKAGES:
        job = directory / f"{subpackage}.json"
        jobs[subpackage] = _save(subpackage, directory)
        job.write_text(json.dumps(jobs[subpackage]))
        running[subpackage] = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(job)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "KERAS_BACKEND": "tensorflow"},
        )
    results = {}
    for subpackage, process in running.items():
        stdout, stderr = process.communicate(timeout=300)
        results[subpackage] = (jobs[subpackage], process.returncode, stdout, stderr)
    return results


# Slow (a fresh process per subpackage): tests/test_contract.py reloads every
# registered class in a fresh process that imports only its subpackage.
@pytest.mark.slow
@pytest.mark.parametrize("subpackage", SUBPACKAGES)
def test_plain_load_model_after_importing_only_the_subpackage(subpackage, fresh_processes):
    job, code, stdout, stderr = fresh_processes[subpackage]
    # The saved files hold every class the subpackage registers.
    assert job["names"], f"{subpackage} registers nothing?"
    assert set(job["names"]) <= set(job["covered"]), sorted(set(job["names"]) - set(job["covered"]))
    errors = [line for line in stderr.splitlines() if "Error" in line]
    assert code == 0, errors[-1] if errors else stderr[-2000:]
    assert stdout.strip() == f"loaded {len(job['files'])} files", stdout
