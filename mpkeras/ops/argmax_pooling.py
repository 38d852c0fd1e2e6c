"""Max pooling that also returns where each maximum was (any rank, any geometry).

The notes' max pooling (section 2.2, Figure 7), along every spatial axis,

    z[i] = max { x[i'] : i' in [s*i - before, s*i - before + k) },

with the index of the maximum inside its image as ``tf.nn.max_pool_with_argmax``
gives it (``include_batch_in_index=False``): ``x * C + c`` in 1D,
``(y * W + x) * C + c`` in 2D, ``((z * H + y) * W + x) * C + c`` in 3D. Ties go
to the first maximum in row-major window order, as in TensorFlow's kernel;
padded cells never win; a NaN wins over every number (the first NaN of the
window), so a NaN in the input is never hidden (``tf.nn.max_pool``, hence
Keras's MaxPooling, skips NaNs; for inputs without NaN the values are equal).

Each of the ``prod(pool_size)`` cells of every window is one view of the input
(free reshapes and slices when windows do not overlap, strided slices when
they do), and a running compare-and-select keeps the maximum and its flat
index. XLA-compiled for large tensors (mpkeras/ops/fusion.py): on a CPU that
is one loop for the values and one for the indices, nothing else written.

The gradient with respect to the input is the max-pool backward of the
notes (claim C5), d z[i] / d x[i'] = 1{i' = i*}: each upstream gradient goes to
its window's argmax, summed where overlapping windows share one.
Non-overlapping windows place it by comparing each index with the flat
offsets of its own block's cells (mpkeras/ops/blocks.py), overlapping ones add
it with a segment sum (mpkeras/ops/scatter.py). Indices carry no gradient.
"""

import keras
import numpy as np
import tensorflow as tf

from mpkeras.ops import blocks, fusion, scatter
from mpkeras.ops.padding import is_static, pooling_arguments, window_padding


@tf.autograph.experimental.do_not_convert  # plain Python control flow only
def max_pool_with_argmax(inputs, pool_size, strides=None, padding="valid"):
    """Max pooling of a channels-last tensor of rank 3, 4 or 5, with argmax indices.

    z[i] = max { x[i'] : i' in window i } along every spatial axis (windows
    of size k = `pool_size` every s = `strides` positions, TensorFlow's
    padding), returned together with the flat index of each maximum within
    its image, (position * C + c) with the position row-major: the values
    equal ``keras.ops.max_pool``'s and, in 2D, both outputs equal
    ``tf.nn.max_pool_with_argmax(..., include_batch_in_index=False)``'s, ties
    (first maximum in row-major window order) included. A NaN wins its
    window (TensorFlow's pooling skips NaNs). Works with unknown batch and
    spatial sizes, eagerly, in graphs, under XLA and in functional models.

    Args:
        inputs: (batch, *spatial, channels) with 1, 2 or 3 spatial axes.
        pool_size: int or tuple of one int per spatial axis.
        strides: int, tuple or None (= `pool_size`).
        padding: "valid" or "same".

    Returns:
        (values, indices): the pooled values in the dtype of `inputs` and
        int64 indices, both (batch, *pooled spatial, channels). The gradient
        of `values` is the max-pool backward: the upstream gradient at each
        window's argmax, summed where windows share it.

    Example:

    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> values, indices = max_pool_with_argmax(x, 2)
    >>> values[0, ..., 0].numpy().tolist(), indices[0, ..., 0].numpy().tolist()
    ([[5.0, 7.0], [13.0, 15.0]], [[5, 7], [13, 15]])
    """
    if not isinstance(inputs, keras.KerasTensor):
        inputs = tf.convert_to_tensor(inputs)
    rank = spatial_rank(inputs, "inputs")
    k, s, padding = pooling_arguments(pool_size, strides, padding, rank)
    if isinstance(inputs, keras.KerasTensor):  # building a functional model
        return symbolic_layer("MaxPoolingWithArgmax", rank, k, s, padding)(inputs)
    return pool(inputs, k, s, padding)


def symbolic_layer(kind, rank, k, s, padding):
    """The layer that records the op in a functional model (as keras.ops do for theirs)."""
    from mpkeras.layers import pooling  # the layers are built on these ops

    return getattr(pooling, f"{kind}{rank}D")(k, s, padding)


def spatial_rank(tensor, name):
    """The number of spatial axes of a (batch, *spatial, channels) tensor: 1, 2 or 3."""
    ndim = len(tensor.shape) if tensor.shape is not None else None
    if ndim not in (3, 4, 5):
        raise ValueError(
            f"`{name}` must have rank 3, 4 or 5 (batch, 1 to 3 spatial axes, channels). "
            f"Received: {name} with shape {tuple(tensor.shape) if ndim is not None else None}"
        )
    return ndim - 2


