"""Convolutional classifiers (notes section 2.2, claim C7)."""

import keras

from mpkeras import validation

_CONVS = ("keras", "explicit")


def _conv_class(conv):
    if conv == "keras":
        return keras.layers.Conv2D
    from mpkeras.layers.explicit_conv import ExplicitConv2D

    return ExplicitConv2D


def build_cnn(
    input_shape,
    num_classes,
    filters=(32, 64),
    kernel_size=3,
    pool_size=2,
    padding="valid",
    activation="relu",
    dense=(),
    dropout=0.5,
    conv="keras",
    seed=None,
    dtype=None,
    name="cnn",
):
    """Build a CNN classifier: conv/pool blocks, then a dense head (C7).

    The notes' architecture (section 2.2): "a sequence of convolutional
    layers and pooling layers, followed by a final dense layer (MLP)". Block
    i is `Conv2D(filters[i], kernel_size, activation)` followed by
    `MaxPooling2D(pool_size)`; then Flatten, optional hidden Dense layers
    (`dense`), Dropout and a softmax Dense layer with `num_classes` units
    (class probabilities, as the Keras examples; train with
    `sparse_categorical_crossentropy`).

    The defaults are the Keras MNIST convnet example
    (keras.io/examples/vision/mnist_convnet): `build_cnn((28, 28, 1), 10)`
    is Conv(32, 3x3, relu) - MaxPool(2) - Conv(64, 3x3, relu) - MaxPool(2) -
    Flatten - Dropout(0.5) - Dense(10, softmax), 34,826 parameters. Each
    conv layer has K*K*C_in*C_out + C_out parameters, whatever the image
    size (claim C6).

    Small images: a pooling layer is left out when its input is already
    smaller than `pool_size` (e.g. 8x8 digits with the defaults end in a
    1x1x64 map after the second convolution, so the second pooling is
    skipped). A convolution that no longer fits its input in "valid"
    padding is an error; use `padding="same"` or fewer blocks.

    Layers are named `f"{name}_input"`, `f"{name}_conv{i}"`,
    `f"{name}_pool{i}"`, `f"{name}_flatten"`, `f"{name}_dense{i}"`,
    `f"{name}_dropout"` and `f"{name}_output"`.

    Args:
        input_shape: `(height, width, channels)`, from 8x8 up.
        num_classes: number of classes (>= 2).
        filters: output channels of each conv block, positive integers.
        kernel_size: conv kernel size, int or tuple of 2.
        pool_size: max-pooling window and stride, int or tuple of 2.
        padding: padding of the convolutions, "valid" (the example) or
            "same".
        activation: activation of the convolutions and hidden Dense layers.
        dense: widths of hidden Dense layers of the head, `()` for none.
        dropout: dropout rate before the output layer, in [0, 1); 0 for
            no Dropout layer.
        conv: "keras" for `keras.layers.Conv2D` or "explicit" for
            `mpkeras.layers.ExplicitConv2D` (same forward pass and weights,
            gradients from the notes' formulas, claim C4).
        seed: seed of the Dropout layer (None: drawn from Keras' global
            seed, see `keras.utils.set_random_seed`).
        dtype: dtype (policy) of the layers; default the global policy.
        name: model name and layer-name prefix.

    Returns:
        An uncompiled `keras.Model` mapping `(batch, *input_shape)` to class
        probabilities `(batch, num_classes)`.

    Example:

    >>> model = build_cnn((28, 28, 1), 10)
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
    >>> model.count_params()
    34826
    """
    input_shape = validation.shape(
        input_shape, "input_shape", rank=3, expected="(height, width, channels)"
    )
    if input_shape[0] < 8 or input_shape[1] < 8:
        raise validation.invalid("input_shape", "an image of at least 8x8", input_shape)
    num_classes = validation.int_at_least(num_classes, "num_classes", 2)
    filters = validation.positive_ints(filters, "filters")
    kernel_size = validation.normalize_tuple(kernel_size, 2, "kernel_size")
    pool_size = validation.normalize_tuple(pool_size, 2, "pool_size")
    dense = validation.positive_ints(dense, "dense", allow_empty=True)
    padding = validation.padding(padding)
    conv = validation.one_of(conv, "conv", _CONVS)
    dropout = validation.rate(dropout, "dropout", allow_one=False)
    activation = keras.activations.get(activation)
    conv_class = _conv_class(conv)

    inputs = keras.Input(shape=input_shape, name=f"{name}_input", dtype=dtype)
    x = inputs
    size = list(input_shape[:2])
    for i, width in enumerate(filters):
        if padding == "valid":
            if any(k > s for k, s in zip(kernel_size, size)):
                raise ValueError(
                    f"The convolution of block {i} does not fit its "
                    f"{size[0]}x{size[1]} input in 'valid' padding; use "
                    "padding='same' or fewer `filters` blocks. Received: "
                    f"input_shape={input_shape}, filters={filters}"
                )
            size = [s - k + 1 for s, k in zip(size, kernel_size)]
        x = conv_class(
            width,
            kernel_size,
            padding=padding,
            activation=activation,
            dtype=dtype,
            name=f"{name}_conv{i}",
        )(x)
        if all(s >= p for s, p in zip(size, pool_size)):
            x = keras.layers.MaxPooling2D(pool_size, dtype=dtype, name=f"{name}_pool{i}")(x)
            size = [s // p for s, p in zip(size, pool_size)]
    x = keras.layers.Flatten(dtype=dtype, name=f"{name}_flatten")(x)
    for i, units in enumerate(dense):
        x = keras.layers.Dense(units, activation=activation, dtype=dtype, name=f"{name}_dense{i}")(
            x
        )
    if dropout:
        x = keras.layers.Dropout(dropout, seed=seed, dtype=dtype, name=f"{name}_dropout")(x)
    outputs = keras.layers.Dense(
        num_classes, activation="softmax", dtype=dtype, name=f"{name}_output"
    )(x)
    return keras.Model(inputs, outputs, name=name)
