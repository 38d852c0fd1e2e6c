"""Autoencoders (notes chapter 5a): encoder/decoder builders and `Autoencoder`.

An autoencoder learns an encoder f: x -> z and a decoder g: z -> x_hat by
minimising the reconstruction error

    L = 1/N sum_i || x_i - g(f(x_i)) ||^2.

With linear f and g (no activations) and a latent size k <= d the optimum
spans the top-k principal subspace of the (centred) data: the linear
autoencoder is PCA up to an invertible map of the latent space (claim A1).
Non-linear encoders and decoders (MLP or convolutional) reach a lower error
at the same latent size (A2). An undercomplete code (k < d) forces
compression; an overcomplete one (k > d) can copy its input, so it is
trained on corrupted inputs instead (denoising, inpainting; A3).

`build_encoder` and `build_decoder` are shared with the VAE (chapter 5b),
which uses an encoder with `output_dim = 2 * latent_dim` (mean and log
variance).

The builders and the model stay in one module (about 450 lines, much of it
docstrings) because they are one concept: `build_autoencoder` is the pair of
builders behind the model, and the shape rules they share are defined once.
"""

import math

import keras

from mpkeras import validation

KINDS = ("linear", "mlp", "conv")


def _image_shape(shape, name, kind):
    if kind == "conv":
        return validation.shape(
            shape,
            name,
            rank=3,
            expected=(
                "an image shape (height, width, channels) of positive integers for kind='conv'"
            ),
        )
    return validation.shape(
        shape,
        name,
        rank=(1, 3),
        expected=("an image shape (height, width, channels) or (features,) of positive integers"),
    )


def _hidden(hidden, kind, shape):
    """Hidden widths (mlp) or filters per stride-2 stage (conv)."""
    if kind == "linear":
        if hidden not in (None, (), []):
            raise validation.invalid(
                "hidden",
                "None: kind='linear' has no hidden layers (it is PCA's model, A1)",
                hidden,
            )
        return ()
    if hidden is None:
        if kind == "mlp":
            return (256, 128)
        return default_conv_filters(shape[:2])
    if kind == "conv":
        return validation.positive_ints(
            hidden,
            "hidden",
            expected="positive integers (filters per stride-2 stage for 'conv', at least one)",
        )
    return validation.positive_ints(
        hidden, "hidden", allow_empty=True, expected="positive integers (layer widths for 'mlp')"
    )


