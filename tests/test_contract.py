"""Every registered mpkeras class and function goes through `mpkeras.testing`.

`CASES` maps each name registered under package "mpkeras" to a harness call
with small inputs (16x16 images, 4 units); `test_every_registered_object_has_a_case`
fails when a class is registered without one, so no public layer, model, loss
or metric skips the contract. Each case saves its `.keras` files into one
`FreshProcessReloads`; the last test of this file reloads all of them with
plain `keras.saving.load_model` in ONE fresh process, which imports keras and
then each subpackage in turn (losses, layers, metrics, models), loading a
subpackage's files right after its import and checking that its classes were
not registered before it.

The MaxUnpooling cases also compare with a NumPy scatter reference and
include odd sizes without `output_size`: where an index falls outside the
default grid, every mode must raise. The toy `Scale` layer below plants one
bug per aspect, so each aspect is shown to fail when it should.

Heavier variants (other paddings, overlapping windows, other likelihoods,
Keras's own layers as a check against false alarms) are marked slow.
"""

import functools
import importlib

import keras
import numpy as np
import pytest

from mpkeras import testing
from mpkeras.layers import (
    BedOfNails2D,
    Elman,
    ElmanCell,
    ExplicitConv2D,
    MaxPoolingWithArgmax1D,
    MaxPoolingWithArgmax2D,
    MaxPoolingWithArgmax3D,
    MaxUnpooling1D,
    MaxUnpooling2D,
    MaxUnpooling3D,
    Sampling,
)
from mpkeras.losses import (
    BernoulliNLL,
    GaussianNLL,
    LaplaceNLL,
    SummedOverSteps,
    bernoulli_nll,
    gaussian_kl,
    gaussian_nll,
    laplace_nll,
)
from mpkeras.metrics import PSNR, SSIM
from mpkeras.models import VAE, Autoencoder, Perceptron, build_decoder, build_encoder
from mpkeras.models.unet import CropToMatch2D, PadToMultiple2D
from mpkeras.saving import register_all

FIXED_SIZE = "its Dense encoder and decoder are built for 16x16 inputs"


def registered_objects():
    """{"mpkeras>Name": object} of everything registered under package "mpkeras".

    As `tests/test_reference_models.py` lists them: the registering modules
    are imported (`register_all`, and the subpackages that register nothing
    today), then Keras's registry is filtered by the package name.
    """
    register_all()
    for name in ("mpkeras.callbacks", "mpkeras.diagnostics", "mpkeras.ops"):
        importlib.import_module(name)
    return {
        name: obj
        for name, obj in keras.saving.get_custom_objects().items()
        if name.startswith("mpkeras>")
    }


def _rng():
    return np.random.default_rng(0)


def _unpool_inputs(pool_cls, shape, output_size=None, **pool_kwargs):
    """`CallArgs(values, indices[, output_size=...])` from a pooling of random data.

    `output_size="tensor"` passes the pre-pooling tensor itself (the way to
    unpool to an odd or unknown size in a functional model), "ints" its size.
    """
    x = _rng().standard_normal(shape).astype("float32")
    values, indices = pool_cls(**pool_kwargs)(x)
    kwargs = {}
    if output_size == "tensor":
        kwargs["output_size"] = x
    elif output_size == "ints":
        kwargs["output_size"] = tuple(shape[1:-1])
    return testing.CallArgs(np.asarray(values), np.asarray(indices), **kwargs)


def _default_size(size, pool_size=2, strides=None, padding="valid"):
    """The size MaxUnpooling gives without `output_size` (../shared/DESIGN.md)."""
    k, s = pool_size, strides or pool_size
    pooled = (size - k) // s + 1 if padding == "valid" else -(-size // s)
    return (pooled - 1) * s + k if padding == "valid" else pooled * s


