"""The contract every public mpkeras layer, model, loss and metric goes through.

As Keras has `testing.TestCase.run_layer_test` and keras-hub its `run_*_test`
helpers, one call runs a class through everything a Keras user will do with it
and raises one `AssertionError` naming each aspect that failed:

    reference       the eager outputs equal a NumPy definition of the layer
                    (`reference=`), at every size tried; "n/a" without one
    symbolic        a functional model on `keras.Input` (batch None) gives the
                    eager call's outputs; symbolic shapes and dtypes match them
    tf_function     a `tf.function` with a batch-None signature, on the batch
                    and on a smaller one, gives the eager outputs
    jit_compile     the same under `tf.function(jit_compile=True)` (XLA)
    unknown_sizes   a functional model whose spatial sizes are None, and a
                    `tf.function` whose signature leaves them None (dynamic
                    at run time), on every size tried, give the eager outputs
    odd_sizes       odd, non-square spatial sizes: eager and functional agree
    output_shape    `compute_output_shape` equals the real output shape at every
                    size tried (and None where the sizes are None)
    config          `from_config(get_config())` repeats the config and, with
                    the same weights, the outputs
    saving          a `.keras` round trip gives the outputs in this process and
                    in a FRESH process that imports only the class's subpackage
                    (`import mpkeras.layers`) and calls plain
                    `keras.saving.load_model`
    fit             one `fit` step: finite loss, every trainable weight moves
                    and the gradient reaches the inputs
    mixed_bfloat16  under the "mixed_bfloat16" policy: float32 variables,
                    bfloat16 outputs (layers), finite and close to float32

The spatial aspects apply to inputs of rank >= 3 (axes 1 .. rank - 2: the
height and width of images, the time axis of sequences); without such axes
they are "n/a". An aspect a class cannot support is skipped only with a
reason: `skip={"jit_compile": "no XLA kernel for MaxPoolWithArgmax"}`.

Comparisons: the eager call is the reference; the other modes run the same
float32 computation, so they must agree to `rtol=1e-5, atol=1e-5` (only
fusion and summation order differ); integer outputs must be equal. Before
every call the layer's variables (seed-generator states included) are reset
to one snapshot, so stochastic layers draw the same noise in every mode.
bfloat16 outputs are compared with float32 to `rtol = atol = 2**-5` relative
to the largest float32 output (bfloat16 keeps 8 significant bits).

Fresh-process loads are slow (a Python start and a TensorFlow import each),
so a test suite collects them: pass one `FreshProcessReloads` to every call
and call its `check()` once at the end; it loads every file in ONE fresh
process, one subpackage after another. Without one, each call starts its own
process (about 5 s).

Example:

    import keras
    import numpy as np
    from mpkeras import testing
    from mpkeras.layers import BedOfNails2D, ElmanCell
    from mpkeras.losses import BernoulliNLL

    # One layer, on its own: every aspect, its own fresh process.
    report = testing.run_layer_test(BedOfNails2D, {"size": 2}, input_shape=(2, 16, 16, 3))
    report["odd_sizes"]                     # 'ok' (17x19 inputs were tried)

    # A test suite: one fresh process for all the files, at the end.
    reloads = testing.FreshProcessReloads()
    testing.run_layer_test(ElmanCell, {"units": 4}, input_shape=(2, 16, 3),
                           wrap=keras.layers.RNN, reloads=reloads)
    y_true = np.array([[0.0, 1.0], [1.0, 1.0]], "float32")
    testing.run_loss_test(BernoulliNLL, {}, y_true, np.full((2, 2), 0.7, "float32"),
                          reloads=reloads)
    reloads.check()                         # AssertionError naming each failure
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "ASPECTS",
    "BF16_TOLERANCE",
    "CallArgs",
    "FreshProcessReloads",
    "LOSS_ASPECTS",
    "METRIC_ASPECTS",
    "Raises",
    "assert_outputs_close",
    "run_layer_test",
    "run_loss_test",
    "run_metric_test",
    "run_model_test",
]

ASPECTS = (
    "reference",
    "symbolic",
    "tf_function",
    "jit_compile",
    "unknown_sizes",
    "odd_sizes",
    "output_shape",
    "config",
    "saving",
    "fit",
    "mixed_bfloat16",
)
# Losses and metrics have no call of their own to trace: they get these.
LOSS_ASPECTS = ("config", "saving", "fit")
METRIC_ASPECTS = ("config", "saving", "fit")

RTOL = ATOL = 1e-5
BF16_TOLERANCE = 2.0**-5


class CallArgs:
    """The arguments of one call: `CallArgs(values, indices, output_size=(17, 15))`.

    Arrays anywhere in `args` / `kwargs` (also inside lists and dicts) are
    the call's inputs; every other value (ints, tuples of ints, strings) is a
    constant passed unchanged to every call.
    """

    def __init__(self, *args, **kwargs):
        def to_numpy(value):
            return keras.ops.convert_to_numpy(value) if keras.ops.is_tensor(value) else value

        self.args = keras.tree.map_structure(to_numpy, list(args))
        self.kwargs = keras.tree.map_structure(to_numpy, dict(kwargs))

    def arrays(self):
        """The input arrays, in a fixed order: those of `args` first."""
        leaves = keras.tree.flatten((self.args, self.kwargs))
        return [leaf for leaf in leaves if isinstance(leaf, np.ndarray)]

    def positional(self):
        """How many of `arrays()` are in `args` (the data, not keyword conditions)."""
        return sum(isinstance(leaf, np.ndarray) for leaf in keras.tree.flatten(self.args))

    def fill(self, arrays):
        """`(args, kwargs)` with the input arrays replaced by `arrays` (same order)."""
        remaining = list(arrays)
        if len(remaining) != len(self.arrays()):
            raise ValueError(f"expected {len(self.arrays())} inputs, got {len(remaining)}")

        def take(leaf):
            return remaining.pop(0) if isinstance(leaf, np.ndarray) else leaf

        args, kwargs = keras.tree.map_structure(take, (self.args, self.kwargs))
        return list(args), dict(kwargs)

    def call(self, fn, arrays=None):
        args, kwargs = self.fill(self.arrays() if arrays is None else arrays)
        return fn(*args, **kwargs)

    def __repr__(self):
        return f"CallArgs(shapes={[a.shape for a in self.arrays()]})"


class Raises:
    """Inputs on which the call must raise in EVERY mode (never return a result).

    `Raises(CallArgs(values, indices))` in `resized_data`: eagerly, in
    functional models of static and None sizes, in a `tf.function` and under
    XLA, the call raises (an exception of any type; its message matches
    `match` when given). A mode that returns instead would hand the user a
    silent wrong result.
    """

    def __init__(self, data, match=None):
        self.call_args = _as_call(data)
        self.match = match

    def __repr__(self):
        return f"Raises({self.call_args!r}, match={self.match!r})"


def _as_call(data):
    return data if isinstance(data, CallArgs) else CallArgs(data)


def _as_resized(data):
    return data if isinstance(data, Raises) else _as_call(data)


def _random_call(input_shape, rng):
    """Standard-normal float32 data for one shape, or a list of shapes (one list argument)."""
    if isinstance(input_shape, list):
        return CallArgs([rng.standard_normal(s).astype("float32") for s in input_shape])
    return CallArgs(rng.standard_normal(tuple(input_shape)).astype("float32"))


def _odd(shape, spatial_axes):
    """Odd, pairwise different sizes on the spatial axes: 16 -> 17, 19, 21."""
    shape = list(shape)
    for j, axis in enumerate(spatial_axes):
        base = shape[axis] + (1 if shape[axis] % 2 == 0 else 0)
        shape[axis] = base + 2 * j
    return tuple(shape)


def _spatial_axes(array, spatial_axes):
    if spatial_axes is not None:
        return tuple(a for a in spatial_axes if a < array.ndim)
    return tuple(range(1, array.ndim - 1)) if array.ndim >= 3 else ()


def _numpy_outputs(outputs):
    return [keras.ops.convert_to_numpy(o) for o in keras.tree.flatten(outputs)]


def _first_line(error):
    """`Type: message` of an error, without Keras's "Exception encountered" wrapper."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    while len(lines) > 1 and lines[0].startswith("Exception encountered when calling"):
        lines = lines[1:]
    return f"{type(error).__name__}: {lines[0] if lines else ''}".strip()