def default_conv_filters(spatial_shape):
    """Default filters of the conv encoder for an image of `spatial_shape`.

    One stride-2 stage per halving until the smaller side is <= 4, at least
    two stages; 32 filters in the first half of the stages, 64 after:

        8x8 (digits)   -> (32, 64)           8 -> 4 -> 2
        16x16          -> (32, 64)           16 -> 8 -> 4
        28x28 (mnist)  -> (32, 64, 64)       28 -> 14 -> 7 -> 4
        64x64 (sprites)-> (32, 32, 64, 64)   64 -> 32 -> 16 -> 8 -> 4
    """
    size = min(spatial_shape)
    stages = 0
    while size > 4:
        size = math.ceil(size / 2)
        stages += 1
    stages = max(2, stages)
    return tuple(32 if i < stages // 2 else 64 for i in range(stages))


def _conv_sizes(spatial_shape, stages):
    """Spatial sizes after each 'same'-padded stride-2 stage: ceil(s / 2)."""
    sizes = [tuple(spatial_shape)]
    for _ in range(stages):
        sizes.append(tuple(math.ceil(s / 2) for s in sizes[-1]))
    return sizes


def build_encoder(
    input_shape,
    output_dim,
    kind="mlp",
    hidden=None,
    activation="relu",
    kernel_size=3,
    name="encoder",
):
    """Build an encoder f: x -> z as a functional `keras.Model`.

    The output is a flat vector of `output_dim` units with no activation
    (a latent code, or the VAE's concatenated mean and log variance).

    - `kind="linear"`: z = W^T flatten(x) + b, one Dense layer (PCA's model,
      claim A1); `hidden` must be None.
    - `kind="mlp"`: flatten, Dense layers of widths `hidden` (default
      (256, 128)) with `activation`, then the linear output layer.
    - `kind="conv"`: one Conv2D stage per entry of `hidden` (filters),
      kernel `kernel_size`, stride 2, "same" padding, so each stage maps a
      side s to ceil(s / 2) and odd sizes work; then flatten and the linear
      output layer. Default filters (`default_conv_filters`): (32, 64) for
      8x8 digits (8 -> 4 -> 2), (32, 64, 64) for 28x28 mnist
      (28 -> 14 -> 7 -> 4), (32, 32, 64, 64) for 64x64 sprites
      (64 -> ... -> 4).

    Layers are named `f"{name}_input"`, `f"{name}_conv{i}"` or
    `f"{name}_hidden{i}"`, `f"{name}_flatten"`, `f"{name}_output"`.

    Args:
        input_shape: shape of one image (height, width, channels); "linear"
            and "mlp" also accept a flat (features,).
        output_dim: size of the output vector, positive.
        kind: "linear", "mlp" or "conv".
        hidden: Dense widths ("mlp") or filters per stride-2 stage ("conv");
            None for the defaults above.
        activation: hidden activation (anything `keras.activations.get`
            takes).
        kernel_size: conv kernel side ("conv" only).
        name: model name and layer-name prefix.

    Returns:
        A `keras.Model` mapping `(batch, *input_shape)` to
        `(batch, output_dim)`.

    Example:

    >>> encoder = build_encoder((28, 28, 1), 16, kind="conv")
    >>> encoder.output_shape
    (None, 16)
    """
    kind = validation.one_of(kind, "kind", KINDS)
    input_shape = _image_shape(input_shape, "input_shape", kind)
    output_dim = validation.positive_int(output_dim, "output_dim")
    hidden = _hidden(hidden, kind, input_shape)
    kernel_size = validation.positive_int(kernel_size, "kernel_size")
    activation = keras.activations.get(activation)

    inputs = keras.Input(shape=input_shape, name=f"{name}_input")
    x = inputs
    if kind == "conv":
        for i, filters in enumerate(hidden):
            x = keras.layers.Conv2D(
                filters,
                kernel_size,
                strides=2,
                padding="same",
                activation=activation,
                name=f"{name}_conv{i}",
            )(x)
    if len(x.shape) > 2:
        x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    if kind == "mlp":
        for i, units in enumerate(hidden):
            x = keras.layers.Dense(units, activation=activation, name=f"{name}_hidden{i}")(x)
    outputs = keras.layers.Dense(output_dim, name=f"{name}_output")(x)
    return keras.Model(inputs, outputs, name=name)


def build_decoder(
    latent_dim,
    output_shape,
    kind="mlp",
    hidden=None,
    activation="relu",
    output_activation="sigmoid",
    kernel_size=3,
    name="decoder",
):
    """Build a decoder g: z -> x_hat as a functional `keras.Model`.

    The mirror image of `build_encoder` with the same `kind` and `hidden`:

    - `kind="linear"`: x_hat = reshape(W z + b), one Dense layer.
    - `kind="mlp"`: Dense layers of widths `reversed(hidden)` with
      `activation`, a Dense layer of prod(output_shape) units with
      `output_activation`, and a Reshape.
    - `kind="conv"`: Dense to the encoder's last feature map (smallest
      spatial size, `hidden[-1]` channels), then one Conv2DTranspose
      (stride 2, "same") per stage with filters `reversed(hidden)`, each
      doubling the sides; a Cropping2D removes the excess when a side is
      not a power-of-two multiple (e.g. 28 -> 4 -> 8 -> 16 -> 32, crop to
      28; 7 -> 4 -> 2 -> 4 -> 8, crop to 7); a final 'same' Conv2D to the
      output channels with `output_activation`.

    Layers are named `f"{name}_input"`, `f"{name}_dense"`,
    `f"{name}_reshape"`, `f"{name}_hidden{i}"` / `f"{name}_deconv{i}"`,
    `f"{name}_crop"`, `f"{name}_output"`.

    Args:
        latent_dim: size of the input vector z, positive.
        output_shape: shape of one output image (height, width, channels);
            "linear"/"mlp" also accept a flat (features,).
        kind: "linear", "mlp" or "conv".
        hidden: as in `build_encoder` (given in the encoder's order); None
            for the defaults.
        activation: hidden activation.
        output_activation: "sigmoid" (Bernoulli means / images in [0, 1]),
            None or "linear" (Gaussian means, and PCA's linear model).
        kernel_size: conv kernel side ("conv" only).
        name: model name and layer-name prefix.

    Returns:
        A `keras.Model` mapping `(batch, latent_dim)` to
        `(batch, *output_shape)`.

    Example:

    >>> decoder = build_decoder(16, (28, 28, 1), kind="conv")
    >>> decoder.output_shape
    (None, 28, 28, 1)
    """
    kind = validation.one_of(kind, "kind", KINDS)
    latent_dim = validation.positive_int(latent_dim, "latent_dim")
    output_shape = _image_shape(output_shape, "output_shape", kind)
    hidden = _hidden(hidden, kind, output_shape)
    kernel_size = validation.positive_int(kernel_size, "kernel_size")
    activation = keras.activations.get(activation)
    if output_activation is None:
        output_activation = "linear"
    output_activation = keras.activations.get(output_activation)
    features = math.prod(output_shape)

    inputs = keras.Input(shape=(latent_dim,), name=f"{name}_input")
    x = inputs
    if kind in ("linear", "mlp"):
        for i, units in enumerate(reversed(hidden)):
            x = keras.layers.Dense(units, activation=activation, name=f"{name}_hidden{i}")(x)
        x = keras.layers.Dense(features, activation=output_activation, name=f"{name}_output")(x)
        if len(output_shape) > 1:
            x = keras.layers.Reshape(output_shape, name=f"{name}_reshape")(x)
        return keras.Model(inputs, x, name=name)

    height, width, channels = output_shape
    sizes = _conv_sizes((height, width), len(hidden))
    small_h, small_w = sizes[-1]
    x = keras.layers.Dense(
        small_h * small_w * hidden[-1],
        activation=activation,
        name=f"{name}_dense",
    )(x)
    x = keras.layers.Reshape((small_h, small_w, hidden[-1]), name=f"{name}_reshape")(x)
    for i, filters in enumerate(reversed(hidden)):
        x = keras.layers.Conv2DTranspose(
            filters,
            kernel_size,
            strides=2,
            padding="same",
            activation=activation,
            name=f"{name}_deconv{i}",
        )(x)
    grown_h, grown_w = small_h * 2 ** len(hidden), small_w * 2 ** len(hidden)
    if (grown_h, grown_w) != (height, width):
        crop_h, crop_w = grown_h - height, grown_w - width
        x = keras.layers.Cropping2D(
            ((crop_h // 2, crop_h - crop_h // 2), (crop_w // 2, crop_w - crop_w // 2)),
            name=f"{name}_crop",
        )(x)
    outputs = keras.layers.Conv2D(
        channels,
        kernel_size,
        padding="same",
        activation=output_activation,
        name=f"{name}_output",
    )(x)
    return keras.Model(inputs, outputs, name=name)


@keras.saving.register_keras_serializable(package="mpkeras")
class Autoencoder(keras.Model):
    """x_hat = decoder(encoder(x)), keeping both halves as sub-models.

    Train it like any Keras model on `(inputs, targets)` pairs with the
    reconstruction error L = 1/N sum_i ||x_i - g(f(x_i))||^2 (loss "mse"):
    `(x, x)` for plain reconstruction, `(corrupted x, x)` for denoising and
    inpainting (claim A3). `encoder` and `decoder` are saved inside the
    `.keras` file (serialised in `get_config`, restored in `from_config`) and
    stay usable on their own after `keras.saving.load_model`.

    Args:
        encoder: a built `keras.Model` mapping inputs to `(batch, k)` codes.
        decoder: a built `keras.Model` mapping `(batch, k)` codes to outputs
            of the encoder's input shape.
        **kwargs: `keras.Model` arguments (`name`, ...).

    Call arguments:
        inputs: a batch of the encoder's inputs.
        training: passed to both halves.

    Input shape / Output shape: the encoder's input shape, both.

    Example:

    >>> model = build_autoencoder((8, 8, 1), latent_dim=4, kind="linear")
    >>> model.encoder.output_shape, model.decoder.output_shape
    ((None, 4), (None, 8, 8, 1))
    """

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(value, keras.Model) or not value.built:
                raise ValueError(
                    f"Received an invalid value for `{arg}`, expected a built "
                    f"keras.Model. Received: {arg}={value!r}"
                )
        code_shape = tuple(encoder.output_shape)
        decoder_in = tuple(decoder.input_shape)
        if len(code_shape) != 2 or code_shape[1:] != decoder_in[1:]:
            raise ValueError(
                "The decoder must take the encoder's codes. Received: encoder "
                f"output shape {code_shape}, decoder input shape {decoder_in}"
            )
        if tuple(decoder.output_shape)[1:] != tuple(encoder.input_shape)[1:]:
            raise ValueError(
                "The decoder must reconstruct the encoder's input shape. "
                f"Received: encoder input shape {tuple(encoder.input_shape)}, "
                f"decoder output shape {tuple(decoder.output_shape)}"
            )
        self.encoder = encoder
        self.decoder = decoder

    @property
    def latent_dim(self):
        """Size k of the code z = f(x)."""
        return int(self.encoder.output_shape[-1])

    def build(self, input_shape):
        # Both halves are built functional models already.
        self.built = True

    def call(self, inputs, training=None):
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.decoder.output_shape[1:])

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        encoder = keras.saving.deserialize_keras_object(config.pop("encoder"))
        decoder = keras.saving.deserialize_keras_object(config.pop("decoder"))
        return cls(encoder, decoder, **config)


_DEFAULT = "default"


def build_autoencoder(
    input_shape,
    latent_dim,
    kind="mlp",
    hidden=None,
    activation="relu",
    output_activation=_DEFAULT,
    kernel_size=3,
    name="autoencoder",
):
    """Build an `Autoencoder` from `build_encoder` and `build_decoder`.

    - `kind="linear"`: z = W_e^T x + b_e, x_hat = W_d z + b_d; trained on the
      squared error its decoder columns span the top-k PCA subspace (A1).
      Needs `latent_dim` <= the number of input features.
    - `kind="mlp"` / `"conv"`: non-linear encoder and decoder (A2); the code
      may be overcomplete (`latent_dim` larger than the input), which is
      useful only with corrupted inputs (denoising, inpainting; A3).

    The sub-models are named `f"{name}_encoder"` and `f"{name}_decoder"`.

    Args:
        input_shape: shape of one image (height, width, channels); "linear"
            and "mlp" also accept (features,).
        latent_dim: code size k, positive.
        kind: "linear", "mlp" or "conv".
        hidden: Dense widths ("mlp") or conv filters per stride-2 stage
            ("conv"), in the encoder's order; None for the defaults of
            `build_encoder`.
        activation: hidden activation.
        output_activation: the decoder's output activation; by default
            "linear" for kind="linear" (PCA's model) and "sigmoid" otherwise
            (images in [0, 1]). None means "linear".
        kernel_size: conv kernel side.
        name: model name and sub-model name prefix.

    Returns:
        A built `Autoencoder` with `.encoder` and `.decoder`.

    Raises:
        ValueError: `latent_dim` not positive, larger than the input for
            kind="linear", an unknown `kind`, or a bad shape/hidden value.
    """
    kind = validation.one_of(kind, "kind", KINDS)
    latent_dim = validation.positive_int(latent_dim, "latent_dim")
    input_shape = _image_shape(input_shape, "input_shape", kind)
    features = math.prod(input_shape)
    if kind == "linear" and latent_dim > features:
        raise validation.invalid(
            "latent_dim",
            f"at most the {features} input features for kind='linear' (a "
            "larger code would only span the input space)",
            latent_dim,
        )
    if output_activation == _DEFAULT:
        output_activation = "linear" if kind == "linear" else "sigmoid"
    encoder = build_encoder(
        input_shape,
        latent_dim,
        kind=kind,
        hidden=hidden,
        activation=activation,
        kernel_size=kernel_size,
        name=f"{name}_encoder",
    )
    decoder = build_decoder(
        latent_dim,
        input_shape,
        kind=kind,
        hidden=hidden,
        activation=activation,
        output_activation=output_activation,
        kernel_size=kernel_size,
        name=f"{name}_decoder",
    )
    model = Autoencoder(encoder, decoder, name=name)
    model.build((None, *input_shape))
    return model
