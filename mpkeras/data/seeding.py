"""The seed ``load`` uses when none is given: the global one, read, not drawn.

``keras.utils.set_random_seed(s)`` seeds Python's, NumPy's and TensorFlow's
global generators; the initial weights of a Keras model follow it. The data
order and corruption of ``mpkeras.data.load(seed=None)`` follow it too: the
seed is a hash of NumPy's global random state (the Mersenne Twister's key and
position), so

* ``set_random_seed(0)`` twice gives the same order and noise,
  ``set_random_seed(0)`` and ``set_random_seed(1)`` different ones;
* the state is only read, never drawn from: loading data does not change the
  numbers a script or Keras draws afterwards (nor does preparing a dataset,
  see ``mpkeras.data.sources``), and two loads with no draw in between get the
  same seed;
* a process that never seeds gets a new order each time it runs, as
  ``tf.data.Dataset.shuffle(seed=None)`` does.

An explicit ``seed`` ignores the global state altogether.
"""

import hashlib

import numpy as np

from mpkeras import validation

# Seeds are non-negative int64 values; 31 bits keep them readable and valid
# everywhere a seed is accepted (tf.random, NumPy, Python).
_SEED_BITS = 31


def default_seed():
    """A seed that is a function of NumPy's global random state (not drawn from it).

    Returns:
        An int in [0, 2**31).
    """
    state = np.random.get_state(legacy=False)
    digest = hashlib.blake2b(digest_size=8)
    digest.update(state["bit_generator"].encode())
    digest.update(np.ascontiguousarray(state["state"]["key"]).tobytes())
    digest.update(int(state["state"]["pos"]).to_bytes(8, "little"))
    return int.from_bytes(digest.digest(), "little") % (1 << _SEED_BITS)


def resolve_seed(seed):
    """``seed`` checked (a non-negative integer), or :func:`default_seed` for None."""
    if seed is None:
        return default_seed()
    return validation.non_negative_int(seed, "seed")