def _brief(error, lines=6):
    """An assertion's message on one line (NumPy's reports span many)."""
    kept = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return " | ".join(kept[:lines])


def _all_nan(outputs):
    """Whether every floating output is NaN everywhere (and there is one)."""
    arrays = [np.asarray(a) for a in _numpy_outputs(outputs)]
    floats = [a for a in arrays if np.issubdtype(a.dtype, np.floating)]
    return bool(floats) and all(a.size and np.isnan(a).all() for a in floats)


def assert_outputs_close(actual, expected, what, rtol=RTOL, atol=ATOL):
    """Flattened outputs equal in number, shape and dtype kind; ints equal, floats close."""
    actual, expected = _numpy_outputs(actual), _numpy_outputs(expected)
    assert len(actual) == len(expected), f"{what}: {len(actual)} outputs, expected {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        label = f"{what}, output {i}"
        assert a.shape == e.shape, f"{label}: shape {a.shape}, expected {e.shape}"
        if np.issubdtype(e.dtype, np.integer) or e.dtype == bool:
            assert a.dtype == e.dtype, f"{label}: dtype {a.dtype}, expected {e.dtype}"
            mismatched = int(np.sum(a != e))
            assert not mismatched, f"{label}: {mismatched} of {e.size} integer values differ"
        else:
            np.testing.assert_allclose(
                np.asarray(a, np.float64),
                np.asarray(e, np.float64),
                rtol=rtol,
                atol=atol,
                err_msg=label,
            )


