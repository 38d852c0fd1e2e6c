"""Max pooling that remembers where each maximum came from, and max unpooling.

The notes (chapter 3, claim F1) upsample a fully convolutional network's
features by *max unpooling*: every value goes back to the position its
maximum had in the matching max-pooling layer, zeros elsewhere (Figures 7
and 10). Keras has no such layer; these are 1D, 2D and 3D versions on one
code path, as PyTorch has ``MaxUnpool1d/2d/3d``.

Index convention: exactly ``tf.nn.max_pool_with_argmax``'s with
``include_batch_in_index=False``. For an input of shape ``(batch, H, W, C)``
the maximum at row y, column x, channel c has index ``(y * W + x) * C + c``
within its image; in 1D it is ``x * C + c`` and in 3D
``((z * H + y) * W + x) * C + c``. Indices from ``tf.nn.max_pool_with_argmax``,
from ``MaxPoolingWithArgmax2D`` and from code written for TensorFlow Addons'
``MaxUnpooling2D`` therefore work unchanged, whatever the batch size. Ties:
the first maximum in row-major window order wins, as in TensorFlow's kernel.

Two code paths, chosen from the static ``pool_size`` and ``strides``:

* Pooling, always: the values are ``tf.nn.max_pool``'s (so exactly Keras's
  MaxPooling values); the index is that of the first window cell equal to
  the maximum, found by comparing each of the ``prod(pool_size)`` views of
  the input (free reshapes and slices when windows do not overlap, strided
  slices when they do) with the maximum. No scatter.
* Unpooling with non-overlapping windows (``strides >= pool_size`` along
  every axis, which includes the common ``strides == pool_size``): no
  scatter at all. Each index is compared with the flat position of every
  cell of its own block (one broadcast comparison and one select) and the
  blocks are reshaped into the output; its gradient selects the upstream
  gradient the same way. Exact (indices are integers, values are copied).
  With static shapes and large tensors these element-wise kernels are
  XLA-compiled so that they fuse into about one pass (``XLA_MIN_ELEMENTS``).
* Overlapping windows (some stride smaller than the pool size): unpooling
  scatters with ``tf.math.unsorted_segment_sum``. Two overlapping windows may
  have picked the same input position; in a max pooling they then carry the
  same value, so the position must receive that value once, not twice. Rule:
  the first window in row-major order that names a position writes it; later
  windows naming the same position are ignored (value and gradient). This is
  deterministic and, for indices and values coming from a max pooling, equals
  placing the maximum once.

Gradients: the gradient of a pooling's ``values`` with respect to its input is
the max-pool backward of the notes, d z[i, j] / d x[i', j'] =
1{[i', j'] = [i*, j*]}: the upstream gradient goes to the argmax position and
sums where windows share it (it is computed as unpooling's placement, with a
sum instead of take-one when windows overlap). The gradient of an unpooling
with respect to ``values`` is the upstream gradient read back at each index.
Indices carry no gradient.
"""

import functools

import numpy as np
import keras
import tensorflow as tf

_PADDINGS = ("valid", "same")
_INT32_LIMIT = 2**31 - 1


# ---------------------------------------------------------------------------
# Argument checking
# ---------------------------------------------------------------------------


