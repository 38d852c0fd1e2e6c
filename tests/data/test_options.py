"""What `load` accepts: options only where they apply, messages in the user's words,
seeds from the global state, and one quiet line when a dataset is prepared."""

import logging
import random

import keras
import numpy as np
import pytest

import mpkeras.data as data
from mpkeras.data import DatasetUnavailableError, remote, seeding, sources


def _order(dataset):
    return np.concatenate([np.asarray(x) for x, _ in dataset])


@pytest.mark.parametrize(
    "name, options, pattern",
    [
        # Accepted and ignored before: the default task is classification.
        (
            "digits",
            {"noise_level": 0.3},
            r"`noise_level` applies to the denoising task only; load\('digits'\) serves the "
            r"classification task.*task='denoising'.*Received: noise_level=0.3",
        ),
        (
            "digits",
            {"noise": "flip", "task": "inpainting"},
            r"`noise` applies to the denoising task.*Received: noise='flip'",
        ),
        (
            "digits",
            {"hole_size": 3, "task": "denoising"},
            r"`hole_size` applies to the inpainting task.*task='inpainting'.*Received: hole_size=3",
        ),
        (
            "sprites",
            {"hole_size": 3},
            r"`hole_size` applies to the inpainting task only; load\('sprites'\) serves the "
            r"reconstruction task here \(pass task='inpainting'",
        ),
        (
            "toy2d/xor",
            {"noise_level": 0.1},
            r"`noise_level` applies to the denoising task only; load\('toy2d/xor'\).*"
            r"'toy2d/xor' serves no such task",
        ),
        (
            "toy2d/xor",
            {"binarize": "static"},
            r"`binarize` applies to image datasets only; 'toy2d/xor' holds 2-D points",
        ),
        (
            "adding/t10",
            {"normalize": False},
            r"`normalize` applies to image datasets only; 'adding/t10' holds sequences",
        ),
        ("copy/t10", {"image_size": (4, 4)}, r"`image_size` applies to image datasets only"),
    ],
)
def test_options_that_do_not_apply_are_refused(name, options, pattern, data_dir):
    with pytest.raises(ValueError, match=pattern):
        data.load(name, data_dir=data_dir, **options)


def test_shuffle_buffer_needs_a_shuffled_dataset(data_dir):
    with pytest.raises(
        ValueError,
        match=r"`shuffle_buffer` applies to shuffled datasets only; "
        r"load\('toy2d/blobs', split='test'\) is not shuffled",
    ):
        data.load("toy2d/blobs", "test", shuffle_buffer=10, data_dir=data_dir)
    with pytest.raises(ValueError, match="shuffle_buffer"):
        data.load_arrays("toy2d/blobs", shuffle_buffer=10, data_dir=data_dir)
    data.load("toy2d/blobs", "test", shuffle=True, shuffle_buffer=10, data_dir=data_dir)


def test_messages_name_the_dataset_as_written(data_dir):
    with pytest.raises(ValueError, match=r"Unknown split 'dev' for dataset 'toy2d/xor'"):
        data.load("toy2d/xor", split="dev", data_dir=data_dir)
    with pytest.raises(ValueError, match=r"Dataset 'toy2d/xor' cannot serve task 'denoising'"):
        data.load("toy2d/xor", task="denoising", data_dir=data_dir)
    with pytest.raises(ValueError, match=r"Dataset 'sprites/small' cannot serve task"):
        data.load("sprites/small", task="segmentation", data_dir=data_dir)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_bad_seed(seed, data_dir):
    with pytest.raises(ValueError, match=r"expected a non-negative integer. Received: seed="):
        data.load("toy2d/blobs", seed=seed, data_dir=data_dir)


def test_global_seed_fixes_the_default_order_and_noise(data_dir, epoch_zero):
    # The README: `keras.utils.set_random_seed(0)  # initial weights and data order`.
    def draw(global_seed):
        keras.utils.set_random_seed(global_seed)
        order = _order(data.load("toy2d/blobs", batch_size=50, data_dir=data_dir))
        noisy = _order(data.load("digits", "test", 360, task="denoising", data_dir=data_dir))
        return order, noisy

    try:
        first, again, other = draw(0), draw(0), draw(1)
    finally:
        keras.utils.set_random_seed(12345)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    # Same points, another order; the same clean images, other noise.
    assert not np.array_equal(first[0], other[0])
    np.testing.assert_array_equal(np.sort(first[0], axis=0), np.sort(other[0], axis=0))
    assert not np.array_equal(first[1], other[1])


