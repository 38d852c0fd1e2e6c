"""Values at arbitrary flat indices: unpooling's general path and the overlapping max-pool backward.

An index p names flat position p of its own image (batch entry), so entry j
of image b goes to segment ``b * P + p`` of the flattened output, with
``P = prod(size) * C`` positions per image. Indices must lie in [0, P): the
callers check that (and say what to pass) before they get here; these
functions clip, so that an unchecked index can never reach another image.

Two rules for positions named more than once (overlapping windows):

* take-one, for unpooling: the first entry in row-major order writes the
  position, the others are ignored (value and gradient). Done with an integer
  ``unsorted_segment_min`` of the entries' order and a gather: no float
  addition, so the result is exact and deterministic on every device.
* sum, for the max-pool backward: gradients of windows sharing a maximum add
  up (``unsorted_segment_sum``).
"""

import tensorflow as tf

from mpkeras.ops.blocks import dims


def segments(indices, size, rank):
    """(flat segment ids int64, number of segments) for indices of shape (batch, ..., C)."""
    shape = dims(indices, rank)
    batch, channels = shape[0], shape[-1]
    per_image = tf.cast(channels, tf.int64)
    for d in range(rank):
        per_image = per_image * tf.cast(size[d], tf.int64)
    flat = tf.clip_by_value(tf.cast(indices, tf.int64), 0, per_image - 1)
    image = tf.reshape(tf.range(tf.cast(batch, tf.int64), dtype=tf.int64), [-1] + [1] * (rank + 1))
    return tf.reshape(flat + image * per_image, [-1]), tf.cast(batch, tf.int64) * per_image


def _output_shape(values, size, rank):
    shape = dims(values, rank)
    return [shape[0]] + [size[d] for d in range(rank)] + [shape[-1]]


def _winners(ids, num_segments):
    """(order, winner): each entry's row-major order, and per position the first naming it.

    Positions nobody names get the order dtype's largest value.
    """
    count = tf.size(ids, out_type=tf.int64)
    small = ids.shape.num_elements() is not None and ids.shape.num_elements() < 2**31
    order = tf.range(count, dtype=tf.int32 if small else tf.int64)
    return order, tf.math.unsorted_segment_min(order, ids, num_segments)


def take_one(values, indices, size, rank):
    """(out, kept): out[b, p] = values[b, j] for the first j with indices[b, j] = p, else 0.

    `kept` marks the entries that were written (the gradient's mask).
    """
    ids, num_segments = segments(indices, size, rank)
    order, winner = _winners(ids, num_segments)
    flat = tf.reshape(values, [-1])
    count = tf.cast(tf.size(flat), order.dtype)
    picked = tf.gather(flat, tf.minimum(winner, tf.maximum(count - 1, 0)))
    out = tf.where(winner < count, picked, tf.zeros([], values.dtype))
    kept = tf.reshape(tf.gather(winner, ids) == order, tf.shape(indices))
    return tf.reshape(out, _output_shape(values, size, rank)), kept


def read(upstream, indices, kept, size, rank):
    """The gradient of `take_one` w.r.t. values: upstream at each kept index, zero elsewhere."""
    ids, _ = segments(indices, size, rank)
    picked = tf.reshape(tf.gather(tf.reshape(upstream, [-1]), ids), tf.shape(indices))
    return tf.where(kept, picked, tf.zeros([], upstream.dtype))


def take_one_gradient(upstream, indices, size, rank):
    """`read` with the mask recomputed (where the forward's was not kept)."""
    ids, num_segments = segments(indices, size, rank)
    order, winner = _winners(ids, num_segments)
    kept = tf.reshape(tf.gather(winner, ids) == order, tf.shape(indices))
    return read(upstream, indices, kept, size, rank)


def add(values, indices, size, rank):
    """out[b, p] = sum of values[b, j] over the j with indices[b, j] = p."""
    ids, num_segments = segments(indices, size, rank)
    out = tf.math.unsorted_segment_sum(tf.reshape(values, [-1]), ids, num_segments)
    return tf.reshape(out, _output_shape(values, size, rank))