def _check_skip(skip, allowed):
    skip = dict(skip or {})
    for aspect, reason in skip.items():
        if aspect not in allowed:
            raise ValueError(
                f"Received an invalid value for `skip`, expected aspects from {allowed}. "
                f"Received: skip={skip!r}"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(
                "Received an invalid value for `skip`, expected a reason string for "
                f"every skipped aspect. Received: skip={{{aspect!r}: {reason!r}}}"
            )
    return skip


def _subpackage(obj):
    """ "mpkeras.layers" for a class or function defined in mpkeras.layers.pooling."""
    module = getattr(obj, "__module__", "") or ""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "mpkeras" and len(parts) > 1 else None


def _registered_names(model):
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
_IMPORT_ORDER = (
    "mpkeras.ops",
    "mpkeras.losses",
    "mpkeras.layers",
    "mpkeras.metrics",
    "mpkeras.diagnostics",
    "mpkeras.callbacks",
    "mpkeras.models",
)


def _import_rank(imports):
    ranks = [_IMPORT_ORDER.index(m) if m in _IMPORT_ORDER else len(_IMPORT_ORDER) for m in imports]
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
        outputs = [] if outputs is None else _numpy_outputs(outputs)
        targets = [] if targets is None else targets
        arrays = {f"input_{i}": np.asarray(x) for i, x in enumerate(inputs)}
        arrays.update({f"output_{i}": o for i, o in enumerate(outputs)})
        arrays.update({f"target_{i}": np.asarray(t) for i, t in enumerate(targets)})
        np.savez(self.directory / f"{name}.npz", **arrays)
        classes = _registered_names(model)
        self.entries[name] = {
            "path": str(path),
            "data": str(self.directory / f"{name}.npz"),
            "imports": sorted(imports),
            "classes": classes,
            "own": _own_names(classes, imports),
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
            for imports in sorted(groups, key=_import_rank)
        ]
        outcome = self._run(ordered, "all", timeout)
        # A group whose classes an earlier group's import registered already
        # (one subpackage importing another) gets a fresh process of its own.
        for i, group in enumerate(ordered):
            if any(outcome[name] == _RETRY for name in group["entries"]):
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
                    "retry": _RETRY,
                }
            )
        )
        result.unlink(missing_ok=True)
        process = subprocess.run(
            [sys.executable, "-c", _FRESH_PROCESS_SCRIPT, str(job)],
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


_RETRY = "registered before its import: retry in a process of its own"


def _own_names(names, imports):
    """The registered names among `names` whose object `imports` defines."""
    own = []
    for name in names:
        module = getattr(keras.saving.get_registered_object(name), "__module__", "")
        if any(module == m or module.startswith(m + ".") for m in imports):
            own.append(name)
    return own


# Runs in the fresh process: plain keras, then only each group's subpackages.
_FRESH_PROCESS_SCRIPT = r"""
import importlib, json, sys
import numpy as np
import keras

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
            np.testing.assert_allclose(logs[key], value, rtol=rtol, atol=atol,
                                       err_msg=f"evaluate {key}")
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
    early = sorted({n for e in group["entries"].values() for n in e["own"]
                    if keras.saving.get_registered_object(n) is not None})
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
"""


class _Contract:
    """Runs the aspects of one subject, collecting failures instead of stopping."""

    aspects = ASPECTS

    def __init__(self, name, skip, reloads, rtol, atol):
        self.name = name
        self.skip = _check_skip(skip, self.aspects)
        self.reloads = reloads
        self.rtol, self.atol = rtol, atol
        self.report = {}
        self.failures = []

    def setup(self):
        """Build the subject; a failure here fails every aspect."""

    def _failure(self, aspect, error):
        detail = _brief(error) if isinstance(error, AssertionError) else _first_line(error)
        where = traceback.extract_tb(error.__traceback__)[-1]
        name = self.name or "model"
        return f"{name}: {aspect}: {detail} [{Path(where.filename).name}:{where.lineno}]"

    def run(self):
        try:
            self.setup()
        except Exception as error:  # noqa: BLE001 -- reported as the contract's failure
            raise AssertionError(
                "contract failure: " + self._failure("build (first eager call)", error)
            ) from error
        own_reloads = self.reloads is None and "saving" not in self.skip
        if own_reloads:
            self.reloads = FreshProcessReloads()
        for aspect in self.aspects:
            if aspect in self.skip:
                self.report[aspect] = f"skipped: {self.skip[aspect]}"
                continue
            try:
                result = getattr(self, f"check_{aspect}")()
                self.report[aspect] = result or "ok"
            except Exception as error:  # noqa: BLE001 -- every failure is reported
                self.failures.append(self._failure(aspect, error))
                self.report[aspect] = "FAILED"
        if own_reloads and self.reloads.entries:
            try:
                self.reloads.check()
                self.report["saving"] = "ok (reloaded in a fresh process)"
            except AssertionError as error:
                self.failures.append(f"{self.name}: saving: {error}")
                self.report["saving"] = "FAILED"
        if self.failures:
            raise AssertionError(
                f"{len(self.failures)} contract failure(s):\n" + "\n".join(self.failures)
            )
        return self.report


class _CallableContract(_Contract):
    """Shared by layers and models: a Keras object called on `CallArgs`."""

    def __init__(self, name, base, resized, spatial_axes, reference=None, **kwargs):
        super().__init__(name, **kwargs)
        self.reference_fn = reference
        self.base = base
        self.resized = [r for r in resized if not isinstance(r, Raises)]
        self.raising = [r for r in resized if isinstance(r, Raises)]
        self.spatial_axes = spatial_axes
        self.snapshot = None

    def setup(self):
        self.subject = self.make()
        if self.name is None:
            self.name = type(self.subject).__name__
        self.base.call(self.subject)  # builds it (a stochastic layer's state moves)
        self.snapshot = [np.array(v.numpy()) for v in self.subject.variables]
        self.reference = self.eager(self.base)

    # -- subclass hooks
    def make(self):
        raise NotImplementedError

    def clone_from_config(self):
        raise NotImplementedError

    # -- helpers
    def restore(self, subject=None, snapshot=None):
        subject = self.subject if subject is None else subject
        snapshot = self.snapshot if snapshot is None else snapshot
        variables = subject.variables
        assert len(variables) == len(snapshot), (
            f"{len(variables)} variables, expected {len(snapshot)}"
        )
        for variable, value in zip(variables, snapshot):
            assert tuple(variable.shape) == value.shape, (
                f"variable {variable.path}: shape {tuple(variable.shape)}, expected {value.shape}"
            )
            variable.assign(value.astype(variable.dtype) if hasattr(value, "astype") else value)

    def call(self, subject, call_args, arrays=None):
        """Eager call after resetting the variables (first call: builds)."""
        if self.snapshot is not None and subject is self.subject:
            self.restore()
        return call_args.call(subject, arrays)

    def eager(self, call_args):
        return self.call(self.subject, call_args)

    def inputs_for(self, call_args, unknown):
        inputs = []
        for array, axes in self.axes_of(call_args):
            shape = list(array.shape[1:])
            for axis in axes if unknown else ():
                shape[axis - 1] = None
            inputs.append(keras.Input(shape=tuple(shape), dtype=str(array.dtype)))
        return inputs

    def functional(self, call_args, unknown=False):
        inputs = self.inputs_for(call_args, unknown)
        outputs = call_args.call(self.subject, inputs)
        return keras.Model(inputs, outputs), outputs

    def compare(self, actual, expected, what):
        assert_outputs_close(actual, expected, what, rtol=self.rtol, atol=self.atol)

    def run_functional(self, model, call_args):
        self.restore()
        return model(call_args.arrays())

    def graph_function(self, call_args, unknown, jit_compile=False):
        specs = []
        for array, axes in self.axes_of(call_args):
            shape = [None] + list(array.shape[1:])
            for axis in axes if unknown else ():
                shape[axis] = None
            specs.append(tf.TensorSpec(shape, tf.as_dtype(array.dtype)))

        def fn(*arrays):
            return call_args.call(self.subject, list(arrays))

        return tf.function(fn, input_signature=specs, jit_compile=jit_compile)

    def axes_of(self, call_args):
        """`(array, its spatial axes)` for each input array of a call."""
        return [(a, _spatial_axes(a, self.spatial_axes)) for a in call_args.arrays()]

    def has_spatial(self):
        return any(axes for _, axes in self.axes_of(self.base))

    def check_raises(self, raises, modes):
        """Each of `modes` raises on `raises`'s inputs."""
        c = raises.call_args
        runs = {
            "eager call": lambda: self.eager(c),
            "functional model": lambda: self.run_functional(self.functional(c)[0], c),
            "tf.function": lambda: self.graph_function(c, unknown=False)(*c.arrays()),
            "XLA": lambda: self.graph_function(c, False, jit_compile=True)(*c.arrays()),
            "functional model with None sizes": lambda: self.run_functional(
                self.functional(c, unknown=True)[0], c
            ),
            "tf.function with None sizes": lambda: self.graph_function(c, unknown=True)(
                *c.arrays()
            ),
        }
        for mode in modes:
            self.must_raise(raises, mode, runs[mode])

    def must_raise(self, raises, what, run):
        try:
            result = run()
        except Exception as error:  # noqa: BLE001 -- any exception is a refusal
            if raises.match and not re.search(raises.match, str(error)):
                raise AssertionError(
                    f"{what}: raised {_first_line(error)}, expected a message matching "
                    f"{raises.match!r}"
                ) from None
            return
        if what == "XLA" and _all_nan(result):
            # XLA drops tf.debugging.Assert, so a compiled call cannot raise on
            # values: an all-NaN output is its refusal (mpkeras.ops.max_unpool).
            return
        shapes = [a.shape for a in raises.call_args.arrays()]
        raise AssertionError(
            f"{what}, inputs {shapes}: returned a result where the call must raise "
            "(a silent wrong result)"
        )

    # -- aspects
    def check_reference(self):
        if self.reference_fn is None:
            return "n/a: no reference given"
        for call_args in [self.base] + self.resized:
            shapes = [a.shape for a in call_args.arrays()]
            expected = call_args.call(self.reference_fn)
            self.compare(self.eager(call_args), expected, f"eager vs reference, inputs {shapes}")

    def check_symbolic(self):
        model, symbolic = self.functional(self.base)
        outputs = self.run_functional(model, self.base)
        self.compare(outputs, self.reference, "functional model vs eager call")
        flat_symbolic = keras.tree.flatten(symbolic)
        flat_reference = _numpy_outputs(self.reference)
        assert len(flat_symbolic) == len(flat_reference), "symbolic and eager output counts differ"
        for i, (s, e) in enumerate(zip(flat_symbolic, flat_reference)):
            expected = (None,) + e.shape[1:]
            assert tuple(s.shape) == expected, (
                f"output {i}: symbolic shape {tuple(s.shape)}, eager {e.shape}"
            )
            assert np.dtype(s.dtype) == e.dtype, (
                f"output {i}: symbolic dtype {s.dtype}, eager {e.dtype}"
            )

    def stochastic(self):
        return any("seed_generator" in v.path for v in self.subject.variables)

    def _check_graph(self, jit_compile):
        fn = self.graph_function(self.base, unknown=False, jit_compile=jit_compile)
        self.restore()
        outputs = fn(*self.base.arrays())
        if jit_compile and self.stochastic():
            try:
                self.compare(outputs, self.reference, "XLA vs eager")
            except AssertionError:
                # XLA's random-number kernels draw other numbers than TF's
                # from the same seed (keras.random.normal itself does), so a
                # stochastic layer can only be held to shapes, dtypes, finite
                # values and the same draws from the same state.
                actual, reference = _numpy_outputs(outputs), _numpy_outputs(self.reference)
                assert [(a.shape, a.dtype) for a in actual] == [
                    (r.shape, r.dtype) for r in reference
                ], "XLA outputs have other shapes or dtypes than the eager ones"
                assert all(np.isfinite(a).all() for a in actual), "non-finite XLA outputs"
                self.restore()
                self.compare(fn(*self.base.arrays()), outputs, "XLA twice from one state")
                return "ok (stochastic: XLA draws other numbers; shapes, dtypes, repeatability)"
        else:
            self.compare(outputs, self.reference, "graph vs eager")
        smaller = [a[: max(1, len(a) - 1)] for a in self.base.arrays()]
        if len(smaller[0]) != len(self.base.arrays()[0]):
            expected = self.call(self.subject, self.base, smaller)
            self.restore()
            self.compare(fn(*smaller), expected, "graph vs eager, smaller batch")

    def check_tf_function(self):
        return self._check_graph(jit_compile=False)

    def check_jit_compile(self):
        return self._check_graph(jit_compile=True)

    def check_unknown_sizes(self):
        if not self.has_spatial():
            return "n/a: no spatial axes"
        for call_args in [self.base] + self.resized:
            expected = self.eager(call_args)
            model, _ = self.functional(call_args, unknown=True)
            shapes = [tuple(a.shape) for a in call_args.arrays()]
            self.compare(
                self.run_functional(model, call_args),
                expected,
                f"functional model with None sizes, inputs {shapes}",
            )
            fn = self.graph_function(call_args, unknown=True)
            self.restore()
            self.compare(
                fn(*call_args.arrays()),
                expected,
                f"tf.function with None sizes, inputs {shapes}",
            )
        for raises in self.raising:
            self.check_raises(
                raises, ("functional model with None sizes", "tf.function with None sizes")
            )

    def check_odd_sizes(self):
        if not self.has_spatial():
            return "n/a: no spatial axes"
        if not self.resized:
            raise AssertionError(
                "no inputs of other sizes: pass `resized_data` (or `input_shape`), or "
                "skip={'odd_sizes': reason}"
            )
        for call_args in self.resized:
            expected = self.eager(call_args)
            model, _ = self.functional(call_args)
            self.compare(
                self.run_functional(model, call_args),
                expected,
                f"functional vs eager, inputs {[a.shape for a in call_args.arrays()]}",
            )
        for raises in self.raising:
            self.check_raises(raises, ("eager call", "functional model", "tf.function", "XLA"))

    def output_shape_of(self, call_args, arrays_shapes):
        raise NotImplementedError

    def check_output_shape(self):
        sizes = [self.base] + ([] if "odd_sizes" in self.skip else self.resized)
        for call_args in sizes:
            actual = [o.shape for o in _numpy_outputs(self.eager(call_args))]
            shapes = [tuple(a.shape) for a in call_args.arrays()]
            try:
                computed = self.output_shape_of(call_args, shapes)
            except NotImplementedError:
                if all(a == shapes[0] for a in actual):
                    return "n/a: not implemented (the shape does not change)"
                raise AssertionError(
                    f"compute_output_shape is not implemented, but the shape changes: "
                    f"inputs {shapes} -> outputs {actual}"
                ) from None
            computed = [tuple(s) for s in _shape_list(computed)]
            assert computed == [tuple(a) for a in actual], (
                f"compute_output_shape{tuple(shapes)} = {computed}, real outputs {actual}"
            )
        if self.has_spatial() and "unknown_sizes" not in self.skip:
            shapes = []
            for array, axes in self.axes_of(self.base):
                shape = list(array.shape)
                for axis in axes:
                    shape[axis] = None
                shapes.append(tuple(shape))
            computed = [tuple(s) for s in _shape_list(self.output_shape_of(self.base, shapes))]
            _, symbolic = self.functional(self.base, unknown=True)
            symbolic = [tuple(s.shape)[1:] for s in keras.tree.flatten(symbolic)]
            assert [c[1:] for c in computed] == symbolic, (
                f"with None sizes, compute_output_shape{tuple(shapes)} = {computed}, "
                f"symbolic outputs {symbolic}"
            )

    def check_config(self):
        clone = self.clone_from_config()
        original, copied = self.config_of(self.subject), self.config_of(clone)
        assert copied == original, (
            f"from_config(get_config()) has another config: {copied} != {original}"
        )
        json.dumps(keras.saving.serialize_keras_object(self.subject))  # a .keras file needs JSON
        self.base.call(clone)  # builds it
        self.restore(clone)
        self.compare(self.base.call(clone), self.reference, "from_config clone vs original")

    def check_saving(self):
        model, arrays, as_list = self.savable()
        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "model.keras"
            self.restore()  # the file holds the snapshot's state (seed states too)
            model.save(path)
            self.restore()
            expected = model(arrays if as_list else arrays[0])
            loaded = keras.saving.load_model(path)
            self.compare(loaded(arrays if as_list else arrays[0]), expected, "reloaded .keras")
        self.restore()
        expected = model(arrays if as_list else arrays[0])
        self.restore()
        self.reloads.add(
            _file_name(self.name), model, arrays, imports=self.imports(), outputs=expected
        )
        return "ok (fresh process: see FreshProcessReloads.check)"

    def check_mixed_bfloat16(self):
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy("mixed_bfloat16")
        try:
            subject = self.make()
            self.base.call(subject)  # builds it
        finally:
            keras.config.set_dtype_policy(previous)
        assert subject.dtype_policy.name == "mixed_bfloat16", (
            f"dtype policy {subject.dtype_policy.name}, expected mixed_bfloat16"
        )
        for variable in subject.trainable_variables:
            assert variable.dtype == "float32", f"variable {variable.path} is {variable.dtype}"
        self.check_bf16_layers(subject)
        self.restore(subject)
        outputs = _numpy_outputs(self.base.call(subject))
        reference = _numpy_outputs(self.reference)
        for i, (out, ref) in enumerate(zip(outputs, reference)):
            if np.issubdtype(ref.dtype, np.integer):
                assert out.dtype == ref.dtype, f"output {i}: dtype {out.dtype}, float32 {ref.dtype}"
                continue
            self.check_bf16_dtype(i, out)
            values = np.asarray(out, np.float32)
            assert np.isfinite(values).all(), f"output {i}: non-finite values under bfloat16"
            scale = BF16_TOLERANCE * max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
            np.testing.assert_allclose(
                values,
                ref,
                rtol=BF16_TOLERANCE,
                atol=scale,
                err_msg=f"output {i}: bfloat16 vs float32",
            )

    def check_bf16_dtype(self, i, out):
        assert str(out.dtype) == "bfloat16", f"output {i}: dtype {out.dtype}, expected bfloat16"

    def check_bf16_layers(self, subject):
        """Models: the policy reached their sublayers."""


def _shape_list(shapes):
    """A shape or a structure of shapes, as a flat list of shapes."""
    if hasattr(shapes, "as_list"):  # a tf.TensorShape
        return [tuple(shapes.as_list())]
    if isinstance(shapes, (tuple, list)) and all(
        s is None or isinstance(s, (int, np.integer)) for s in shapes
    ):
        return [tuple(shapes)]
    flat = []
    for s in shapes.values() if isinstance(shapes, dict) else shapes:
        flat += _shape_list(s)
    return flat


def _file_name(name):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


class _LayerContract(_CallableContract):
    def __init__(self, layer_cls, init_kwargs, wrap, imports, size_only_inputs, **kwargs):
        self.layer_cls, self.init_kwargs, self.wrap = layer_cls, dict(init_kwargs), wrap
        self._imports = imports
        self.size_only_inputs = tuple(size_only_inputs)
        super().__init__(**kwargs)

    def make(self):
        layer = self.layer_cls(**self.init_kwargs)
        return layer if self.wrap is None else self.wrap(layer)

    def inner(self, subject):
        return subject if self.wrap is None else subject.cell

    def config_of(self, subject):
        return self.inner(subject).get_config()

    def clone_from_config(self):
        inner = self.layer_cls.from_config(self.inner(self.subject).get_config())
        return inner if self.wrap is None else self.wrap(inner)

    def output_shape_of(self, call_args, shapes):
        args, kwargs = call_args.fill(shapes)
        return self.subject.compute_output_shape(*args, **kwargs)

    def imports(self):
        if self._imports is not None:
            return self._imports
        module = _subpackage(self.layer_cls)
        return [module] if module else []

    def savable(self):
        model, _ = self.functional(self.base)
        arrays = self.base.arrays()
        return model, arrays, True

    def check_fit(self):
        arrays = self.base.arrays()
        inputs = self.inputs_for(self.base, unknown=False)
        # A Dense layer initialised to the identity on each positional float
        # input: the data are unchanged, and its kernel moves only if the
        # gradient reaches the input through the layer under test. (Keyword
        # inputs and `size_only_inputs`, such as a tensor that only gives a
        # size, need not carry one.)
        probes, fed = [], []
        for i, (array, tensor) in enumerate(zip(arrays, inputs)):
            data = i < self.base.positional() and i not in self.size_only_inputs
            if data and np.issubdtype(array.dtype, np.floating):
                probe = keras.layers.Dense(
                    array.shape[-1], kernel_initializer="identity", use_bias=False
                )
                probes.append(probe)
                fed.append(probe(tensor))
            else:
                fed.append(tensor)
        outputs = [
            o
            for o in keras.tree.flatten(self.base.call(self.subject, fed))
            if keras.backend.is_float_dtype(o.dtype)
        ]
        if not outputs:
            return "n/a: no float outputs"
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss=["mse"] * len(outputs))
        self.restore()
        rng = np.random.default_rng(1)
        targets = [
            rng.standard_normal((len(arrays[0]),) + tuple(o.shape[1:])).astype("float32")
            for o in outputs
        ]
        watched = [("layer weight " + v.path, v) for v in self.subject.trainable_variables]
        watched += [(f"identity probe on input {i}", p.kernel) for i, p in enumerate(probes)]
        before = [np.array(v.numpy()) for _, v in watched]
        history = model.fit(arrays, targets, batch_size=len(arrays[0]), epochs=1, verbose=0)
        loss = history.history["loss"][-1]
        assert np.isfinite(loss), f"fit step loss is {loss}"
        frozen = [name for (name, v), b in zip(watched, before) if np.array_equal(v.numpy(), b)]
        assert not frozen, f"one fit step left these unchanged (no gradient?): {frozen}"
        self.restore()


