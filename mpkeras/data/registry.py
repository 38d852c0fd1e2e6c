"""The catalogue of datasets ``mpkeras.data`` knows, without importing TensorFlow.

Every dataset is described by a :class:`DatasetSpec`: where it comes from
(an offline builder in ``mpkeras.data.builders`` or a remote TFDS dataset),
which configs and splits it has, which tasks it can serve and which features
those tasks read. ``load``, ``info``, ``describe`` and ``prepare`` all resolve
names here first, so bad names fail fast with the list of valid ones.

Names follow TFDS: ``"name"`` or ``"name/config"``. Offline configs:

* ``toy2d/xor``, ``toy2d/blobs``
* ``sprites/small`` (default), ``sprites/full``
* ``adding/t10``, ``adding/t50`` (default), ``adding/t100``, ``adding/t200``
  and the same for ``copy``: ``t<T>`` is the sequence length T of the adding
  problem and the delay T of the copy task.
* ``digits`` and ``shapes`` have a single config and take a bare name.

A bare name selects the builder's default config (marked above; the first
listed otherwise).
"""

import dataclasses

TASKS = (
    "classification",
    "reconstruction",
    "denoising",
    "inpainting",
    "segmentation",
    "sequence",
    "factors",
)

# Tasks that map an image onto itself, possibly corrupted on the way in.
AUTOENCODING_TASKS = ("reconstruction", "denoising", "inpainting")

SEQUENCE_LENGTHS = (10, 50, 100, 200)

# Generated datasets draw each split from its own stream: index i of a split's
# random generator seed (toy2d blobs, shapes, adding, copy).
SPLIT_SEEDS = {"train": 0, "validation": 1, "test": 2}

# dSprites' generative factors, in the order of TFDS's `dsprites` labels.
SPRITE_FACTORS = ("shape", "scale", "orientation", "x_position", "y_position")

# The options of `load` that change what some tasks yield, and those tasks.
# An option given for another task would be accepted and ignored, so `load`
# refuses it (`check_options`).
TASK_OPTIONS = {
    "noise": ("denoising",),
    "noise_level": ("denoising",),
    "hole_size": ("inpainting",),
}
# The options of `load` that apply to image datasets only.
IMAGE_OPTIONS = ("binarize", "image_size", "normalize")
_KIND_PHRASES = {"points": "2-D points", "adding": "sequences", "copy": "sequences", "text": "text"}


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """How to find a dataset and turn its features into (inputs, targets).

    Args:
        name: TFDS name without config.
        source: ``"offline"`` (built here) or ``"remote"`` (downloaded by TFDS).
        kind: ``"image"``, ``"points"``, ``"adding"``, ``"copy"`` or ``"text"``;
            selects the feature-to-task mapping in ``mpkeras.data.tasks``.
        natural_task: the task used when ``load(task=None)``.
        tasks: every task the dataset can serve.
        splits: the split names the dataset has.
        builder: ``"module:Class"`` of an offline builder, else None.
        configs: config names of an offline builder.
        default: the default config (the first of ``configs`` when None).
        input_key: feature holding the inputs (image, points, text, ...).
        label_key: feature holding the class label, if any.
        mask_key: feature holding a per-pixel class mask, if any.
        mask_offset: subtracted from the mask so classes start at 0.
        pixel_max: the value of a white pixel as stored (255, or 1 for
            binary data).
        source_max: the white value of the original data when it is stored
            rescaled to 0..pixel_max (digits: 16); ``load(normalize=False)``
            returns the original range. None when stored as published.
        image_size: (height, width) images are resized to when their size
            varies (remote datasets only), else None.
        description: one line for listings.
    """

    name: str
    source: str
    kind: str
    natural_task: str
    tasks: tuple
    splits: tuple
    builder: str = None
    configs: tuple = ()
    default: str = None
    input_key: str = "image"
    label_key: str = None
    mask_key: str = None
    mask_offset: int = 0
    pixel_max: int = 255
    source_max: int = None
    image_size: tuple = None
    description: str = ""

    @property
    def default_config(self):
        if self.default:
            return self.default
        return self.configs[0] if self.configs else None


_IMAGE_TASKS = ("classification",) + AUTOENCODING_TASKS
_SEQ_CONFIGS = tuple(f"t{t}" for t in SEQUENCE_LENGTHS)
_TVT = ("train", "validation", "test")

