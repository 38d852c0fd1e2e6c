"""``load`` and ``load_arrays``: TFDS splits as Keras-ready tf.data pipelines.

The pipeline is decode -> map(AUTOTUNE) -> cache -> shuffle(seeded, per
pass) -> batch -> map (scaling, random corruption, augmentation) ->
prefetch. A training split that fits in memory takes a faster route to the
same batches: it is cached as one tensor per feature, each pass shuffles and
batches the positions 0 .. n - 1 with the same seeded shuffle, and each
batch gathers its examples (``_gathered_passes``).

A training split counts its passes (every new iterator, i.e. every Keras
epoch) i = 0, 1, 2, ...: the shuffle of pass i is drawn from (seed, i) and i
travels to the per-batch map where it draws random numbers, so the order and
everything random after the cache are stateless functions of (seed, i,
batch). Each epoch gets a new order and new noise, the same in every
process, with no callback; ``mpkeras.data.set_epoch`` moves every live
training dataset to a given pass, which is how a resumed run sees the data
the uninterrupted run saw (see ``mpkeras.data.shuffling``). Other splits are
not shuffled and every pass over them sees the same data.
"""

import numpy as np
import tensorflow as tf

from mpkeras import validation
from mpkeras.data import registry, seeding, shuffling, sources, tasks
from mpkeras.data.errors import DatasetUnavailableError

# Memory budgets for the automatic cache and shuffle buffer.
_CACHE_BUDGET_BYTES = 1 << 30
_SHUFFLE_BUDGET_BYTES = 256 << 20
# A training split up to this size is held as one tensor per feature
# (``_gathered_passes``); while it is batched into them it is held twice.
_GATHER_BUDGET_BYTES = 256 << 20
_BINARIZE_MODES = (None, "static", "dynamic")


def _check_hole_size(hole_size):
    """None, a positive int, or a (min, max) pair of positive ints as a tuple."""
    if hole_size is None:
        return None
    if validation.is_int(hole_size) and hole_size > 0:
        return int(hole_size)
    if (
        isinstance(hole_size, (list, tuple))
        and len(hole_size) == 2
        and all(validation.is_int(v) and v > 0 for v in hole_size)
        and hole_size[0] <= hole_size[1]
    ):
        return (int(hole_size[0]), int(hole_size[1]))
    raise validation.invalid(
        "hole_size",
        "a positive integer or a (min, max) pair of positive integers with min <= max",
        hole_size,
    )


def _check_exact(value, name, choices):
    """``value`` if it is one of ``choices`` exactly (no case folding)."""
    if not any(value is c or (isinstance(value, str) and value == c) for c in choices):
        raise validation.invalid(name, f"one of {choices}", value)
    return value


def _check_hole_fits(hole_size, element_spec):
    """The largest hole must fit in the images (when their size is static)."""
    if hole_size is None:
        return
    largest = hole_size if isinstance(hole_size, int) else hole_size[1]
    height, width = element_spec.shape.as_list()[:2]
    smaller = min(d for d in (height, width, largest) if d is not None)
    if largest > smaller:
        raise ValueError(
            f"Received an invalid value for `hole_size`: the hole can be {largest} "
            f"pixels high or wide, the images are {height}x{width}. Received: "
            f"hole_size={hole_size!r}"
        )


def _element_bytes(element_spec):
    """Bytes of one element, counting unknown dimensions as 1."""
    total = 0
    for spec in tf.nest.flatten(element_spec):
        dims = [d if d is not None else 1 for d in spec.shape.as_list()]
        size = spec.dtype.size if spec.dtype != tf.string else 256
        total += int(np.prod(dims)) * size
    return total


def _num_examples(builder, split, dataset):
    cardinality = int(dataset.cardinality())
    if cardinality >= 0:
        return cardinality
    try:
        return int(builder.info.splits[split].num_examples)
    except (KeyError, ValueError, TypeError):
        return None


