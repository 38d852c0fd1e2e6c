"""Non-overlapping windows as blocks: the scatter-free kernels of argmax pooling and unpooling.

When every stride is at least the pool size (``strides >= pool_size``, which
includes the usual ``strides == pool_size``), window i along an axis owns the
block [i*s - before, (i+1)*s - before) of s positions, and blocks do not
overlap. After padding or cropping the input to exactly ``out * s`` along every
axis (``before`` positions added at the start), a free reshape turns it into

    (batch, out_0, s_0, out_1, s_1, ..., out_last, s_last * C)

so the cells of every block are plain slices. A position inside its block is
named by its *cell number* ``sum_d o_d * prod_{e > d} s_e`` (o_d in [0, s_d)).
Placing a value in its cell is then one broadcast comparison of cell numbers
and one select per output element; reading it back is one select per cell.
No scatter, exact, deterministic.
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


def cell_number(cell, s):
    """The number of a block cell (o_0, ..., o_last): row-major within the block."""
    return int(np.ravel_multi_index(cell, s))


def cell_dtype(s):
    """The smallest integer dtype that holds every cell number of a block."""
    return tf.int8 if int(np.prod(s)) <= 127 else tf.int32


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


def place(values, cells, out, s, before, size, rank):
    """Zeros of spatial size `size`, with values[j] in cell cells[j] of block j.

    `cells` holds cell numbers (any integer dtype); a number outside
    [0, prod(s)) places nothing. Exact: values are selected, never multiplied.
    """
    shape = dims(values, rank)
    batch, channels = shape[0], shape[-1]
    cells = tf.cast(cells, tf.int32)
    zero = tf.zeros([], values.dtype)

    def expanded(tensor, lead, axes):
        layout = [lead]
        for d in axes:
            layout += [out[d], 1]
        return tf.reshape(tensor, layout + [channels])

    def table(axes, first=0):
        # Cell numbers of the block cells along `axes`, shaped to broadcast
        # against expanded(): (1, 1, s_a, 1, s_b, ..., 1).
        numbers = np.zeros([s[d] for d in axes], np.int32)
        for cell in np.ndindex(*numbers.shape):
            numbers[cell] = cell_number((first,) * (rank - len(axes)) + cell, s)
        layout = [1]
        for d in axes:
            layout += [1, s[d]]
        return tf.constant(numbers.reshape(layout + [1]))

    if 2 * rank + 2 <= _MAX_BROADCAST_RANK:
        axes = range(rank)
        blocks = tf.where(
            expanded(cells, batch, axes) == table(axes), expanded(values, batch, axes), zero
        )
    else:
        # Axis 0 one cell at a time: each slab is (batch, out_0, rest), stacked
        # between out_0 and the rest, which is where axis 0's cells belong.
        axes = range(1, rank)
        lead = batch * out[0]
        keys, vals = expanded(cells, lead, axes), expanded(values, lead, axes)
        slab = [batch, out[0]] + [out[d] * s[d] for d in axes] + [channels]
        blocks = tf.stack(
            [tf.reshape(tf.where(keys == table(axes, o0), vals, zero), slab)
             for o0 in range(s[0])],
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
    return tf.slice(
        placed, [0] + list(before) + [0], [-1] + [size[d] for d in range(rank)] + [-1]
    )


def read(upstream, cells, out, s, before, rank):
    """upstream at cell cells[j] of block j (zero where the number names no cell)."""
    channels = dims(upstream, rank)[-1]
    blocks = to_blocks(upstream, out, s, before, rank, fill=0)
    cells = tf.cast(cells, tf.int32)
    result = None
    for cell in np.ndindex(*s):
        view = block_view(blocks, cell, channels, rank)
        hit = cells == cell_number(cell, s)
        result = tf.where(hit, view, tf.zeros([], view.dtype) if result is None else result)
    return result


def own_cells(indices, out, s, before, size, rank):
    """(cell numbers, all_inside): where each flat index lies in its own block.

    An index p = (sum_d y_d * S_d) * C + c (S_d the row-major strides of
    `size`) of pooled entry (i, c) lies in its own block when its channel is
    c and every coordinate y_d is in [0, size_d) and in [i_d*s_d - before_d,
    (i_d + 1)*s_d - before_d). `all_inside` is a scalar bool: True when every
    index does, which is when `place` puts every value where its index says.
    Computed in the indices' own integer width, so no large index wraps.
    """
    shape = dims(indices, rank)
    channels = shape[-1]
    dtype = tf.int64 if indices.dtype == tf.int64 else tf.int32
    flat = tf.cast(indices, dtype)
    channel = tf.reshape(tf.range(channels, dtype=dtype), [1] * (rank + 1) + [-1])
    position = flat // tf.cast(channels, dtype)
    inside = (flat >= 0) & (flat - position * tf.cast(channels, dtype) == channel)
    cells = tf.zeros([], dtype)
    weight = 1
    for d in reversed(range(rank)):
        n = tf.cast(size[d], dtype)
        if d > 0:
            coordinate = position % n
            position = position // n
        else:
            coordinate = position
            inside = inside & (coordinate < n)
        origin = tf.range(out[d], dtype=dtype) * s[d] - tf.cast(before[d], dtype)
        layout = [1] * (rank + 2)
        layout[d + 1] = -1
        local = coordinate - tf.reshape(origin, layout)
        inside = inside & (local >= 0) & (local < s[d])
        cells = cells + local * weight
        weight *= s[d]
    return cells, tf.reduce_all(inside)
