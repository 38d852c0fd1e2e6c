"""Margins of augmented separators (N1): hand-computed values and the max-margin SVM."""

import numpy as np
import pytest

from mpkeras.diagnostics import augment_with_one, augmented_margin, max_margin_separator


def test_augment_with_one_appends_the_bias_coordinate():
    np.testing.assert_array_equal(augment_with_one([[2.0, 3.0]]), [[2.0, 3.0, 1.0]])


def test_augmented_margin_against_hand_computed_values():
    x = np.array([[1.0, 0.0], [-1.0, 0.0]])
    y = np.array([1, 0])
    # u = (1, 0, 0): both points at distance 1 on the right side; reversed, on the wrong side.
    assert augmented_margin([1.0, 0.0, 0.0], x, y) == pytest.approx(1.0)
    assert augmented_margin([-1.0, 0.0, 0.0], x, y) == pytest.approx(-1.0)
    # The norm of u does not matter.
    assert augmented_margin([5.0, 0.0, 0.0], x, y) == pytest.approx(1.0)


def test_max_margin_separator_of_two_points_is_their_bisector():
    x = np.array([[1.0, 0.0], [-1.0, 0.0]])
    u = max_margin_separator(x, np.array([1, 0]))
    np.testing.assert_allclose(u, [1.0, 0.0, 0.0], atol=1e-6)


def test_max_margin_separator_beats_any_other_separator():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x @ np.array([1.0, 2.0]) + 0.3 > 0).astype(int)
    x += 0.3 * (2 * y[:, None] - 1) * np.array([1.0, 2.0]) / np.sqrt(5.0)
    best = augmented_margin(max_margin_separator(x, y), x, y)
    assert best > 0
    for _ in range(200):
        # Random separators near the true one never do better.
        u = np.array([1.0, 2.0, 0.3]) + 0.2 * rng.normal(size=3)
        assert augmented_margin(u, x, y) <= best + 1e-9