def _normalize_tuple(value, rank, name):
    """A tuple of `rank` positive ints from an int or a sequence (Keras wording)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        items = (int(value),) * rank
    elif isinstance(value, (tuple, list)) and len(value) == rank and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value
    ):
        items = tuple(int(v) for v in value)
    else:
        items = None
    if items is None or any(v <= 0 for v in items):
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive integer "
            f"or tuple of {rank}. Received: {name}={value!r}"
        )
    return items


def _normalize_padding(padding):
    if not isinstance(padding, str) or padding.lower() not in _PADDINGS:
        raise ValueError(
            "Received an invalid value for `padding`, expected 'valid' or 'same'. "
            f"Received: padding={padding!r}"
        )
    return padding.lower()


def _check_rank(tensor, rank, name):
    ndim = tensor.shape.rank
    if ndim is not None and ndim != rank + 2:
        raise ValueError(
            f"`{name}` must have rank {rank + 2} (batch, {rank} spatial "
            f"dimension{'s' if rank > 1 else ''}, channels). Received: {name} with "
            f"shape {tuple(tensor.shape)}"
        )


def _is_eager(*tensors):
    return tf.executing_eagerly() and all(
        isinstance(t, tf.Tensor) and hasattr(t, "numpy") for t in tensors
    )


# ---------------------------------------------------------------------------
# Geometry (static ints when known, else int32 scalar tensors)
# ---------------------------------------------------------------------------


def _dims(x, rank):
    """[batch, *spatial, channels], each a Python int when static else a tensor."""
    static = x.shape.as_list()
    dynamic = tf.shape(x)
    return [static[i] if static[i] is not None else dynamic[i] for i in range(rank + 2)]


def _is_static(*values):
    return all(isinstance(v, (int, np.integer)) for v in values)


def _maximum(a, b):
    return max(a, b) if _is_static(a, b) else tf.maximum(a, b)


def _pooled_size(size, k, s, padding):
    """Output length of one axis: floor((n - k) / s) + 1 ("valid"), ceil(n / s) ("same")."""
    if padding == "valid":
        return (size - k) // s + 1
    return -(-size // s)


def _pad_before(size, out, k, s, padding):
    """Padding TensorFlow puts before an axis: floor(total / 2) for "same"."""
    if padding == "valid":
        return 0
    return _maximum((out - 1) * s + k - size, 0) // 2


def _default_unpooled_size(out, k, s, padding):
    """The inverse the layer assumes when `output_size` is None."""
    return (out - 1) * s + k if padding == "valid" else out * s


def _index_dtype(spatial, channels):
    """int32 when every per-image index fits, else int64."""
    if _is_static(*spatial, channels) and int(np.prod(spatial)) * channels <= _INT32_LIMIT:
        return tf.int32
    return tf.int64


def _row_major_strides(spatial):
    """Flat-index stride of each spatial axis (the last one has stride 1)."""
    strides = [1] * len(spatial)
    for d in range(len(spatial) - 2, -1, -1):
        strides[d] = strides[d + 1] * spatial[d + 1]
    return strides


def _axis_vector(values, axis, rank):
    """Reshape a 1-D tensor so that it broadcasts along spatial axis `axis`."""
    shape = [1] * (rank + 2)
    shape[axis + 1] = -1
    return tf.reshape(values, shape)


def _window_origins(out, k, s, pad, rank, dtype):
    """Per axis, the first input coordinate of every window: i * s - pad."""
    return [
        tf.range(out[d], dtype=dtype) * s[d] - tf.cast(pad[d], dtype)
        for d in range(rank)
    ]


def _base_index(origins, strides, channels, rank, dtype):
    """Flat index of each window's origin cell: (sum_d origin_d * S_d) * C + c."""
    base = tf.zeros([], dtype)
    for d in range(rank):
        base = base + _axis_vector(origins[d] * tf.cast(strides[d], dtype), d, rank)
    c = tf.reshape(tf.range(channels, dtype=dtype), [1] * (rank + 1) + [-1])
    return base * tf.cast(channels, dtype) + c


# ---------------------------------------------------------------------------
# Kernels: plain TensorFlow ops, fused by XLA when shapes are static
# ---------------------------------------------------------------------------

# The fast paths are a handful of elementwise compares, selects and free
# reshapes over the whole feature map. Run op by op, each writes a full-size
# intermediate; compiled with XLA (tf.function(jit_compile=True)) they fuse
# into about one pass, 2-4x faster on a CPU. XLA compiles once per shape, so
# it is used only for tensors with static shapes and at least this many
# elements; smaller or dynamically shaped tensors run the same ops unfused.
XLA_MIN_ELEMENTS = 1 << 18
USE_XLA = True


@functools.lru_cache(maxsize=256)
def _compiled(kernel, static):
    return tf.function(lambda *tensors: kernel(*tensors, *static), jit_compile=True)


def _run_kernel(kernel, tensors, static):
    """kernel(*tensors, *static), XLA-compiled for large static shapes."""
    big = (
        USE_XLA
        and all(t.shape.is_fully_defined() for t in tensors)
        and max(t.shape.num_elements() for t in tensors) >= XLA_MIN_ELEMENTS
        and all(_is_static(*v) if isinstance(v, tuple) else True for v in static)
    )
    if big:
        return _compiled(kernel, static)(*tensors)
    return kernel(*tensors, *static)


# ---------------------------------------------------------------------------
# Max pooling with argmax
# ---------------------------------------------------------------------------


def _non_overlapping(k, s):
    return all(s_d >= k_d for k_d, s_d in zip(k, s))


def _lowest(dtype):
    return tf.constant(-np.inf if dtype.is_floating else dtype.min, dtype)


def _block_views(x, out, k, s, pad, rank, fill=None):
    """Views of x for every window cell when windows do not overlap (s >= k).

    x is padded/cropped to exactly out * s along every axis (window i's block
    is [i*s - pad, (i+1)*s - pad)) and reshaped, for free, to (batch, out0,
    s0, out1, s1, ..., out_last, s_last * C); the cell (o0, ..., o_last) of
    every window is then one slice with a contiguous run of C channels.
    """
    dims = _dims(x, rank)
    spatial, channels = dims[1:-1], dims[-1]
    after = [out[d] * s[d] - spatial[d] - pad[d] for d in range(rank)]
    pads = [_maximum(a, 0) for a in after]
    if not all(_is_static(p) and p == 0 for p in list(pad) + pads):
        paddings = [[0, 0]] + [[pad[d], pads[d]] for d in range(rank)] + [[0, 0]]
        lowest = _lowest(x.dtype) if fill is None else tf.constant(fill, x.dtype)
        x = tf.pad(x, paddings, constant_values=lowest)
    if not all(_is_static(a) and a >= 0 for a in after):
        x = tf.slice(x, [0] * (rank + 2), [-1] + [out[d] * s[d] for d in range(rank)] + [-1])
    shape = [dims[0]]
    for d in range(rank):
        shape += [out[d], s[d]]
    shape[-1] = s[-1] * channels
    blocks = tf.reshape(x, shape)
    for cell in np.ndindex(*k):
        index = [slice(None)]
        for d in range(rank - 1):
            index += [slice(None), cell[d]]
        index += [slice(None), slice(cell[-1] * channels, (cell[-1] + 1) * channels)]
        yield cell, blocks[tuple(index)]


