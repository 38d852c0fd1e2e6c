"""Reloading saved files in a fresh process, as a user's script would."""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

from mpkeras.testing.comparison import ATOL, RTOL, numpy_outputs

# Run as the source of `python -c`, not imported: a fresh process that imports
# plain Keras, then only the subpackages each group of files names.
RELOAD_CHECK = Path(__file__).with_name("reload_check.py")


def subpackage(obj):
    """ "mpkeras.layers" for a class or function defined in mpkeras.layers.pooling."""
    module = getattr(obj, "__module__", "") or ""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "mpkeras" and len(parts) > 1 else None


def registered_names(model):
    """Registered names ("mpkeras>Name") of the mpkeras objects in a model."""
    objects = list(model._flatten_layers(include_self=True, recursive=True))
    loss = getattr(model, "loss", None)
    objects += [o for o in keras.tree.flatten(loss) if o is not None] if loss else []
    compiled = getattr(model, "_compile_metrics", None)
    if compiled is not None:
        objects += [o for o in keras.tree.flatten(compiled._user_metrics) if o is not None]
    names = set()
    for obj in objects:
        target = obj if callable(obj) and not hasattr(obj, "get_config") else type(obj)
        name = keras.saving.get_registered_name(target)
        if name.startswith("mpkeras>"):
            names.add(name)
    return sorted(names)


# Import order of the fresh process: each subpackage after those it builds
# on, so that no earlier import can register a later subpackage's classes.
IMPORT_ORDER = (
    "mpkeras.ops",
    "mpkeras.losses",
    "mpkeras.layers",
    "mpkeras.metrics",
    "mpkeras.diagnostics",
    "mpkeras.callbacks",
    "mpkeras.models",
)


def import_rank(imports):
    ranks = [IMPORT_ORDER.index(m) if m in IMPORT_ORDER else len(IMPORT_ORDER) for m in imports]
    return (max(ranks, default=-1), tuple(imports))


class FreshProcessReloads:
    """`.keras` files to reload later, all at once, in one fresh Python process.

    `add` saves a model with the inputs and the outputs (or `evaluate`
    results) it must reproduce, and the mpkeras subpackages a user would
    import to load it. `check` starts one process that imports keras and
    then, one group of files at a time, only the subpackages that group
    names (lower levels first: losses, layers, metrics, models): it checks
    that the group's own classes are NOT registered before that import, then
    loads each file with plain `keras.saving.load_model` (safe mode on),
    checks that every registered mpkeras class of the original came back as
    that class, and compares the outputs. A group whose classes an earlier
    group's import registered already (one subpackage importing another) is
    loaded again in a process of its own. `check` returns `{name: None or
    the error}` and raises AssertionError listing every failure.
    """

    def __init__(self, directory=None, rtol=RTOL, atol=ATOL):
        if directory is None:
            directory = tempfile.mkdtemp(prefix="mpkeras-reloads-")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.rtol, self.atol = rtol, atol
        self.entries = {}

    def add(self, name, model, inputs, imports, outputs=None, targets=None, evaluate=None):
        """Save `model` as `<name>.keras` and what it must reproduce.

        `inputs`: a list of arrays (the model is called on the list, or on
        the array when there is one). `outputs`: of `model(inputs)`; or
        `targets` and `evaluate`, the `{log: value}` of
        `model.evaluate(inputs, targets)`. `imports`: the subpackages that
        must suffice to load it, e.g. ["mpkeras.layers"]. Returns the name
        used (a suffix is added to a name already taken).
        """
        base, count = name, 1
        while name in self.entries:  # the same class under other arguments
            count += 1
            name = f"{base}_{count}"
        path = self.directory / f"{name}.keras"
        model.save(path)
        outputs = [] if outputs is None else numpy_outputs(outputs)
        targets = [] if targets is None else targets
        arrays = {f"input_{i}": np.asarray(x) for i, x in enumerate(inputs)}
        arrays.update({f"output_{i}": o for i, o in enumerate(outputs)})
        arrays.update({f"target_{i}": np.asarray(t) for i, t in enumerate(targets)})
        np.savez(self.directory / f"{name}.npz", **arrays)
        classes = registered_names(model)
        self.entries[name] = {
            "path": str(path),
            "data": str(self.directory / f"{name}.npz"),
            "imports": sorted(imports),
            "classes": classes,
            "own": own_names(classes, imports),
            "evaluate": None if evaluate is None else {k: float(v) for k, v in evaluate.items()},
        }
        return name

    def check(self, timeout=600, raise_on_failure=True):
        """Reload every file in a fresh process; raise AssertionError on any
        failure (or, with `raise_on_failure=False`, only return them)."""
        if not self.entries:
            return {}
        groups = {}
        for name, entry in self.entries.items():
            groups.setdefault(tuple(entry["imports"]), {})[name] = entry
        ordered = [
            {"imports": list(imports), "entries": groups[imports]}
            for imports in sorted(groups, key=import_rank)
        ]
        outcome = self._run(ordered, "all", timeout)
        # A group whose classes an earlier group's import registered already
        # (one subpackage importing another) gets a fresh process of its own.
        for i, group in enumerate(ordered):
            if any(outcome[name] == RETRY for name in group["entries"]):
                outcome.update(self._run([group], f"group_{i}", timeout))
        failures = {name: error for name, error in outcome.items() if error}
        if failures and raise_on_failure:
            raise AssertionError(
                "fresh-process reload (plain keras.saving.load_model) failed:\n"
                + "\n".join(f"  {name}: {error}" for name, error in sorted(failures.items()))
            )
        return outcome

    def _run(self, groups, tag, timeout):
        """Run the script on `groups` in one fresh process: {name: error or None}."""
        job = self.directory / f"reload_job_{tag}.json"
        result = self.directory / f"reload_result_{tag}.json"
        job.write_text(
            json.dumps(
                {
                    "groups": groups,
                    "result": str(result),
                    "rtol": self.rtol,
                    "atol": self.atol,
                    "retry": RETRY,
                }
            )
        )
        result.unlink(missing_ok=True)
        process = subprocess.run(
            [sys.executable, "-c", RELOAD_CHECK.read_text(), str(job)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "KERAS_BACKEND": "tensorflow"},
        )
        outcome = json.loads(result.read_text()) if result.is_file() else {}
        lines = [  # without TensorFlow's C++ log lines
            line
            for line in (process.stdout + process.stderr).strip().splitlines()
            if not re.match(r"[IWEF]\d{4} |WARNING: All log messages", line)
        ]
        for group in groups:
            for name in group["entries"]:
                outcome.setdefault(
                    name, f"the process died (exit {process.returncode}): {' | '.join(lines[-5:])}"
                )
        return outcome


RETRY = "registered before its import: retry in a process of its own"


def own_names(names, imports):
    """The registered names among `names` whose object `imports` defines."""
    own = []
    for name in names:
        module = getattr(keras.saving.get_registered_object(name), "__module__", "")
        if any(module == m or module.startswith(m + ".") for m in imports):
            own.append(name)
    return own


# Runs in the fresh process: plain keras, then only each group's subpackages.


def file_name(name):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
