"""Run by `FreshProcessReloads` as the source of `python -c` in a fresh process.

It must import nothing of mpkeras beyond what each group names: the point is to
load the files as a user's script that imports plain Keras would.
"""

import importlib
import json
import sys

import keras
import numpy as np

job = json.load(open(sys.argv[1]))
rtol, atol = job["rtol"], job["atol"]
results = {}


def compiled_objects(model):
    loss = getattr(model, "loss", None)
    objects = [o for o in keras.tree.flatten(loss) if o is not None] if loss else []
    metrics = getattr(model, "_compile_metrics", None)
    if metrics is not None:
        objects += [o for o in keras.tree.flatten(metrics._user_metrics) if o is not None]
    return objects


def registered_names(model):
    found = set()
    for obj in list(model._flatten_layers(include_self=True, recursive=True)):
        found.add(keras.saving.get_registered_name(type(obj)))
    for obj in compiled_objects(model):
        target = obj if callable(obj) and not hasattr(obj, "get_config") else type(obj)
        found.add(keras.saving.get_registered_name(target))
    return found


def numbered(data, prefix):
    return [data[f"{prefix}{i}"] for i in range(sum(k.startswith(prefix) for k in data))]


def check(entry):
    model = keras.saving.load_model(entry["path"])
    missing = sorted(set(entry["classes"]) - registered_names(model))
    assert not missing, f"the loaded model lacks {missing} (came back as other classes)"
    data = np.load(entry["data"])
    inputs = numbered(data, "input_")
    x = inputs[0] if len(inputs) == 1 else inputs
    if entry["evaluate"] is not None:
        targets = numbered(data, "target_")
        y = None if not targets else (targets[0] if len(targets) == 1 else targets)
        model.run_eagerly = True  # one batch: tracing would cost more than it runs
        logs = model.evaluate(x, y, batch_size=len(inputs[0]), verbose=0, return_dict=True)
        for key, value in entry["evaluate"].items():
            assert key in logs, f"evaluate has no {key!r}: {sorted(logs)}"
            np.testing.assert_allclose(
                logs[key], value, rtol=rtol, atol=atol, err_msg=f"evaluate {key}"
            )
        return
    outputs = [keras.ops.convert_to_numpy(o) for o in keras.tree.flatten(model(x))]
    wanted = numbered(data, "output_")
    assert len(outputs) == len(wanted), f"{len(outputs)} outputs, stored {len(wanted)}"
    for i, (a, e) in enumerate(zip(outputs, wanted)):
        assert a.shape == e.shape, f"output {i}: shape {a.shape}, stored {e.shape}"
        if np.issubdtype(e.dtype, np.integer):
            assert (a == e).all(), f"output {i}: integer values differ"
        else:
            np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=f"output {i}")


for group in job["groups"]:
    early = sorted(
        {
            n
            for e in group["entries"].values()
            for n in e["own"]
            if keras.saving.get_registered_object(n) is not None
        }
    )
    try:
        for module in group["imports"]:
            importlib.import_module(module)
    except Exception as error:
        for name in group["entries"]:
            results[name] = f"import {module} failed: {type(error).__name__}: {error}"
        json.dump(results, open(job["result"], "w"))
        continue
    for name, entry in group["entries"].items():
        if early:  # cannot tell whether the import registers them: the parent retries
            results[name] = job["retry"]
            continue
        try:
            check(entry)
            results[name] = None
        except Exception as error:
            text = " ".join(str(error).split())
            # Keras nests the cause of a failed deserialisation at the end.
            text = text.rsplit("Exception encountered: ", 1)[-1]
            results[name] = f"{type(error).__name__}: {text[:300]}"
    json.dump(results, open(job["result"], "w"))  # after each group: a crash keeps the rest
