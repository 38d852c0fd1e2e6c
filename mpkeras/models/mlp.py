"""Multi-layer perceptrons (notes section 1.1) and their affine collapse (N6)."""

import keras
import numpy as np

from mpkeras import validation

_OUTPUTS = ("sigmoid", "softmax", "linear")


def build_mlp(
    input_shape,
    hidden=(32,),
    activation="relu",
    output_units=1,
    output="sigmoid",
    use_bias=True,
    kernel_regularizer=None,
    dtype=None,
    name="mlp",
):
    """Build a multi-layer perceptron as a functional `keras.Model`.

    The notes' MLP (section 1.1):

        yhat = sigma_out(W_k sigma(W_{k-1} ... sigma(W_1 x + b_1) ...) + b_k)

    with one Dense layer per entry of `hidden` and a Dense output layer.
    Inputs of rank > 1 (e.g. images) are flattened first, row-major. With
    `hidden=()` the model is a linear/logistic regression; with
    `activation="linear"` it collapses to a single affine map (claim N6, see
    `compose_affine`).

    Layers are named `f"{name}_input"`, `f"{name}_flatten"` (only when the
    input has rank > 1), `f"{name}_hidden{i}"` for i = 0, 1, ... and
    `f"{name}_output"`.

    Args:
        input_shape: shape of one example, without the batch axis, e.g.
            `(2,)` or `(8, 8, 1)`; an int means `(int,)`.
        hidden: widths of the hidden layers, positive integers (an int means
            one hidden layer); `()` for none.
        activation: hidden activation, anything `keras.activations.get`
            accepts ("relu", "tanh", "sigmoid", "linear", a callable).
        output_units: width of the output layer.
        output: output activation: "sigmoid" (Bernoulli parameters, for
            binary cross-entropy), "softmax" (categorical parameters; needs
            `output_units >= 2`) or "linear" (logits, or Gaussian means for
            the squared error).
        use_bias: whether the Dense layers have biases.
        kernel_regularizer: regularizer of every Dense kernel (hidden and
            output), e.g. `keras.regularizers.L2(l2)`; biases are never
            regularised (the ridge / Gaussian-prior MAP of claim N4 leaves the
            intercept free).
        dtype: dtype (policy) of the layers, e.g. "float64" for gradient
            checks; default the global policy.
        name: name of the model and prefix of its layer names.

    Returns:
        A `keras.Model` mapping `(batch, *input_shape)` to
        `(batch, output_units)`.

    Example:

    >>> model = build_mlp((2,), hidden=(4,), activation="tanh")
    >>> model.compile(optimizer="adam", loss="binary_crossentropy")
    >>> [layer.name for layer in model.layers]
    ['mlp_input', 'mlp_hidden0', 'mlp_output']
    """
    input_shape = validation.shape(input_shape, "input_shape")
    hidden = validation.positive_ints(hidden, "hidden", allow_empty=True)
    output_units = validation.positive_int(output_units, "output_units")
    output = validation.one_of(output, "output", _OUTPUTS)
    if output == "softmax" and output_units < 2:
        raise ValueError(
            "A softmax over one unit is constantly 1; use output='sigmoid' "
            "for binary targets or output_units >= 2. Received: "
            f"output_units={output_units}"
        )
    activation = keras.activations.get(activation)
    if kernel_regularizer is not None:
        kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    inputs = keras.Input(shape=input_shape, name=f"{name}_input", dtype=dtype)
    x = inputs
    if len(input_shape) > 1:
        x = keras.layers.Flatten(name=f"{name}_flatten", dtype=dtype)(x)
    for i, units in enumerate(hidden):
        x = keras.layers.Dense(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_regularizer=kernel_regularizer,
            dtype=dtype,
            name=f"{name}_hidden{i}",
        )(x)
    outputs = keras.layers.Dense(
        output_units,
        activation=output,
        use_bias=use_bias,
        kernel_regularizer=kernel_regularizer,
        dtype=dtype,
        name=f"{name}_output",
    )(x)
    return keras.Model(inputs, outputs, name=name)


def build_parallel_mlps(m, hidden_layers, activation, name, centred=()):
    """Independent MLPs on one input, their outputs side by side in one model.

    ``hidden_layers[k]`` are the hidden widths of net k; net k is
    ``{name}_net{k}_hidden{i}`` ... ``{name}_net{k}_output`` and nothing is
    shared, so with a loss that is a mean over the output columns each net
    gets the gradient of its own loss (scaled by 1/K, which Adam's
    normalisation removes): one ``fit`` trains K separate networks, and pays
    Keras's per-fit and per-step overhead once. Nets whose index is in
    ``centred`` first map [0, 1]^m to [-1, 1]^m (a fixed affine map, no
    weights: the same function class, centred inputs for gradient descent).
    """
    inputs = keras.Input(shape=(m,), name=f"{name}_input")
    outputs = []
    for k, widths in enumerate(hidden_layers):
        h = inputs
        if k in centred:
            h = keras.layers.Rescaling(2.0, offset=-1.0, name=f"{name}_net{k}_centre")(h)
        for i, units in enumerate(widths):
            h = keras.layers.Dense(units, activation=activation, name=f"{name}_net{k}_hidden{i}")(h)
        outputs.append(keras.layers.Dense(1, name=f"{name}_net{k}_output")(h))
    merged = (
        keras.layers.Concatenate(name=f"{name}_outputs")(outputs)
        if len(outputs) > 1
        else outputs[0]
    )
    return keras.Model(inputs, merged, name=name)


def compose_affine(model):
    """The single affine map (W, b) an MLP without non-linearities computes.

    The notes (section 1.4, claim N6): without a non-linear activation an MLP
    is "just an affine mapping with extra steps", because affine maps compose
    to an affine map. For Dense layers x -> x W_l + b_l (Keras' row-vector
    convention),

        W = W_1 W_2 ... W_k
        b = (...((b_1 W_2 + b_2) W_3 + b_3) ...) W_k + b_k

    so that model(x) = flatten(x) W + b, with W of shape
    (input features, output units) and a rank at most the narrowest width.

    Args:
        model: a Keras model made only of Dense layers with the linear
            activation, optionally preceded by a Flatten (e.g.
            `build_mlp(..., activation="linear", output="linear")`).

    Returns:
        `(W, b)` as float64 NumPy arrays.

    Raises:
        ValueError: if a layer is not a linear Dense layer (a non-linear
            activation, or another kind of layer).
    """
    weight = None
    bias = None
    for layer in model.layers:
        if isinstance(layer, (keras.layers.InputLayer, keras.layers.Flatten)):
            continue
        if not isinstance(layer, keras.layers.Dense):
            raise ValueError(
                "compose_affine expects only Dense (and Flatten) layers. "
                f"Received: layer {layer.name!r} of type "
                f"{type(layer).__name__}"
            )
        if layer.activation is not keras.activations.linear:
            raise ValueError(
                "compose_affine needs identity activations: with a "
                "non-linearity the model is not affine. Received: layer "
                f"{layer.name!r} with activation "
                f"{keras.activations.serialize(layer.activation)!r}"
            )
        kernel = np.asarray(layer.kernel, dtype=np.float64)
        layer_bias = (
            np.asarray(layer.bias, dtype=np.float64)
            if layer.use_bias
            else np.zeros(kernel.shape[1])
        )
        if weight is None:
            weight, bias = kernel, layer_bias
        else:
            weight = weight @ kernel
            bias = bias @ kernel + layer_bias
    if weight is None:
        raise ValueError(f"compose_affine found no Dense layer in model {model.name!r}.")
    return weight, bias
