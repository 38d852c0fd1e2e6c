"""Max unpooling: every value at the position its index names, zeros elsewhere (any rank).

The notes' max unpooling (chapter 3, Figures 7 and 10, claim F1) puts each
pooled value back where its maximum was:

    out[b, p, c] = values[b, j, c]  if indices[b, j, c] = p * C + c,  else 0,

p the row-major position within the image of spatial size `output_size` --
the convention of ``tf.nn.max_pool_with_argmax`` (``include_batch_in_index=
False``), PyTorch's ``MaxUnpool1d/2d/3d`` and TensorFlow Addons'
``MaxUnpooling2D``, whose published test vectors hold here (given as integers:
float indices are refused, float32 cannot hold every index of a large image
exactly). Where several
entries name the same position (overlapping windows sharing a maximum) the
first in row-major order writes it and the others are ignored, value and
gradient (take-one: a shared maximum is one input cell, so it is written once).

Checks, so that no value is silently dropped: an index outside [0, prod(size)
* C) and an `output_size` whose pooling does not give the values' size raise a
ValueError that says what to pass -- at trace time where the sizes are
static, eagerly where the indices are values, and inside graphs through
``tf.debugging.Assert`` (an InvalidArgumentError with the same message). Under
XLA (``jit_compile=True``) TensorFlow ignores Assert, so there the output is
NaN instead: loud, never a plausible wrong result.

Speed: with non-overlapping windows (strides >= pool_size) one pass over the
indices finds each one's cell in its own window's block (int8, -1 where it is
not in it), a second places the values by cell, no scatter; the check is the
minimum of the cell numbers, the gradient selects the upstream gradient back
by cell (mpkeras/ops/blocks.py). Only if some index is not in its own block --
arbitrary indices, a size that does not match -- and always for overlapping
windows, the general path runs: an integer segment-min and a gather
(mpkeras/ops/scatter.py), after the checks.
"""

import keras
import numpy as np
import tensorflow as tf

from mpkeras import validation
from mpkeras.ops import blocks, fusion, scatter
from mpkeras.ops.argmax_pooling import spatial_rank, symbolic_layer
from mpkeras.ops.padding import (
    default_input_length,
    input_length_range,
    is_static,
    output_length,
    pooling_arguments,
    window_padding,
)


@tf.autograph.experimental.do_not_convert  # plain Python control flow only
def max_unpool(values, indices, pool_size, strides=None, padding="valid", output_size=None):
    """Max unpooling: values placed at their argmax indices in zeros of the pre-pooling size.

    out[b, p, c] = values[b, j, c] if indices[b, j, c] = p * C + c, else 0, with
    p the row-major position in an image of spatial size `output_size` (the
    index convention of ``tf.nn.max_pool_with_argmax``, PyTorch's
    ``MaxUnpool2d`` and TensorFlow Addons). Where entries name the same
    position, the first (row-major) writes it. The inverse of
    ``max_pool_with_argmax`` up to the non-maxima, which become zeros.

    Args:
        values: (batch, *pooled spatial, channels), 1 to 3 spatial axes.
        indices: integer tensor of the same shape, e.g. from
            ``max_pool_with_argmax`` or ``tf.nn.max_pool_with_argmax``.
        pool_size, strides, padding: those of the pooling (they give the
            default `output_size` and are checked against a given one).
        output_size: the spatial size before pooling. One of: None, for
            (h - 1) * s + k ("valid") or h * s ("same"); a tuple of ints (or
            scalar int tensors) per spatial axis, or a full shape of length
            rank + 2 such as ``x.shape``; a 1-D integer shape tensor such as
            ``tf.shape(x)``; or the pre-pooling tensor ``x`` itself (rank + 2
            dimensions; only its spatial size is used, at run time). Pass it
            whenever the pooled input's size may differ from the default (odd
            or unknown sizes): indices are read in an image of this size.

    Returns:
        A tensor (batch, *output_size, channels) of values' dtype. Its
        gradient w.r.t. `values` is the upstream gradient read at each index
        (zero for entries that were not written); indices get none.

    Raises:
        ValueError: an index outside the image, or an `output_size` whose
            pooling does not give the values' spatial size (inside a graph:
            InvalidArgumentError with the same message; under XLA the output
            is NaN).

    Example:

    >>> x = np.array([[1, 3], [6, 2]], dtype="float32").reshape(1, 2, 2, 1)
    >>> values, indices = max_pool_with_argmax(x, 2)
    >>> max_unpool(values, indices, 2)[0, ..., 0].numpy().tolist()
    [[0.0, 0.0], [6.0, 0.0]]
    """
    symbolic = any(isinstance(t, keras.KerasTensor) for t in (values, indices, output_size))
    if not symbolic:
        values, indices = tf.convert_to_tensor(values), tf.convert_to_tensor(indices)
    rank = spatial_rank(values, "values")
    k, s, padding = pooling_arguments(pool_size, strides, padding, rank)
    if symbolic:  # building a functional model
        layer = symbolic_layer("MaxUnpooling", rank, k, s, padding)
        return layer(values, indices, output_size=output_size)
    return unpool(values, indices, k, s, padding, output_size)


