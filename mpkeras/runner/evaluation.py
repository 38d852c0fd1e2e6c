"""``mpkeras evaluate``: a saved model on a dataset split, every input checked first."""

from mpkeras.runner.errors import RunError


def check_data_options(dataset, split="test", task=None, batch_size=128):
    """Check a dataset name, split, task and batch size without TensorFlow.

    Returns:
        The task to use (the dataset's natural one when ``task`` is None).

    Raises:
        RunError: naming the option (``--dataset``, ``--split``, ...) at fault.
    """
    from mpkeras.data import registry

    try:
        spec, _ = registry.resolve(dataset)
    except ValueError as error:
        raise RunError(f"--dataset: {error}") from None
    try:
        registry.check_split(spec, split)
    except ValueError as error:
        raise RunError(f"--split: {error}") from None
    try:
        task = registry.check_task(spec, task)
    except ValueError as error:
        raise RunError(f"--task: {error}") from None
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise RunError(f"--batch-size must be a positive integer, got {batch_size!r}")
    return task


def evaluate(model_path, dataset, split="test", task=None, batch_size=128, verbose="auto"):
    """Evaluate a saved model on a dataset split; returns a metrics dict.

    Raises:
        RunError: a bad dataset, split, task or batch size (found before
            TensorFlow is imported), a model saved without ``compile()``, or
            a model whose inputs do not fit the dataset's.
        ModelFileError: the model file is missing, not a .keras archive or
            cannot be loaded.
        DatasetUnavailableError: the data cannot be had offline.
    """
    from mpkeras.saving import check_model_file

    task = check_data_options(dataset, split, task, batch_size)
    path = check_model_file(model_path)

    from mpkeras import data
    from mpkeras.saving import load_model

    model = load_model(path)
    if not model.compiled:
        raise RunError(f"{path} was saved without compile(); it has no loss or metrics to evaluate")
    # seed=0: the same corruption (denoising, inpainting) in every process.
    inputs = data.load(dataset, split=split, batch_size=batch_size, task=task, seed=0)
    _check_fits(model, path, inputs, f"--dataset {dataset} (task {task})")
    return model.evaluate(inputs, verbose=verbose, return_dict=True)


def _check_fits(model, path, dataset, described):
    """Raise :class:`RunError` if ``model`` cannot take ``dataset``'s inputs.

    A functional or Sequential model states its input shapes: they are
    compared with the dataset's, dimension by dimension (None matches
    anything). A subclassed model states none, so it is tried on one batch.
    """
    import tensorflow as tf
    from keras import tree

    given = [tuple(spec.shape) for spec in tree.flatten(dataset.element_spec[0])]
    expected = _input_shapes(model)
    if expected is not None:
        if len(expected) != len(given) or not all(
            _compatible(e, g) for e, g in zip(expected, given)
        ):
            raise RunError(
                f"{path} takes inputs of shape {_shapes(expected)}, but {described} gives "
                f"{_shapes(given)}"
            )
        return
    batch = next(iter(dataset.take(1)))
    try:
        model.test_on_batch(*batch)
    except (ValueError, TypeError, tf.errors.InvalidArgumentError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RunError(
            f"{path} does not fit {described} (inputs {_shapes(given)}): {first}"
        ) from None


def _input_shapes(model):
    """The input shapes of a functional or Sequential model; None for a subclassed one."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    return [tuple(tensor.shape) for tensor in inputs] if inputs else None


def _compatible(expected, given):
    return len(expected) == len(given) and all(
        e is None or g is None or e == g for e, g in zip(expected, given)
    )


def _shapes(shapes):
    return ", ".join(str(shape) for shape in shapes)