def _fits_one_tensor(element_spec, n, element_bytes):
    """Whether a split of ``n`` examples can be held as one tensor per feature."""
    return (
        bool(n)
        and n * element_bytes <= _GATHER_BUDGET_BYTES
        and all(spec.shape.is_fully_defined() for spec in tf.nest.flatten(element_spec))
    )


def _gathered_passes(examples, n, batch_size, drop_remainder, seed, shuffle_buffer, corrupt):
    """Shuffled training batches gathered from the split held in memory.

    The orders are those of shuffling the examples themselves: a seeded
    shuffle orders positions, whatever they hold, so each pass shuffles and
    batches the integers ``0 .. n - 1`` (``shuffling.shuffle_pass``) and each
    batch gathers its examples from the split, cached as one tensor per
    feature. That moves integers through the per-pass shuffle instead of
    examples through the cache, the shuffle and a zip. The pass index travels
    with each batch of positions only where the per-batch map draws random
    numbers (``corrupt.draws``).
    """
    # The first pass fills the cache; later passes read it (the source is
    # decoded once, tests/data/test_pipeline.py).
    split = examples.batch(n).cache().repeat()
    draws = corrupt.draws

    def one_pass(pass_index):
        positions = shuffling.shuffle_pass(
            tf.data.Dataset.range(n), shuffle_buffer, seed, pass_index
        ).batch(batch_size, drop_remainder=drop_remainder)
        if not draws:
            return positions
        return shuffling.tag_pass(positions, pass_index)

    num_batches = n // batch_size if drop_remainder else -(-n // batch_size)
    batches = shuffling.per_pass(one_pass, cardinality=num_batches)
    dataset = tf.data.Dataset.zip((split, batches))

    def gather(whole, positions):
        return tf.nest.map_structure(lambda feature: tf.gather(feature, positions), whole)

    if draws:

        def batch_map(batch_index, item):
            whole, (pass_index, positions) = item
            return corrupt((pass_index, batch_index), gather(whole, positions))

        dataset = dataset.enumerate()
    else:

        def batch_map(whole, positions):
            return corrupt(None, gather(whole, positions))

    dataset = dataset.map(batch_map, num_parallel_calls=tf.data.AUTOTUNE)
    dataset.pass_counter = batches.pass_counter
    return dataset


