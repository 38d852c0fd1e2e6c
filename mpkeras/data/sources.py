"""Getting a prepared TFDS builder for a name: prepare, info, describe.

Offline builders are prepared on first use into the TFDS data dir; remote
ones go through ``mpkeras.data.remote`` so that a missing network fails in
seconds. A prepared copy whose files are missing or truncated is reported as
corrupted with the command that rebuilds it.

Preparing prints one line, ``Preparing digits (built locally) ... 1797
examples in <dir>``, instead of TFDS's download banner ("Downloading and
preparing dataset Unknown size ...") and progress bars, which say nothing
for data generated here. TFDS's warning that a dataset's folder "has no
dataset_info.json" (its way of saying "not prepared yet") is dropped while
mpkeras checks a data dir; every other warning and log line comes through.
"""

import contextlib
import importlib
import io
import logging
import os
import random
import shutil
import sys
import warnings

import numpy as np

from mpkeras.data import locking, registry, remote
from mpkeras.data.errors import DatasetUnavailableError


def _builder_class(spec):
    if spec.source == "offline":
        module, _, cls = spec.builder.partition(":")
        return getattr(importlib.import_module(module), cls)
    import tensorflow_datasets as tfds

    return tfds.builder_cls(spec.name)


def _corrupted(name, data_dir, detail):
    return DatasetUnavailableError(
        f"The prepared copy of dataset {name!r} in {data_dir!r} is corrupted "
        f"({detail}). Rebuild it with `mpkeras prepare {name} --force` "
        f"(or mpkeras.data.prepare({name!r}, force=True))."
    )


def _variant_dir(spec, config, data_dir):
    """data_dir/name[/config]/version, computed without reading any file."""
    cls = _builder_class(spec)
    if config is None and getattr(cls, "BUILDER_CONFIGS", None):
        config = cls.DEFAULT_BUILDER_CONFIG_NAME or cls.BUILDER_CONFIGS[0].name
    parts = [data_dir, cls.name] + ([config] if config else []) + [str(cls.VERSION)]
    return os.path.join(*parts)


class _NotPreparedYet(logging.Filter):
    """Drops TFDS's "Variant folder X has no dataset_info.json" warning.

    TFDS logs it (through absl) whenever it looks for a prepared copy that is
    not there yet: on the first ``load`` of an offline dataset and on every
    offline check of a remote one. It means "not prepared", which mpkeras
    handles (prepares, or raises ``DatasetUnavailableError``).
    """

    def filter(self, record):
        message = str(record.msg)
        args = record.args if isinstance(record.args, tuple) else ()
        return not (
            message.startswith("Variant folder ")
            and "dataset_info.json" in (message % args if args else message)
        )


@contextlib.contextmanager
def quiet_checks():
    """Inside: TFDS's "has no dataset_info.json" warning is dropped (see above)."""
    logger = logging.getLogger("absl")
    drop = _NotPreparedYet()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


@contextlib.contextmanager
def _quiet_generation():
    """Inside: TFDS's banner and progress bars (stdout/stderr) are held back.

    They are replayed on stderr if generation fails, so a failure keeps its
    context; Python warnings raised meanwhile are re-issued afterwards, and
    log records go to their handlers as usual.
    """
    held = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            with contextlib.redirect_stdout(held), contextlib.redirect_stderr(held):
                yield
        except BaseException:
            sys.stderr.write(held.getvalue())
            raise
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


def make_builder(spec, config, data_dir=None):
    """The TFDS builder for ``spec``/``config`` in ``data_dir`` (not prepared).

    Raises:
        DatasetUnavailableError: the prepared metadata cannot be read.
    """
    root = data_dir or remote.default_data_dir()
    name = registry.full_name(spec, config)
    try:
        with quiet_checks():
            if spec.source == "offline":
                return _builder_class(spec)(config=config, data_dir=root)
            import tensorflow_datasets as tfds

            return tfds.builder(name, data_dir=root)
    except Exception as err:  # TFDS raises many types for a bad dataset_info.json.
        if os.path.isdir(_variant_dir(spec, config, root)):
            raise _corrupted(name, root, f"{type(err).__name__}: {err}") from err
        raise


def _num_examples(builder):
    return sum(int(split.num_examples) for split in builder.info.splits.values())


def _generate(builder, name):
    """Build an offline dataset, saying so in one line."""
    # TFDS imports TensorFlow while it generates; import it first, so that
    # TensorFlow's start-up lines on stderr do not split our line in two.
    import tensorflow  # noqa: F401

    print(f"Preparing {name} (built locally) ...", end="", flush=True)
    try:
        with _global_rng_untouched(), _quiet_generation():
            builder.download_and_prepare()
    except BaseException:
        print(" failed.", flush=True)
        raise
    print(f" {_num_examples(builder)} examples in {builder.data_dir}", flush=True)