def unpool_reference(values, indices, output_size=None, **pool_kwargs):
    """NumPy max unpooling: value i at the flat position (y * W + x) * C + c
    its index names within its image (tf.nn.max_pool_with_argmax's
    convention), zeros elsewhere; the size is `output_size` (a tensor's
    spatial shape or ints) or the default one."""
    if output_size is None:
        pooled = values.shape[1:-1]
        k, s = (
            pool_kwargs.get("pool_size", 2),
            pool_kwargs.get("strides") or pool_kwargs.get("pool_size", 2),
        )
        valid = pool_kwargs.get("padding", "valid") == "valid"
        spatial = [(n - 1) * s + k if valid else n * s for n in pooled]
    elif isinstance(output_size, np.ndarray):
        spatial = output_size.shape[1:-1]
    else:
        spatial = list(output_size)
    batch, channels = values.shape[0], values.shape[-1]
    out = np.zeros((batch, int(np.prod(spatial)) * channels), values.dtype)
    for b in range(batch):
        flat = indices[b].ravel()
        assert len(np.unique(flat)) == flat.size, "the reference assumes distinct indices"
        out[b, flat] = values[b].ravel()
    return out.reshape((batch, *spatial, channels))


def unpool_case(unpool_cls, pool_cls, shape, odd_shape, output_size="tensor", **kwargs):
    """At the odd size: unpooled to the size `output_size` gives; and without
    it, to the default size, where each value goes to the position its index
    names in that grid -- all modes must agree -- unless some index lies
    outside it: then every mode must raise (never drop a value silently)."""
    without = _unpool_inputs(pool_cls, odd_shape, **kwargs)
    default = np.prod([_default_size(n, **kwargs) for n in odd_shape[1:-1]]) * odd_shape[-1]
    outside = int(without.arrays()[1].max()) >= default

    def run(reloads, name):
        return testing.run_layer_test(
            unpool_cls,
            kwargs,
            input_data=_unpool_inputs(pool_cls, shape, **kwargs),
            resized_data=[
                _unpool_inputs(pool_cls, odd_shape, output_size, **kwargs),
                testing.Raises(without) if outside else without,
            ],
            reference=functools.partial(unpool_reference, **kwargs),
            reloads=reloads,
            name=name,
        )

    return run


def layer_case(layer_cls, init_kwargs, input_shape, **options):
    def run(reloads, name):
        return testing.run_layer_test(
            layer_cls,
            init_kwargs,
            input_shape=input_shape,
            reloads=reloads,
            name=name,
            **options,
        )

    return run


def perceptron_case(reloads, name):
    rng = _rng()
    x = rng.standard_normal((8, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 1.0]) > 0).astype("float32")
    return testing.run_model_test(
        lambda: Perceptron(kernel_initializer="glorot_uniform"),
        x,
        fit_data=(x, y),
        reloads=reloads,
        name=name,
    )


def _images(shape=(4, 16, 16, 1)):
    return _rng().uniform(size=shape).astype("float32")


def autoencoder_case(reloads, name):
    x = _images()

    def build():
        return Autoencoder(
            build_encoder((16, 16, 1), 4, hidden=(8,)), build_decoder(4, (16, 16, 1), hidden=(8,))
        )

    return testing.run_model_test(
        build,
        x,
        fit_data=(x, x),
        compile_kwargs={"optimizer": "adam", "loss": "mse"},
        skip={"unknown_sizes": FIXED_SIZE, "odd_sizes": FIXED_SIZE},
        reloads=reloads,
        name=name,
    )


def vae_case(reloads, name, **vae_kwargs):
    x = _images()

    def build():
        return VAE(
            build_encoder((16, 16, 1), 8, hidden=(8,), name="encoder"),
            build_decoder(4, (16, 16, 1), hidden=(8,), output_activation=None, name="decoder"),
            from_logits=True,
            seed=0,
            **vae_kwargs,
        )

    return testing.run_model_test(
        build,
        x,
        fit_data=x,
        compile_kwargs={"optimizer": "adam"},
        skip={"unknown_sizes": FIXED_SIZE, "odd_sizes": FIXED_SIZE},
        reloads=reloads,
        name=name,
    )


