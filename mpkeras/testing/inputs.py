"""The inputs of a contract: one call's arguments, and inputs that must be refused."""

import keras
import numpy as np


class CallArgs:
    """The arguments of one call: `CallArgs(values, indices, output_size=(17, 15))`.

    Arrays anywhere in `args` / `kwargs` (also inside lists and dicts) are
    the call's inputs; every other value (ints, tuples of ints, strings) is a
    constant passed unchanged to every call.
    """

    def __init__(self, *args, **kwargs):
        def to_numpy(value):
            return keras.ops.convert_to_numpy(value) if keras.ops.is_tensor(value) else value

        self.args = keras.tree.map_structure(to_numpy, list(args))
        self.kwargs = keras.tree.map_structure(to_numpy, dict(kwargs))

    def arrays(self):
        """The input arrays, in a fixed order: those of `args` first."""
        leaves = keras.tree.flatten((self.args, self.kwargs))
        return [leaf for leaf in leaves if isinstance(leaf, np.ndarray)]

    def positional(self):
        """How many of `arrays()` are in `args` (the data, not keyword conditions)."""
        return sum(isinstance(leaf, np.ndarray) for leaf in keras.tree.flatten(self.args))

    def fill(self, arrays):
        """`(args, kwargs)` with the input arrays replaced by `arrays` (same order)."""
        remaining = list(arrays)
        if len(remaining) != len(self.arrays()):
            raise ValueError(f"expected {len(self.arrays())} inputs, got {len(remaining)}")

        def take(leaf):
            return remaining.pop(0) if isinstance(leaf, np.ndarray) else leaf

        args, kwargs = keras.tree.map_structure(take, (self.args, self.kwargs))
        return list(args), dict(kwargs)

    def call(self, fn, arrays=None):
        args, kwargs = self.fill(self.arrays() if arrays is None else arrays)
        return fn(*args, **kwargs)

    def __repr__(self):
        return f"CallArgs(shapes={[a.shape for a in self.arrays()]})"


class Raises:
    """Inputs on which the call must raise in EVERY mode (never return a result).

    `Raises(CallArgs(values, indices))` in `resized_data`: eagerly, in
    functional models of static and None sizes, in a `tf.function` and under
    XLA, the call raises (an exception of any type; its message matches
    `match` when given). A mode that returns instead would hand the user a
    silent wrong result. Under XLA, which drops `tf.debugging.Assert`, float
    outputs that are NaN everywhere also count as a refusal (loud, never
    plausible).
    """

    def __init__(self, data, match=None):
        self.call_args = as_call(data)
        self.match = match

    def __repr__(self):
        return f"Raises({self.call_args!r}, match={self.match!r})"


def as_call(data):
    return data if isinstance(data, CallArgs) else CallArgs(data)


def as_resized(data):
    return data if isinstance(data, Raises) else as_call(data)


def random_call(input_shape, rng):
    """Standard-normal float32 data for one shape, or a list of shapes (one list argument)."""
    if isinstance(input_shape, list):
        return CallArgs([rng.standard_normal(s).astype("float32") for s in input_shape])
    return CallArgs(rng.standard_normal(tuple(input_shape)).astype("float32"))


def odd_shape(shape, spatial_axes):
    """Odd, pairwise different sizes on the spatial axes: 16 -> 17, 19, 21."""
    shape = list(shape)
    for j, axis in enumerate(spatial_axes):
        base = shape[axis] + (1 if shape[axis] % 2 == 0 else 0)
        shape[axis] = base + 2 * j
    return tuple(shape)


def spatial_axes_of(array, spatial_axes):
    if spatial_axes is not None:
        return tuple(a for a in spatial_axes if a < array.ndim)
    return tuple(range(1, array.ndim - 1)) if array.ndim >= 3 else ()