def _strided_views(x, out, k, s, pad, rank):
    """Views of x for every window cell (any strides), by strided slicing."""
    dims = _dims(x, rank)
    spatial = dims[1:-1]
    after = [_maximum((out[d] - 1) * s[d] + k[d] - spatial[d] - pad[d], 0) for d in range(rank)]
    if not all(_is_static(p) and p == 0 for p in list(pad) + after):
        paddings = [[0, 0]] + [[pad[d], after[d]] for d in range(rank)] + [[0, 0]]
        x = tf.pad(x, paddings, constant_values=_lowest(x.dtype))
    for cell in np.ndindex(*k):
        begin = [0] + list(cell) + [0]
        end = [dims[0]] + [cell[d] + (out[d] - 1) * s[d] + 1 for d in range(rank)] + [dims[-1]]
        yield cell, tf.strided_slice(x, begin, end, [1] + list(s) + [1])


def _argmax_pool_forward(x, k, s, padding, rank):
    """(values, indices in int32/int64): max pooling, then the first cell equal to the max.

    `values` come from tf.nn.max_pool, so they are exactly Keras's
    MaxPooling values. The index is that of the first window cell (row-major)
    holding the maximum -- TensorFlow's tie rule -- found by comparing every
    cell's view with the maximum, last cell first, so earlier cells overwrite.
    Padded cells are never chosen. (A window holding NaN gets the index of
    its first real cell.)
    """
    values = tf.nn.max_pool(x, list(k), list(s), padding.upper())
    indices = _run_kernel(_argmax_kernel, (x, values), (k, s, padding, rank))
    indices.set_shape(values.shape)
    return values, indices


def _argmax_kernel(x, values, k, s, padding, rank):
    dims = _dims(x, rank)
    spatial, channels = dims[1:-1], dims[-1]
    out = [_pooled_size(spatial[d], k[d], s[d], padding) for d in range(rank)]
    pad = [_pad_before(spatial[d], out[d], k[d], s[d], padding) for d in range(rank)]
    dtype = _index_dtype(spatial, channels)
    strides_flat = _row_major_strides(spatial)

    views = (_block_views if _non_overlapping(k, s) else _strided_views)(
        x, out, k, s, pad, rank
    )
    cells = list(views)

    def flat_offset(cell):
        return tf.cast(sum(cell[d] * strides_flat[d] for d in range(rank)), dtype)

    valid = None
    if padding == "same":
        # Validity of each cell per window, as small broadcastable masks.
        origins = _window_origins(out, k, s, pad, rank, tf.int32)

        def valid(cell):
            mask = None
            for d in range(rank):
                coord = origins[d] + cell[d]
                ok = _axis_vector((coord >= 0) & (coord < spatial[d]), d, rank)
                mask = ok if mask is None else mask & ok
            return mask

        # Default: the first real cell of each window.
        offset = tf.zeros([1] * (rank + 2), dtype)
        for cell, _ in reversed(cells):
            offset = tf.where(valid(cell), flat_offset(cell), offset)
    else:
        offset = flat_offset(cells[0][0])

    if len(cells) == 1:
        offset = tf.broadcast_to(offset, tf.shape(values))
    for cell, view in reversed(cells if len(cells) > 1 else []):
        hit = view == values
        if valid is not None:
            hit = hit & valid(cell)
        offset = tf.where(hit, flat_offset(cell), offset)

    origins = _window_origins(out, k, s, pad, rank, dtype)
    return _base_index(origins, strides_flat, channels, rank, dtype) + offset * tf.cast(
        channels, dtype
    )


