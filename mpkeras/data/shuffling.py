"""Seeded shuffling whose order is a pure function of (seed, epoch).

``Dataset.shuffle(seed=s, reshuffle_each_iteration=True)`` gives a different
order on each pass, but the n-th order depends on how many passes this process
has made. A run resumed after a crash starts counting again at zero and would
see epoch 0's order at epoch k, so it could not end where the uninterrupted run
ends. Here the order of a pass is drawn from ``seed`` and the value of a shared
epoch counter that the training loop sets before each epoch
(``mpkeras.callbacks.ShuffleEpoch``); the same epoch always sees the same order.
"""

import tensorflow as tf

_EPOCH = None

# Mixes the user seed with the epoch so that neighbouring seeds do not give
# shifted copies of the same sequence of orders.
_SEED_STRIDE = 1_000_003

# The graph-level seed of the shuffle's function graph. Fixing it makes the
# order depend on (seed, epoch) alone, not on tf.random.set_seed; it also
# avoids TF's get_seed() testing a tensor op seed for truthiness, which fails
# in graph mode when the global seed is 0.
_GRAPH_SEED = 1


def epoch_variable():
    """The process-wide epoch counter read by every per-epoch shuffle."""
    global _EPOCH
    if _EPOCH is None:
        with tf.init_scope():
            _EPOCH = tf.Variable(0, dtype=tf.int64, trainable=False, name="shuffle_epoch")
    return _EPOCH


def set_epoch(epoch):
    """Make the next pass of every per-epoch shuffle use ``epoch``'s order."""
    epoch_variable().assign(int(epoch))


def shuffle_per_epoch(dataset, buffer_size, seed):
    """Shuffle ``dataset`` in an order fixed by ``seed`` and the current epoch.

    The epoch counter is read when a pass starts (when Keras creates the
    epoch's iterator), not when the pipeline is built.
    """
    counter = epoch_variable()
    seed = tf.constant(int(seed), tf.int64)

    def one_pass(_):
        # Traced in a function graph of its own: this sets that graph's seed only.
        tf.compat.v1.set_random_seed(_GRAPH_SEED)
        return dataset.shuffle(
            buffer_size,
            seed=seed * _SEED_STRIDE + counter.read_value(),
            reshuffle_each_iteration=False,
        )

    shuffled = tf.data.Dataset.range(1).flat_map(one_pass)
    # flat_map hides the size; restore it so Keras progress bars know it.
    cardinality = int(dataset.cardinality())
    if cardinality >= 0:
        shuffled = shuffled.apply(tf.data.experimental.assert_cardinality(cardinality))
    return shuffled
