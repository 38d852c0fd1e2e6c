"""Non-overlapping windows as blocks: the scatter-free kernels of argmax pooling and unpooling.

When every stride is at least the pool size (``strides >= pool_size``, which
includes the usual ``strides == pool_size``), window i along an axis owns the
block [i*s - before, (i+1)*s - before) of s positions, and blocks do not
overlap. After padding or cropping the input to exactly ``out * s`` along every
axis (``before`` positions added at the start), a free reshape turns it into

    (batch, out_0, s_0, out_1, s_1, ..., out_last, s_last * C)

so the cells of every block are plain slices. An index names a cell of its own
block by its *key*, the index minus the flat index of the block's first cell:
cell (o_0, ..., o_last), o_d in [0, s_d), has key sum_d o_d * step_d with
step_d = C * prod_{e > d} size_e. Placing a value in its cell is then one
broadcast comparison of keys and one select per output element; reading it
back is one select per cell; checking that every index lies in its own block
is a comparison per cell. No scatter, no division, exact, deterministic.
"""

import numpy as np
import tensorflow as tf

from mpkeras.ops.padding import is_static, maximum

# TensorFlow's unfused broadcasting compares at most 6 dimensions; a block
# layout has 2 * rank + 2 (rank 3 is placed one slab of axis 0 at a time).
_MAX_BROADCAST_RANK = 6


def dims(x, rank):
    """[batch, *spatial, channels] of x: Python ints where static, else scalar tensors."""
    static = x.shape.as_list()
    dynamic = tf.shape(x)
    return [static[i] if static[i] is not None else dynamic[i] for i in range(rank + 2)]


INT32_LIMIT = 2**31 - 1


def index_dtype(spatial, channels):
    """int32 where every flat index of the image fits (static sizes), else int64."""
    if is_static(*spatial, channels) and int(np.prod(spatial)) * channels <= INT32_LIMIT:
        return tf.int32
    return tf.int64


def flat_geometry(spatial, channels, out, s, before, dtype):
    """(steps, terms): the flat-index step along each axis, and the parts of each window's start.

    The flat index of position (y_0, ..., y_last), channel c, is
    sum_d y_d * step_d + c with step_d = C * prod_{e > d} size_e; window i
    starts at y_d = i_d * s_d - before_d. Its first flat index (for channel
    c) is the sum of the small broadcastable `terms`: c, and (i_d * s_d -
    before_d) * step_d along each axis d. Add or subtract them one at a time
    to a tensor: summed on their own, XLA would fold them into a constant of
    the pooled size and read it for every batch entry.
    """
    rank = len(s)
    steps = [channels] * rank
    for d in range(rank - 2, -1, -1):
        steps[d] = steps[d + 1] * spatial[d + 1]
    terms = [tf.reshape(tf.range(channels, dtype=dtype), [1] * (rank + 1) + [-1])]
    for d in range(rank):
        origin = tf.range(out[d], dtype=dtype) * s[d] - tf.cast(before[d], dtype)
        terms.append(_along(origin * tf.cast(steps[d], dtype), d, rank))
    return steps, terms


def _along(vector, d, rank):
    """A 1-D tensor reshaped to broadcast along spatial axis d of (batch, *out, C)."""
    layout = [1] * (rank + 2)
    layout[d + 1] = -1
    return tf.reshape(vector, layout)


def keys(indices, spatial, channels, out, s, before, index_dtype):
    """(keys, steps): each index minus its window's first flat index, and the steps.

    Computed in int64 when the indices are int64, so that no large index wraps
    around into a valid key.
    """
    dtype = tf.int64 if indices.dtype == tf.int64 else index_dtype
    steps, terms = flat_geometry(spatial, channels, out, s, before, dtype)
    keys = tf.cast(indices, dtype)
    for term in terms:
        keys = keys - term
    return keys, steps


def cell_steps(s):
    """The steps of cell numbers: cell (o_0, ..., o_last) is number sum_d o_d * prod_{e > d} s_e."""
    return [int(np.prod(s[d + 1 :], dtype=np.int64)) for d in range(len(s))]


def own_cells(keys, steps, out, s, before, size, rank):
    """The number of the cell of its own block that each key names, or -1.

    -1 where the key names no cell of its own block inside the image (a
    padded cell, another block, another channel, nothing at all). int8 (2
    bytes per 16 of int64 indices) when a block has at most 127 cells: the
    placement and its gradient then read this instead of the indices.
    """
    dtype = tf.int8 if int(np.prod(s)) <= 127 else tf.int32
    cells = tf.constant(-1, dtype)
    for cell in np.ndindex(*s):
        match = keys == tf.cast(sum(cell[d] * steps[d] for d in range(rank)), keys.dtype)
        for d in range(rank):
            valid = _cell_in_image(d, cell[d], out, s, before, size, rank)
            if valid is not None:
                match = match & valid
        number = sum(cell[d] * step for d, step in enumerate(cell_steps(s)))
        cells = tf.where(match, tf.constant(number, dtype), cells)
    return cells