def max_pool_with_argmax(x, pool_size, strides=None, padding="valid"):
    """Max pooling of a (batch, *spatial, channels) tensor, with argmax indices.

    z[i] = max { x[i'] : i' in [s*i, s*i + k) } along every spatial axis, and
    the index (row-major position within the image) * C + c of the maximum,
    as ``tf.nn.max_pool_with_argmax(include_batch_in_index=False)`` returns it
    (ties: the first maximum in row-major window order). Works for 1, 2 and 3
    spatial dimensions, any sizes, "valid" and "same" padding, dynamic shapes.

    Args:
        x: tensor of rank 3, 4 or 5 (channels last).
        pool_size: int or tuple, one entry per spatial axis.
        strides: int, tuple or None (= pool_size).
        padding: "valid" or "same".

    Returns:
        ``(values, indices)``: the pooled values (x's dtype) and int64 indices,
        both of shape (batch, *pooled spatial, channels). The gradient of
        ``values`` with respect to ``x`` is the max-pool backward: the upstream
        gradient at the argmax position, summed where windows share it.
    """
    x = tf.convert_to_tensor(x)
    rank = x.shape.rank - 2 if x.shape.rank is not None else None
    if rank not in (1, 2, 3):
        raise ValueError(
            "`inputs` must have rank 3, 4 or 5 (batch, spatial dimensions, channels). "
            f"Received: inputs with shape {tuple(x.shape)}"
        )
    k = _normalize_tuple(pool_size, rank, "pool_size")
    s = _normalize_tuple(strides if strides is not None else k, rank, "strides")
    padding = _normalize_padding(padding)
    return _max_pool_with_argmax(x, k, s, padding, rank)


def _max_pool_with_argmax(x, k, s, padding, rank):
    dims = _dims(x, rank)
    if _is_static(*dims[1:-1]) and padding == "valid":
        for d in range(rank):
            if dims[1 + d] < k[d]:
                raise ValueError(
                    f"With padding='valid' every spatial size must be at least the "
                    f"pool size. Received: inputs with shape {tuple(x.shape)} and "
                    f"pool_size={k}"
                )

    @tf.custom_gradient
    def pool(inputs):
        values, indices = _argmax_pool_forward(inputs, k, s, padding, rank)
        indices64 = tf.cast(indices, tf.int64)

        def grad(d_values, d_indices=None):
            # The max-pool backward: upstream gradients placed at the argmax,
            # summed where overlapping windows picked the same position.
            return _place(
                d_values, indices, tf.shape(inputs)[1:-1], k, s, padding, rank,
                duplicates="sum",
            )

        return (values, indices64), grad

    return pool(x)


# ---------------------------------------------------------------------------
# Max unpooling
# ---------------------------------------------------------------------------


def _place(values, indices, output_size, k, s, padding, rank, duplicates):
    """Zeros of shape (batch, *output_size, C) with values[j] at indices[j].

    `duplicates` says what happens when overlapping windows name the same
    position: "first" (take-one, the first window in row-major order) for
    unpooling, "sum" for the max-pool backward. Non-overlapping windows never
    share a position, so there both agree and no scatter is used.
    """
    if all(s[d] >= k[d] for d in range(rank)):
        return _place_blocks(values, indices, output_size, k, s, padding, rank)
    return _place_scatter(values, indices, output_size, rank, duplicates)


def _output_dims(output_size, rank):
    """Spatial output sizes as ints where static (a list of ints / scalar tensors)."""
    if isinstance(output_size, (tuple, list)):
        return list(output_size)
    static = tf.get_static_value(output_size)
    if static is not None:
        return [int(v) for v in static]
    return [output_size[d] for d in range(rank)]


def _place_blocks(values, indices, output_size, k, s, padding, rank):
    """Non-overlapping windows: compare each index with its block's cells, no scatter."""
    size = tuple(_output_dims(output_size, rank))
    static = (k, s, padding, rank, size)

    @tf.custom_gradient
    def place(values):
        placed = _run_kernel(_place_kernel, (values, indices), static)

        def grad(upstream):
            # The transpose of the placement: the upstream gradient read back
            # at each index, i.e. selected from each block, no scatter.
            return _run_kernel(_read_kernel, (upstream, indices), static)

        return placed, grad

    return place(values)


def _block_geometry(values, indices, k, s, padding, rank, size):
    """Shared set-up of the block kernels: index dtype, pads, offsets in blocks."""
    dims = _dims(values, rank)
    out, channels = dims[1:-1], dims[-1]
    pad = [_pad_before(size[d], out[d], k[d], s[d], padding) for d in range(rank)]
    dtype = _index_dtype(size, channels)
    # Window i's block is [i*s - pad, (i+1)*s - pad) along each axis; an index
    # from that window is base(i, c) + C * sum_d o_d * S_d with o_d in [0, s_d).
    strides_flat = _row_major_strides(size)
    origins = _window_origins(out, k, s, pad, rank, dtype)
    relative = tf.cast(indices, dtype) - _base_index(origins, strides_flat, channels, rank, dtype)
    return dims, pad, dtype, strides_flat, relative