def loss_case(loss, init_kwargs=None, kind="probabilities", shape=(4, 6)):
    rng = _rng()
    y_true = (rng.uniform(size=shape) > 0.5).astype("float32")
    if kind == "probabilities":
        y_pred = rng.uniform(0.05, 0.95, size=shape).astype("float32")
    else:
        y_true = rng.standard_normal(shape).astype("float32")
        y_pred = rng.standard_normal(shape).astype("float32")

    def run(reloads, name):
        return testing.run_loss_test(loss, init_kwargs, y_true, y_pred, reloads=reloads, name=name)

    return run


def metric_case(metric_cls, init_kwargs):
    clean = _images()
    noisy = np.clip(clean + 0.1 * _rng().standard_normal(clean.shape), 0, 1).astype("float32")

    def run(reloads, name):
        return testing.run_metric_test(
            metric_cls, init_kwargs, clean, noisy, reloads=reloads, name=name
        )

    return run


CASES = {
    "mpkeras>ExplicitConv2D": layer_case(
        ExplicitConv2D, {"filters": 4, "kernel_size": 3}, (2, 16, 16, 3)
    ),
    "mpkeras>MaxPoolingWithArgmax1D": layer_case(
        MaxPoolingWithArgmax1D, {"pool_size": 2}, (2, 16, 3)
    ),
    "mpkeras>MaxPoolingWithArgmax2D": layer_case(
        MaxPoolingWithArgmax2D, {"pool_size": 2}, (2, 16, 16, 3)
    ),
    "mpkeras>MaxPoolingWithArgmax3D": layer_case(
        MaxPoolingWithArgmax3D, {"pool_size": 2}, (2, 8, 8, 8, 2)
    ),
    "mpkeras>MaxUnpooling1D": unpool_case(
        MaxUnpooling1D, MaxPoolingWithArgmax1D, (2, 16, 3), (2, 17, 3), pool_size=2
    ),
    "mpkeras>MaxUnpooling2D": unpool_case(
        MaxUnpooling2D, MaxPoolingWithArgmax2D, (2, 16, 16, 3), (2, 17, 19, 3), pool_size=2
    ),
    "mpkeras>MaxUnpooling3D": unpool_case(
        MaxUnpooling3D, MaxPoolingWithArgmax3D, (2, 8, 8, 8, 2), (2, 9, 11, 7, 2), pool_size=2
    ),
    "mpkeras>BedOfNails2D": layer_case(BedOfNails2D, {"size": 2}, (2, 16, 16, 3)),
    "mpkeras>ElmanCell": layer_case(ElmanCell, {"units": 4}, (2, 16, 3), wrap=keras.layers.RNN),
    "mpkeras>Elman": layer_case(Elman, {"units": 4, "return_sequences": True}, (2, 16, 3)),
    "mpkeras>Sampling": layer_case(Sampling, {"seed": 0}, [(2, 4), (2, 4)]),
    "mpkeras>PadToMultiple2D": layer_case(PadToMultiple2D, {"multiple": 4}, (2, 16, 16, 3)),
    "mpkeras>CropToMatch2D": layer_case(
        CropToMatch2D, {}, [(2, 20, 20, 3), (2, 16, 16, 3)], size_only_inputs=(1,)
    ),
    "mpkeras>Perceptron": perceptron_case,
    "mpkeras>Autoencoder": autoencoder_case,
    "mpkeras>VAE": vae_case,
    "mpkeras>BernoulliNLL": loss_case(BernoulliNLL, {}),
    "mpkeras>GaussianNLL": loss_case(GaussianNLL, {"sigma": 0.5}, kind="real"),
    "mpkeras>LaplaceNLL": loss_case(LaplaceNLL, {"scale": 2.0}, kind="real"),
    "mpkeras>SummedOverSteps": loss_case(
        SummedOverSteps, {"loss": "mse"}, kind="real", shape=(4, 5, 3)
    ),
    "mpkeras>bernoulli_nll": loss_case(bernoulli_nll),
    "mpkeras>gaussian_nll": loss_case(gaussian_nll, kind="real"),
    "mpkeras>laplace_nll": loss_case(laplace_nll, kind="real"),
    "mpkeras>gaussian_kl": loss_case(gaussian_kl, kind="real"),
    "mpkeras>PSNR": metric_case(PSNR, {"max_val": 1.0}),
    "mpkeras>SSIM": metric_case(SSIM, {"max_val": 1.0, "filter_size": 5}),
}

