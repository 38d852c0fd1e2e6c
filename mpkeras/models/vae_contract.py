"""What the VAE expects of its encoder, its decoder and its data, checked early.

The contract (README: "The VAE's encoder/decoder contract"):

- encoder: x (batch, ...) -> [mean, log_var], two tensors (batch, latent_dim),
  or one tensor (batch, 2 * latent_dim) holding them side by side.
- decoder: z (batch, latent_dim) -> the parameters of p(x | z), shaped like x:
  Bernoulli probabilities (Keras's convention, `from_logits=False`) or
  logits (`from_logits=True`), or Gaussian means.
- data: x, or (x, y) as `mpkeras.data.load` yields. The reconstruction
  target is y when it has the shape of x (reconstruction or denoising),
  else x: labels of another shape (class ids, factors) are ignored. Sample
  weights are refused (the ELBO here is an unweighted mean).

Each check raises a ValueError naming what to pass, when the VAE is built
for functional halves, else at the first trace.
"""

import keras

PROBABILITY_ACTIVATIONS = ("sigmoid", "hard_sigmoid", "softmax")
# Layers that move or copy values without changing them: the activation
# before them is the one the decoder's output carries.
_VALUE_PRESERVING = (
    keras.layers.Reshape,
    keras.layers.Flatten,
    keras.layers.Permute,
    keras.layers.Identity,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
)


def static_shape(tensor):
    shape = getattr(tensor, "shape", None)
    return None if shape is None else tuple(shape)


def check_encoder_outputs(shapes, latent):
    """The latent size from the encoder's output shapes; raises if unusable."""
    if len(shapes) == 2:
        if shapes[0] != shapes[1]:
            raise ValueError(
                "Received an invalid value for `encoder`: its outputs "
                "[mean, log_var] must have the same shape. Received "
                f"output shapes {shapes}"
            )
        size = shapes[0][-1]
    elif len(shapes) == 1:
        width = shapes[0][-1]
        if width is not None and width % 2:
            raise ValueError(
                "Received an invalid value for `encoder`: a single output "
                "must hold [mean, log_var] side by side, so its size must "
                f"be even (2 * latent_dim). Received output shape {shapes[0]}"
            )
        size = None if width is None else width // 2
    else:
        raise ValueError(
            "Received an invalid value for `encoder`: it must output "
            "[mean, log_var] (two tensors) or one tensor of size "
            f"2 * latent_dim. Received {len(shapes)} outputs"
        )
    if latent is not None and size is not None and latent != size:
        raise ValueError(
            "Received an invalid value for `encoder`: its outputs do not "
            "split into mean and log_var of the decoder's latent size. "
            f"Encoder output shapes {shapes}, decoder latent_dim={latent}"
        )
    return size if size is not None else latent


def latent_dim(encoder, decoder):
    """The latent size where the halves show it (functional models), else None."""
    for name, half in (("encoder", encoder), ("decoder", decoder)):
        if not isinstance(half, keras.layers.Layer):
            raise ValueError(
                f"Received an invalid value for `{name}`, expected a Keras "
                f"model or layer. Received: {name}={half!r}"
            )
    latent = None
    dec_inputs = getattr(decoder, "inputs", None)
    if dec_inputs:
        shape = static_shape(dec_inputs[0])
        if shape is not None and len(shape) >= 2:
            latent = shape[-1]
    enc_outputs = getattr(encoder, "outputs", None)
    if not enc_outputs:
        return latent  # A subclassed encoder: checked at the first call.
    return check_encoder_outputs([static_shape(o) for o in enc_outputs], latent)


def check_halves_fit(encoder, decoder):
    """Functional halves: the decoder's output must have the encoder's input shape."""
    enc_inputs = getattr(encoder, "inputs", None)
    dec_outputs = getattr(decoder, "outputs", None)
    if not enc_inputs or not dec_outputs or len(dec_outputs) != 1:
        return
    x_shape, out_shape = static_shape(enc_inputs[0]), static_shape(dec_outputs[0])
    if len(x_shape) != len(out_shape) or any(
        a is not None and b is not None and a != b for a, b in zip(x_shape[1:], out_shape[1:])
    ):
        raise ValueError(
            "The decoder's output must have the shape of the encoder's input "
            "(one parameter of p(x | z) per value of x). Received: decoder "
            f"output shape {out_shape}, encoder input shape {x_shape}"
        )