class _ModelContract(_CallableContract):
    def __init__(self, build, fit_data, compile_kwargs, imports, **kwargs):
        self.build, self.fit_data = build, fit_data
        self.compile_kwargs = dict(compile_kwargs or {})
        self._imports = imports
        super().__init__(**kwargs)

    def make(self):
        return self.build()

    def config_of(self, subject):
        return subject.get_config()

    def clone_from_config(self):
        return type(self.subject).from_config(self.subject.get_config())

    def output_shape_of(self, call_args, shapes):
        args, kwargs = call_args.fill(shapes)
        return self.subject.compute_output_shape(*args, **kwargs)

    def imports(self):
        if self._imports is not None:
            return self._imports
        module = _subpackage(type(self.subject))
        if module:
            return [module]
        return sorted(
            {
                n
                for n in (
                    _subpackage(type(layer))
                    for layer in self.subject._flatten_layers(recursive=True)
                )
                if n
            }
        )

    def savable(self):
        arrays = self.base.arrays()
        args, kwargs = self.base.fill(arrays)
        if kwargs or len(args) != 1:
            raise AssertionError("a model is called on one input (array or list)")
        return self.subject, arrays, isinstance(args[0], list)

    def check_fit(self):
        if self.fit_data is None:
            raise AssertionError("no fit data: pass `fit_data` or skip={'fit': reason}")
        model = self.make()
        self.base.call(model)
        model.compile(**self.compile_kwargs)
        before = [np.array(v.numpy()) for v in model.variables]
        x, y = self.fit_data if isinstance(self.fit_data, tuple) else (self.fit_data, None)
        first = x[0] if isinstance(x, list) else x
        history = model.fit(x, y, batch_size=len(first), epochs=1, verbose=0)
        for key, values in history.history.items():
            assert np.isfinite(values[-1]), f"fit step logged {key}={values[-1]}"
        changed = [not np.array_equal(v.numpy(), b) for v, b in zip(model.variables, before)]
        assert any(changed), "one fit step changed no variable"
        trainable = {id(v) for v in model.trainable_variables}
        frozen = [v.path for v, c in zip(model.variables, changed) if not c and id(v) in trainable]
        assert not frozen, f"one fit step left these trainable weights unchanged: {frozen}"

    def check_bf16_dtype(self, i, out):
        # A model may keep its last layer in float32 (Keras's advice for
        # numerically sensitive outputs); anything else means a lost policy.
        assert str(out.dtype) in ("bfloat16", "float32"), f"output {i}: dtype {out.dtype}"

    def check_bf16_layers(self, subject):
        # The policy must reach the layers that compute: some weighted
        # sublayer runs in bfloat16.
        weighted = [
            layer
            for layer in subject._flatten_layers(include_self=False, recursive=True)
            if layer.weights
        ]
        if weighted:
            assert any(layer.compute_dtype == "bfloat16" for layer in weighted), (
                "no sublayer with weights computes in bfloat16: the policy did not reach them"
            )