def _place_kernel(values, indices, k, s, padding, rank, size):
    dims, pad, dtype, strides_flat, relative = _block_geometry(
        values, indices, k, s, padding, rank, size
    )
    batch, out, channels = dims[0], dims[1:-1], dims[-1]

    def cells_of(axes):
        """C * sum_d o_d * S_d over the block cells of `axes`, shaped to broadcast."""
        cells = tf.zeros([], dtype)
        for j, d in enumerate(axes):
            shape = [1] * (2 * len(axes) + 2)
            shape[2 + 2 * j] = s[d]
            axis = tf.range(s[d], dtype=dtype) * tf.cast(strides_flat[d], dtype)
            cells = cells + tf.reshape(axis, shape)
        return cells * tf.cast(channels, dtype)

    def expand(tensor, lead, axes):
        # (lead, h, 1, w, 1, C): broadcasts against the cells (1, 1, s0, 1, s1, 1).
        shape = [lead]
        for d in axes:
            shape += [out[d], 1]
        return tf.reshape(tensor, shape + [channels])

    # multiply_no_nan: 0 where the mask is 0 even for inf/NaN values, the
    # value itself (exactly) where it is 1.
    if rank <= 2:
        mask = tf.cast(expand(relative, batch, range(rank)) == cells_of(range(rank)), values.dtype)
        blocks = tf.math.multiply_no_nan(expand(values, batch, range(rank)), mask)
    else:
        # TensorFlow broadcasts at most 6 dimensions: handle the first axis
        # by a loop over its block cells and stack the slabs.
        lead = batch * out[0]
        rel = expand(relative, lead, range(1, rank))
        vals = expand(values, lead, range(1, rank))
        cells = cells_of(range(1, rank))
        slab_shape = [batch, out[0]] + [out[d] * s[d] for d in range(1, rank)] + [channels]
        slabs = []
        for o0 in range(s[0]):
            first = tf.cast(o0 * strides_flat[0], dtype) * tf.cast(channels, dtype)
            mask = tf.cast(rel == cells + first, values.dtype)
            slabs.append(tf.reshape(tf.math.multiply_no_nan(vals, mask), slab_shape))
        blocks = tf.stack(slabs, axis=2)
    placed = tf.reshape(blocks, [batch] + [out[d] * s[d] for d in range(rank)] + [channels])
    # The blocks cover [-pad, out*s - pad); keep [0, size).
    after = [_maximum(size[d] + pad[d] - out[d] * s[d], 0) for d in range(rank)]
    if not all(_is_static(a) and a == 0 for a in after):
        placed = tf.pad(placed, [[0, 0]] + [[0, a] for a in after] + [[0, 0]])
    exact = all(
        _is_static(pad[d], size[d], out[d]) and pad[d] == 0 and size[d] == out[d] * s[d]
        for d in range(rank)
    )
    if not exact:
        placed = tf.slice(
            placed,
            [0] + [pad[d] for d in range(rank)] + [0],
            [-1] + [size[d] for d in range(rank)] + [-1],
        )
    return placed


def _read_kernel(upstream, indices, k, s, padding, rank, size):
    """upstream read at every index: the gradient of `_place_kernel` w.r.t. values."""
    dims, pad, dtype, strides_flat, relative = _block_geometry(
        indices, indices, k, s, padding, rank, size
    )
    out = dims[1:-1]
    views = _block_views(upstream, out, k, s, pad, rank, fill=0)
    result = None
    for cell, view in reversed(list(views)):
        offset = sum(cell[d] * strides_flat[d] for d in range(rank)) * dims[-1]
        hit = relative == tf.cast(offset, dtype)
        result = tf.where(hit, view, tf.zeros([], view.dtype) if result is None else result)
    return result


def _place_scatter(values, indices, output_size, rank, duplicates):
    """Overlapping windows: scatter with unsorted_segment_sum (take-one or sum)."""
    dims = _dims(values, rank)
    batch, channels = dims[0], dims[-1]
    size = _output_dims(output_size, rank)
    per_image = channels
    for d in range(rank):
        per_image = per_image * size[d]
    indices = tf.cast(indices, tf.int64)
    image = tf.reshape(tf.range(batch, dtype=tf.int64), [-1] + [1] * (rank + 1))
    segments = tf.reshape(indices + image * tf.cast(per_image, tf.int64), [-1])
    flat_values = tf.reshape(values, [-1])
    num_segments = tf.cast(batch, tf.int64) * tf.cast(per_image, tf.int64)
    if duplicates == "first":
        # Take-one: among the windows naming a position, the first in row-major
        # order (smallest flat position of the pooled entry) writes it.
        order = tf.range(tf.size(segments, out_type=tf.int64), dtype=tf.int64)
        winner = tf.math.unsorted_segment_min(order, segments, num_segments)
        keep = tf.gather(winner, segments) == order
        flat_values = tf.where(keep, flat_values, tf.zeros([], flat_values.dtype))
    placed = tf.math.unsorted_segment_sum(flat_values, segments, num_segments)
    full = [batch] + [size[d] for d in range(rank)] + [channels]
    return tf.reshape(placed, full)