def check_inputs(values_shape, indices_shape, indices_dtype, rank):
    """Rank, dtype and shape checks of unpooling's inputs (shapes may hold None)."""
    for name, shape in (("values", values_shape), ("indices", indices_shape)):
        if shape.rank is not None and shape.rank != rank + 2:
            raise ValueError(
                f"`{name}` must have rank {rank + 2} (batch, {rank} spatial axes, channels). "
                f"Received: {name} with shape {tuple(shape)}"
            )
    if not tf.as_dtype(indices_dtype).is_integer:
        raise ValueError(
            "`indices` must be an integer tensor (the argmax of a max pooling). "
            f"Received: indices with dtype {tf.as_dtype(indices_dtype).name}"
        )
    if not values_shape.is_compatible_with(indices_shape):
        raise ValueError(
            "`values` and `indices` must have the same shape. Received: values with "
            f"shape {tuple(values_shape)} and indices with shape {tuple(indices_shape)}"
        )


def output_size_of(output_size, values_shape, k, s, padding):
    """The spatial output size from `output_size` (see max_unpool), as static as possible.

    Returns a list with an int, None (unknown until run time) or, for
    tensors, a scalar int tensor per spatial axis. Raises ValueError for an
    invalid `output_size`, and for a shape with unknown entries, which can
    never give the run-time size (pass the tensor itself).
    """
    rank = len(k)
    out = list(values_shape)[1:-1]
    if output_size is None:
        return [
            None if out[d] is None else default_input_length(out[d], k[d], s[d], padding)
            for d in range(rank)
        ]
    if _is_tensor(output_size) and len(output_size.shape) == rank + 2:
        return _reference_size(output_size, rank)
    if isinstance(output_size, tf.TensorShape):
        output_size = output_size.as_list()
    if isinstance(output_size, (tuple, list)):
        items = list(output_size)
    else:
        items = _shape_vector(output_size, rank)
    if len(items) == rank + 2:
        items = items[1:-1]
    if len(items) != rank or not all(_is_size(v) for v in items):
        raise validation.invalid(
            "output_size",
            f"{rank} positive integers (the spatial size before pooling), a shape of length "
            f"{rank + 2}, a 1-D integer shape tensor or the tensor before pooling",
            output_size,
        )
    if any(v is None for v in items):
        raise ValueError(
            f"`output_size` {tuple(output_size)} has unknown entries, so the run-time size "
            "is lost. Pass the tensor before pooling itself (output_size=x), which gives "
            "its size at run time."
        )
    return [int(v) if is_static(v) else tf.cast(v, tf.int32) for v in items]


def _is_tensor(value):
    return (
        hasattr(value, "shape")
        and hasattr(value, "dtype")
        and not isinstance(value, tf.TensorShape)
    )


def _is_size(value):
    if value is None:
        return True
    if validation.is_int(value):
        return value > 0
    return _is_tensor(value) and len(value.shape) == 0 and tf.as_dtype(value.dtype).is_integer


def _reference_size(tensor, rank):
    static = list(tensor.shape)[1:-1]
    if all(v is not None for v in static):
        return [int(v) for v in static]
    if not isinstance(tensor, tf.Tensor):  # a symbolic (Keras) tensor: known at run time
        return [None if v is None else int(v) for v in static]
    dynamic = tf.shape(tensor)
    return [int(v) if v is not None else dynamic[1 + d] for d, v in enumerate(static)]


