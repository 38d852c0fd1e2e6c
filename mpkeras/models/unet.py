"""The notes' U-Net (claim F3) with a choice of upsampling (claim F1)."""

import keras
import numpy as np

from mpkeras.layers.pooling import MaxPoolingWithArgmax2D, MaxUnpooling2D
from mpkeras.layers.upsampling import BedOfNails2D

UPSAMPLING = ("transpose", "nearest", "bed_of_nails", "max_unpool")


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(
            f"Received an invalid value for `{name}`, expected a positive integer. "
            f"Received: {name}={value!r}"
        )


def build_unet(
    input_shape,
    num_classes,
    depth=3,
    base_filters=16,
    upsampling="transpose",
    skips=True,
    batch_norm=True,
    batch_norm_momentum=0.9,
    output_activation="softmax",
    name="unet",
):
    """A U-Net: downsample with conv + max pooling, upsample, copy encoder features across.

    The notes' fully convolutional network for segmentation (section 3.2,
    Figure 11): `depth` encoder stages, each two 3x3 convolutions
    (+ batch norm) + ReLU followed by 2x2 max pooling, halve the resolution
    and double the filters (base_filters * 2**i); a bottleneck block; then
    `depth` decoder stages, each upsampling by 2, concatenating ("copying")
    the encoder features of the same resolution when `skips` is True, and two
    3x3 convolutions. A 1x1 convolution gives per-pixel class scores.

    Upsampling (F1):
        "transpose": Conv2DTranspose(f, 2, strides=2), learned.
        "nearest": 1x1 conv to f filters, then UpSampling2D (nearest).
        "bed_of_nails": 1x1 conv to f filters, then BedOfNails2D.
        "max_unpool": 1x1 conv to f filters, then MaxUnpooling2D with the
            indices of the matching MaxPoolingWithArgmax2D (SegNet-style).
    The 1x1 projection makes the parameter-free methods comparable to the
    transposed convolution (and gives the unpooling the pooled channel count).

    Input sizes: if the height or width is not a multiple of 2**depth, the
    input is zero-padded at the bottom/right to the next multiple inside the
    model and the output is cropped back, so any static size works and the
    output always has the input's height and width. With unknown (None)
    spatial sizes no padding is added and the sizes must be multiples of
    2**depth at run time.

    Args:
        input_shape: (height, width, channels); height/width may be None.
        num_classes: number of classes K (output channels).
        depth: number of downsampling stages, >= 1.
        base_filters: filters of the first stage, doubled each stage.
        upsampling: one of "transpose", "nearest", "bed_of_nails", "max_unpool".
        skips: concatenate encoder features into each decoder stage (U-Net);
            False gives the plain encoder-decoder of the same size.
        batch_norm: BatchNormalization after every 3x3 convolution.
        batch_norm_momentum: momentum of its moving statistics; 0.9 (not
            Keras's 0.99) so that inference-mode statistics catch up within
            a few hundred steps, as short segmentation runs need.
        output_activation: activation of the 1x1 head ("softmax" gives
            probabilities; None gives logits).
        name: model name; every layer is named f"{name}_...".

    Returns:
        A functional `keras.Model` mapping (batch, H, W, C) images to
        (batch, H, W, num_classes) scores.

    Example:

    >>> model = build_unet((28, 28, 1), num_classes=3, depth=2, base_filters=4)
    >>> model.output_shape
    (None, 28, 28, 3)
    """
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(
            "Received an invalid value for `input_shape`, expected (height, width, "
            f"channels). Received: input_shape={input_shape!r}"
        )
    _check_positive_int("num_classes", num_classes)
    _check_positive_int("depth", depth)
    _check_positive_int("base_filters", base_filters)
    if upsampling not in UPSAMPLING:
        raise ValueError(
            f"Received an invalid value for `upsampling`, expected one of {UPSAMPLING}. "
            f"Received: upsampling={upsampling!r}"
        )
    height, width, _ = input_shape
    factor = 2**depth

    def conv_block(x, filters, prefix):
        for j in (1, 2):
            x = keras.layers.Conv2D(
                filters, 3, padding="same", use_bias=not batch_norm, name=f"{prefix}_conv{j}"
            )(x)
            if batch_norm:
                x = keras.layers.BatchNormalization(
                    momentum=batch_norm_momentum, name=f"{prefix}_bn{j}"
                )(x)
            x = keras.layers.Activation("relu", name=f"{prefix}_relu{j}")(x)
        return x

    inputs = keras.Input(tuple(input_shape), name=f"{name}_input")
    pad = [0 if n is None else (-n) % factor for n in (height, width)]
    x = inputs
    if any(pad):
        x = keras.layers.ZeroPadding2D(((0, pad[0]), (0, pad[1])), name=f"{name}_pad")(x)

    encoder = []
    for i in range(depth):
        x = conv_block(x, base_filters * 2**i, f"{name}_down{i}")
        size = tuple(x.shape[1:3])
        if upsampling == "max_unpool":
            skip = x
            x, indices = MaxPoolingWithArgmax2D(2, name=f"{name}_down{i}_pool")(x)
        else:
            skip, indices = x, None
            x = keras.layers.MaxPooling2D(2, name=f"{name}_down{i}_pool")(x)
        encoder.append((skip, indices, size))

    x = conv_block(x, base_filters * 2**depth, f"{name}_bottleneck")

    for i in reversed(range(depth)):
        filters = base_filters * 2**i
        skip, indices, size = encoder[i]
        prefix = f"{name}_up{i}"
        if upsampling == "transpose":
            x = keras.layers.Conv2DTranspose(
                filters, 2, strides=2, padding="same", name=f"{prefix}_transpose"
            )(x)
        else:
            x = keras.layers.Conv2D(filters, 1, name=f"{prefix}_project")(x)
            if upsampling == "nearest":
                x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{prefix}_nearest")(x)
            elif upsampling == "bed_of_nails":
                x = BedOfNails2D(2, name=f"{prefix}_bed_of_nails")(x)
            else:
                output_size = size if None not in size else None
                x = MaxUnpooling2D(2, name=f"{prefix}_unpool")(x, indices, output_size=output_size)
        if skips:
            x = keras.layers.Concatenate(name=f"{prefix}_concat")([x, skip])
        x = conv_block(x, filters, prefix)

    x = keras.layers.Conv2D(num_classes, 1, name=f"{name}_head")(x)
    if output_activation is not None:
        x = keras.layers.Activation(output_activation, dtype="float32", name=f"{name}_scores")(x)
    if any(pad):
        x = keras.layers.Cropping2D(((0, pad[0]), (0, pad[1])), name=f"{name}_crop")(x)
    return keras.Model(inputs, x, name=name)
