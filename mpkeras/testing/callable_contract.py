"""The aspects of a Keras object that is called: layers and models alike."""

import json
import re
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from mpkeras.testing.comparison import (
    BF16_TOLERANCE,
    all_nan,
    assert_outputs_close,
    first_line,
    numpy_outputs,
)
from mpkeras.testing.contract import Contract
from mpkeras.testing.inputs import Raises, spatial_axes_of
from mpkeras.testing.reloads import file_name


class CallableContract(Contract):
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
        return [(a, spatial_axes_of(a, self.spatial_axes)) for a in call_args.arrays()]

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
                    f"{what}: raised {first_line(error)}, expected a message matching "
                    f"{raises.match!r}"
                ) from None
            return
        if what == "XLA" and all_nan(result):
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
        flat_reference = numpy_outputs(self.reference)
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
                actual, reference = numpy_outputs(outputs), numpy_outputs(self.reference)
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
            actual = [o.shape for o in numpy_outputs(self.eager(call_args))]
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
            computed = [tuple(s) for s in shape_list(computed)]
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
            computed = [tuple(s) for s in shape_list(self.output_shape_of(self.base, shapes))]
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
            file_name(self.name), model, arrays, imports=self.imports(), outputs=expected
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
        outputs = numpy_outputs(self.base.call(subject))
        reference = numpy_outputs(self.reference)
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


def shape_list(shapes):
    """A shape or a structure of shapes, as a flat list of shapes."""
    if hasattr(shapes, "as_list"):  # a tf.TensorShape
        return [tuple(shapes.as_list())]
    if isinstance(shapes, (tuple, list)) and all(
        s is None or isinstance(s, (int, np.integer)) for s in shapes
    ):
        return [tuple(shapes)]
    flat = []
    for s in shapes.values() if isinstance(shapes, dict) else shapes:
        flat += shape_list(s)
    return flat