def load(
    name,
    split="train",
    batch_size=32,
    task=None,
    data_dir=None,
    *,
    shuffle=None,
    seed=None,
    shuffle_buffer=None,
    cache=None,
    prefetch=True,
    drop_remainder=False,
    normalize=True,
    binarize=None,
    noise=None,
    noise_level=None,
    hole_size=None,
    image_size=None,
    augment=None,
    download=True,
):
    """A batched ``tf.data.Dataset`` of ``(inputs, targets)`` for ``model.fit``.

    Offline datasets are prepared on first use; remote ones are downloaded
    by TFDS when the network allows, else ``DatasetUnavailableError`` is
    raised within seconds. See ``mpkeras.data.tasks`` for what each task
    yields and ``mpkeras.data.registry`` for the names.

    Args:
        name: ``"name"`` or ``"name/config"``, e.g. ``"toy2d/xor"``,
            ``"sprites/small"``, ``"adding/t50"``, ``"mnist"``.
        split: split name; TFDS slicing such as ``"train[:90%]"`` works.
        batch_size: positive batch size.
        task: one of ``registry.TASKS``; None for the dataset's natural task.
        data_dir: TFDS data dir; None for TFDS's default
            (``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``).
        shuffle: a new order and new random corruption each pass (each
            epoch); default True for ``"train"`` (and its slices) only. When
            False every pass yields the same batches.
        seed: seeds the shuffle order and every random corruption: a
            non-negative integer, or None (the default) for a seed read
            from NumPy's global random state without drawing from it, so
            that ``keras.utils.set_random_seed(s)`` fixes the data order and
            noise as it fixes the initial weights (``mpkeras.data.seeding``).
        shuffle_buffer: buffer size; default the whole split when it fits
            in 256 MB.
        cache: True (memory), False, a filename (file cache) or None to cache
            in memory when the split takes under 1 GB.
        prefetch: prefetch batches (AUTOTUNE).
        drop_remainder: drop a final partial batch.
        normalize: images as float32 in [0, 1] (divided by the white value);
            False returns the source's own range as float32: 0..255 for
            8-bit images, {0, 1} for binary ones, 0..16 for digits (the
            counts of scikit-learn's ``load_digits``). Image datasets only.
        binarize: None, ``"static"`` (one fixed Bernoulli sample per image)
            or ``"dynamic"`` (a fresh sample each pass when shuffled), for Bernoulli
            likelihoods. Images only.
        noise: the denoising corruption: ``"gaussian"`` (additive, clipped),
            ``"salt_and_pepper"`` (pixels set to black or white) or
            ``"flip"`` (values v -> white - v); None for ``"flip"`` on binary
            images and ``"gaussian"`` on grey ones.
        noise_level: its level: the Gaussian standard deviation in [0, 1]
            units (default 0.3), the fraction of salt-and-pepper pixels
            (default 0.1, half white, half black) or the flip probability
            (default 0.1).
        hole_size: the inpainting hole: an int side in pixels (a square), or
            ``(min, max)`` for a rectangle whose height and width are drawn
            independently from min..max (both included) for each example;
            default a square of half the smaller image side. Holes are new
            each pass, like the noise.
        image_size: (height, width) to resize images to before the cache.
        augment: ``(inputs, targets) -> (inputs, targets)`` on batches, after
            the cache; random ops in it should be stateless to stay
            reproducible.
        download: allow downloading a remote dataset.

    Returns:
        A ``tf.data.Dataset`` yielding ``(inputs, targets)`` batches.

    Raises:
        ValueError: unknown name, split or task, a task the dataset cannot
            serve, a bad option value, or an option that does not apply to
            the task (``noise``/``noise_level``: denoising; ``hole_size``:
            inpainting) or to the dataset (``binarize``, ``image_size``,
            ``normalize``: images).
        DatasetUnavailableError: remote data unreachable, or a corrupted
            prepared copy.
    """
    spec, config = registry.resolve(name)
    registry.check_split(spec, split, name)
    task = registry.check_task(spec, task, name)
    registry.check_options(
        spec,
        task,
        {
            option: value
            for option, value, default in (
                ("noise", noise, None),
                ("noise_level", noise_level, None),
                ("hole_size", hole_size, None),
                ("binarize", binarize, None),
                ("image_size", image_size, None),
                ("normalize", normalize, True),
            )
            if value is not default
        },
        name,
    )
    validation.positive_int(batch_size, "batch_size")
    validation.positive_int(shuffle_buffer, "shuffle_buffer", allow_none=True)
    seed = seeding.resolve_seed(seed)
    hole_size = _check_hole_size(hole_size)
    _check_exact(noise, "noise", (None, *tasks.NOISES))
    _check_exact(binarize, "binarize", _BINARIZE_MODES)
    noise_level = validation.number(noise_level, "noise_level", 0.0, 1.0, allow_none=True)
    if not isinstance(normalize, bool):
        raise validation.invalid("normalize", "True or False", normalize)
    if shuffle is None:
        # "train", "train[:90%]", ...: the training split and its slices.
        shuffle = split.split("[", 1)[0].strip() == "train"
    if shuffle_buffer is not None and not shuffle:
        raise ValueError(
            f"`shuffle_buffer` applies to shuffled datasets only; load({name!r}, "
            f"split={split!r}) is not shuffled (pass shuffle=True to shuffle it). "
            f"Received: shuffle_buffer={shuffle_buffer!r}"
        )

    builder = sources.prepared_builder(spec, config, data_dir, download=download)
    sources.check_integrity(builder, spec, config, split, data_dir)
    import tensorflow_datasets as tfds

    dataset = builder.as_dataset(
        split=split,
        shuffle_files=False,
        read_config=tfds.ReadConfig(try_autocache=False),
    )
    n = _num_examples(builder, split, dataset)

    dataset = dataset.enumerate().map(
        tasks.element_fn(spec, task, seed=seed, binarize=binarize, image_size=image_size),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if task == "inpainting":
        _check_hole_fits(hole_size, dataset.element_spec)
    element_bytes = _element_bytes(dataset.element_spec)
    if cache is None:
        cache = n is not None and n * element_bytes < _CACHE_BUDGET_BYTES
    corrupt = tasks.batch_fn(
        spec,
        task,
        seed=seed,
        binarize=binarize,
        normalize=normalize,
        noise_level=noise_level,
        hole_size=hole_size,
        augment=augment,
        noise=noise,
    )
    if shuffle and shuffle_buffer is None:
        fits = max(1024, _SHUFFLE_BUDGET_BYTES // max(element_bytes, 1))
        shuffle_buffer = min(n, fits) if n else fits
    if shuffle and cache is True and _fits_one_tensor(dataset.element_spec, n, element_bytes):
        dataset = _gathered_passes(
            dataset, n, batch_size, drop_remainder, seed, shuffle_buffer, corrupt
        )
        return dataset.prefetch(tf.data.AUTOTUNE) if prefetch else dataset
    if cache:
        dataset = dataset.cache(cache if isinstance(cache, str) else "")
    if shuffle:
        examples = dataset

        def one_pass(pass_index):
            # The order of a pass follows its index, and the index travels
            # with each example to the per-batch corruption. Only the shuffle
            # runs inside the flat_map: batching and the costly per-batch map
            # stay outside, where tf.data parallelises and tunes them.
            shuffled = shuffling.shuffle_pass(examples, shuffle_buffer, seed, pass_index)
            return shuffling.tag_pass(shuffled, pass_index)

        dataset = shuffling.per_pass(one_pass, cardinality=n)

        def batch_map(batch_index, batch):
            pass_indices, element = batch
            return corrupt((pass_indices[0], batch_index), element)

    else:
        batch_map = corrupt
    dataset = dataset.batch(
        batch_size,
        drop_remainder=drop_remainder,
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    dataset = dataset.enumerate().map(batch_map, num_parallel_calls=tf.data.AUTOTUNE)
    if prefetch:
        dataset = dataset.prefetch(tf.data.AUTOTUNE)
    return dataset


def load_arrays(name, split="train", task=None, data_dir=None, **options):
    """A whole split as numpy arrays ``(inputs, targets)``, in stored order.

    For experiments that need everything in memory at once (the perceptron's
    Novikoff bound, PCA, metrics over a full split).

    Args:
        name: as for ``load``.
        split: as for ``load``.
        task: as for ``load``.
        data_dir: as for ``load``.
        **options: further ``load`` options (``normalize``, ``binarize``,
            ``image_size``, ...); the split is never shuffled.

    Returns:
        ``(inputs, targets)`` numpy arrays with the examples on axis 0.

    Raises:
        As ``load``; a copy that fails while being read raises
        ``DatasetUnavailableError``.
    """
    options.setdefault("batch_size", 1024)
    options.setdefault("cache", False)
    options["shuffle"] = False
    dataset = load(name, split=split, task=task, data_dir=data_dir, **options)
    inputs, targets = [], []
    try:
        for x, y in dataset.as_numpy_iterator():
            inputs.append(x)
            targets.append(y)
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as err:
        raise DatasetUnavailableError(
            f"Reading dataset {name!r} failed ({type(err).__name__}); the prepared "
            f"copy looks corrupted. Rebuild it with `mpkeras prepare {name} --force`."
        ) from err
    if not inputs:
        raise ValueError(f"Split {split!r} of dataset {name!r} is empty.")
    return np.concatenate(inputs), np.concatenate(targets)
