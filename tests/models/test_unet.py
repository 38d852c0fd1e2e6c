"""build_unet (F3): shapes, every upsampling method, skips, odd sizes, save/load."""

import keras
import numpy as np
import pytest

from mpkeras.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D
from mpkeras.models import build_unet

METHODS = ["transpose", "nearest", "bed_of_nails", "max_unpool"]


def _layer_types(model):
    return {type(layer).__name__ for layer in model.layers}


@pytest.mark.parametrize("upsampling", METHODS)
def test_f3_unet_shapes_and_one_training_step(upsampling):
    model = build_unet((16, 16, 3), 4, depth=2, base_filters=4, upsampling=upsampling)
    assert model.output_shape == (None, 16, 16, 4)
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")
    y = np.random.default_rng(1).integers(0, 4, size=(2, 16, 16))
    out = model(x).numpy()
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5)  # softmax per pixel
    # Eager: tracing a train step costs more than the step on a busy machine.
    model.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True)
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(x, y, epochs=1, verbose=0)
    assert any(not np.array_equal(a, w.numpy()) for a, w in zip(before, model.trainable_weights))
    # Every encoder stage is copied into the decoder: depth concatenations.
    concats = [l for l in model.layers if isinstance(l, keras.layers.Concatenate)]
    assert len(concats) == 2


def test_max_unpool_is_segnet_style():
    model = build_unet((16, 16, 1), 2, depth=2, base_filters=4, upsampling="max_unpool")
    pools = [l for l in model.layers if isinstance(l, MaxPoolingWithArgmax2D)]
    unpools = [l for l in model.layers if isinstance(l, MaxUnpooling2D)]
    assert len(pools) == len(unpools) == 2
    # The deepest unpooling takes the deepest pooling's indices.
    assert unpools[0].input[1] is pools[-1].output[1]
    assert "MaxPooling2D" not in _layer_types(model)


def test_without_skips_there_is_no_copy():
    model = build_unet((16, 16, 1), 2, depth=2, base_filters=4, skips=False)
    assert "Concatenate" not in _layer_types(model)
    with_skips = build_unet((16, 16, 1), 2, depth=2, base_filters=4, skips=True)
    assert with_skips.count_params() > model.count_params()


@pytest.mark.parametrize("upsampling", ["transpose", "max_unpool"])
def test_sizes_not_divisible_by_two_to_the_depth_are_padded_and_cropped(upsampling):
    model = build_unet((18, 13, 2), 3, depth=2, base_filters=4, upsampling=upsampling)
    assert model.output_shape == (None, 18, 13, 3)
    assert {"ZeroPadding2D", "Cropping2D"} <= _layer_types(model)
    x = np.random.default_rng(2).normal(size=(1, 18, 13, 2)).astype("float32")
    assert model(x).shape == (1, 18, 13, 3)


def test_unknown_spatial_size():
    model = build_unet((None, None, 1), 2, depth=2, base_filters=4, upsampling="max_unpool")
    x = np.zeros((1, 12, 8, 1), "float32")
    assert model(x).shape == (1, 12, 8, 2)


def test_layers_are_named_and_logits_option():
    model = build_unet((8, 8, 1), 2, depth=1, base_filters=2, output_activation=None,
                       name="seg")
    assert model.name == "seg"
    assert all(layer.name.startswith("seg_") for layer in model.layers)
    assert "seg_down0_conv1" in [layer.name for layer in model.layers]


@pytest.mark.parametrize("upsampling", ["bed_of_nails", "max_unpool"])
def test_keras_round_trip(tmp_path, upsampling):
    model = build_unet((12, 10, 1), 2, depth=2, base_filters=2, upsampling=upsampling)
    x = np.random.default_rng(3).normal(size=(2, 12, 10, 1)).astype("float32")
    model.save(tmp_path / "unet.keras")
    loaded = keras.models.load_model(tmp_path / "unet.keras")
    np.testing.assert_array_equal(loaded(x), model(x))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"upsampling": "bilinear"}, "upsampling"),
        ({"depth": 0}, "depth"),
        ({"base_filters": 2.5}, "base_filters"),
        ({"num_classes": 0}, "num_classes"),
        ({"input_shape": (16, 16)}, "input_shape"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"input_shape": (16, 16, 1), "num_classes": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_unet(**args)
