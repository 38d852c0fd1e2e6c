"""`run_layer_test`: a layer class through every aspect of the contract."""

import keras
import numpy as np

from mpkeras.testing.callable_contract import CallableContract
from mpkeras.testing.comparison import ATOL, RTOL
from mpkeras.testing.inputs import as_call, as_resized, odd_shape, random_call, spatial_axes_of
from mpkeras.testing.reloads import subpackage


class LayerContract(CallableContract):
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
        module = subpackage(self.layer_cls)
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
        base = random_call(input_shape, rng)
        axes = [spatial_axes_of(a, spatial_axes) for a in base.arrays()]
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        odd = [odd_shape(s, a) for s, a in zip(shapes, axes)]
        resized = (
            []
            if not any(axes)
            else [random_call(odd if isinstance(input_shape, list) else odd[0], rng)]
        )
    else:
        base = as_call(input_data)
        resized = [as_resized(d) for d in (resized_data or [])]
    if name is None:
        name = layer_cls.__name__ if wrap is None else f"{wrap.__name__}({layer_cls.__name__})"
    contract = LayerContract(
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