def test_default_seed_reads_the_global_state_without_drawing(data_dir):
    np.random.seed(7)
    random.seed(7)
    expected = (np.random.random(), random.random())
    np.random.seed(7)
    random.seed(7)
    seed = seeding.default_seed()
    data.load("toy2d/blobs", data_dir=data_dir)
    assert (np.random.random(), random.random()) == expected
    np.random.seed(7)
    assert seeding.default_seed() == seed
    np.random.seed(8)
    assert seeding.default_seed() != seed


def test_normalize_false_keeps_the_sources_range(data_dir):
    # Binary sprites keep {0, 1}; digits give scikit-learn's 0..16 (tests/data/test_digits.py).
    x, _ = data.load_arrays("sprites/small", data_dir=data_dir, normalize=False)
    assert set(np.unique(x)) == {0.0, 1.0}
    # Un-normalised denoising noise stays in the source's range.
    noisy, clean = data.load_arrays(
        "digits", "test", task="denoising", normalize=False, data_dir=data_dir
    )
    assert clean.max() == 16.0 and 0.0 <= noisy.min() and noisy.max() <= 16.0
    assert np.abs(noisy - clean).mean() > 1.0  # sigma = 0.3 * 16


def test_first_load_prints_one_line_not_tfds_noise(fresh_data_dir, capfd, caplog):
    caplog.set_level(logging.WARNING)
    assert not data.is_prepared("toy2d/xor", data_dir=fresh_data_dir)
    data.load("toy2d/xor", data_dir=fresh_data_dir)
    out, err = capfd.readouterr()
    printed = out + err + caplog.text
    assert "dataset_info.json" not in printed
    assert "Downloading and preparing" not in printed
    assert "Generating" not in printed and "Shuffling" not in printed  # progress bars
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines == [
        f"Preparing toy2d/xor (built locally) ... 12 examples in {fresh_data_dir}/toy2d/xor/1.0.0"
    ], out
    assert data.is_prepared("toy2d/xor", data_dir=fresh_data_dir)
    data.load("toy2d/xor", data_dir=fresh_data_dir)
    out, err = capfd.readouterr()
    assert out == "" and "dataset_info.json" not in err + caplog.text


def test_offline_check_of_a_remote_dataset_is_quiet(fresh_data_dir, monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(remote, "host_reachable", lambda *args, **kwargs: False)
    with pytest.raises(DatasetUnavailableError):
        data.load("mnist", data_dir=fresh_data_dir)
    with pytest.raises(DatasetUnavailableError):
        data.load("mnist", data_dir=fresh_data_dir, download=False)
    assert "dataset_info.json" not in caplog.text


def test_quiet_checks_keep_other_warnings(caplog):
    with sources.quiet_checks():
        logging.getLogger("absl").warning(
            "Variant folder %s has no %s", "/x/1.0.0", "dataset_info.json"
        )
        logging.getLogger("absl").warning("Variant folder %s has invalid version %s", "/x", "v")
        logging.getLogger("absl").warning("a real warning")
    assert "dataset_info.json" not in caplog.text
    assert "has invalid version" in caplog.text and "a real warning" in caplog.text
    logging.getLogger("absl").warning("Variant folder %s has no %s", "/y", "dataset_info.json")
    assert "/y has no dataset_info.json" in caplog.text  # outside mpkeras's checks: untouched


def test_failed_generation_replays_what_tfds_printed(fresh_data_dir, monkeypatch, capfd):
    from mpkeras.data.builders import toy2d

    def broken(self, split):
        print("partial output of the generator")
        raise RuntimeError("generator broke")
        yield  # unreachable: makes this function a generator

    monkeypatch.setattr(toy2d.Toy2D, "_generate_examples", broken)
    with pytest.raises(RuntimeError, match="generator broke"):
        data.load("toy2d/blobs", data_dir=fresh_data_dir)
    out, err = capfd.readouterr()
    assert out.startswith("Preparing toy2d/blobs (built locally) ... failed.")
    assert "partial output of the generator" in err
