"""Per-pass datasets: every pass over a training split has its own index.

Keras ``fit`` starts each epoch by creating a new iterator over the dataset
(a *pass*). A dataset built with :func:`per_pass` counts its own passes:
the first iterator is pass 0, the next pass 1, and so on. The pass index
reaches the pipeline as a tensor, so the shuffle order and every random
corruption of pass i are a pure function of (seed, i): a plain
``model.fit(dataset, epochs=10)`` sees ten different orders and ten fresh
noise draws, and the same ten again in a new process with the same seed,
with no callback.

The counter is a ``tf.Variable`` per dataset, read and incremented once when
a pass starts (when its first element is requested), not when the pipeline
is built. :func:`set_epoch` assigns ``epoch`` to the counter of every live
per-pass dataset, so their next pass is ``epoch``; :func:`advance_epoch`
only moves counters that are behind ``epoch``. The runner's
``mpkeras.callbacks.ShuffleEpoch`` calls ``set_epoch`` at the start of the
first epoch of each ``fit`` (epoch k when ``keras.callbacks.BackupAndRestore``
resumes at k), before Keras creates the epoch's iterator, and
``advance_epoch`` at the start of the others: a resumed run then sees the
data the uninterrupted run saw, and two fits on one dataset both start at
pass 0.

Keras details worth knowing:

* ``fit(dataset, epochs=n)``: one pass per epoch, pass i is epoch i.
* ``fit(dataset.repeat(), steps_per_epoch=s)``: Keras keeps one iterator for
  the whole fit and each repetition is a new pass. tf.data prefetches across
  the repetition boundary, so the pass of epoch e + 1 starts during epoch e;
  that is why later epochs only advance the counters (assigning e + 1 would
  make the next repetition repeat that pass). With s = batches per pass,
  pass i is still epoch i, resumed runs included.
* A pass taken outside ``fit`` while it trains (``next(iter(train))`` in a
  callback) counts as a pass too: the passes of the following epochs shift,
  and a resumed run, which did not take it, sees other data. Draw figures
  from an evaluation split.
* evaluation splits are not per-pass datasets (``load(shuffle=False)``,
  the default for every split but ``"train"``): every pass sees the same
  order and the same corruption.
"""

import itertools
import weakref

import tensorflow as tf

from mpkeras import validation

# Mixes the user seed with the pass index so that neighbouring seeds do not
# give shifted copies of the same sequence of orders.
_SEED_STRIDE = 1_000_003

# The graph-level seed of a pass's function graph. Fixing it makes the order
# depend on (seed, pass) alone, not on tf.random.set_seed; it also avoids
# TF's get_seed() testing a tensor op seed for truthiness, which fails in
# graph mode when the global seed is 0.
_GRAPH_SEED = 1

# Every live pass counter, for set_epoch. tf.Variable is unhashable, so the
# counters are the values of a weak dictionary with arbitrary keys.
_COUNTERS = weakref.WeakValueDictionary()
_KEYS = itertools.count()


def pass_counter():
    """A new pass counter at 0, registered for :func:`set_epoch`.

    A shape-(1,) int64 variable: shape (1,) allows an atomic
    ``scatter_max`` for :func:`advance_epoch`.
    """
    with tf.init_scope():
        counter = tf.Variable([0], dtype=tf.int64, trainable=False, name="pass_counter")
    _COUNTERS[next(_KEYS)] = counter
    return counter


def set_epoch(epoch):
    """Make the next pass of every live per-pass dataset be pass ``epoch``.

    Args:
        epoch: a non-negative integer (Keras's 0-based epoch index).
    """
    epoch = validation.non_negative_int(epoch, "epoch")
    for counter in list(_COUNTERS.values()):
        counter.assign([epoch])


def advance_epoch(epoch):
    """Move every live pass counter that is behind ``epoch`` up to ``epoch``.

    Counters already at or past ``epoch`` (a pass already started by
    prefetching) are left alone. Atomic with respect to passes starting
    concurrently.

    Args:
        epoch: a non-negative integer.
    """
    epoch = validation.non_negative_int(epoch, "epoch")
    update = tf.IndexedSlices(tf.constant([epoch], tf.int64), tf.constant([0]))
    for counter in list(_COUNTERS.values()):
        counter.scatter_max(update)


def per_pass(make_pass, cardinality=None):
    """A dataset whose pass i yields ``make_pass(i)``.

    Args:
        make_pass: ``pass_index -> tf.data.Dataset``; ``pass_index`` is a
            scalar int64 tensor. It is traced once, in a function graph whose
            graph-level seed is fixed, so random ops in it should take
            explicit seeds derived from ``pass_index``.
        cardinality: the number of elements of one pass, if known (``flat_map``
            hides it; Keras progress bars and ``steps_per_epoch`` need it).

    Returns:
        A ``tf.data.Dataset``. It holds its counter as ``pass_counter``; the
        counter lives as long as the dataset (or a dataset built on it).
    """
    counter = pass_counter()

    def one_pass(_):
        # Traced in a function graph of its own: this sets that graph's seed only.
        tf.compat.v1.set_random_seed(_GRAPH_SEED)
        # Read and increment together, once per pass.
        pass_index = counter.assign_add([1])[0] - 1
        return make_pass(pass_index)

    dataset = tf.data.Dataset.range(1).flat_map(one_pass)
    if cardinality is not None and cardinality >= 0:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(int(cardinality)))
    # The traced function holds only the variable's handle; keep the variable
    # itself alive with the dataset (datasets built on this one reference it).
    dataset.pass_counter = counter
    return dataset


def shuffle_pass(dataset, buffer_size, seed, pass_index):
    """``dataset`` shuffled in the order of pass ``pass_index`` for ``seed``.

    Call inside a ``make_pass`` of :func:`per_pass`.
    """
    seed = tf.constant(int(seed), tf.int64) * _SEED_STRIDE + tf.cast(pass_index, tf.int64)
    return dataset.shuffle(buffer_size, seed=seed, reshuffle_each_iteration=False)


def tag_pass(dataset, pass_index):
    """``(pass_index, element)`` for every element of ``dataset``.

    Call inside a ``make_pass`` of :func:`per_pass`, so that the pass index
    reaches a per-batch map that draws random numbers from it.
    """
    return tf.data.Dataset.zip((tf.data.Dataset.from_tensors(pass_index).repeat(), dataset))
