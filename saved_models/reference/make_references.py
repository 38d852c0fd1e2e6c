"""Write the reference models of the saved-model compatibility test (issue 14).

Each reference is a tiny model holding one (or a few) of mpkeras's registered
classes, written as two files next to this script:

    <name>.keras   the model, saved by the code of the day it was generated;
    <name>.npz     its fixed input(s) and the outputs that code computed.

`tests/test_reference_models.py` loads every `<name>.keras` with the CURRENT
code (`keras.saving.load_model`, safe mode on), runs it on the stored input
and compares with the stored outputs, so a change that can no longer read an
old `.keras` file (a renamed constructor argument, a weight created under
another name, a changed `get_config`, a changed call) fails CI.

What an `.npz` holds (all plain arrays, loadable with `allow_pickle=False`):

    input_<i>          the i-th model input (the model is called on the list
                       of inputs, or on input_0 alone when there is one);
    output_<i>         the i-th flattened output of `model(inputs)`;
    classes            the registered names ("mpkeras>Elman", ...) of every
                       mpkeras layer/model inside the model and of every
                       mpkeras loss/metric it was compiled with;
    state:<attr.path>  a variable that matters beyond the outputs (VAE's
                       dual-ascent `beta`, its `train_steps` counter, the
                       `Sampling` seed state, the Perceptron's `updates`),
                       read BEFORE the model is called (a `Sampling` call
                       advances its seed state);
    method:<attr.path> the output of `model.<attr.path>(input_0)`, e.g. the
                       Perceptron's `decision_function`, a VAE's `encoder`;
    config             JSON of selected `get_config()` entries of an mpkeras
                       model class (VAE, Perceptron) that must come back;
    target_<i>, evaluate:<key>
                       for compiled models: targets, and the results of
                       `model.evaluate(inputs, targets)` run eagerly on one
                       batch (losses and metrics, so mpkeras losses and
                       metrics are deserialised AND compute the same values).

Stochastic layers: `Sampling` draws eps from its seeded `SeedGenerator`,
whose state `Sampling.save_own_variables` stores in the file. The generator
saves FIRST and computes the expected outputs afterwards on the original
model, so the stored outputs are exactly the draws that a model loaded from
the file must reproduce on its first call. The VAE's `call` is the
deterministic posterior-mean path; its sampled path is checked through
`evaluate` (the ELBO terms), which draws from the restored seed state.

Usage:

    python saved_models/reference/make_references.py            # add missing ones
    python saved_models/reference/make_references.py NAME ...   # only these
    python saved_models/reference/make_references.py --force    # regenerate

When to regenerate: NEVER just to make the test pass. The committed files
come from OLD code on purpose; a failure of the test means the current code
cannot read or reproduce a model users may already have saved. Fix the code
(keep accepting the old config, weight names, call signature), or, only when
a format change is intended and accepted, regenerate the affected references
with `--force NAME ...` and say so in the commit message ("intended format
change: ... old .keras files of X no longer load"). Adding a reference for a
new class needs no `--force`: files that exist are kept, missing ones are
written.

Everything is seeded (`keras.utils.set_random_seed` and NumPy generators per
reference), so a regeneration with unchanged code gives the same numbers.
"""

import argparse
import inspect
import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
MAX_BYTES = 1_000_000


# ---------------------------------------------------------------------------
# Helpers shared with tests/test_reference_models.py


def registered_objects():
    """{"mpkeras>Name": object} of every class/function mpkeras registers.

    `mpkeras.saving.register_all` imports every module of the packages it
    walks; the Keras registry is then filtered to names of package "mpkeras"
    defined in those packages (so an object some other module registers
    later does not make the result depend on import order).
    """
    import keras

    from mpkeras import saving

    saving.register_all()
    packages = tuple(saving._REGISTERING_PACKAGES) + ("mpkeras.losses",)

    def inside(module):
        return any(module == p or module.startswith(p + ".") for p in packages)

    return {
        name: obj
        for name, obj in keras.saving.get_custom_objects().items()
        if name.startswith("mpkeras>") and inside(obj.__module__)
    }


def _flat(structure):
    import keras

    if structure is None:
        return []
    if isinstance(structure, (list, tuple, dict)):
        return [s for s in keras.tree.flatten(structure) if s is not None]
    return [structure]