def _resolve_output_size(values, output_size, k, s, padding, rank):
    """Spatial output size: ints, a 1-D int tensor, or the default inverse."""
    dims = _dims(values, rank)
    out = dims[1:-1]
    if output_size is None:
        return [_default_unpooled_size(out[d], k[d], s[d], padding) for d in range(rank)]
    if isinstance(output_size, (tuple, list)) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in output_size
    ):
        size = [int(v) for v in output_size]
        if len(size) == rank + 2:  # a full shape such as x.shape
            size = size[1:-1]
        if len(size) != rank or any(v <= 0 for v in size):
            raise ValueError(
                f"Received an invalid value for `output_size`, expected {rank} "
                "positive integers (the spatial size before pooling) or a full "
                f"shape of length {rank + 2}. Received: output_size={output_size!r}"
            )
        return size
    try:
        tensor = tf.convert_to_tensor(output_size)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "Received an invalid value for `output_size`, expected a tuple of "
            f"{rank} integers or an integer shape tensor. Received: "
            f"output_size={output_size!r}"
        ) from error
    if not tensor.dtype.is_integer or tensor.shape.rank != 1 or tensor.shape[0] not in (
        rank,
        rank + 2,
        None,
    ):
        raise ValueError(
            "Received an invalid value for `output_size`, expected a 1-D integer "
            f"tensor of length {rank} or {rank + 2}. Received: output_size={output_size!r}"
        )
    if tensor.shape[0] is None:
        raise ValueError(
            "`output_size` must have a known length "
            f"({rank} or {rank + 2}). Received: output_size={output_size!r}"
        )
    tensor = tf.cast(tensor, tf.int32)
    if tensor.shape[0] == rank + 2:
        tensor = tensor[1:-1]
    static = tf.get_static_value(tensor)
    if static is not None:
        return [int(v) for v in static]
    return [tensor[d] for d in range(rank)]


def _check_unpool_inputs(values, indices, size, k, s, padding, rank):
    _check_rank(values, rank, "values")
    _check_rank(indices, rank, "indices")
    if not indices.dtype.is_integer:
        raise ValueError(
            "`indices` must be an integer tensor (the argmax of a max pooling). "
            f"Received: indices with dtype {indices.dtype.name}"
        )
    if not values.shape.is_compatible_with(indices.shape):
        raise ValueError(
            "`values` and `indices` must have the same shape. Received: values with "
            f"shape {tuple(values.shape)} and indices with shape {tuple(indices.shape)}"
        )
    out = values.shape.as_list()[1:-1]
    for d in range(rank):
        if out[d] is None or not _is_static(size[d]):
            continue
        needed = _pooled_size(size[d], k[d], s[d], padding) if size[d] >= (
            k[d] if padding == "valid" else 1
        ) else 0
        if needed != out[d]:
            raise ValueError(
                f"`output_size` {tuple(size)} does not match the pooled size: pooling "
                f"{size[d]} with pool_size={k[d]}, strides={s[d]}, padding="
                f"'{padding}' gives {needed}, but `values` has {out[d]} along spatial "
                f"axis {d} (shape {tuple(values.shape)})."
            )
    if _is_eager(indices) and _is_static(*size) and indices.shape.num_elements():
        channels = values.shape[-1]
        limit = int(np.prod(size)) * (channels if channels is not None else 1)
        low, high = int(tf.reduce_min(indices)), int(tf.reduce_max(indices))
        if low < 0 or high >= limit:
            raise ValueError(
                f"`indices` must lie in [0, {limit}) for output_size={tuple(size)} "
                f"with {channels} channels ((position * C + c) within each image, "
                "include_batch_in_index=False); `output_size` may be too small. "
                f"Received: indices in [{low}, {high}]"
            )


def max_unpool(values, indices, pool_size, strides=None, padding="valid", output_size=None):
    """Place every value where its index says, zeros elsewhere (max unpooling).

    out[b, p, c] = values[b, j, c] if indices[b, j, c] = p * C + c, else 0,
    where p is the row-major position within the image. When overlapping
    windows name the same position, the first window (row-major) writes it.

    Args:
        values: (batch, *pooled spatial, channels), any real dtype.
        indices: integer tensor of the same shape, as returned by
            ``max_pool_with_argmax`` or ``tf.nn.max_pool_with_argmax``.
        pool_size, strides, padding: those of the matching pooling.
        output_size: spatial size before pooling: ints, a full shape of
            length rank + 2, or a 1-D integer (dynamic) shape tensor; None
            for ``(h - 1) * s + k`` ("valid") or ``h * s`` ("same"). Pass it
            whenever the pooled input's size was not exactly that (odd
            sizes), since indices are only meaningful with the original width.

    Returns:
        A tensor of shape (batch, *output_size, channels) and values' dtype.
    """
    values = tf.convert_to_tensor(values)
    indices = tf.convert_to_tensor(indices)
    rank = values.shape.rank - 2 if values.shape.rank is not None else None
    if rank not in (1, 2, 3):
        raise ValueError(
            "`values` must have rank 3, 4 or 5 (batch, spatial dimensions, "
            f"channels). Received: values with shape {tuple(values.shape)}"
        )
    k = _normalize_tuple(pool_size, rank, "pool_size")
    s = _normalize_tuple(strides if strides is not None else k, rank, "strides")
    padding = _normalize_padding(padding)
    return _max_unpool(values, indices, k, s, padding, rank, output_size)