SLOW_CASES = {
    "MaxPoolingWithArgmax2D-same-overlapping": layer_case(
        MaxPoolingWithArgmax2D, {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 16, 16, 3)
    ),
    "MaxUnpooling2D-same": unpool_case(
        MaxUnpooling2D,
        MaxPoolingWithArgmax2D,
        (2, 16, 16, 3),
        (2, 17, 19, 3),
        pool_size=2,
        padding="same",
    ),
    "MaxUnpooling2D-output-size-ints": unpool_case(
        MaxUnpooling2D,
        MaxPoolingWithArgmax2D,
        (2, 16, 16, 3),
        (2, 17, 19, 3),
        "ints",
        pool_size=2,
    ),
    "MaxUnpooling2D-3x3-stride-3": unpool_case(
        MaxUnpooling2D,
        MaxPoolingWithArgmax2D,
        (2, 18, 18, 3),
        (2, 19, 17, 3),
        pool_size=3,
    ),
    "ExplicitConv2D-same-strided": layer_case(
        ExplicitConv2D,
        {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
        (2, 16, 16, 3),
    ),
    "BedOfNails2D-2x3": layer_case(BedOfNails2D, {"size": (2, 3)}, (2, 16, 16, 3)),
    "Elman-last-state": layer_case(Elman, {"units": 4, "return_state": True}, (2, 16, 3)),
    "VAE-beta-gaussian": lambda reloads, name: vae_case(
        reloads, name, beta=4.0, likelihood="gaussian"
    ),
    "VAE-kl-threshold": lambda reloads, name: vae_case(reloads, name, kl_threshold=2.0),
}


@pytest.fixture(scope="module")
def reloads(tmp_path_factory):
    return testing.FreshProcessReloads(tmp_path_factory.mktemp("contract"))


def test_every_registered_object_has_a_case():
    registered = set(registered_objects())
    assert registered, "no registered mpkeras objects found"
    missing = sorted(registered - set(CASES))
    assert not missing, f"registered mpkeras objects without a contract case: {missing}"
    stale = sorted(set(CASES) - registered)
    assert not stale, f"contract cases for names no longer registered: {stale}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_contract(name, reloads):
    CASES[name](reloads, name.replace("mpkeras>", ""))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW_CASES))
def test_contract_variants(name, reloads):
    SLOW_CASES[name](reloads, name)


# ---------------------------------------------------------------------------
# The harness finds what it promises to find: toy layers, each with one bug.
# They are registered under another package, so they are no contract case.


def only(aspect):
    """`skip` for every aspect but one (these tests look at one bug each)."""
    return {a: f"this test checks only {aspect}" for a in testing.ASPECTS if a != aspect}


@keras.saving.register_keras_serializable(package="contract_test")
class Scale(keras.layers.Layer):
    """y = scale * x, with the bugs switched on by constructor flags."""

    def __init__(self, scale=2.0, bug=None, **kwargs):
        super().__init__(**kwargs)
        self.scale, self.bug = scale, bug

    def call(self, x):
        from keras import ops

        if self.bug == "eager_only" and not __import__("tensorflow").executing_eagerly():
            return x * (self.scale + 1.0)
        if self.bug == "static_shape":
            return ops.reshape(x * self.scale, (-1, x.shape[1] * x.shape[2], x.shape[3]))
        if self.bug == "no_gradient":
            return ops.stop_gradient(x) * self.scale
        if self.bug == "float32_output":
            return ops.cast(x * self.scale, "float32")
        return x * self.scale

    def compute_output_shape(self, shape):
        if self.bug == "wrong_shape":
            return (shape[0], shape[1] + 1, *shape[2:])
        if self.bug == "static_shape":
            return (shape[0], shape[1] * shape[2], shape[3])
        return shape

    def get_config(self):
        config = {**super().get_config(), "bug": self.bug}
        if self.bug != "config":
            config["scale"] = self.scale
        return config


