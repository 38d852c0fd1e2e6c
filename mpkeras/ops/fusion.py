"""XLA-compile small elementwise kernels on large static shapes (a speed workaround).

Workaround of a TensorFlow limitation (checked on TensorFlow 2.21, CPU): run op
by op, a graph of compares, selects and reshapes writes one full-size
intermediate tensor per op; TensorFlow fuses them only under XLA
(``tf.function(jit_compile=True)``), and it does not auto-cluster them on CPU.
The pooling kernels (argmax pooling, unpooling, their gradients) are such
graphs, and compiled they run in about one pass over memory, 2-4x faster than
unfused (benchmarks/bench_pool.py). XLA compiles once per shape, so a kernel
is compiled only when every dimension but the batch is known and the work
(by default the largest tensor) has at least ``XLA_MIN_ELEMENTS`` elements;
smaller tensors, and tensors of unknown spatial size, run the same ops
unfused (correct, several times slower). Inside a function that is already XLA-compiled the
nested compiled function is simply inlined.

A second workaround, same versions: XLA:CPU reduces a tensor to a scalar in
one thread, about 7x slower than TensorFlow's own kernel (2.1M int8: 4.9 ms
against 0.7 ms of CPU time), so checks that reduce run unfused
(:func:`all_non_negative`).

Every use goes through this module, so it holds the policy.
"""

import functools

import numpy as np
import tensorflow as tf

from mpkeras.ops.padding import is_static

XLA_MIN_ELEMENTS = 1 << 18
USE_XLA = True


@functools.lru_cache(maxsize=256)
def _compiled(kernel, static):
    return tf.function(
        lambda *tensors: kernel(*tensors, *static), jit_compile=True, autograph=False
    )


def _hashable_static(static):
    return all(is_static(*v) if isinstance(v, tuple) else True for v in static)


def all_non_negative(tensor):
    """A scalar bool: every element >= 0, reduced by TensorFlow's kernel, never XLA's."""
    return tf.reduce_min(tensor) >= 0


def run(kernel, tensors, static, elements=None):
    """``kernel(*tensors, *static)``, XLA-compiled for large tensors of known shape.

    ``static`` holds the kernel's Python arguments (ints, tuples of ints,
    strings); they key the compiled function, so they must be hashable.
    Every dimension but the batch must be known (XLA then compiles once per
    batch size met at run time). ``elements`` is the size of the work, by
    default that of the largest tensor (an unknown batch counting as 1).
    """
    known = all(
        t.shape.rank is not None and all(n is not None for n in t.shape[1:]) for t in tensors
    )
    if elements is None and known:
        elements = max(int(np.prod([n or 1 for n in t.shape])) for t in tensors)
    if USE_XLA and known and elements >= XLA_MIN_ELEMENTS and _hashable_static(static):
        return _compiled(kernel, tuple(static))(*tensors)
    return kernel(*tensors, *static)
