"""`run_model_test`: a model builder through every aspect of the contract."""

import keras
import numpy as np

from mpkeras.testing.callable_contract import CallableContract
from mpkeras.testing.comparison import ATOL, RTOL
from mpkeras.testing.inputs import as_call, as_resized
from mpkeras.testing.reloads import subpackage


class ModelContract(CallableContract):
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
        module = subpackage(type(self.subject))
        if module:
            return [module]
        return sorted(
            {
                n
                for n in (
                    subpackage(type(layer))
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
    base = as_call(input_data)
    resized = [as_resized(d) for d in (resized_data or [])]
    contract = ModelContract(
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