@tf.autograph.experimental.do_not_convert  # plain Python control flow only
def pool(inputs, k, s, padding):
    """`max_pool_with_argmax` for checked arguments (tuples of ints, a mode)."""
    rank = len(k)
    spatial = blocks.dims(inputs, rank)[1:-1]
    if padding == "valid":
        for d in range(rank):
            if is_static(spatial[d]) and spatial[d] < k[d]:
                raise ValueError(
                    "With padding='valid' every spatial size must be at least the pool "
                    f"size. Received: inputs with shape {tuple(inputs.shape)} and "
                    f"pool_size={k}; pass padding='same' or a smaller pool_size."
                )
    non_overlapping = all(s[d] >= k[d] for d in range(rank))

    @tf.custom_gradient
    def forward(x):
        values, indices = fusion.run(_kernel, (x,), (k, s, padding))

        def grad(d_values, d_indices=None):
            size = blocks.dims(x, rank)[1:-1]
            if non_overlapping:
                # The work is the gradient's size, the input's (an unknown batch as 1).
                work = int(np.prod([n or 1 for n in x.shape]))
                return fusion.run(
                    _place_kernel, (d_values, indices), (k, s, padding, tuple(size)), work
                )
            return scatter.add(d_values, indices, size, rank)

        return (values, indices), grad

    return forward(inputs)


def _geometry(spatial, k, s, padding):
    """([before per axis], [windows per axis])."""
    pads = [window_padding(spatial[d], k[d], s[d], padding) for d in range(len(k))]
    return [p[0] for p in pads], [p[2] for p in pads]


def _place_kernel(d_values, indices, k, s, padding, size):
    """The max-pool backward for non-overlapping windows: d_values placed at the argmax.

    Each index is compared with the flat offsets of its own block's cells (no
    scatter, no division): the key of index j is indices[j] minus the flat
    index of its window's first cell.
    """
    rank = len(s)
    shape = blocks.dims(d_values, rank)
    out, channels = shape[1:-1], shape[-1]
    before, _ = _geometry(size, k, s, padding)
    keys, steps = blocks.keys(
        indices, size, channels, out, s, before, blocks.index_dtype(size, channels)
    )
    return blocks.place(d_values, keys, steps, out, s, before, list(size), rank)


def _kernel(x, k, s, padding):
    """(values, int64 indices) by a running compare-and-select over the window cells.

    Under XLA on a CPU the two outputs become two loops over the input (XLA
    does not fuse sibling outputs there); nothing else is written.
    """
    rank = len(k)
    shape = blocks.dims(x, rank)
    spatial, channels = shape[1:-1], shape[-1]
    before, out = _geometry(spatial, k, s, padding)
    non_overlapping = all(s[d] >= k[d] for d in range(rank))
    dtype = blocks.index_dtype(spatial, channels)
    steps, terms = blocks.flat_geometry(spatial, channels, out, s, before, dtype)
    origins = [tf.range(out[d]) * s[d] - before[d] for d in range(rank)]

    def axis_mask(d, o):
        # Windows along axis d whose cell o is a real (unpadded) position;
        # None where every window's is (known statically).
        if is_static(spatial[d], before[d]):
            last = (out[d] - 1) * s[d] - before[d] + o
            if o >= before[d] and last < spatial[d]:
                return None
        coordinate = origins[d] + o
        layout = [1] * (rank + 2)
        layout[d + 1] = -1
        return tf.reshape((coordinate >= 0) & (coordinate < spatial[d]), layout)

    def cell_mask(cell):
        mask = None
        for d in range(rank):
            m = axis_mask(d, cell[d])
            mask = m if mask is None else (mask if m is None else mask & m)
        return mask

    if non_overlapping:
        grid = blocks.to_blocks(x, out, s, before, rank)
        views = ((c, blocks.block_view(grid, c, channels, rank)) for c in np.ndindex(*k))
    else:
        views = _strided_views(x, out, k, s, before, rank)

    floating = x.dtype.is_floating
    best = taken = None
    for cell, view in views:
        valid = cell_mask(cell)
        offset = tf.cast(sum(cell[d] * steps[d] for d in range(rank)), dtype)
        if best is None:
            best, code, taken = view, offset, valid
            continue
        better = view > best
        if floating:  # the first NaN wins, so that it shows
            better = better | (tf.math.is_nan(view) & ~tf.math.is_nan(best))
        if taken is not None:
            better = better | ~taken
        if valid is not None:
            better = better & valid
        best = tf.where(better, view, best)
        code = tf.where(better, offset, code)
        if taken is not None:
            taken = None if valid is None else taken | valid

    if code.shape.rank == 0:  # a single-cell window: nothing was compared
        code = tf.fill(tf.shape(best), code)
    for term in terms:
        code = code + term
    return best, tf.cast(code, tf.int64)


def _strided_views(x, out, k, s, before, rank):
    """(cell, view) for every window cell, by strided slices of the padded input."""
    shape = blocks.dims(x, rank)
    spatial = shape[1:-1]
    after = [
        tf.maximum((out[d] - 1) * s[d] + k[d] - spatial[d] - before[d], 0)
        if not is_static(spatial[d], before[d])
        else max((out[d] - 1) * s[d] + k[d] - spatial[d] - before[d], 0)
        for d in range(rank)
    ]
    if not all(is_static(p) and p == 0 for p in list(before) + after):
        x = tf.pad(x, [[0, 0]] + [[before[d], after[d]] for d in range(rank)] + [[0, 0]])
    for cell in np.ndindex(*k):
        begin = [0] + list(cell) + [0]
        end = [shape[0]] + [cell[d] + (out[d] - 1) * s[d] + 1 for d in range(rank)] + [shape[-1]]
        yield cell, tf.strided_slice(x, begin, end, [1] + list(s) + [1])