def _max_unpool(values, indices, k, s, padding, rank, output_size):
    _check_rank(values, rank, "values")
    _check_rank(indices, rank, "indices")
    size = _resolve_output_size(values, output_size, k, s, padding, rank)
    _check_unpool_inputs(values, indices, size, k, s, padding, rank)
    placed = _place(values, indices, size, k, s, padding, rank, duplicates="first")
    placed.set_shape(
        [values.shape[0]] + [v if _is_static(v) else None for v in size] + [values.shape[-1]]
    )
    return placed


# ---------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------


class _PoolingGeometry(keras.layers.Layer):
    """Shared constructor, config and shape logic of the 1D/2D/3D layers."""

    rank = None

    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = _normalize_tuple(pool_size, self.rank, "pool_size")
        self.strides = _normalize_tuple(
            strides if strides is not None else self.pool_size, self.rank, "strides"
        )
        self.padding = _normalize_padding(padding)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
        }

    def _pooled_shape(self, input_shape):
        shape = list(input_shape)
        for d in range(self.rank):
            n = shape[1 + d]
            if n is not None:
                shape[1 + d] = _pooled_size(n, self.pool_size[d], self.strides[d], self.padding)
        return tuple(shape)


class _MaxPoolingWithArgmax(_PoolingGeometry):
    def __init__(self, pool_size=2, strides=None, padding="valid", **kwargs):
        super().__init__(pool_size=pool_size, strides=strides, padding=padding, **kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=self.rank + 2)

    def call(self, inputs):
        inputs = tf.convert_to_tensor(inputs)
        _check_rank(inputs, self.rank, "inputs")
        return _max_pool_with_argmax(inputs, self.pool_size, self.strides, self.padding, self.rank)

    def compute_output_shape(self, input_shape):
        shape = self._pooled_shape(input_shape)
        return shape, shape

    def compute_output_spec(self, inputs):
        shape = self._pooled_shape(inputs.shape)
        return (
            keras.KerasTensor(shape, dtype=self.compute_dtype),
            keras.KerasTensor(shape, dtype="int64"),
        )


class _MaxUnpooling(_PoolingGeometry):
    def call(self, values, indices, output_size=None):
        values = tf.convert_to_tensor(values)
        indices = tf.convert_to_tensor(indices)
        return _max_unpool(
            values, indices, self.pool_size, self.strides, self.padding, self.rank, output_size
        )

    def _unpooled_shape(self, values_shape, output_size):
        shape = list(values_shape)
        if output_size is not None and not isinstance(output_size, (tuple, list)):
            static = tf.get_static_value(output_size)
            output_size = None if static is None else [int(v) for v in static]
            if output_size is None:
                return tuple([shape[0]] + [None] * self.rank + [shape[-1]])
        if output_size is not None:
            size = list(output_size)
            if len(size) == self.rank + 2:
                size = size[1:-1]
            return tuple([shape[0]] + [None if v is None else int(v) for v in size] + [shape[-1]])
        for d in range(self.rank):
            n = shape[1 + d]
            if n is not None:
                shape[1 + d] = _default_unpooled_size(
                    n, self.pool_size[d], self.strides[d], self.padding
                )
        return tuple(shape)

    def compute_output_shape(self, values_shape, indices_shape=None, output_size=None):
        return self._unpooled_shape(values_shape, output_size)

    def compute_output_spec(self, values, indices, output_size=None):
        if len(values.shape) != self.rank + 2:
            _check_rank(tf.TensorSpec(values.shape), self.rank, "values")
        if len(indices.shape) != self.rank + 2:
            _check_rank(tf.TensorSpec(indices.shape), self.rank, "indices")
        if not keras.backend.is_int_dtype(indices.dtype):
            raise ValueError(
                "`indices` must be an integer tensor (the argmax of a max pooling). "
                f"Received: indices with dtype {indices.dtype}"
            )
        return keras.KerasTensor(
            self._unpooled_shape(values.shape, output_size), dtype=values.dtype
        )


