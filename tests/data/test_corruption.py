"""Denoising noises (Gaussian, salt-and-pepper, flip) and inpainting holes (squares, rectangles)."""

import numpy as np
import pytest
import tensorflow as tf

import mpkeras.data as data
from mpkeras.data import registry, tasks


def _stack(dataset):
    xs, ys = zip(*[(np.asarray(x), np.asarray(y)) for x, y in dataset])
    return np.concatenate(xs), np.concatenate(ys)


def test_salt_and_pepper_sets_pixels_black_or_white(data_dir):
    x, y = _stack(
        data.load(
            "digits",
            "test",
            360,
            task="denoising",
            noise="salt_and_pepper",
            noise_level=0.2,
            data_dir=data_dir,
        )
    )
    changed = x != y
    assert changed.any()
    assert set(np.unique(x[changed])) <= {0.0, 1.0}
    # Each pixel turns white with probability 0.1 and black with 0.1.
    np.testing.assert_allclose(np.mean(x[y < 1.0] == 1.0), 0.1, atol=0.01)
    np.testing.assert_allclose(np.mean(x[y > 0.0] == 0.0), 0.1, atol=0.015)
    untouched = (x == y) | (x == 0.0) | (x == 1.0)
    assert untouched.all()


def test_salt_and_pepper_default_level_and_binary_images(data_dir):
    x, y = _stack(
        data.load(
            "sprites/small",
            task="denoising",
            noise="salt_and_pepper",
            shuffle=False,
            batch_size=1024,
            data_dir=data_dir,
        )
    )
    assert set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_allclose(np.mean(x[y == 0.0]), 0.05, atol=0.005)
    np.testing.assert_allclose(np.mean(1.0 - x[y == 1.0]), 0.05, atol=0.01)


def test_explicit_noise_overrides_the_default_for_the_pixel_kind(data_dir):
    # Flip noise on grey images: v -> 1 - v with probability 0.25.
    x, y = _stack(
        data.load(
            "digits",
            "test",
            360,
            task="denoising",
            noise="flip",
            noise_level=0.25,
            data_dir=data_dir,
        )
    )
    flipped = np.isclose(x, 1.0 - y) & (y != 0.5)
    np.testing.assert_allclose(flipped.mean(), 0.25, atol=0.01)
    assert np.all(flipped | (x == y))
    # Gaussian noise on binary images: grey values appear.
    x, y = _stack(
        data.load(
            "sprites/small",
            task="denoising",
            noise="gaussian",
            shuffle=False,
            batch_size=1024,
            noise_level=0.2,
            data_dir=data_dir,
        )
    )
    assert len(np.unique(x)) > 100 and x.min() >= 0.0 and x.max() <= 1.0


def test_noise_is_new_each_pass_and_fixed_on_evaluation_splits(data_dir):
    train = data.load(
        "digits",
        batch_size=2000,
        task="denoising",
        noise="salt_and_pepper",
        seed=2,
        data_dir=data_dir,
    )
    noise = []
    for _ in range(2):
        x, y = _stack(train)
        order = np.lexsort(y.reshape(len(y), -1).T)
        noise.append((x - y)[order])
    assert np.mean(noise[0] != noise[1]) > 0.05
    test = data.load(
        "digits", "test", 100, task="denoising", noise="salt_and_pepper", data_dir=data_dir
    )
    np.testing.assert_array_equal(_stack(test)[0], _stack(test)[0])


def _holes(hole_size, batch=500, size=16, seed=0, index=(0, 0)):
    """The holes batch_fn cuts into an all-white batch: True where zeroed."""
    (spec, _) = registry.resolve("shapes")
    fn = tasks.batch_fn(
        spec,
        "inpainting",
        seed=seed,
        binarize=None,
        normalize=True,
        noise_level=None,
        hole_size=hole_size,
        augment=None,
    )
    white = tf.fill([batch, size, size, 1], tf.constant(spec.pixel_max, tf.uint8))
    x, y = fn(index, white)
    np.testing.assert_array_equal(np.asarray(y), 1.0)
    return np.asarray(x)[..., 0] == 0.0


def _rectangles(holes):
    """(height, width) of each hole, checking that it is one filled rectangle."""
    sizes = []
    for hole in holes:
        rows, cols = np.nonzero(hole)
        height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
        assert hole.sum() == height * width  # filled, a single rectangle
        sizes.append((height, width))
    return np.array(sizes)


def test_square_holes_of_a_fixed_side():
    sizes = _rectangles(_holes(5))
    assert np.all(sizes == 5)


def test_rectangular_holes_of_random_height_and_width():
    holes = _holes((3, 9))
    sizes = _rectangles(holes)
    heights, widths = sizes[:, 0], sizes[:, 1]
    # Uniform over 3..9, both ends included, height and width independent.
    assert set(heights) == set(range(3, 10)) and set(widths) == set(range(3, 10))
    assert np.mean(heights != widths) > 0.7
    assert abs(np.corrcoef(heights, widths)[0, 1]) < 0.15
    # Anywhere in the image: every pixel is covered by some hole.
    assert holes.any(axis=0).all()
    # Seeded: same seed and index, same holes; another pass, other holes.
    np.testing.assert_array_equal(_holes((3, 9)), holes)
    assert np.mean(_holes((3, 9), index=(1, 0)) != holes) > 0.05
    # A degenerate range is a square.
    assert np.all(_rectangles(_holes([4, 4])) == 4)


def test_rectangular_holes_through_load(data_dir):
    x, y = _stack(
        data.load("shapes", "test", 50, task="inpainting", hole_size=(4, 12), data_dir=data_dir)
    )
    for masked, clean in zip(x, y):
        rows, cols = np.nonzero(np.any(masked != clean, axis=-1))
        assert rows.max() - rows.min() < 12 and cols.max() - cols.min() < 12
        assert np.all(masked[rows, cols] == 0.0)


@pytest.mark.parametrize("noise", ["speckle", "Gaussian", 1])
def test_bad_noise(data_dir, noise):
    with pytest.raises(ValueError, match="Received: noise="):
        data.load("digits", task="denoising", noise=noise, data_dir=data_dir)


@pytest.mark.parametrize("hole_size", [0, -2, 2.5, "4", (4,), (5, 3), (0, 3), (2, 3, 4), (2, "3")])
def test_bad_hole_size(data_dir, hole_size):
    with pytest.raises(ValueError, match="Received: hole_size="):
        data.load("digits", task="inpainting", hole_size=hole_size, data_dir=data_dir)


@pytest.mark.parametrize("hole_size", [9, (2, 9)])
def test_hole_larger_than_the_image(data_dir, hole_size):
    with pytest.raises(ValueError, match=r"images are 8x8.*hole_size="):
        data.load("digits", task="inpainting", hole_size=hole_size, data_dir=data_dir)