def run_layer_test(
    layer_cls,
    init_kwargs=None,
    input_shape=None,
    input_data=None,
    *,
    resized_data=None,
    wrap=None,
    spatial_axes=None,
    reference=None,
    size_only_inputs=(),
    skip=None,
    reloads=None,
    imports=None,
    name=None,
    rtol=RTOL,
    atol=ATOL,
    seed=0,
):
    """Run `layer_cls(**init_kwargs)` through every aspect of the contract.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_shape: the full input shape (batch first), or a list of shapes
            for a layer called on a list (`Sampling`): standard-normal
            float32 data, and odd-sized data for `odd_sizes`, are generated.
        input_data: instead of `input_shape`: an array (or list of arrays),
            or `CallArgs(...)` for several arguments
            (`CallArgs(values, indices, output_size=(16, 16))`).
        resized_data: with `input_data`, the same kind of value at other
            (odd) spatial sizes, a list of them; `Raises(value)` for inputs
            on which every mode must raise.
        wrap: for a layer used inside another, e.g. `keras.layers.RNN` for
            an RNN cell: the harness runs `wrap(layer)`.
        spatial_axes: input axes whose sizes vary (default 1 .. rank - 2 for
            inputs of rank >= 3).
        reference: a NumPy definition of the layer: called with the call's
            arguments (arrays as NumPy), it returns the expected outputs.
        size_only_inputs: positions, among the input arrays, of inputs the
            outputs depend on only through their size (`CropToMatch2D`'s
            reference): the fit step expects no gradient there.
        skip: `{aspect: reason}`; the reason must be a non-empty string.
        reloads: a `FreshProcessReloads` collecting fresh-process loads (its
            `check()` runs them); None runs one process now.
        imports: the modules the fresh process imports (default: the
            layer's subpackage, e.g. ["mpkeras.layers"]).
        name: the name in failure messages and reload files (default: the
            class name).
        rtol, atol: tolerances between modes (see the module docstring).
        seed: seeds the generated data and `keras.utils.set_random_seed`.

    Returns:
        `{aspect: "ok" | "n/a: why" | "skipped: reason"}`.

    Raises:
        AssertionError: listing every failed aspect, as
            "Name: aspect: error [file:line]".

    Example:

    >>> run_layer_test(BedOfNails2D, {"size": 2}, input_shape=(2, 16, 16, 3))["config"]
    'ok'
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    if (input_shape is None) == (input_data is None):
        raise ValueError("Pass exactly one of `input_shape` and `input_data`.")
    if input_shape is not None:
        base = _random_call(input_shape, rng)
        axes = [_spatial_axes(a, spatial_axes) for a in base.arrays()]
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        odd = [_odd(s, a) for s, a in zip(shapes, axes)]
        resized = (
            []
            if not any(axes)
            else [_random_call(odd if isinstance(input_shape, list) else odd[0], rng)]
        )
    else:
        base = _as_call(input_data)
        resized = [_as_resized(d) for d in (resized_data or [])]
    if name is None:
        name = layer_cls.__name__ if wrap is None else f"{wrap.__name__}({layer_cls.__name__})"
    contract = _LayerContract(
        layer_cls,
        init_kwargs or {},
        wrap,
        imports,
        size_only_inputs,
        name=name,
        base=base,
        resized=resized,
        spatial_axes=spatial_axes,
        reference=reference,
        skip=skip,
        reloads=reloads,
        rtol=rtol,
        atol=atol,
    )
    return contract.run()


def run_model_test(
    build,
    input_data,
    *,
    fit_data=None,
    compile_kwargs=None,
    resized_data=None,
    spatial_axes=None,
    skip=None,
    reloads=None,
    imports=None,
    name=None,
    rtol=RTOL,
    atol=ATOL,
    seed=0,
):
    """Run the model `build()` returns through every aspect of the contract.

    `build` is a zero-argument callable returning a new model each call (a
    model class, a builder with its arguments bound): the harness builds
    copies for mixed precision and the fit step. `input_data` is what the
    model is called on (an array, or a list for several inputs);
    `fit_data` is `x` or `(x, y)` for one `fit` step after
    `compile(**compile_kwargs)`. Other arguments as in `run_layer_test`;
    `imports` defaults to the model class's subpackage (for a functional
    model, those of the mpkeras layers inside).

    Example:

    >>> run_model_test(lambda: Perceptron(), x, fit_data=(x, y), skip={
    ...     "unknown_sizes": "features are a fixed vector"})
    """
    keras.utils.set_random_seed(seed)
    base = _as_call(input_data)
    resized = [_as_resized(d) for d in (resized_data or [])]
    contract = _ModelContract(
        build,
        fit_data,
        compile_kwargs,
        imports,
        name=name,
        base=base,
        resized=resized,
        spatial_axes=spatial_axes,
        skip=skip,
        reloads=reloads,
        rtol=rtol,
        atol=atol,
    )
    return contract.run()


class _ObjectiveContract(_Contract):
    """Losses and metrics: config round trip, serialisation, a compiled fit step."""

    def __init__(self, name, make, kind, y_true, y_pred, imports, **kwargs):
        self.aspects = LOSS_ASPECTS if kind == "loss" else METRIC_ASPECTS
        super().__init__(name, **kwargs)
        self.make, self.kind = make, kind
        self.y_true = np.asarray(y_true, "float32")
        self.y_pred = np.asarray(y_pred, "float32")
        self._imports = imports

    def value(self, obj):
        if self.kind == "loss":
            return keras.ops.convert_to_numpy(obj(self.y_true, self.y_pred))
        obj.reset_state()
        obj.update_state(self.y_true, self.y_pred)
        return keras.ops.convert_to_numpy(obj.result())

    def check_config(self):
        obj = self.make()
        expected = self.value(obj)
        if not hasattr(obj, "get_config"):  # a registered function
            get = keras.losses.get if self.kind == "loss" else keras.metrics.get
            again = get(keras.saving.serialize_keras_object(obj))
            assert again is obj, f"deserialising gave {again!r}, not {obj!r}"
            return "ok (function: serialize/deserialize gives the same object)"
        clone = type(obj).from_config(obj.get_config())
        assert clone.get_config() == obj.get_config(), (
            f"from_config(get_config()) has another config: {clone.get_config()}"
        )
        again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
        assert type(again) is type(obj), f"deserialising gave a {type(again).__name__}"
        for what, other in (("from_config", clone), ("deserialised", again)):
            np.testing.assert_allclose(
                self.value(other), expected, rtol=self.rtol, atol=self.atol, err_msg=f"{what} value"
            )
        if self.kind == "metric":
            obj.reset_state()
            fresh = keras.ops.convert_to_numpy(obj.result())
            np.testing.assert_allclose(
                fresh,
                keras.ops.convert_to_numpy(type(obj).from_config(obj.get_config()).result()),
                err_msg="reset_state does not give a fresh metric's result",
            )

    def model(self):
        """An identity Dense on y_pred's last axis, compiled with the object."""
        inputs = keras.Input(self.y_pred.shape[1:])
        outputs = keras.layers.Dense(
            self.y_pred.shape[-1], kernel_initializer="identity", bias_initializer="zeros"
        )(inputs)
        model = keras.Model(inputs, outputs)
        if self.kind == "loss":
            model.compile(optimizer=keras.optimizers.SGD(0.01), loss=self.make())
        else:
            model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", metrics=[self.make()])
        return model

    def check_saving(self):
        model = self.model()
        model.run_eagerly = True  # one batch: tracing would cost more than it runs
        logs = model.evaluate(
            self.y_pred, self.y_true, batch_size=len(self.y_pred), verbose=0, return_dict=True
        )
        self.reloads.add(
            _file_name(self.name),
            model,
            [self.y_pred],
            imports=self._imports,
            targets=[self.y_true],
            evaluate=logs,
        )
        return "ok (fresh process: see FreshProcessReloads.check)"

    def check_fit(self):
        model = self.model()
        kernel = model.layers[-1].kernel
        before = np.array(kernel.numpy())
        history = model.fit(
            self.y_pred, self.y_true, batch_size=len(self.y_pred), epochs=1, verbose=0
        )
        for key, values in history.history.items():
            assert np.isfinite(values[-1]), f"fit step logged {key}={values[-1]}"
        if self.kind == "loss":
            assert not np.array_equal(kernel.numpy(), before), (
                "one fit step left the kernel unchanged"
            )


