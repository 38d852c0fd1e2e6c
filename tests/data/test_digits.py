"""digits: scikit-learn's UCI digits, fixed disjoint splits, exact pixel values."""

import numpy as np
from sklearn.datasets import load_digits

import mpkeras.data as data
from mpkeras.data.builders import digits


def _all_splits(data_dir):
    return {
        split: data.load_arrays("digits", split=split, data_dir=data_dir, normalize=False)
        for split in ("train", "validation", "test")
    }


def test_split_sizes_shapes_dtypes(data_dir):
    splits = _all_splits(data_dir)
    for split, (x, y) in splits.items():
        assert x.shape == (digits.SPLIT_SIZES[split], 8, 8, 1)
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert set(np.unique(y)) == set(range(10))
    assert sum(len(y) for _, y in splits.values()) == 1797


def test_images_and_labels_are_sklearns_exactly(data_dir):
    sk = load_digits()
    reference = {}
    for image, label in zip(sk.images.astype(np.int64), sk.target):
        reference.setdefault(image.tobytes(), set()).add(int(label))
    seen = 0
    for x, y in _all_splits(data_dir).values():
        # normalize=False gives scikit-learn's own 0..16 counts, exactly
        # (they are stored as round(v * 255 / 16) and inverted on load).
        assert x.min() == 0.0 and x.max() == 16.0
        originals = x[..., 0].astype(np.int64)
        np.testing.assert_array_equal(originals, x[..., 0])
        for image, label in zip(originals, y):
            assert int(label) in reference[image.tobytes()]
            seen += 1
    assert seen == len(sk.target)


def test_splits_partition_the_dataset_and_are_stratified():
    sk = load_digits()
    everything = sorted(
        np.round(image * 255 / 16).astype(np.uint8).tobytes() + bytes([label])
        for image, label in zip(sk.images, sk.target)
    )
    splits = digits.digits_splits()
    pieces = sorted(
        image[..., 0].tobytes() + bytes([label])
        for x, y in splits.values()
        for image, label in zip(x, y)
    )
    # Same multiset: every example in exactly one split (UCI has duplicates).
    assert pieces == everything
    for _, y in splits.values():
        share = np.bincount(y, minlength=10) / len(y)
        np.testing.assert_allclose(share, 0.1, atol=0.02)


def test_normalized_in_unit_interval(data_dir):
    x, _ = data.load_arrays("digits", split="test", data_dir=data_dir)
    assert x.min() >= 0.0 and x.max() == 1.0
