"""mpkeras.validation: each check accepts what it should, normalises it, and
rejects the rest with Keras's wording."""

import numpy as np
import pytest

from mpkeras import validation


def test_positive_int_normalises_numpy_and_rejects_bool_zero_float():
    assert validation.positive_int(np.int64(3), "units") == 3
    assert type(validation.positive_int(np.int64(3), "units")) is int
    assert validation.positive_int(None, "units", allow_none=True) is None
    for bad in (0, -1, 2.0, True, "3", None):
        with pytest.raises(
            ValueError,
            match=r"Received an invalid value for `units`, expected a positive integer\. Received: units=",
        ):
            validation.positive_int(bad, "units")


def test_non_negative_and_at_least():
    assert validation.non_negative_int(0, "n") == 0
    with pytest.raises(ValueError, match="non-negative integer"):
        validation.non_negative_int(-1, "n")
    assert validation.int_at_least(2, "k", 2) == 2
    with pytest.raises(ValueError, match=r"an integer >= 2\. Received: k=1"):
        validation.int_at_least(1, "k", 2)


def test_positive_ints_and_normalize_tuple():
    assert validation.positive_ints(4, "units") == (4,)
    assert validation.positive_ints([4, 8], "units") == (4, 8)
    assert validation.positive_ints([], "units", allow_empty=True) == ()
    for bad in ([], [4, 0], 4.0, [True]):
        with pytest.raises(ValueError, match="expected positive integers"):
            validation.positive_ints(bad, "units")
    assert validation.normalize_tuple(2, 3, "pool_size") == (2, 2, 2)
    assert validation.normalize_tuple([2, np.int32(3)], 2, "pool_size") == (2, 3)
    for bad in (0, (2,), (2, 0), (2, 2.0), "2"):
        with pytest.raises(
            ValueError, match=r"expected a positive integer or tuple of 2\. Received: pool_size="
        ):
            validation.normalize_tuple(bad, 2, "pool_size")


def test_numbers_with_bounds():
    assert validation.positive_number(1, "beta") == 1.0
    assert validation.non_negative_number(0, "beta") == 0.0
    assert validation.number(None, "delta", allow_none=True) is None
    with pytest.raises(ValueError, match=r"expected a positive number\. Received: beta=0"):
        validation.positive_number(0, "beta")
    with pytest.raises(ValueError, match="expected a non-negative number"):
        validation.non_negative_number(float("nan"), "beta")
    with pytest.raises(ValueError, match=r"expected a number >= 1 and <= 2"):
        validation.number(3, "x", minimum=1, maximum=2)
    with pytest.raises(ValueError, match=r"expected a finite number"):
        validation.number(float("inf"), "x")
    assert validation.rate(0.5, "dropout") == 0.5
    with pytest.raises(ValueError, match=r"expected a float in \[0, 1\]"):
        validation.rate(1.5, "dropout")


def test_choices_and_padding():
    assert validation.one_of("Adam", "optimizer", ("adam", "sgd")) == "adam"
    with pytest.raises(
        ValueError, match=r"expected one of \('adam', 'sgd'\)\. Received: optimizer='x'"
    ):
        validation.one_of("x", "optimizer", ("adam", "sgd"))
    assert validation.padding("SAME") == "same"
    for bad in ("full", 1, None):
        with pytest.raises(ValueError, match=r"expected 'valid' or 'same'|expected one of"):
            validation.padding(bad)


def test_positive_ints_phrase_can_say_more():
    with pytest.raises(ValueError, match=r"expected widths, one per layer\. Received: units=\(\)"):
        validation.positive_ints((), "units", expected="widths, one per layer")


def test_shape_rank_unknown_axes_and_phrase():
    assert validation.shape(3, "input_shape") == (3,)
    assert validation.shape([np.int64(8), 8, 1], "input_shape", rank=3) == (8, 8, 1)
    assert validation.shape((None, None, 3), "s", rank=3, unknown_axes=(0, 1)) == (None, None, 3)
    assert validation.shape((None, 4), "s", rank=(1, 2), unknown_axes=(-2,)) == (None, 4)
    for bad, rank, unknown in [
        ((), None, ()),
        ((8, 0, 1), 3, ()),
        ((8, 8), 3, ()),
        ((None, 8, 1), 3, ()),
        ((8, 8, None), 3, (0, 1)),
        ((8, True, 1), 3, ()),
        ((8, 2.0, 1), 3, ()),
        ("88", None, ()),
        (None, None, ()),
    ]:
        with pytest.raises(
            ValueError,
            match=r"Received an invalid value for `s`, expected a "
            r"shape of",
        ):
            validation.shape(bad, "s", rank=rank, unknown_axes=unknown)
    with pytest.raises(
        ValueError,
        match=r"expected a shape of 1 or 3 positive integers\. "
        r"Received",
    ):
        validation.shape((8, 8), "s", rank=(1, 3))
    with pytest.raises(
        ValueError,
        match=r"\(None allowed on axes 0, 1\)\. Received: s=\(8, 8, "
        r"None\)",
    ):
        validation.shape((8, 8, None), "s", rank=3, unknown_axes=(0, 1))
    with pytest.raises(
        ValueError,
        match=r"expected \(height, width, channels\)\. Received: "
        r"s=\(8,\)",
    ):
        validation.shape((8,), "s", rank=3, expected="(height, width, channels)")


def test_rate_can_exclude_one():
    assert validation.rate(1, "dropout") == 1.0
    assert validation.rate(0.99, "dropout", allow_one=False) == 0.99
    for bad in (1.0, 1.5, -0.1, "0.5", None, True):
        with pytest.raises(ValueError, match=r"expected a float in \[0, 1\)\. Received: dropout="):
            validation.rate(bad, "dropout", allow_one=False)