def compiled_objects(model):
    """The loss and metric objects (or functions) a model was compiled with."""
    objects = _flat(getattr(model, "loss", None))
    compile_metrics = getattr(model, "_compile_metrics", None)
    if compile_metrics is not None:
        objects += _flat(getattr(compile_metrics, "_user_metrics", None))
        objects += _flat(getattr(compile_metrics, "_user_weighted_metrics", None))
    return objects


def mpkeras_names(model, registry=None):
    """Registered names of the mpkeras objects in `model`, checked by identity.

    Walks every layer (recursively: sub-models, RNN cells) and the compiled
    losses and metrics. Raises AssertionError when an object's class or
    function is an mpkeras one that is not the registered object (which would
    mean deserialisation built something else under that name).
    """
    registry = registered_objects() if registry is None else registry
    by_identity = {id(obj): name for name, obj in registry.items()}
    names = set()
    candidates = list(model._flatten_layers(include_self=True, recursive=True))
    candidates += compiled_objects(model)
    for obj in candidates:
        target = obj if inspect.isfunction(obj) else type(obj)
        name = by_identity.get(id(target))
        if name is not None:
            names.add(name)
        elif getattr(target, "__module__", "").startswith("mpkeras"):
            raise AssertionError(
                f"{target!r} from {target.__module__} is not a registered mpkeras object"
            )
    return sorted(names)


def get_path(obj, path):
    """`obj.a.b` for path "a.b"; a part "@name" is `obj.get_layer("name")`."""
    for part in path.split("."):
        obj = obj.get_layer(part[1:]) if part.startswith("@") else getattr(obj, part)
    return obj


def as_array(value):
    import keras

    return keras.ops.convert_to_numpy(value)


def call_model(model, inputs):
    """`model(inputs)` with inputs a list of arrays; flattened numpy outputs."""
    import keras

    args = inputs[0] if len(inputs) == 1 else list(inputs)
    return [as_array(o) for o in keras.tree.flatten(model(args, training=False))]


def evaluate_model(model, inputs, targets):
    """`model.evaluate` eagerly on one batch; {name: float}."""
    model.run_eagerly = True
    x = inputs[0] if len(inputs) == 1 else list(inputs)
    y = None if not targets else (targets[0] if len(targets) == 1 else list(targets))
    logs = model.evaluate(x, y, batch_size=len(inputs[0]), verbose=0, return_dict=True)
    return {k: float(v) for k, v in logs.items()}


# ---------------------------------------------------------------------------
# The references


class Reference:
    """A model to save, with its inputs and what else to record."""

    def __init__(self, model, inputs, targets=(), state=(), methods=(), config=(), evaluate=False):
        self.model = model
        self.inputs = [inputs] if not isinstance(inputs, (list, tuple)) else list(inputs)
        self.targets = [targets] if not isinstance(targets, (list, tuple)) else list(targets)
        self.state = tuple(state)
        self.methods = tuple(methods)
        self.config = tuple(config)
        self.evaluate = evaluate


def _train_one_step(model, x, y):
    """One optimizer step, so the file holds built optimizer state as a
    trained model's does (an unbuilt optimizer makes Keras warn on load)."""
    model.fit(x, y, epochs=1, batch_size=len(x), verbose=0, shuffle=False)


def _rng(seed):
    import numpy as np

    return np.random.default_rng(seed)


def ref_explicit_conv2d(seed):
    import keras

    from mpkeras.layers import ExplicitConv2D

    inputs = keras.Input((8, 8, 1), name="image")
    x = ExplicitConv2D(3, 3, strides=(2, 1), padding="same", activation="relu", name="conv")(inputs)
    x = ExplicitConv2D(2, (2, 3), padding="valid", use_bias=False, name="conv_valid")(x)
    model = keras.Model(inputs, x, name="explicit_conv2d")
    return Reference(model, _rng(seed).normal(size=(2, 8, 8, 1)).astype("float32"))