def _shape_vector(output_size, rank):
    try:
        tensor = tf.convert_to_tensor(output_size)
    except (TypeError, ValueError):
        return [object()]  # rejected by the caller, with the value in the message
    if (
        not tensor.dtype.is_integer
        or tensor.shape.rank != 1
        or tensor.shape[0]
        not in (
            rank,
            rank + 2,
        )
    ):
        return [object()]
    static = tf.get_static_value(tensor)
    if static is not None:
        return [int(v) for v in static]
    return [tensor[d] for d in range(tensor.shape[0])]


@tf.autograph.experimental.do_not_convert  # plain Python control flow only
def unpool(values, indices, k, s, padding, output_size=None):
    """`max_unpool` for checked pool arguments (tuples of ints, a mode)."""
    rank = len(k)
    indices = tf.convert_to_tensor(indices)
    check_inputs(values.shape, indices.shape, indices.dtype, rank)
    size = output_size_of(output_size, values.shape, k, s, padding)
    shape = blocks.dims(values, rank)
    out = shape[1:-1]
    if output_size is None:
        size = [default_input_length(out[d], k[d], s[d], padding) for d in range(rank)]
    elif any(v is None for v in size):
        size = [v if v is not None else tf.shape(output_size)[1 + d] for d, v in enumerate(size)]
    check_geometry(size, out, k, s, padding, values.shape)
    given = output_size is not None and not is_static(*size, *out)
    placed = _unpool(values, indices, size, k, s, padding, given)
    placed.set_shape(
        [values.shape[0]] + [v if is_static(v) else None for v in size] + [values.shape[-1]]
    )
    return placed


def check_geometry(size, out, k, s, padding, values_shape):
    """ValueError where a static `output_size` does not pool to the values' size."""
    for d in range(len(k)):
        if not is_static(size[d], out[d]):
            continue
        pooled = (
            output_length(size[d], k[d], s[d], padding)
            if size[d] >= (k[d] if padding == "valid" else 1)
            else 0
        )
        if pooled != out[d]:
            low, high = input_length_range(out[d], k[d], s[d], padding)
            raise ValueError(
                f"`output_size` {tuple(size)} does not match the pooling: {size[d]} "
                f"pooled with pool_size={k[d]}, strides={s[d]}, padding='{padding}' gives "
                f"{pooled}, but `values` has {out[d]} along spatial axis {d} (shape "
                f"{tuple(values_shape)}). Pass the pool_size, strides and padding of the "
                f"pooling, and an output_size in [{low}, {high}] along that axis (or the "
                "tensor before pooling)."
            )


def _unpool(values, indices, size, k, s, padding, given):
    rank = len(k)
    out = blocks.dims(values, rank)[1:-1]
    before = [window_padding(size[d], k[d], s[d], padding)[0] for d in range(rank)]
    # A dynamic output_size that was given: its pooling must give `out` (checked at run time).
    fits = tf.constant(True)
    if given:
        for d in range(rank):
            fits = fits & tf.equal(output_length(size[d], k[d], s[d], padding), out[d])
    blockwise = all(s[d] >= k[d] for d in range(rank))
    static = (s, tuple(before), tuple(size))
    eager = tf.executing_eagerly()

    @tf.custom_gradient
    def place(v):
        if not blockwise:
            placed, kept = _checked_scatter(v, indices, size, k, s, padding, fits)
            return placed, lambda up: scatter.read(up, indices, kept, size, rank)
        # Two compiled passes, not one: the cell numbers (int8) are written once
        # and read by the placement, its check and its gradient, instead of
        # each reading the int64 indices (XLA does not share the loop on CPU).
        work = _output_elements(v, size)
        cells = fusion.run(_cells_kernel, (indices,), static, work)
        placed = fusion.run(_place_kernel, (v, cells), static, work)
        ok = fusion.all_non_negative(cells) & fits
        if eager:
            ok = bool(ok)
            result = placed if ok else _checked_scatter(v, indices, size, k, s, padding, fits)[0]
        else:
            result = tf.cond(
                ok,
                lambda: placed,
                lambda: _checked_scatter(v, indices, size, k, s, padding, fits)[0],
            )

        def grad(up):
            def by_blocks():
                return fusion.run(_read_kernel, (up, cells), static[:2], work)

            def by_gather():
                return scatter.take_one_gradient(up, indices, size, rank)

            if eager:
                return by_blocks() if ok else by_gather()
            return tf.cond(ok, by_blocks, by_gather)

        return result, grad

    return place(values)


