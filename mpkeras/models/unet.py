"""The notes' U-Net (claim F3) with a choice of upsampling (claim F1)."""

import math

import keras
from keras import ops

from mpkeras import validation
from mpkeras.layers.pooling import MaxPoolingWithArgmax2D, MaxUnpooling2D
from mpkeras.layers.upsampling import BedOfNails2D

UPSAMPLING = ("transpose", "nearest", "bed_of_nails", "max_unpool")


def _size(height, width):
    """The size as "8x8", or "?x8" where a side is unknown."""
    return "x".join("?" if side is None else str(side) for side in (height, width))


@keras.saving.register_keras_serializable(package="mpkeras")
class PadToMultiple2D(keras.layers.Layer):
    """Zero-pads height and width at the bottom/right to multiples of `multiple`.

    The run-time form of `keras.layers.ZeroPadding2D` for images whose size is
    known only when the model is called: a side s becomes
    ceil(s / multiple) * multiple. `build_unet` puts it in front of a U-Net
    whose input sizes are None, so that every pooling stage halves an even
    size; `CropToMatch2D` cuts the output back to the input's size.

    Args:
        multiple: positive integer (2**depth in the U-Net).
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, padded_height, padded_width, channels)`.
    """

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = validation.positive_int(multiple, "multiple")

    def call(self, inputs):
        shape = ops.shape(inputs)
        pad_h, pad_w = (-shape[1]) % self.multiple, (-shape[2]) % self.multiple
        return ops.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])

    def compute_output_shape(self, input_shape):
        def padded(side):
            return None if side is None else -(-side // self.multiple) * self.multiple

        batch, height, width, channels = input_shape
        return (batch, padded(height), padded(width), channels)

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package="mpkeras")
class CropToMatch2D(keras.layers.Layer):
    """Crops `x` at the bottom/right to the height and width of `reference`.

    The run-time form of `keras.layers.Cropping2D`, undoing
    `PadToMultiple2D`: called on `[x, reference]`, it returns
    `x[:, :height, :width]` with the height and width of `reference`.

    Input shape: `[(batch, H, W, C), (batch, h, w, c)]` with h <= H, w <= W.
    Output shape: `(batch, h, w, C)`.
    """

    def call(self, inputs):
        x, reference = inputs
        shape = ops.shape(reference)
        return x[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, input_shape):
        x_shape, reference_shape = input_shape
        return (x_shape[0], reference_shape[1], reference_shape[2], x_shape[3])


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
    model and the output is cropped back, so the output always has the
    input's height and width. Static sizes are padded by ZeroPadding2D and
    cropped by Cropping2D; unknown (None) sizes at run time, by
    `PadToMultiple2D` and `CropToMatch2D` (layers `{name}_pad`,
    `{name}_crop`), so any size works there too. A known side smaller than
    2**depth is refused (it would be padded to 2**depth: at most 4x the
    pixels otherwise); at run time such a side is padded up to 2**depth.

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
    input_shape = validation.shape(
        input_shape,
        "input_shape",
        rank=3,
        unknown_axes=(0, 1),
        expected="(height, width, channels) of positive integers (height and width may be None)",
    )
    height, width, _ = input_shape
    num_classes = validation.positive_int(num_classes, "num_classes")
    depth = validation.positive_int(depth, "depth")
    base_filters = validation.positive_int(base_filters, "base_filters")
    upsampling = validation.one_of(upsampling, "upsampling", UPSAMPLING)
    batch_norm_momentum = validation.rate(batch_norm_momentum, "batch_norm_momentum")
    if output_activation is not None:
        head = keras.activations.get(output_activation)
        if num_classes == 1 and head in (keras.activations.softmax, keras.activations.log_softmax):
            raise ValueError(
                "A softmax over one class is constantly 1 (the mask would be "
                "all ones); use output_activation='sigmoid' for a binary mask or "
                "num_classes >= 2. Received: num_classes=1, "
                f"output_activation={output_activation!r}"
            )
    factor = 2**depth
    known = [side for side in (height, width) if side is not None]
    if known and factor > min(known):
        # Each stage halves the padded size, so a side below 2**depth would
        # be zero-padded up to 2**depth: the deepest stages see mostly padding.
        padded = [None if side is None else -(-side // factor) * factor for side in (height, width)]
        growth = ""
        if len(known) == 2:
            growth = f", {padded[0] * padded[1] / (height * width):.3g}x the pixels"
        bottleneck = [None if side is None else side // factor for side in padded]
        raise validation.invalid(
            "depth",
            f"at most {int(math.log2(min(known)))} for a {_size(height, width)} input "
            f"(2**depth may not exceed its sides: depth={depth} would zero-pad it to "
            f"{_size(*padded)}{growth}, for a {_size(*bottleneck)} bottleneck)",
            depth,
        )

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

    inputs = keras.Input(input_shape, name=f"{name}_input")
    x = inputs
    dynamic = height is None or width is None
    pad = [0 if n is None else (-n) % factor for n in (height, width)]
    if dynamic:
        # Sizes known only at run time: pad and crop at run time.
        x = PadToMultiple2D(factor, name=f"{name}_pad")(x)
    elif any(pad):
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
                x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{prefix}_nearest")(
                    x
                )
            elif upsampling == "bed_of_nails":
                x = BedOfNails2D(2, name=f"{prefix}_bed_of_nails")(x)
            else:
                output_size = size if None not in size else None
                x = MaxUnpooling2D(2, name=f"{prefix}_unpool")(x, indices, output_size=output_size)
        if skips:
            x = keras.layers.Concatenate(name=f"{prefix}_concat")([x, skip])
        x = conv_block(x, filters, prefix)

    x = keras.layers.Conv2D(num_classes, 1, name=f"{name}_head")(x)
    # Probabilities stay float32 under mixed precision, through the crop too.
    scores_dtype = None
    if output_activation is not None:
        scores_dtype = "float32"
        x = keras.layers.Activation(output_activation, dtype="float32", name=f"{name}_scores")(x)
    if dynamic:
        x = CropToMatch2D(dtype=scores_dtype, name=f"{name}_crop")([x, inputs])
    elif any(pad):
        x = keras.layers.Cropping2D(
            ((0, pad[0]), (0, pad[1])), dtype=scores_dtype, name=f"{name}_crop"
        )(x)
    return keras.Model(inputs, x, name=name)