def run_loss_test(
    loss,
    init_kwargs=None,
    y_true=None,
    y_pred=None,
    *,
    skip=None,
    reloads=None,
    imports=None,
    name=None,
    rtol=RTOL,
    atol=ATOL,
    seed=0,
):
    """Run a loss class (`loss(**init_kwargs)`) or a registered loss function
    through `LOSS_ASPECTS`: config round trip and (de)serialisation giving the
    same value, a `.keras` model compiled with it evaluating the same in a
    fresh process, and one `fit` step with a finite loss that moves the
    weights. `y_pred` must be a valid prediction (e.g. in (0, 1) for
    probabilities).

    Example:

    >>> run_loss_test(BernoulliNLL, {}, y_true, y_pred)
    """
    keras.utils.set_random_seed(seed)
    if isinstance(loss, type):

        def make():
            return loss(**(init_kwargs or {}))

        default_name = loss.__name__
    else:

        def make():
            return loss

        default_name = getattr(loss, "__name__", type(loss).__name__)
    imports = imports if imports is not None else [_subpackage(loss)]
    return _ObjectiveContract(
        name or default_name,
        make,
        "loss",
        y_true,
        y_pred,
        imports,
        skip=skip,
        reloads=reloads,
        rtol=rtol,
        atol=atol,
    ).run()


def run_metric_test(
    metric_cls,
    init_kwargs=None,
    y_true=None,
    y_pred=None,
    *,
    skip=None,
    reloads=None,
    imports=None,
    name=None,
    rtol=RTOL,
    atol=ATOL,
    seed=0,
):
    """Run `metric_cls(**init_kwargs)` through `METRIC_ASPECTS` (as `run_loss_test`;
    the model is compiled with loss "mse" and the metric, and its `evaluate`
    results must come back in a fresh process; `reset_state` gives a fresh
    metric's result).

    Example:

    >>> run_metric_test(PSNR, {"max_val": 1.0}, clean, noisy)
    """
    keras.utils.set_random_seed(seed)
    imports = imports if imports is not None else [_subpackage(metric_cls)]
    return _ObjectiveContract(
        name or metric_cls.__name__,
        lambda: metric_cls(**(init_kwargs or {})),
        "metric",
        y_true,
        y_pred,
        imports,
        skip=skip,
        reloads=reloads,
        rtol=rtol,
        atol=atol,
    ).run()
