"""A5/A6: reconstructions, prior samples and latent traversals logged to TensorBoard."""

import glob

import numpy as np
import pytest
import tensorflow as tf

from mpkeras.callbacks import LatentImageLogger
from mpkeras.callbacks.latent import grid_figure, image_grid, latent_traversals
from mpkeras.models import build_vae

SHAPE = (8, 8, 1)
X = np.random.default_rng(0).random((16,) + SHAPE).astype("float32")


def _vae(latent=3):
    return build_vae(SHAPE, latent, kind="mlp", hidden=(8,), seed=0)


def _images(log_dir):
    found = {}
    for path in glob.glob(f"{log_dir}/images/events.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                image = tf.image.decode_png(tf.make_ndarray(value.tensor)[2])
                found.setdefault(value.tag, []).append((event.step, tuple(image.shape)))
    return found


def test_image_grid_layout():
    tiles = np.zeros((2, 3, 4, 5, 1), "float32")
    tiles[1, 2] = 0.5
    grid = image_grid(tiles, pad=1)
    assert grid.shape == (2 * 4 + 1, 3 * 5 + 2, 1)
    np.testing.assert_array_equal(grid[5:9, 12:17], 0.5)
    np.testing.assert_array_equal(grid[4, :], 1.0)  # The separator row.


def test_A5_traversals_change_one_latent_per_row():
    vae = _vae(latent=3)
    images, dims = latent_traversals(vae, X[0], values=[-2.0, 0.0, 2.0], order="index")
    assert images.shape == (3, 3) + SHAPE
    np.testing.assert_array_equal(dims, [0, 1, 2])
    mean, _ = vae.encode(X[:1])
    for row in range(3):
        z = np.repeat(np.asarray(mean), 3, 0)
        z[:, row] = [-2.0, 0.0, 2.0]
        np.testing.assert_allclose(images[row], np.asarray(vae.decode(z)), atol=1e-6)
    _, by_kl = latent_traversals(vae, X[0], max_dims=2, reference=X)
    assert len(by_kl) == 2
    fig = grid_figure(images, title="traversals", row_labels=["z0", "z1", "z2"])
    assert fig.axes


def test_logger_writes_three_grids_every_few_epochs(tmp_path):
    vae = _vae(latent=3)
    vae.compile(optimizer="adam")
    logger = LatentImageLogger(tmp_path, X, every=2, num_samples=12, max_dims=2)
    vae.fit(X, epochs=3, batch_size=8, verbose=0, callbacks=[logger])
    found = _images(tmp_path)
    assert set(found) == {"reconstructions", "samples", "traversals"}
    # Epochs 2 and 3 (every 2nd, and the last), 0-based steps 1 and 2.
    assert [step for step, _ in found["samples"]] == [1, 2]
    assert found["reconstructions"][0][1][:2] == (2 * 8 + 1, 8 * 8 + 7)
    assert found["samples"][0][1][:2] == (2 * 8 + 1, 8 * 8 + 7)  # 12 in 2 rows of 8.
    assert found["traversals"][0][1][:2] == (2 * 8 + 1, 7 * 8 + 6)  # 2 dims x 7 values.


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="every"):
        LatentImageLogger(tmp_path, X, every=0)
    with pytest.raises(ValueError, match="num_samples"):
        LatentImageLogger(tmp_path, X, num_samples=0)
    with pytest.raises(ValueError, match="images"):
        LatentImageLogger(tmp_path, X[:0])
    with pytest.raises(ValueError, match="order"):
        latent_traversals(_vae(), X[0], order="random")
    with pytest.raises(ValueError, match="rows"):
        image_grid(np.zeros((4, 4)))


def test_logger_and_grids_under_mixed_bfloat16(tmp_path):
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        vae = _vae(latent=3)
        vae.compile(optimizer="adam")
        logger = LatentImageLogger(tmp_path, X, every=1, num_samples=8, max_dims=2)
        vae.fit(X, epochs=1, batch_size=8, verbose=0, callbacks=[logger])
        images, dims = latent_traversals(vae, X[0], values=[-1.0, 1.0], reference=X)
        decoded = vae.decode(np.zeros((2, 3), "float32"))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert decoded.dtype == "bfloat16"  # what the helpers receive
    assert images.dtype == np.float32 and images.shape == (3, 2) + SHAPE
    assert set(_images(tmp_path)) == {"reconstructions", "samples", "traversals"}
    grids = logger.grids()
    assert all(grid.dtype == np.float32 for grid in grids.values())
    fig = grid_figure(tf.cast(images, "bfloat16"), title="bf16", row_labels=["a", "b", "c"])
    fig.savefig(__import__("io").BytesIO(), format="png")
