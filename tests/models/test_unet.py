"""build_unet (F3): shapes, every upsampling method, skips, odd sizes, save/load."""

import keras
import numpy as np
import pytest

from mpkeras.layers import MaxPoolingWithArgmax2D, MaxUnpooling2D
from mpkeras.models import build_unet
from mpkeras.models.unet import CropToMatch2D, PadToMultiple2D

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
    concats = [layer for layer in model.layers if isinstance(layer, keras.layers.Concatenate)]
    assert len(concats) == 2


def test_max_unpool_is_segnet_style():
    model = build_unet((16, 16, 1), 2, depth=2, base_filters=4, upsampling="max_unpool")
    pools = [layer for layer in model.layers if isinstance(layer, MaxPoolingWithArgmax2D)]
    unpools = [layer for layer in model.layers if isinstance(layer, MaxUnpooling2D)]
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


def _images(height, width, seed=0):
    return np.random.default_rng(seed).normal(size=(2, height, width, 3)).astype("float32")


@pytest.mark.parametrize("upsampling", METHODS)
def test_unknown_sizes_are_padded_at_run_time_as_static_sizes_are(upsampling):
    # 37x45 used to fail inside Concatenate ("... 36 and 37").
    dynamic = build_unet((None, None, 3), 3, depth=2, base_filters=2, upsampling=upsampling)
    assert dynamic.output_shape == (None, None, None, 3)
    assert {"PadToMultiple2D", "CropToMatch2D"} <= _layer_types(dynamic)
    static = build_unet((37, 45, 3), 3, depth=2, base_filters=2, upsampling=upsampling)
    static.set_weights(dynamic.get_weights())
    x = _images(37, 45)
    # The same computation on the same padded image: equal up to float32
    # summation order.
    np.testing.assert_allclose(np.asarray(dynamic(x)), np.asarray(static(x)), rtol=1e-6, atol=1e-6)


def test_unknown_sizes_in_predict_at_depth_3():
    dynamic = build_unet((None, None, 3), 3, depth=3, base_filters=2)
    for height, width in [(37, 45), (8, 19)]:
        static = build_unet((height, width, 3), 3, depth=3, base_filters=2)
        static.set_weights(dynamic.get_weights())
        x = _images(height, width)
        np.testing.assert_allclose(
            dynamic.predict(x, verbose=0), np.asarray(static(x)), rtol=1e-6, atol=1e-6
        )


def test_one_unknown_size_and_a_round_trip(tmp_path):
    model = build_unet((None, 21, 3), 2, depth=2, base_filters=2)
    assert model.output_shape == (None, None, 21, 2)
    assert [model.get_layer(n).__class__.__name__ for n in ("unet_pad", "unet_crop")] == [
        "PadToMultiple2D",
        "CropToMatch2D",
    ]
    x = _images(13, 21)
    model.save(tmp_path / "unet.keras")
    loaded = keras.saving.load_model(tmp_path / "unet.keras")
    assert isinstance(loaded.get_layer("unet_pad"), PadToMultiple2D)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))
    assert loaded(x).shape == (2, 13, 21, 2)


def test_run_time_pad_and_crop_layers():
    pad = PadToMultiple2D(4)
    assert pad.compute_output_shape((None, None, 5, 2)) == (None, None, 8, 2)
    x = np.arange(2 * 5 * 6).reshape(1, 5, 6, 2).astype("float32")
    padded = np.asarray(pad(x))
    assert padded.shape == (1, 8, 8, 2)
    np.testing.assert_array_equal(padded[:, :5, :6], x)
    assert padded[:, 5:].sum() == 0 and padded[:, :, 6:].sum() == 0
    crop = CropToMatch2D()
    np.testing.assert_array_equal(np.asarray(crop([padded, x[..., :1]])), x)
    assert crop.compute_output_shape([(None, 8, 8, 2), (None, None, 6, 1)]) == (None, None, 6, 2)
    assert PadToMultiple2D.from_config(pad.get_config()).multiple == 4
    with pytest.raises(ValueError, match=r"`multiple`, expected a positive integer"):
        PadToMultiple2D(0)


@pytest.mark.parametrize("input_shape", [(6, 6, 3), (None, None, 3)])
def test_probabilities_stay_float32_under_mixed_precision(input_shape):
    # The crop after the float32 softmax used to cast it back to float16.
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_unet(input_shape, 3, depth=2, base_filters=2)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.output.dtype == "float32"
    out = model(_images(6, 6))
    assert out.dtype == "float32"
    np.testing.assert_allclose(np.asarray(out).sum(-1), 1.0, rtol=1e-5)


def test_softmax_over_one_class_is_refused():
    # Its output was constantly 1.0 (build_mlp refuses the same case).
    for head in ("softmax", keras.activations.softmax, "log_softmax"):
        with pytest.raises(
            ValueError,
            match=r"softmax over one class is constantly 1 .*"
            r"output_activation='sigmoid'.* Received: "
            r"num_classes=1",
        ):
            build_unet((32, 32, 3), 1, output_activation=head)
    model = build_unet((8, 8, 3), 1, depth=1, base_filters=2, output_activation="sigmoid")
    assert model.output_shape == (None, 8, 8, 1)
    assert build_unet((8, 8, 3), 1, depth=1, base_filters=2, output_activation=None)


def test_depth_beyond_the_input_size_is_refused():
    # 8x8 at depth 5 was silently padded to 32x32 (16x the pixels).
    with pytest.raises(
        ValueError,
        match=r"`depth`, expected at most 3 for a 8x8 input .* "
        r"32x32, 16x the pixels, for a 1x1 bottleneck\)\. "
        r"Received: depth=5",
    ):
        build_unet((8, 8, 3), 3, depth=5)
    with pytest.raises(ValueError, match=r"`depth`, expected at most 3 for a \?x8 input"):
        build_unet((None, 8, 3), 3, depth=4)
    assert build_unet((8, 8, 3), 3, depth=3, base_filters=2).output_shape == (None, 8, 8, 3)
    # A side of 12 at depth 3 still pads (to 16): under 4x the pixels.
    assert build_unet((12, 12, 3), 3, depth=3, base_filters=2).output_shape == (None, 12, 12, 3)


def test_layers_are_named_and_logits_option():
    model = build_unet((8, 8, 1), 2, depth=1, base_filters=2, output_activation=None, name="seg")
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
        (
            {"upsampling": "bilinear"},
            r"`upsampling`, expected one of \('transpose', .* Received: upsampling='bilinear'",
        ),
        ({"depth": 0}, r"`depth`, expected a positive integer\. Received: depth=0"),
        (
            {"base_filters": 2.5},
            r"`base_filters`, expected a positive integer\. Received: "
            r"base_filters=2\.5",
        ),
        (
            {"num_classes": 0},
            r"`num_classes`, expected a positive integer\. Received: "
            r"num_classes=0",
        ),
        ({"input_shape": (16, 16)}, r"`input_shape`, expected \(height, width, channels\)"),
        (
            {"input_shape": (16, 16, None)},
            r"`input_shape`, .*\(height and width may be None\)\. Received: input_shape=\(16, 16, "
            r"None\)",
        ),
        ({"batch_norm_momentum": 1.5}, r"`batch_norm_momentum`, expected a float in \[0, 1\]"),
    ],
)
def test_bad_arguments(kwargs, match):
    args = {"input_shape": (16, 16, 1), "num_classes": 2, **kwargs}
    with pytest.raises(ValueError, match=r"Received an invalid value for " + match):
        build_unet(**args)
