"""toy2d: the XOR truth table in every split; blobs separable with margin gamma."""

import numpy as np
import pytest

import mpkeras.data as data
from mpkeras.data.builders import toy2d


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_xor_split_is_the_truth_table(data_dir, split):
    x, y = data.load_arrays("toy2d/xor", split=split, data_dir=data_dir)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.shape == (4, 2) and y.shape == (4,)
    table = {tuple(p): int(label) for p, label in zip(x.tolist(), y)}
    assert table == {(0.0, 0.0): 0, (0.0, 1.0): 1, (1.0, 0.0): 1, (1.0, 1.0): 0}


def test_xor_load_gives_one_batch_of_four(data_dir):
    batches = list(data.load("toy2d/xor", split="train", batch_size=4, data_dir=data_dir))
    assert len(batches) == 1
    x, y = batches[0]
    assert tuple(x.shape) == (4, 2) and tuple(y.shape) == (4,)


def test_blobs_margin_and_metadata(data_dir):
    meta = data.info("toy2d/blobs", data_dir=data_dir).metadata
    w = np.asarray(meta["normal"])
    np.testing.assert_allclose(np.linalg.norm(w), 1.0, rtol=1e-12)
    radius = 0.0
    for split, n in toy2d.BLOBS_SPLIT_SIZES.items():
        x, y = data.load_arrays("toy2d/blobs", split=split, data_dir=data_dir)
        assert x.shape == (n, 2) and set(np.unique(y)) == {0, 1}
        signed = (2 * y - 1) * (x.astype(np.float64) @ w)
        assert signed.min() >= meta["margin"]
        radius = max(radius, np.linalg.norm(x, axis=1).max())
    np.testing.assert_allclose(meta["radius"], radius, rtol=1e-6)
    np.testing.assert_allclose(meta["novikoff_bound"], (radius / meta["margin"]) ** 2, rtol=1e-5)
    assert meta["margin"] == toy2d.BLOBS_MARGIN
    assert f"gamma >= {toy2d.BLOBS_MARGIN}" in toy2d.Toy2D.BUILDER_CONFIGS[1].description


def test_xor_fits_with_keras(data_dir):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    history = model.fit(
        data.load("toy2d/xor", batch_size=4, data_dir=data_dir), epochs=2, shuffle=False, verbose=0
    )
    assert len(history.history["loss"]) == 2
    assert np.all(np.isfinite(history.history["loss"]))
