"""sprites: the dSprites factor grid, named as TFDS dsprites, images follow factors."""

import itertools

import numpy as np
import pytest

import mpkeras.data as data
from mpkeras.data.builders import sprites

DSPRITES_FEATURES = {
    "image",
    "label_shape",
    "label_scale",
    "label_orientation",
    "label_x_position",
    "label_y_position",
    "value_shape",
    "value_scale",
    "value_orientation",
    "value_x_position",
    "value_y_position",
}


@pytest.fixture(scope="module")
def small(data_dir):
    images, labels = data.load_arrays("sprites/small", task="factors", data_dir=data_dir)
    return images, labels


def test_features_match_tfds_dsprites(data_dir):
    info = data.info("sprites/small", data_dir=data_dir, prepare=True)
    assert set(info.features) == DSPRITES_FEATURES
    assert info.features["image"].shape == (64, 64, 1)
    assert info.features["image"].np_dtype == np.uint8
    assert info.features["value_scale"].np_dtype == np.float32
    assert info.splits["train"].num_examples == 3 * 3 * 4 * 8 * 8
    assert info.metadata["factor_names"] == list(data.registry.SPRITE_FACTORS)
    assert info.metadata["factor_sizes"] == [3, 3, 4, 8, 8]
    assert min(info.metadata["factor_sizes"]) >= 2


def test_full_config_metadata_without_preparing(fresh_data_dir):
    info = data.info("sprites/full", data_dir=fresh_data_dir)
    assert info.metadata["factor_sizes"] == [3, 6, 40, 32, 32]
    assert int(np.prod(info.metadata["factor_sizes"])) == 737_280
    assert info.features["label_orientation"].num_classes == 40


def test_images_binary_and_every_grid_point_once(small):
    images, labels = small
    assert images.shape == (2304, 64, 64, 1) and images.dtype == np.float32
    assert set(np.unique(images)) == {0.0, 1.0}
    assert labels.shape == (2304, 5) and labels.dtype == np.int64
    assert len({tuple(row) for row in labels}) == 2304
    assert np.all(images.reshape(len(images), -1).sum(axis=1) > 10)


def test_each_factor_changes_the_image(small):
    images, labels = small
    index = {tuple(row): i for i, row in enumerate(labels)}
    base = (2, 1, 1, 3, 3)  # heart, middle scale, a rotation, central position
    for factor in range(5):
        changed = list(base)
        changed[factor] = 0 if base[factor] else 1
        a, b = images[index[base]], images[index[tuple(changed)]]
        assert np.abs(a - b).sum() > 0, f"factor {factor} leaves the image unchanged"


def test_factor_effects_have_the_right_direction(small):
    images, labels = small
    index = {tuple(row): i for i, row in enumerate(labels)}

    def centroid(key):
        img = images[index[key]][..., 0]
        rows, cols = np.nonzero(img)
        return rows.mean(), cols.mean(), img.sum()

    # x moves right, y moves down, scale grows the area.
    assert centroid((0, 1, 0, 5, 3))[1] > centroid((0, 1, 0, 2, 3))[1] + 5
    assert centroid((0, 1, 0, 3, 5))[0] > centroid((0, 1, 0, 3, 2))[0] + 5
    assert centroid((0, 2, 0, 3, 3))[2] > 2 * centroid((0, 0, 0, 3, 3))[2]


def test_values_match_labels(data_dir):
    import tensorflow_datasets as tfds

    builder = sprites.Sprites(config="small", data_dir=data_dir)
    meta = builder.info.metadata
    for ex in tfds.as_numpy(builder.as_dataset(split="train").take(50)):
        for factor in data.registry.SPRITE_FACTORS:
            expected = meta["factor_values"][factor][ex[f"label_{factor}"]]
            np.testing.assert_allclose(ex[f"value_{factor}"], expected, rtol=1e-6)


def test_full_generator_streams_in_dsprites_order():
    builder_cls = sprites.Sprites
    builder = builder_cls.__new__(builder_cls)
    builder._builder_config = builder_cls.builder_configs["full"]
    first = list(itertools.islice(builder._generate_examples(), 33))
    assert [key for key, _ in first] == list(range(33))
    # y is the fastest factor, then x.
    assert [ex["label_y_position"] for _, ex in first[:32]] == list(range(32))
    assert first[32][1]["label_x_position"] == 1 and first[32][1]["label_y_position"] == 0


def test_render_is_deterministic_and_binary():
    a = sprites.render(3, 0.75, 1.0, 0.3, 0.6)
    b = sprites.render(3, 0.75, 1.0, 0.3, 0.6)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.uint8 and set(np.unique(a)) == {0, 1}


@pytest.mark.slow
def test_full_grid_prepares(fresh_data_dir):
    info = data.info("sprites/full", data_dir=fresh_data_dir, prepare=True)
    assert info.splits["train"].num_examples == 737_280