@pytest.mark.parametrize(
    "bug, aspect, message",
    [
        ("config", "config", r"from_config clone vs original"),
        ("wrong_shape", "output_shape", r"compute_output_shape.* real outputs"),
        ("eager_only", "tf_function", r"graph vs eager"),
        ("eager_only", "jit_compile", r"graph vs eager"),
        ("static_shape", "unknown_sizes", r"\w+Error"),
        ("no_gradient", "fit", r"No gradients provided|identity probe on input 0"),
        ("float32_output", "mixed_bfloat16", r"dtype float32, expected bfloat16"),
    ],
)
def test_the_harness_finds_a_planted_bug(bug, aspect, message):
    with pytest.raises(AssertionError, match=rf"Scale: {aspect}: .*{message}"):
        testing.run_layer_test(
            Scale, {"scale": 3.0, "bug": bug}, input_shape=(2, 6, 6, 2), skip=only(aspect)
        )
    # The same aspect passes without the bug: the failure is the bug's.
    report = testing.run_layer_test(
        Scale, {"scale": 3.0}, input_shape=(2, 6, 6, 2), skip=only(aspect)
    )
    assert report[aspect] == "ok"


@pytest.mark.slow
@pytest.mark.parametrize(
    "layer_cls, init_kwargs, input_shape",
    [
        (keras.layers.Conv2D, {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 16, 16, 3)),
        (keras.layers.MaxPooling2D, {"pool_size": 2}, (2, 16, 16, 3)),
        (keras.layers.BatchNormalization, {}, (2, 16, 16, 3)),
        (keras.layers.LSTM, {"units": 4, "return_sequences": True}, (2, 16, 3)),
        (keras.layers.GaussianNoise, {"stddev": 0.1, "seed": 0}, (2, 16, 16, 3)),
    ],
)
def test_keras_own_layers_pass_the_contract(layer_cls, init_kwargs, input_shape, reloads):
    """No false alarms: Keras's layers meet every aspect (reloaded with the rest)."""
    report = testing.run_layer_test(
        layer_cls,
        init_kwargs,
        input_shape=input_shape,
        reloads=reloads,
        name=f"keras-{layer_cls.__name__}",
    )
    assert report.pop("reference") == "n/a: no reference given"
    assert all(v.startswith("ok") for v in report.values()), report


def test_skipping_an_aspect_needs_a_reason():
    for skip in ({"fit": ""}, {"fit": None}, {"fitting": "no such aspect"}):
        with pytest.raises(ValueError, match="skip"):
            testing.run_layer_test(Scale, {}, input_shape=(2, 4, 4, 1), skip=skip)


PLANTED = "planted-unregistered"


def test_a_class_the_subpackage_does_not_register_fails_the_fresh_process(reloads):
    """`Scale` is registered only by this test module: a fresh process that
    imports the subpackages cannot load it (checked by the last test)."""
    x = np.ones((2, 4, 4, 1), "float32")
    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, Scale()(inputs))
    assert reloads.add(PLANTED, model, [x], imports=["mpkeras.layers"], outputs=model(x)) == PLANTED


def test_saved_files_reload_in_a_fresh_process(reloads):
    """Last in this file: every `.keras` the cases above wrote, reloaded after
    `import keras; import mpkeras.<subpackage>` only."""
    if not set(reloads.entries) - {PLANTED}:
        pytest.skip("no contract case ran in this session (run the file, not this test)")
    outcome = reloads.check(raise_on_failure=False)
    planted = outcome.pop(PLANTED, None)
    if PLANTED in reloads.entries:
        assert planted and "Could not locate class 'Scale'" in planted, planted
    failures = {name: error for name, error in outcome.items() if error}
    assert not failures, "fresh-process reload (plain keras.saving.load_model) failed:\n" + (
        "\n".join(f"  {name}: {error}" for name, error in sorted(failures.items()))
    )
