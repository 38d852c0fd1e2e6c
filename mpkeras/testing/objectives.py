"""`run_loss_test` and `run_metric_test`: losses and metrics through the contract."""

import keras
import numpy as np

from mpkeras.testing.comparison import ATOL, RTOL
from mpkeras.testing.contract import LOSS_ASPECTS, METRIC_ASPECTS, Contract
from mpkeras.testing.reloads import file_name, subpackage


class ObjectiveContract(Contract):
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
            file_name(self.name),
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
    imports = imports if imports is not None else [subpackage(loss)]
    return ObjectiveContract(
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
    imports = imports if imports is not None else [subpackage(metric_cls)]
    return ObjectiveContract(
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