def _pool_unpool(rank, shape, pool_size, strides, padding, output_size, seed):
    import keras

    from mpkeras import layers

    pool_class = getattr(layers, f"MaxPoolingWithArgmax{rank}D")
    unpool_class = getattr(layers, f"MaxUnpooling{rank}D")
    inputs = keras.Input(shape, name="x")
    values, indices = pool_class(pool_size, strides=strides, padding=padding, name="pool")(inputs)
    unpooled = unpool_class(pool_size, strides=strides, padding=padding, name="unpool")(
        values, indices, output_size=output_size
    )
    model = keras.Model(inputs, [values, indices, unpooled], name=f"max_unpooling_{rank}d")
    # Continuous random values: no ties, so the argmax is unambiguous.
    x = _rng(seed).normal(size=(2, *shape)).astype("float32")
    return Reference(model, x)


def ref_max_unpooling_1d(seed):
    # Overlapping windows (k=3, s=2), 9 -> 4 -> 9.
    return _pool_unpool(1, (9, 2), 3, 2, "valid", None, seed)


def ref_max_unpooling_2d(seed):
    # Odd size with "same" padding: 7x7 -> 4x4 -> 7x7 needs output_size.
    return _pool_unpool(2, (7, 7, 2), 2, None, "same", (7, 7), seed)


def ref_max_unpooling_3d(seed):
    return _pool_unpool(3, (4, 4, 4, 1), 2, None, "valid", None, seed)


def ref_bed_of_nails_2d(seed):
    import keras

    from mpkeras.layers import BedOfNails2D

    inputs = keras.Input((4, 4, 2), name="x")
    model = keras.Model(inputs, BedOfNails2D((2, 3), name="bed")(inputs), name="bed_of_nails_2d")
    return Reference(model, _rng(seed).normal(size=(2, 4, 4, 2)).astype("float32"))


def ref_elman(seed):
    import keras

    from mpkeras.layers import Elman

    inputs = keras.Input((5, 3), name="x")
    sequence, state = Elman(
        4, activation="tanh", return_sequences=True, return_state=True, name="elman"
    )(inputs)
    last = Elman(3, go_backwards=True, use_bias=False, name="elman_backwards")(sequence)
    model = keras.Model(inputs, [sequence, state, last], name="elman")
    return Reference(model, _rng(seed).normal(size=(2, 5, 3)).astype("float32"))


def ref_elman_cell(seed):
    import keras

    from mpkeras.layers import ElmanCell

    inputs = keras.Input((5, 3), name="x")
    # The cell inside keras.layers.RNN is serialised through its own config
    # (Elman folds the cell's config into its own instead).
    outputs = keras.layers.RNN(
        ElmanCell(4, activation="relu", dropout=0.25, seed=3), return_sequences=True, name="rnn"
    )(inputs)
    model = keras.Model(inputs, outputs, name="elman_cell")
    return Reference(model, _rng(seed).normal(size=(2, 5, 3)).astype("float32"))


def ref_sampling(seed):
    import keras

    from mpkeras.layers import Sampling

    mean = keras.Input((3,), name="mean")
    log_var = keras.Input((3,), name="log_var")
    layer = Sampling(seed=11, name="sampling")
    model = keras.Model([mean, log_var], layer([mean, log_var]), name="sampling")
    rng = _rng(seed)
    inputs = [
        rng.normal(size=(4, 3)).astype("float32"),
        rng.normal(scale=0.5, size=(4, 3)).astype("float32"),
    ]
    # Advance the seed state past its initial value, so the file must carry
    # the state itself (not just the seed) for the draws to match.
    model(inputs)
    model(inputs)
    return Reference(model, inputs, state=["@sampling.seed_generator.state"])


def ref_perceptron(seed):
    import numpy as np

    from mpkeras.models import Perceptron

    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], "float32")
    y = np.array([0, 0, 0, 1], "float32")  # AND: linearly separable
    model = Perceptron(learning_rate=0.5, name="perceptron")
    model.compile(metrics=["binary_accuracy"])
    model.fit(x, y, epochs=10, batch_size=4, verbose=0, shuffle=False)
    return Reference(
        model,
        x,
        targets=y,
        state=["kernel", "bias", "updates"],
        methods=["decision_function"],
        config=["learning_rate", "use_bias", "kernel_initializer", "bias_initializer"],
        evaluate=True,
    )


