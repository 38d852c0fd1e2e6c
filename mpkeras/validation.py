"""Argument checks shared by every mpkeras module, in Keras's wording.

Every check raises ``ValueError`` with the message Keras itself uses:

    Received an invalid value for `pool_size`, expected a positive integer or
    tuple of 2. Received: pool_size=0

and returns the value normalised (an ``int``, a ``float``, a tuple, a lower-case
string), so a constructor reads ``self.units = validation.positive_int(units,
"units")``. Nothing here imports TensorFlow or Keras: the checks run in
``mpkeras --help``'s process and in NumPy-only paths too.
"""

import math
import numbers

PADDINGS = ("valid", "same")


def invalid(name, expected, value):
    """The ``ValueError`` every check raises: ``expected`` is a phrase."""
    return ValueError(
        f"Received an invalid value for `{name}`, expected {expected}. Received: {name}={value!r}"
    )


def is_int(value):
    """True for Python and NumPy integers, but not for ``bool``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value):
    """True for finite Python and NumPy real numbers, but not for ``bool``."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def positive_int(value, name, allow_none=False):
    """``int(value)`` if it is an integer > 0 (or None where allowed)."""
    if value is None and allow_none:
        return None
    if not (is_int(value) and value > 0):
        raise invalid(name, "a positive integer", value)
    return int(value)


def non_negative_int(value, name):
    """``int(value)`` if it is an integer >= 0."""
    if not (is_int(value) and value >= 0):
        raise invalid(name, "a non-negative integer", value)
    return int(value)


def int_at_least(value, name, minimum):
    """``int(value)`` if it is an integer >= ``minimum``."""
    if not (is_int(value) and value >= minimum):
        raise invalid(name, f"an integer >= {minimum}", value)
    return int(value)


def positive_ints(value, name, allow_empty=False, expected="positive integers"):
    """A tuple of integers > 0 from one integer or a sequence of them.

    ``expected`` is the message's phrase, for callers that can say more
    (e.g. "positive integers, one per stacked layer").
    """
    items = (value,) if is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if (
        items is None
        or (not items and not allow_empty)
        or not all(is_int(v) and v > 0 for v in items)
    ):
        raise invalid(name, expected, value)
    return tuple(int(v) for v in items)


def shape(value, name, rank=None, unknown_axes=(), expected=None):
    """The shape of one example: a tuple of positive ints, None where allowed.

    An integer means ``(value,)``. ``rank`` is the allowed length (an int or a
    tuple of ints; None: any length >= 1); ``unknown_axes`` are the indices
    (negative ones count from the end) whose size may be None. ``expected`` is
    the message's phrase, e.g. "(height, width, channels)"; by default one is
    written from ``rank`` and ``unknown_axes``.
    """
    ranks = (rank,) if is_int(rank) else rank
    items = (value,) if is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    ok = items is not None and len(items) > 0
    if ok and ranks is not None:
        ok = len(items) in ranks
    if ok:
        unknown = {a % len(items) for a in unknown_axes if -len(items) <= a < len(items)}
        ok = all((v is None and i in unknown) or (is_int(v) and v > 0) for i, v in enumerate(items))
    if not ok:
        raise invalid(name, expected or _shape_phrase(ranks, unknown_axes), value)
    return tuple(None if v is None else int(v) for v in items)


def normalize_tuple(value, rank, name):
    """A tuple of ``rank`` positive ints from an int or a sequence of ``rank``."""
    if is_int(value):
        items = (int(value),) * rank
    elif isinstance(value, (tuple, list)) and len(value) == rank and all(is_int(v) for v in value):
        items = tuple(int(v) for v in value)
    else:
        items = None
    if items is None or any(v <= 0 for v in items):
        raise invalid(name, f"a positive integer or tuple of {rank}", value)
    return items


def number(value, name, minimum=None, maximum=None, strict=False, allow_none=False):
    """``float(value)`` for a finite real number within the given bounds.

    ``minimum``/``maximum`` are inclusive unless ``strict`` (then exclusive).
    """
    if value is None and allow_none:
        return None
    ok = is_real(value)
    if ok and minimum is not None:
        ok = value > minimum if strict else value >= minimum
    if ok and maximum is not None:
        ok = value < maximum if strict else value <= maximum
    if not ok:
        raise invalid(name, _number_phrase(minimum, maximum, strict), value)
    return float(value)


def positive_number(value, name, allow_none=False):
    """``float(value)`` for a finite number > 0."""
    return number(value, name, minimum=0.0, strict=True, allow_none=allow_none)


def non_negative_number(value, name, allow_none=False):
    """``float(value)`` for a finite number >= 0."""
    return number(value, name, minimum=0.0, allow_none=allow_none)


def rate(value, name, allow_one=True):
    """``float(value)`` for a fraction in [0, 1] (dropout rates, probabilities).

    ``allow_one=False`` excludes 1, e.g. for a Dropout layer that must keep
    something: the range is then [0, 1).
    """
    if not (is_real(value) and 0.0 <= value and (value <= 1.0 if allow_one else value < 1.0)):
        raise invalid(name, "a float in [0, 1]" if allow_one else "a float in [0, 1)", value)
    return float(value)


def one_of(value, name, choices):
    """``value`` if it is one of ``choices`` (strings compared lower-case)."""
    key = value.lower() if isinstance(value, str) else value
    lowered = tuple(c.lower() if isinstance(c, str) else c for c in choices)
    if key not in lowered:
        raise invalid(name, f"one of {tuple(choices)}", value)
    return choices[lowered.index(key)]


def padding(value, name="padding"):
    """``"valid"`` or ``"same"``, case-insensitive, as Keras's layers accept."""
    if not isinstance(value, str):
        raise invalid(name, "'valid' or 'same'", value)
    return one_of(value, name, PADDINGS)


def _number_phrase(minimum, maximum, strict):
    if minimum == 0 and maximum is None:
        return "a positive number" if strict else "a non-negative number"
    if minimum is None and maximum is None:
        return "a finite number"
    low = "" if minimum is None else f"{'>' if strict else '>='} {minimum:g}"
    high = "" if maximum is None else f"{'<' if strict else '<='} {maximum:g}"
    return "a number " + " and ".join(part for part in (low, high) if part)


def _shape_phrase(ranks, unknown_axes):
    if ranks is None:
        phrase = "a shape of positive integers"
    else:
        lengths = " or ".join(str(r) for r in ranks)
        phrase = f"a shape of {lengths} positive integers"
    if unknown_axes:
        axes = ", ".join(str(a) for a in unknown_axes)
        phrase += f" (None allowed on axes {axes})"
    return phrase