def _output_elements(values, size):
    """The size of the unpooled output (an unknown batch counting as 1), or None."""
    if not is_static(*size) or values.shape[-1] is None:
        return None
    return int(np.prod(size)) * values.shape[-1] * (values.shape[0] or 1)


def _cells_kernel(indices, s, before, size):
    """Each index's cell number in its own block, -1 where it is not in it (one pass)."""
    rank = len(s)
    shape = blocks.dims(indices, rank)
    out, channels = shape[1:-1], shape[-1]
    keys, steps = blocks.keys(
        indices, list(size), channels, out, s, list(before), blocks.index_dtype(size, channels)
    )
    return blocks.own_cells(keys, steps, out, s, list(before), list(size), rank)


def _place_kernel(values, cells, s, before, size):
    """The scatter-free placement by cell numbers (a -1 places nothing)."""
    rank = len(s)
    out = blocks.dims(values, rank)[1:-1]
    return blocks.place(values, cells, blocks.cell_steps(s), out, s, list(before), list(size), rank)


def _read_kernel(upstream, cells, s, before):
    """The gradient of the block placement: upstream read back at each index."""
    rank = len(s)
    out = blocks.dims(cells, rank)[1:-1]
    return blocks.read(upstream, cells, blocks.cell_steps(s), out, s, list(before), rank)


def _checked_scatter(values, indices, size, k, s, padding, fits):
    """(placed, kept): the general placement, after checking every index and the geometry."""
    rank = len(k)
    channels = blocks.dims(values, rank)[-1]
    limit = tf.cast(channels, tf.int64)
    for d in range(rank):
        limit = limit * tf.cast(size[d], tf.int64)
    wide = tf.cast(indices, tf.int64)
    empty = tf.equal(tf.size(wide), 0)
    low = tf.where(empty, tf.constant(0, tf.int64), tf.reduce_min(wide))
    high = tf.where(empty, tf.constant(0, tf.int64), tf.reduce_max(wide))
    in_range = (low >= 0) & (high < limit)
    ok = in_range & fits
    where = f"pool_size={k}, strides={s}, padding='{padding}'"
    advice = (
        "pass output_size= the spatial size before pooling (or the tensor before pooling "
        "itself) and the pool_size, strides and padding of the pooling"
    )
    if tf.executing_eagerly():
        if not bool(fits):
            raise ValueError(
                f"`output_size` {tuple(int(v) for v in size)} does not pool to the values' "
                f"spatial size {tuple(values.shape[1:-1])} with {where}; {advice}."
            )
        if not bool(in_range):
            raise ValueError(
                f"`indices` must lie in [0, {int(limit)}) for output_size="
                f"{tuple(int(v) for v in size)} with {int(channels)} channels ((position * C + c) "
                f"within each image, include_batch_in_index=False); {advice}. "
                f"Received: indices in [{int(low)}, {int(high)}]"
            )
        return scatter.take_one(values, indices, size, rank)
    sizes = tf.stack([tf.cast(v, tf.int64) for v in size])
    geometry_message = (
        f"MaxUnpooling: `output_size` does not pool to the values' spatial size with "
        f"{where}; {advice}. Received: output_size ="
    )
    range_message = (
        "MaxUnpooling: `indices` must lie in [0, prod(output_size) * C) ((position * C + c) "
        f"within each image, include_batch_in_index=False); {advice}. Received: "
        "output_size, prod(output_size) * C, smallest and largest index ="
    )
    checks = [
        tf.debugging.Assert(fits, [geometry_message, sizes]),
        tf.debugging.Assert(in_range, [range_message, sizes, limit, low, high]),
    ]
    with tf.control_dependencies(checks):
        placed, kept = scatter.take_one(values, tf.identity(indices), size, rank)
    if values.dtype.is_floating:
        # XLA drops Assert: a NaN output is what shows the error there.
        placed = tf.where(ok, placed, tf.constant(np.nan, values.dtype))
    return placed, kept