def ref_autoencoder(seed):
    from mpkeras.losses import BernoulliNLL
    from mpkeras.metrics import PSNR, SSIM
    from mpkeras.models import build_autoencoder

    model = build_autoencoder(
        (8, 8, 1), latent_dim=3, kind="conv", hidden=(4, 8), name="autoencoder"
    )
    model.compile(optimizer="adam", loss=BernoulliNLL(), metrics=[PSNR(), SSIM(filter_size=5)])
    x = _rng(seed).uniform(size=(3, 8, 8, 1)).astype("float32")
    _train_one_step(model, x, x)
    return Reference(model, x, targets=x, methods=["encoder"], evaluate=True)


_VAE_CONFIG = [
    "likelihood",
    "beta",
    "kl_threshold",
    "beta_learning_rate",
    "capacity",
    "capacity_steps",
    "sigma",
    "from_logits",
    "seed",
]


def ref_vae_constrained(seed):
    from mpkeras.models import build_vae

    model = build_vae(
        (8, 8, 1),
        2,
        kind="mlp",
        hidden=(8,),
        kl_threshold=0.5,
        beta=1.0,
        beta_learning_rate=0.5,
        # The committed file's decoder ends in a linear layer (logits), as
        # build_vae's default was then; it is from_logits=False now.
        from_logits=True,
        seed=5,
        name="vae_constrained",
    )
    model.compile(optimizer="adam")
    x = (_rng(seed).uniform(size=(4, 8, 8, 1)) > 0.5).astype("float32")
    # Three dual-ascent steps: beta moves away from its initial 1.0 and
    # train_steps counts 3; both must come back from the file.
    model.fit(x, epochs=3, batch_size=4, verbose=0, shuffle=False)
    return Reference(
        model,
        x,
        state=["beta", "train_steps", "sampling.seed_generator.state"],
        methods=["encoder"],
        config=_VAE_CONFIG,
        evaluate=True,
    )


def ref_vae_capacity(seed):
    from mpkeras.models import build_vae

    model = build_vae(
        (8, 8, 1),
        2,
        kind="conv",
        hidden=(2, 4),
        likelihood="gaussian",
        sigma=0.5,
        beta=4.0,
        capacity=3.0,
        capacity_steps=100,
        # As the committed file's config (the VAE's default then); a Gaussian
        # decoder outputs means either way.
        from_logits=True,
        seed=6,
        name="vae_capacity",
    )
    model.compile(optimizer="adam")
    x = _rng(seed).uniform(size=(4, 8, 8, 1)).astype("float32")
    model.fit(x, epochs=2, batch_size=4, verbose=0, shuffle=False)
    return Reference(
        model,
        x,
        state=["beta", "train_steps", "sampling.seed_generator.state"],
        methods=["encoder"],
        config=_VAE_CONFIG,
        evaluate=True,
    )


def ref_mlp(seed):
    from mpkeras import losses
    from mpkeras.models import build_mlp

    model = build_mlp(
        (4,), hidden=(5, 3), activation="tanh", output_units=2, output="sigmoid", name="mlp"
    )
    # The registered loss functions, as a loss and as metrics.
    model.compile(
        optimizer="sgd",
        loss=losses.bernoulli_nll,
        metrics=[losses.gaussian_nll, losses.laplace_nll, losses.gaussian_kl],
    )
    rng = _rng(seed)
    x = rng.normal(size=(5, 4)).astype("float32")
    y = (rng.uniform(size=(5, 2)) > 0.5).astype("float32")
    _train_one_step(model, x, y)
    return Reference(model, x, targets=y, evaluate=True)


def ref_cnn(seed):
    from mpkeras.models import build_cnn

    model = build_cnn(
        (8, 8, 1),
        3,
        filters=(2, 3),
        kernel_size=3,
        padding="same",
        dense=(4,),
        dropout=0.25,
        conv="explicit",
        seed=1,
        name="cnn",
    )
    return Reference(model, _rng(seed).normal(size=(2, 8, 8, 1)).astype("float32"))


