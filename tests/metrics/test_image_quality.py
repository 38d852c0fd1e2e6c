"""PSNR and SSIM as Keras metrics (A3: output PSNR vs corrupted-input PSNR)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import mpkeras  # noqa: F401  (selects the TensorFlow backend before keras)
from mpkeras.metrics import PSNR, SSIM


def pair(n=4, shape=(16, 16, 1), noise=0.1, seed=0):
    rng = np.random.default_rng(seed)
    clean = rng.uniform(size=(n, *shape)).astype(np.float32)
    noisy = np.clip(clean + noise * rng.normal(size=clean.shape), 0, 1).astype(np.float32)
    return clean, noisy


def test_psnr_matches_numpy_formula_and_accumulates():
    clean, noisy = pair()
    mse = ((clean - noisy) ** 2).reshape(len(clean), -1).mean(axis=1)
    per_image = 10 * np.log10(1.0 / mse)
    metric = PSNR()
    metric.update_state(clean[:1], noisy[:1])
    metric.update_state(clean[1:], noisy[1:])
    np.testing.assert_allclose(float(metric.result()), per_image.mean(), rtol=1e-5)
    metric.reset_state()
    assert float(metric.result()) == 0.0
    # max_val scales the peak: bytes in [0, 255].
    scaled = PSNR(max_val=255.0)
    scaled.update_state(clean * 255, noisy * 255)
    np.testing.assert_allclose(float(scaled.result()), per_image.mean(), rtol=1e-4)


def test_sample_weight_weights_images():
    clean, noisy = pair(n=2)
    per_image = np.asarray(tf.image.psnr(clean, noisy, 1.0))
    metric = PSNR()
    metric.update_state(clean, noisy, sample_weight=[3.0, 1.0])
    np.testing.assert_allclose(
        float(metric.result()), (3 * per_image[0] + per_image[1]) / 4, rtol=1e-5
    )
    # An identical image has PSNR inf; weight 0 leaves it out instead of nan.
    both = PSNR()
    both.update_state(
        np.stack([clean[0], clean[1]]),
        np.stack([noisy[0], clean[1]]),
        sample_weight=np.array([1.0, 0.0]),
    )
    np.testing.assert_allclose(float(both.result()), per_image[0], rtol=1e-5)
    unweighted = PSNR()
    unweighted.update_state(clean[1:], clean[1:])
    assert np.isinf(float(unweighted.result()))


def test_ssim_matches_tf_and_is_one_for_identical_images():
    clean, noisy = pair()
    metric = SSIM()
    metric.update_state(clean, noisy)
    np.testing.assert_allclose(
        float(metric.result()), float(tf.reduce_mean(tf.image.ssim(clean, noisy, 1.0))), rtol=1e-5
    )
    same = SSIM()
    same.update_state(clean, clean)
    np.testing.assert_allclose(float(same.result()), 1.0, atol=1e-5)
    # Images smaller than the window (8x8 digits) use a window of their size.
    small_clean, small_noisy = pair(shape=(8, 8, 1))
    small = SSIM()
    small.update_state(small_clean, small_noisy)
    expected = tf.reduce_mean(tf.image.ssim(small_clean, small_noisy, 1.0, filter_size=8))
    np.testing.assert_allclose(float(small.result()), float(expected), rtol=1e-5)


def test_less_noise_scores_higher():
    clean, slightly = pair(noise=0.05)
    _, very = pair(noise=0.3)
    for cls in (PSNR, SSIM):
        a, b = cls(), cls()
        a.update_state(clean, slightly)
        b.update_state(clean, very)
        assert float(a.result()) > float(b.result())


def test_config_round_trip_and_compiled_model(tmp_path):
    metric = SSIM(max_val=2.0, filter_size=7, filter_sigma=1.0, k1=0.02, k2=0.04, name="s")
    clone = SSIM.from_config(metric.get_config())
    assert clone.get_config() == metric.get_config()
    assert PSNR.from_config(PSNR(max_val=255).get_config()).max_val == 255.0
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(
        inputs, keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(inputs)
    )
    model.compile(optimizer="adam", loss="mse", metrics=[PSNR(), SSIM()])
    clean, noisy = pair(n=4, shape=(8, 8, 1))
    logs = model.evaluate(noisy, clean, verbose=0, return_dict=True)
    assert {"psnr", "ssim"} <= set(logs) and np.isfinite(logs["psnr"])
    path = os.path.join(tmp_path, "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    reloaded_logs = loaded.evaluate(noisy, clean, verbose=0, return_dict=True)
    np.testing.assert_allclose(reloaded_logs["psnr"], logs["psnr"], rtol=1e-5)


def test_bad_input():
    for bad in (0, -1.0, "1", True):
        with pytest.raises(ValueError, match="max_val"):
            PSNR(max_val=bad)
    with pytest.raises(ValueError, match="filter_size"):
        SSIM(filter_size=0)
    with pytest.raises(ValueError, match="k2"):
        SSIM(k2=-0.1)
    with pytest.raises(ValueError, match=r"y_true.shape=\(2, 4\), y_pred.shape=\(2, 5\)"):
        PSNR().update_state(np.ones((2, 4)), np.ones((2, 5)))
    with pytest.raises(ValueError, match="needs a batch axis"):
        PSNR().update_state(np.float32(1.0), np.float32(1.0))


@pytest.mark.parametrize("shape", [(64,), (12, 3), (16, 16, 1), (2, 4, 4, 3)])
def test_psnr_on_any_shape_is_per_example_over_the_non_batch_axes(shape):
    clean, noisy = pair(n=5, shape=shape, seed=1)
    mse = ((clean - noisy) ** 2).reshape(5, -1).mean(axis=1)
    metric = PSNR()
    metric.update_state(clean, noisy, sample_weight=[1.0, 2.0, 0.0, 1.0, 1.0])
    expected = np.average(10 * np.log10(1.0 / mse), weights=[1.0, 2.0, 0.0, 1.0, 1.0])
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
    if len(shape) == 3:  # images: exactly tf.image.psnr
        expected = float(np.average(tf.image.psnr(clean, noisy, 1.0), weights=[1, 2, 0, 1, 1]))
        np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-6)


def test_psnr_serves_a_flat_autoencoder_and_mixed_precision():
    from mpkeras.models import build_autoencoder

    clean, noisy = pair(n=8, shape=(64,), seed=2)
    for policy in ("float32", "mixed_bfloat16"):
        previous = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(policy)
        try:
            model = build_autoencoder((64,), 4, kind="mlp", hidden=(8,))
            model.compile(optimizer="adam", loss="mse", metrics=[PSNR()])
            logs = model.evaluate(noisy, clean, verbose=0, return_dict=True)
        finally:
            keras.mixed_precision.set_global_policy(previous)
        outputs = np.asarray(model.predict(noisy, verbose=0), np.float32)
        mse = ((clean - outputs) ** 2).mean(axis=1)
        # bfloat16 outputs carry ~3 significant digits: 1e-2 dB-relative.
        rtol = 1e-5 if policy == "float32" else 1e-2
        np.testing.assert_allclose(logs["psnr"], np.mean(10 * np.log10(1.0 / mse)), rtol=rtol)


def test_ssim_says_what_it_needs():
    clean, noisy = pair(n=2, shape=(64,))
    with pytest.raises(
        ValueError,
        match=r"SSIM needs images of shape \(batch, height, width, "
        r"channels\), rank 4.*\(2, 64\).*Reshape.*PSNR",
    ):
        SSIM().update_state(clean, noisy)
    with pytest.raises(ValueError, match=r"rank 4.*rank 3"):
        SSIM().update_state(clean.reshape(2, 8, 8), noisy.reshape(2, 8, 8))
    # Spatial size unknown until run time: a window larger than the image is
    # refused when the images arrive.
    metric = SSIM(filter_size=11)
    update = tf.function(
        metric.update_state, input_signature=[tf.TensorSpec((None, None, None, 1))] * 2
    )
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"SSIM with filter_size=11 needs "
        r"images at least 11x11",
    ):
        update(clean.reshape(2, 8, 8, 1), noisy.reshape(2, 8, 8, 1))
    big, big_noisy = pair(n=2, shape=(12, 12, 1))
    update(big, big_noisy)
    expected = np.mean(tf.image.ssim(big, big_noisy, 1.0))
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