_SPECS = (
    DatasetSpec(
        name="digits",
        source="offline",
        kind="image",
        natural_task="classification",
        tasks=_IMAGE_TASKS,
        splits=_TVT,
        builder="mpkeras.data.builders.digits:Digits",
        label_key="label",
        # scikit-learn's 0..16 counts, stored as round(v * 255 / 16).
        source_max=16,
        description="UCI handwritten digits from scikit-learn, 8x8 grey, 10 classes",
    ),
    DatasetSpec(
        name="sprites",
        source="offline",
        kind="image",
        natural_task="reconstruction",
        tasks=_IMAGE_TASKS + ("factors",),
        splits=("train",),
        builder="mpkeras.data.builders.sprites:Sprites",
        configs=("small", "full"),
        label_key="label_shape",
        pixel_max=1,
        description="dSprites factor grid rasterised procedurally, 64x64 binary",
    ),
    DatasetSpec(
        name="shapes",
        source="offline",
        kind="image",
        natural_task="segmentation",
        tasks=("segmentation",) + AUTOENCODING_TASKS,
        splits=_TVT,
        builder="mpkeras.data.builders.shapes:Shapes",
        mask_key="mask",
        description="64x64 RGB random shapes on textured noise, 4-class masks",
    ),
    DatasetSpec(
        name="adding",
        source="offline",
        kind="adding",
        natural_task="sequence",
        tasks=("sequence",),
        splits=_TVT,
        builder="mpkeras.data.builders.adding:Adding",
        configs=_SEQ_CONFIGS,
        default="t50",
        input_key="values",
        description="adding problem: sum of the two marked numbers among T",
    ),
    DatasetSpec(
        name="copy",
        source="offline",
        kind="copy",
        natural_task="sequence",
        tasks=("sequence",),
        splits=_TVT,
        builder="mpkeras.data.builders.copy:Copy",
        configs=_SEQ_CONFIGS,
        default="t50",
        input_key="tokens",
        description="copy task: recall 10 symbols after a delay of T steps",
    ),
    DatasetSpec(
        name="toy2d",
        source="offline",
        kind="points",
        natural_task="classification",
        tasks=("classification",),
        splits=_TVT,
        builder="mpkeras.data.builders.toy2d:Toy2D",
        configs=("xor", "blobs"),
        input_key="x",
        label_key="label",
        description="2-D toy problems: the XOR truth table, separable blobs",
    ),
    DatasetSpec(
        name="mnist",
        source="remote",
        kind="image",
        natural_task="classification",
        tasks=_IMAGE_TASKS,
        splits=("train", "test"),
        label_key="label",
        description="MNIST handwritten digits, 28x28 grey",
    ),
    DatasetSpec(
        name="fashion_mnist",
        source="remote",
        kind="image",
        natural_task="classification",
        tasks=_IMAGE_TASKS,
        splits=("train", "test"),
        label_key="label",
        description="Fashion-MNIST clothing images, 28x28 grey",
    ),
    DatasetSpec(
        name="binarized_mnist",
        source="remote",
        kind="image",
        natural_task="reconstruction",
        tasks=AUTOENCODING_TASKS,
        splits=_TVT,
        pixel_max=1,
        description="statically binarised MNIST (Larochelle), 28x28 binary",
    ),
    DatasetSpec(
        name="dsprites",
        source="remote",
        kind="image",
        natural_task="reconstruction",
        tasks=_IMAGE_TASKS + ("factors",),
        splits=("train",),
        label_key="label_shape",
        pixel_max=1,
        description="DeepMind dSprites, 64x64 binary, 737,280 images",
    ),
    DatasetSpec(
        name="oxford_iiit_pet",
        source="remote",
        kind="image",
        natural_task="segmentation",
        tasks=("segmentation",) + _IMAGE_TASKS,
        splits=("train", "test"),
        label_key="label",
        mask_key="segmentation_mask",
        # The trimaps are 1 = pet, 2 = background, 3 = border.
        mask_offset=1,
        image_size=(128, 128),
        description="Oxford-IIIT pets, 37 breeds, trimap masks (resized to 128x128)",
    ),
    DatasetSpec(
        name="imdb_reviews",
        source="remote",
        kind="text",
        natural_task="classification",
        tasks=("classification",),
        splits=("train", "test", "unsupervised"),
        input_key="text",
        label_key="label",
        description="IMDB movie reviews, binary sentiment (raw text)",
    ),
)