def ref_unet(seed):
    from mpkeras.models import build_unet

    # 6x6 with depth 2: padded to 8x8 inside, cropped back; SegNet-style
    # max unpooling with the pooling indices.
    model = build_unet((6, 6, 1), 3, depth=2, base_filters=2, upsampling="max_unpool", name="unet")
    return Reference(model, _rng(seed).normal(size=(2, 6, 6, 1)).astype("float32"))


def ref_unet_unknown_size(seed):
    from mpkeras.models import build_unet

    # Height and width unknown: PadToMultiple2D pads 9x6 to 12x8 at run time
    # and CropToMatch2D cuts the scores back to 9x6.
    model = build_unet(
        (None, None, 1), 2, depth=2, base_filters=2, batch_norm=False, name="unet_unknown_size"
    )
    return Reference(model, _rng(seed).normal(size=(2, 9, 6, 1)).astype("float32"))


def ref_unet_bed_of_nails(seed):
    from mpkeras.models import build_unet

    model = build_unet(
        (8, 8, 1),
        2,
        depth=1,
        base_filters=2,
        upsampling="bed_of_nails",
        batch_norm=False,
        name="unet_bed_of_nails",
    )
    return Reference(model, _rng(seed).normal(size=(2, 8, 8, 1)).astype("float32"))


def ref_rnn_seq2seq(seed):
    import keras

    from mpkeras.losses import SummedOverSteps
    from mpkeras.models import build_many_to_many

    # Encoder-decoder: the decoder Elman layers start from the encoder's
    # final states (initial_state in the functional graph).
    model = build_many_to_many(
        (6, 2), units=(3, 4), output_units=2, output_length=4, cell="elman", name="seq2seq"
    )
    # SummedOverSteps around a Loss instance (serialised inside its config).
    model.compile(optimizer="adam", loss=SummedOverSteps(keras.losses.MeanSquaredError()))
    rng = _rng(seed)
    x = rng.normal(size=(2, 6, 2)).astype("float32")
    y = rng.normal(size=(2, 4, 2)).astype("float32")
    _train_one_step(model, x, y)
    return Reference(model, x, targets=y, evaluate=True)


def ref_rnn_tokens(seed):

    from mpkeras.models.rnn import build_one_to_one

    # Token ids through Embedding(mask_zero=True): masked (padded) steps keep
    # the previous Elman state. Uncompiled; rnn_tokens_summed_loss below is
    # the same kind of model compiled with SummedOverSteps on masked outputs.
    model = build_one_to_one(
        (6,),
        units=4,
        output_units=3,
        vocabulary_size=10,
        embedding_dim=3,
        cell="elman",
        name="tokens",
    )
    x = _rng(seed).integers(1, 10, size=(3, 6)).astype("int64")
    x[0, 4:] = 0
    return Reference(model, x)


def ref_rnn_tokens_summed_loss(seed):
    import keras

    from mpkeras.losses import SummedOverSteps
    from mpkeras.models import build_one_to_one

    # SummedOverSteps on outputs that carry the Embedding's mask: the padded
    # steps are left out of each sequence's sum (evaluate checks the value).
    model = build_one_to_one(
        (6,),
        units=4,
        output_units=3,
        vocabulary_size=10,
        embedding_dim=3,
        cell="elman",
        name="tokens_summed_loss",
    )
    model.compile(
        optimizer="adam",
        loss=SummedOverSteps(keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
    )
    rng = _rng(seed)
    x = rng.integers(1, 10, size=(3, 6)).astype("int64")
    x[0, 4:] = 0
    x[1, 5:] = 0
    targets = [rng.integers(0, 3, size=(3, 6)).astype("int64")]
    _train_one_step(model, x, targets)
    return Reference(model, x, targets=targets, evaluate=True)


def ref_losses_and_metrics(seed):
    import keras

    from mpkeras.losses import BernoulliNLL, GaussianNLL, LaplaceNLL, SummedOverSteps
    from mpkeras.metrics import PSNR, SSIM

    inputs = keras.Input((8, 8, 1), name="image")
    image = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="image_out")(
        inputs
    )
    flat = keras.layers.Flatten(name="flatten")(inputs)
    mean = keras.layers.Dense(3, name="mean")(flat)
    median = keras.layers.Dense(3, name="median")(flat)
    steps = keras.layers.Reshape((4, 2), name="steps")(
        keras.layers.Dense(8, name="steps_dense")(flat)
    )
    model = keras.Model(inputs, [image, mean, median, steps], name="losses_and_metrics")
    model.compile(
        optimizer="adam",
        loss=[
            BernoulliNLL(axis=[1, 2]),
            GaussianNLL(sigma=0.5),
            LaplaceNLL(scale=2.0, reduction="sum"),
            SummedOverSteps("mae"),
        ],
        loss_weights=[1.0, 0.5, 0.25, 2.0],
        metrics=[[PSNR(max_val=1.0), SSIM(filter_size=3, k1=0.02)], [], [], []],
    )
    rng = _rng(seed)
    x = rng.uniform(size=(3, 8, 8, 1)).astype("float32")
    targets = [
        (rng.uniform(size=(3, 8, 8, 1)) > 0.5).astype("float32"),
        rng.normal(size=(3, 3)).astype("float32"),
        rng.normal(size=(3, 3)).astype("float32"),
        rng.normal(size=(3, 4, 2)).astype("float32"),
    ]
    _train_one_step(model, x, targets)
    return Reference(model, x, targets=targets, evaluate=True)