def check_integrity(builder, spec, config, split, data_dir=None):
    """Check that the shard files of ``split`` exist with plausible sizes.

    Raises:
        DatasetUnavailableError: a shard is missing or shorter than its
            records (a truncated copy).
    """
    root = data_dir or remote.default_data_dir()
    name = registry.full_name(spec, config)
    for part in split.split("+"):
        base = part.split("[", 1)[0].strip()
        split_info = builder.info.splits.get(base)
        if split_info is None:
            continue  # Unknown to this copy; TFDS reports it on read.
        paths = split_info.filepaths
        total = 0
        for path in paths:
            if not os.path.exists(path):
                raise _corrupted(name, root, f"missing file {os.fspath(path)}")
            total += os.path.getsize(path)
        # A TFRecord stores each record with 16 bytes of framing, so a complete
        # split is at least num_bytes long.
        if paths and total < split_info.num_bytes:
            raise _corrupted(
                name, root, f"split {base!r} has {total} bytes, expected >= {split_info.num_bytes}"
            )


@contextlib.contextmanager
def _global_rng_untouched():
    """Restore Python's and NumPy's global random state on exit.

    TFDS draws from Python's ``random`` while it prepares a dataset (temporary
    names). Keras initialisers draw their seeds from the same generator, so a
    run that prepared its data first would build different initial weights
    from a run that found the data prepared: same seed, different results.
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def prepared_builder(spec, config, data_dir=None, download=True):
    """The builder, prepared (generated offline or downloaded) if needed.

    Args:
        spec: a ``registry.DatasetSpec``.
        config: its config name or None.
        data_dir: TFDS data dir, None for the default.
        download: for remote datasets, whether to download when missing.

    Raises:
        DatasetUnavailableError: remote data unreachable, or corrupted copy.
    """
    root = data_dir or remote.default_data_dir()
    name = registry.full_name(spec, config)
    builder = make_builder(spec, config, root)
    with quiet_checks():
        prepared = builder.is_prepared()
    if prepared:
        return builder
    # Another process may be preparing it now: wait for it, then look again
    # with a new builder (this one read no prepared metadata).
    with locking.preparing(root, name):
        builder = make_builder(spec, config, root)
        with quiet_checks():
            prepared = builder.is_prepared()
        if spec.source == "offline":
            if not prepared:
                _generate(builder, name)
            return builder
        if not download and not prepared and not remote.download_is_mocked(builder):
            raise DatasetUnavailableError(remote.unavailable_message(name, root))
        with _global_rng_untouched(), quiet_checks():
            remote.ensure_prepared(builder, name, root)
    return builder


def is_prepared(name, data_dir=None):
    """Whether ``name`` is prepared in the data dir (nothing is built or read).

    ``mpkeras prepare`` asks first, to say "already prepared" instead of
    "prepared" when there was nothing to do.

    Args:
        name: ``"name[/config]"``.
        data_dir: TFDS data dir, None for the default.

    Raises:
        ValueError: unknown name.
    """
    spec, config = registry.resolve(name)
    root = data_dir or remote.default_data_dir()
    return os.path.exists(os.path.join(_variant_dir(spec, config, root), "dataset_info.json"))


def prepare(name, force=False, data_dir=None):
    """Prepare ``name`` in the data dir (for ``mpkeras prepare NAME [--force]``).

    Args:
        name: ``"name[/config]"``.
        force: delete an existing prepared copy first and build it again
            (remote datasets reuse their downloaded archives).
        data_dir: TFDS data dir, None for the default.

    Returns:
        The path of the prepared dataset directory.

    Raises:
        ValueError: unknown name.
        DatasetUnavailableError: remote data cannot be downloaded now.
    """
    spec, config = registry.resolve(name)
    root = data_dir or remote.default_data_dir()
    if force:
        # Removed before the builder is made: a corrupted dataset_info.json
        # would make the builder itself fail.
        variant = _variant_dir(spec, config, root)
        if os.path.isdir(variant):
            shutil.rmtree(variant)
    builder = prepared_builder(spec, config, root)
    return os.fspath(builder.data_dir)


def info(name, data_dir=None, prepare=False):
    """The ``tfds.core.DatasetInfo`` of ``name``.

    Without ``prepare`` nothing is generated or downloaded: an unprepared
    dataset reports its features, description, citation and metadata (e.g.
    ``info("toy2d/blobs").metadata["margin"]``), but no split sizes.

    Args:
        name: ``"name[/config]"``.
        data_dir: TFDS data dir, None for the default.
        prepare: prepare the dataset first, so that split sizes are known.
    """
    spec, config = registry.resolve(name)
    if prepare:
        return prepared_builder(spec, config, data_dir).info
    return make_builder(spec, config, data_dir).info


def _dir_size(path):
    total = 0
    for folder, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(folder, f)) for f in files)
    return total


def describe(data_dir=None):
    """One dict per available name, for ``mpkeras datasets``.

    Returns:
        A list of ``{"name", "source", "prepared", "size_bytes"}`` dicts;
        ``source`` is ``"offline"`` or ``"remote"``; ``size_bytes`` is the size
        of the prepared copy, None when not prepared.
    """
    root = data_dir or remote.default_data_dir()
    rows = []
    for name in registry.names():
        spec, config = registry.resolve(name)
        variant = _variant_dir(spec, config, root)
        prepared = is_prepared(name, root)
        rows.append(
            {
                "name": name,
                "source": spec.source,
                "prepared": prepared,
                "size_bytes": _dir_size(variant) if prepared else None,
                "description": spec.description,
            }
        )
    return rows