SPECS = {spec.name: spec for spec in _SPECS}


def names():
    """Every loadable name: ``name/config`` for multi-config builders.

    Returns:
        A list of strings, offline datasets first, in catalogue order.
    """
    out = []
    for spec in _SPECS:
        if len(spec.configs) > 1:
            out.extend(f"{spec.name}/{config}" for config in spec.configs)
        else:
            out.append(spec.name)
    return out


def resolve(name):
    """Split ``"name[/config]"`` and check both parts.

    Args:
        name: a dataset name as accepted by ``mpkeras.data.load``.

    Returns:
        ``(spec, config)``; ``config`` is the default config of an offline
        builder for a bare name, and None for a bare remote name (TFDS then
        picks its own default).

    Raises:
        ValueError: for an unknown name or config; the message lists the
            valid names.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"Expected a dataset name string. Received: name={name!r}")
    base, _, config = name.partition("/")
    spec = SPECS.get(base)
    if spec is None:
        raise ValueError(f"Unknown dataset {name!r}. Available: {', '.join(names())}")
    if spec.source == "offline":
        if not config:
            config = spec.default_config
        elif config not in spec.configs:
            valid = ", ".join(f"{base}/{c}" for c in spec.configs) or base
            raise ValueError(f"Unknown config {config!r} for dataset {base!r}. Available: {valid}")
    return spec, config or None


def full_name(spec, config):
    """The canonical ``name[/config]`` string for messages and listings."""
    return f"{spec.name}/{config}" if config else spec.name


def check_split(spec, split, name=None):
    """Check the split's base name; TFDS slicing (``train[:90%]``) is allowed.

    Args:
        spec: the dataset's ``DatasetSpec``.
        split: the split as the user wrote it.
        name: the dataset name as the user wrote it (``"toy2d/xor"``), for
            the message; default the builder's name.

    Raises:
        ValueError: for a split the dataset does not have.
    """
    if not isinstance(split, str) or not split:
        raise ValueError(f"Expected a split name string. Received: split={split!r}")
    # "train[:80%]+validation" -> ["train", "validation"]
    for part in split.split("+"):
        base = part.split("[", 1)[0].strip()
        if base not in spec.splits:
            raise ValueError(
                f"Unknown split {split!r} for dataset {name or spec.name!r}. "
                f"Available splits: {', '.join(spec.splits)}"
            )


def check_task(spec, task, name=None):
    """Return the task to use: ``task`` or the dataset's natural task.

    Args:
        spec: the dataset's ``DatasetSpec``.
        task: the task asked for, or None.
        name: the dataset name as the user wrote it, for the message.

    Raises:
        ValueError: for an unknown task or one this dataset cannot serve.
    """
    if task is None:
        return spec.natural_task
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}. Available tasks: {', '.join(TASKS)}")
    if task not in spec.tasks:
        raise ValueError(
            f"Dataset {name or spec.name!r} cannot serve task {task!r}. "
            f"It serves: {', '.join(spec.tasks)}"
        )
    return task


def check_options(spec, task, given, name=None):
    """Refuse options that would be accepted and ignored by ``load``.

    Args:
        spec: the dataset's ``DatasetSpec``.
        task: the task ``load`` serves (after ``check_task``).
        given: ``{option: value}`` of the options the caller set to
            something other than their default.
        name: the dataset name as the user wrote it, for the message.

    Raises:
        ValueError: an option of ``TASK_OPTIONS`` for another task, or one
            of ``IMAGE_OPTIONS`` for a dataset of points, sequences or text.
    """
    name = name or spec.name
    for option, value in given.items():
        tasks = TASK_OPTIONS.get(option)
        if tasks is not None and task not in tasks:
            usable = [t for t in tasks if t in spec.tasks]
            hint = (
                f"pass task={usable[0]!r} to use it"
                if usable
                else f"dataset {name!r} serves no such task"
            )
            raise ValueError(
                f"`{option}` applies to the {' and '.join(tasks)} task only; "
                f"load({name!r}) serves the {task} task here ({hint}). "
                f"Received: {option}={value!r}"
            )
        if option in IMAGE_OPTIONS and spec.kind != "image":
            holds = _KIND_PHRASES.get(spec.kind, f"{spec.kind} data")
            raise ValueError(
                f"`{option}` applies to image datasets only; {name!r} holds "
                f"{holds}. Received: {option}={value!r}"
            )