_POOL_DOC = """Max pooling over {n}D windows that also returns where each maximum was.

    z[i] = max {{ x[i'] : i' in [s*i, s*i + k) }} along every spatial axis (the
    notes' max pooling, Figure 7), together with the index of the maximum
    within its image, {index} (tf.nn.max_pool_with_argmax's convention with
    include_batch_in_index=False; ties go to the first maximum in row-major
    window order). `values` equal keras.layers.MaxPooling{n}D's. Feed both
    outputs to `MaxUnpooling{n}D` with the same arguments to put the maxima
    back (SegNet-style decoders, claim F1).

    The gradient of `values` with respect to the input is the max-pool
    backward: d z[i] / d x[i'] = 1{{i' = i*}}, upstream gradients summed where
    overlapping windows share a maximum. Non-overlapping windows
    (strides >= pool_size) use no scatter at all.

    Args:
        pool_size: int or tuple of {n}, the window size k. Default 2.
        strides: int, tuple of {n} or None (= pool_size), the stride s.
        padding: "valid" or "same" (TensorFlow's: ceil(n / s) outputs, the
            smaller half of the padding before). Padded cells never win.
        **kwargs: base layer arguments (name, dtype, ...).

    Call arguments:
        inputs: a {rank}D tensor (batch, {axes}, channels).

    Returns:
        (values, indices): pooled values and int64 indices, same shape.

    Input shape:
        (batch, {axes}, channels); any sizes, also unknown ones.

    Output shape:
        (batch, {pooled}, channels) for both outputs.

    Example:

    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> values, indices = MaxPoolingWithArgmax2D(2)(x)
    >>> values[0, ..., 0].numpy().tolist(), indices[0, ..., 0].numpy().tolist()
    ([[5.0, 7.0], [13.0, 15.0]], [[5, 7], [13, 15]])
    """

_UNPOOL_DOC = """Max unpooling in {n}D: each value back where its maximum came from.

    out[b, p, c] = values[b, j, c] if indices[b, j, c] = p * C + c, else 0,
    with p the row-major position within the image, {index} (Figures 7 and 10
    of the notes, claim F1). Use the pool_size, strides and padding of the
    matching `MaxPoolingWithArgmax{n}D` (or tf.nn.max_pool_with_argmax with
    include_batch_in_index=False, or code written for TensorFlow Addons).

    Works for any input size, "valid" and "same" padding, strides different
    from the pool size and overlapping windows, unknown batch and spatial
    sizes, float16/bfloat16/float32. Where overlapping windows name the same
    position (their maxima are the same input cell, hence the same value), the
    value is written once: the first window in row-major order writes it and
    the others are ignored (deterministic take-one, not a sum). Non-overlapping
    windows (strides >= pool_size) are unpooled without any scatter: each index
    is compared with the cells of its own block. Indices are assumed to lie in
    their own window, as every max pooling's do.

    The gradient with respect to `values` is the upstream gradient read at each
    index (the transpose of the placement); indices get none.

    Args:
        pool_size: int or tuple of {n}, the pooling's window size. Default 2.
        strides: int, tuple of {n} or None (= pool_size).
        padding: "valid" or "same", as in the pooling.
        **kwargs: base layer arguments (name, dtype, ...).

    Call arguments:
        values: (batch, {pooled}, channels), the pooled (or decoded) features.
        indices: integer tensor of the same shape, the pooling's argmax.
        output_size: the spatial size before pooling, {n} ints, a full shape
            of length {rank}, or a 1-D integer shape tensor (dynamic shapes,
            e.g. tf.shape(x)). Default None: (h - 1) * s + k for "valid",
            h * s for "same". Pass it for odd sizes: indices only make sense
            with the width they were computed for.

    Output shape:
        (batch, *output_size, channels).

    Example:

    >>> x = np.array([1, 3, 2, 1, 2, 6, 5, 8, 3, 2, 8, 1, 4, 1, 0, 3],
    ...              dtype="float32").reshape(1, 4, 4, 1)
    >>> values, indices = MaxPoolingWithArgmax2D(2)(x)
    >>> MaxUnpooling2D(2)(values, indices)[0, ..., 0].numpy().tolist()
    [[0.0, 0.0, 0.0, 0.0], [0.0, 6.0, 0.0, 8.0], [0.0, 0.0, 8.0, 0.0], [4.0, 0.0, 0.0, 0.0]]
    """

_AXES = {1: "steps", 2: "height, width", 3: "depth, height, width"}
_POOLED = {1: "pooled_steps", 2: "pooled_height, pooled_width", 3: "pooled_depth, pooled_height, pooled_width"}
_INDEX = {
    1: "x * C + c",
    2: "(y * W + x) * C + c",
    3: "((z * H + y) * W + x) * C + c",
}


def _doc(template, n):
    return template.format(n=n, rank=n + 2, axes=_AXES[n], pooled=_POOLED[n], index=_INDEX[n])


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxPoolingWithArgmax1D(_MaxPoolingWithArgmax):
    __doc__ = _doc(_POOL_DOC, 1)
    rank = 1


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxPoolingWithArgmax2D(_MaxPoolingWithArgmax):
    __doc__ = _doc(_POOL_DOC, 2)
    rank = 2


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxPoolingWithArgmax3D(_MaxPoolingWithArgmax):
    __doc__ = _doc(_POOL_DOC, 3)
    rank = 3


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxUnpooling1D(_MaxUnpooling):
    __doc__ = _doc(_UNPOOL_DOC, 1)
    rank = 1


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxUnpooling2D(_MaxUnpooling):
    __doc__ = _doc(_UNPOOL_DOC, 2)
    rank = 2


@keras.saving.register_keras_serializable(package="mpkeras")
class MaxUnpooling3D(_MaxUnpooling):
    __doc__ = _doc(_UNPOOL_DOC, 3)
    rank = 3
