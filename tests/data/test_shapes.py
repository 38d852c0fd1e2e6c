"""shapes: RGB images with 1-4 shapes and masks that label them."""

import numpy as np
import pytest

import mpkeras.data as data
from mpkeras.data.builders import shapes


@pytest.fixture(scope="module")
def test_split(data_dir):
    return data.load_arrays("shapes", split="test", data_dir=data_dir)


def test_split_sizes(data_dir):
    info = data.info("shapes", data_dir=data_dir, prepare=True)
    for split, n in shapes.SPLIT_SIZES.items():
        assert info.splits[split].num_examples == n
    assert info.metadata["class_names"] == ["background", "circle", "square", "triangle"]


def test_shapes_dtypes_and_classes(test_split):
    x, y = test_split
    assert x.shape == (200, 64, 64, 3) and x.dtype == np.float32
    assert y.shape == (200, 64, 64) and y.dtype == np.int32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y)) == {0, 1, 2, 3}
    # Every image has background and at least one shape.
    assert np.all((y == 0).any(axis=(1, 2)))
    assert np.all((y > 0).any(axis=(1, 2)))


def test_masks_match_the_drawn_shapes():
    for index in range(30):
        image, mask, counts = shapes.make_example("train", index)
        present = set(np.unique(mask)) - {0}
        assert 1 <= counts.sum() <= 4
        # A class in the mask was drawn (occlusion may hide a drawn one).
        assert all(counts[c - 1] > 0 for c in present)
        # The masked pixels are the painted ones: their mean colour differs
        # from the background's.
        inside = image[mask[..., 0] > 0].astype(float).mean(axis=0)
        outside = image[mask[..., 0] == 0].astype(float).mean(axis=0)
        assert np.abs(inside - outside).max() > 1.0


def test_circle_mask_geometry():
    mask = shapes._shape_mask(1, 32.0, 32.0, 10.0, 0.0)
    np.testing.assert_allclose(mask.sum(), np.pi * 100, rtol=0.05)
    square = shapes._shape_mask(2, 32.0, 32.0, 10.0, 0.0)
    np.testing.assert_allclose(square.sum(), 2 * 100, rtol=0.1)  # side r*sqrt(2)
    triangle = shapes._shape_mask(3, 32.0, 32.0, 10.0, 0.0)
    np.testing.assert_allclose(triangle.sum(), 3 * np.sqrt(3) / 4 * 100, rtol=0.1)


def test_segmentation_batches(data_dir):
    x, y = next(iter(data.load("shapes", split="validation", batch_size=8, data_dir=data_dir)))
    assert tuple(x.shape) == (8, 64, 64, 3) and tuple(y.shape) == (8, 64, 64)