REFERENCES = {
    name[len("ref_") :]: function
    for name, function in sorted(globals().items())
    if name.startswith("ref_") and callable(function)
}


# ---------------------------------------------------------------------------
# Writing


def _config_json(model, keys):
    config = model.get_config()
    return json.dumps({k: config[k] for k in keys}, sort_keys=True)


def write_reference(name, directory, seed=0):
    """Build reference `name`, save `<name>.keras`, then record `<name>.npz`."""
    import keras
    import numpy as np

    keras.utils.set_random_seed(1000 + seed)
    ref = REFERENCES[name](seed)
    model = ref.model
    keras_path = directory / f"{name}.keras"
    model.save(keras_path)
    arrays = {f"input_{i}": np.asarray(x) for i, x in enumerate(ref.inputs)}
    arrays["classes"] = np.array(mpkeras_names(model), dtype=str)
    # State first: a Sampling call would advance the seed state.
    for path in ref.state:
        arrays[f"state:{path}"] = as_array(get_path(model, path))
    for i, out in enumerate(call_model(model, ref.inputs)):
        arrays[f"output_{i}"] = out
    for path in ref.methods:
        arrays[f"method:{path}"] = as_array(get_path(model, path)(ref.inputs[0]))
    if ref.config:
        arrays["config"] = np.array(_config_json(model, ref.config))
    if ref.evaluate:
        for i, t in enumerate(ref.targets):
            arrays[f"target_{i}"] = np.asarray(t)
        for key, value in evaluate_model(model, ref.inputs, ref.targets).items():
            arrays[f"evaluate:{key}"] = np.array(value)
    np.savez(directory / f"{name}.npz", **arrays)
    size = keras_path.stat().st_size
    if size >= MAX_BYTES:
        raise RuntimeError(f"{keras_path} is {size} bytes; references must stay under 1 MB")
    return keras_path, size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "names", nargs="*", help=f"references to write (default all): {', '.join(REFERENCES)}"
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite existing files (a deliberate format change)"
    )
    parser.add_argument(
        "--out", type=Path, default=HERE, help="directory (default: next to this script)"
    )
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in REFERENCES]
    if unknown:
        parser.error(f"unknown reference(s) {unknown}; known: {sorted(REFERENCES)}")
    names = args.names or sorted(REFERENCES)
    args.out.mkdir(parents=True, exist_ok=True)
    todo, kept = [], []
    for name in names:
        present = [p for p in (args.out / f"{name}.keras", args.out / f"{name}.npz") if p.exists()]
        if not present or args.force:
            todo.append(name)
        elif len(present) == 2:
            kept.append(name)
        else:
            parser.error(
                f"{present[0]} exists without its partner file; refusing to guess. "
                "Delete it or pass --force NAME to regenerate both."
            )
    for name in kept:
        print(f"kept     {name} (exists; pass --force {name} to regenerate it)")
    written = []
    for name in todo:
        path, size = write_reference(name, args.out)
        written.append(name)
        print(f"wrote    {path.name} ({size} bytes) and {name}.npz")
    return written


if __name__ == "__main__":
    main()