def _cell_in_image(d, o, out, s, before, size, rank):
    """Windows along axis d whose block cell o is inside the image; None if all are (static)."""
    if is_static(out[d], before[d], size[d]) and (
        o >= before[d] and (out[d] - 1) * s[d] - before[d] + o < size[d]
    ):
        return None
    coordinate = tf.range(out[d]) * s[d] - before[d] + o
    return _along((coordinate >= 0) & (coordinate < size[d]), d, rank)


def _is_zero(*values):
    return all(is_static(v) and v == 0 for v in values)


def to_blocks(x, out, s, before, rank, fill=0):
    """x padded/cropped to out * s along every axis and reshaped to the block layout."""
    shape = dims(x, rank)
    spatial, channels = shape[1:-1], shape[-1]
    after = [out[d] * s[d] - spatial[d] - before[d] for d in range(rank)]
    pad_after = [maximum(a, 0) for a in after]
    if not _is_zero(*before, *pad_after):
        paddings = [[0, 0]] + [[before[d], pad_after[d]] for d in range(rank)] + [[0, 0]]
        x = tf.pad(x, paddings, constant_values=tf.constant(fill, x.dtype))
    if not all(is_static(a) and a >= 0 for a in after):
        x = tf.slice(x, [0] * (rank + 2), [-1] + [out[d] * s[d] for d in range(rank)] + [-1])
    layout = [shape[0]]
    for d in range(rank):
        layout += [out[d], s[d]]
    layout[-1] = s[-1] * channels
    return tf.reshape(x, layout)


def block_view(blocks, cell, channels, rank):
    """The (batch, *out, C) slice of the block layout holding cell `cell` of every block."""
    index = [slice(None)]
    for d in range(rank - 1):
        index += [slice(None), cell[d]]
    index += [slice(None), slice(cell[-1] * channels, (cell[-1] + 1) * channels)]
    return blocks[tuple(index)]


def place(values, keys, steps, out, s, before, size, rank):
    """Zeros of spatial size `size`, with values[j] in the cell of block j that keys[j] names.

    Block cell (o_0, ..., o_last) has the key sum_d o_d * steps[d]. A key that
    names no cell places nothing; where two cells share a key, one of them
    lies outside the image and is cropped. Exact: values are selected, never
    multiplied.
    """
    shape = dims(values, rank)
    batch, channels = shape[0], shape[-1]
    dtype = tf.int64 if keys.dtype == tf.int64 else tf.int32
    keys = tf.cast(keys, dtype)
    zero = tf.zeros([], values.dtype)

    def expanded(tensor, lead, axes):
        layout = [lead]
        for d in axes:
            layout += [out[d], 1]
        return tf.reshape(tensor, layout + [channels])

    def table(axes, first=0):
        # The keys of the block cells along `axes` (plus `first` cells along
        # the others), shaped to broadcast against expanded(): (1, 1, s_a, 1, ..., 1).
        key = tf.cast(first, dtype)
        for j, d in enumerate(axes):
            layout = [1] * (2 * len(axes) + 2)
            layout[2 + 2 * j] = s[d]
            key = key + tf.reshape(tf.range(s[d], dtype=dtype) * tf.cast(steps[d], dtype), layout)
        return key

    if 2 * rank + 2 <= _MAX_BROADCAST_RANK:
        axes = range(rank)
        blocks = tf.where(
            expanded(keys, batch, axes) == table(axes), expanded(values, batch, axes), zero
        )
    else:
        # Axis 0 one cell at a time: each slab is (batch, out_0, rest), stacked
        # between out_0 and the rest, which is where axis 0's cells belong.
        axes = range(1, rank)
        lead = batch * out[0]
        k, v = expanded(keys, lead, axes), expanded(values, lead, axes)
        slab = [batch, out[0]] + [out[d] * s[d] for d in axes] + [channels]
        blocks = tf.stack(
            [
                tf.reshape(tf.where(k == table(axes, o0 * steps[0]), v, zero), slab)
                for o0 in range(s[0])
            ],
            axis=2,
        )
    placed = tf.reshape(blocks, [batch] + [out[d] * s[d] for d in range(rank)] + [channels])
    return crop_to(placed, out, s, before, size, rank)


def crop_to(placed, out, s, before, size, rank):
    """Blocks cover [-before, out*s - before) of every axis: keep [0, size), zeros beyond."""
    after = [maximum(size[d] + before[d] - out[d] * s[d], 0) for d in range(rank)]
    if not _is_zero(*after):
        placed = tf.pad(placed, [[0, 0]] + [[0, a] for a in after] + [[0, 0]])
    exact = all(
        is_static(before[d], size[d], out[d]) and before[d] == 0 and size[d] == out[d] * s[d]
        for d in range(rank)
    )
    if exact:
        return placed
    return tf.slice(placed, [0] + list(before) + [0], [-1] + [size[d] for d in range(rank)] + [-1])


def read(upstream, keys, steps, out, s, before, rank):
    """upstream at the cell of block j that keys[j] names (zero where it names none)."""
    channels = dims(upstream, rank)[-1]
    grid = to_blocks(upstream, out, s, before, rank, fill=0)
    result = None
    for cell in np.ndindex(*s):
        view = block_view(grid, cell, channels, rank)
        hit = keys == tf.cast(sum(cell[d] * steps[d] for d in range(rank)), keys.dtype)
        result = tf.where(hit, view, tf.zeros([], view.dtype) if result is None else result)
    return result
