"""Comparing outputs: how close the modes of a call must agree, and error text."""

import re

import keras
import numpy as np

RTOL = ATOL = 1e-5
BF16_TOLERANCE = 2.0**-5


def numpy_outputs(outputs):
    return [keras.ops.convert_to_numpy(o) for o in keras.tree.flatten(outputs)]


def first_line(error):
    """`Type: message` of an error, without Keras's "Exception encountered" wrapper."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    while len(lines) > 1 and lines[0].startswith("Exception encountered when calling"):
        lines = lines[1:]
    return f"{type(error).__name__}: {lines[0] if lines else ''}".strip()


def brief(error, lines=6):
    """An assertion's message on one line (NumPy's reports span many)."""
    kept = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return " | ".join(kept[:lines])


def all_nan(outputs):
    """Whether every floating output is NaN everywhere (and there is one)."""
    arrays = [np.asarray(a) for a in numpy_outputs(outputs)]
    floats = [a for a in arrays if np.issubdtype(a.dtype, np.floating)]
    return bool(floats) and all(a.size and np.isnan(a).all() for a in floats)


def assert_outputs_close(actual, expected, what, rtol=RTOL, atol=ATOL):
    """Flattened outputs equal in number, shape and dtype kind; ints equal, floats close."""
    actual, expected = numpy_outputs(actual), numpy_outputs(expected)
    assert len(actual) == len(expected), f"{what}: {len(actual)} outputs, expected {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected)):
        label = f"{what}, output {i}"
        assert a.shape == e.shape, f"{label}: shape {a.shape}, expected {e.shape}"
        if np.issubdtype(e.dtype, np.integer) or e.dtype == bool:
            assert a.dtype == e.dtype, f"{label}: dtype {a.dtype}, expected {e.dtype}"
            mismatched = int(np.sum(a != e))
            assert not mismatched, f"{label}: {mismatched} of {e.size} integer values differ"
        else:
            np.testing.assert_allclose(
                np.asarray(a, np.float64),
                np.asarray(e, np.float64),
                rtol=rtol,
                atol=atol,
                err_msg=label,
            )