def output_activation(model):
    """(layer name, activation name) that produces a model's output, or None.

    Read from the layers of a Sequential or functional model (its config
    says which layer feeds which), through value-preserving layers
    (Reshape, Flatten, ...) and nested models; None where the layers do not
    tell (a subclassed model, a Lambda, a custom activation, ...).
    """
    try:
        return _output_activation(model)
    except Exception:  # noqa: BLE001 - a best-effort reading; None = unknown
        return None


def _output_activation(model):
    if isinstance(model, keras.Sequential):
        chain = iter(reversed(model.layers))
        next_layer = lambda layer: next(chain, None)  # noqa: E731
        layer = next_layer(None)
    elif getattr(model, "outputs", None):
        config = model.get_config()
        inbound = {entry["name"]: entry["inbound_nodes"] for entry in config["layers"]}
        output = config["output_layers"]
        if isinstance(output[0], list):
            if len(output) != 1:
                return None
            output = output[0]

        def next_layer(layer):
            history = inbound[layer.name][0]["args"][0]["config"]["keras_history"]
            return model.get_layer(history[0])

        layer = model.get_layer(output[0])
    else:
        return None
    while layer is not None and not isinstance(layer, keras.layers.InputLayer):
        if isinstance(layer, keras.Model):
            return _output_activation(layer)
        activation = getattr(layer, "activation", None)
        name = getattr(activation, "__name__", None)
        linear_activation_layer = isinstance(layer, keras.layers.Activation) and name == "linear"
        if activation is not None and not linear_activation_layer:
            return (layer.name, name) if _is_builtin(name, activation) else None
        if activation is None and not isinstance(layer, _VALUE_PRESERVING):
            return None
        layer = next_layer(layer)
    return None


def _is_builtin(name, activation):
    try:
        return name is not None and keras.activations.get(name) is activation
    except ValueError:
        return False


def check_decoder_output(decoder, likelihood, from_logits):
    """True when the decoder visibly outputs probabilities; raises on a contradiction.

    A Bernoulli decoder whose last activation is a sigmoid (or softmax)
    outputs probabilities, so `from_logits=True` would be wrong; one whose
    last activation is linear, relu, tanh, ... cannot output probabilities,
    so `from_logits=False` would clip it into a wrong likelihood.
    """
    if likelihood != "bernoulli":
        return False
    found = output_activation(decoder)
    if found is None:
        return False
    layer, activation = found
    probabilities = activation in PROBABILITY_ACTIVATIONS
    if probabilities and from_logits:
        raise ValueError(
            f"The decoder's output layer {layer!r} ends in a {activation}, so "
            "the decoder outputs probabilities, but `from_logits=True` reads "
            "them as logits: the likelihood would be wrong. Pass "
            "`from_logits=False` (the default), or drop the activation."
        )
    if not probabilities and not from_logits:
        raise ValueError(
            f"The decoder's output layer {layer!r} has activation "
            f"{activation!r}, so its outputs are not probabilities in [0, 1], "
            "but `from_logits=False` (the default, Keras's convention) reads "
            "them as probabilities. Pass `from_logits=True` if the decoder "
            "outputs logits (e.g. `build_vae_decoder`'s linear output), or "
            "end the decoder in a sigmoid."
        )
    return probabilities


def split_data(data):
    """(x, target) of a batch: the target is y when shaped like x, else x."""
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
    if sample_weight is not None:
        raise ValueError(
            "`VAE` does not take sample weights (nor `class_weight`): its "
            "loss is the unweighted mean of the per-example ELBO. Received a "
            "`sample_weight`."
        )
    if y is not None and static_shape(y) == static_shape(x):
        return x, y
    return x, x
