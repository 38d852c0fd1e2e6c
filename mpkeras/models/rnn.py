"""Recurrent models for the notes' sequence modes (section 4, claims R1, R2, R6).

The notes (section 4) name four ways to use a recurrent network:

* one to one: one input and one output at every time step (e.g.
  part-of-speech tagging) -> `build_one_to_one`, `(T, d) -> (T, k)`;
* one to many: one input, a sequence out (e.g. image captioning) ->
  `build_one_to_many`, `(d,) -> (T_out, k)`;
* many to one: a sequence in, one output (e.g. sentiment classification)
  -> `build_many_to_one`, `(T, d) -> (k,)`;
* many to many: a sequence to a sequence of another length (e.g.
  translation) -> `build_many_to_many(..., output_length=T_out)`, an
  encoder-decoder; with `output_length=None` it is the aligned form
  `(T, d) -> (T, k)`, the same network as one to one.

Every builder runs the recurrence h_t = act(W_h h_{t-1} + W_x x_t + b) of a
`cell` ("elman" = `mpkeras.layers.Elman`, "lstm" = `keras.layers.LSTM`,
"gru" = `keras.layers.GRU`), stacks one layer per entry of `units` (claim
R6: layer l > 1 reads the hidden vectors h^(l-1)_t of the layer below in
place of x_t) and ends in the output head y_t = W_y h_t + b_y, one Dense
layer shared by all steps. Train them with the notes' loss L = sum_t l^(t)
(claim R1): `mpkeras.losses.SummedOverSteps` (also importable from here,
where it used to live; saved `.keras` files name this module).
"""

import keras

from mpkeras import validation
from mpkeras.layers.recurrent import Elman
from mpkeras.losses import SummedOverSteps  # noqa: F401  (re-export, see above)

CELLS = ("elman", "lstm", "gru")
MODES = ("one_to_one", "one_to_many", "many_to_one", "many_to_many")


def _units(units):
    return validation.positive_ints(
        units,
        "units",
        expected="a positive integer or a non-empty sequence of them (one per stacked layer)",
    )


def _cell(cell):
    return validation.one_of(cell, "cell", CELLS)


def _sequence_shape(input_shape, vocabulary_size):
    """`(T, d)` for feature sequences, `(T,)` for token ids; T may be None."""
    if vocabulary_size is not None:
        expected = "(timesteps,) of token ids"
    else:
        expected = "(timesteps, features)"
    return validation.shape(
        input_shape,
        "input_shape",
        rank=1 if vocabulary_size is not None else 2,
        unknown_axes=(0,),
        expected=f"{expected} without the batch axis (timesteps may be None)",
    )


def recurrent_layer(cell, units, return_sequences=False, return_state=False, name=None, **kwargs):
    """One recurrent layer of the given cell type.

    Args:
        cell: "elman" (`mpkeras.layers.Elman`), "lstm" (`keras.layers.LSTM`)
            or "gru" (`keras.layers.GRU`).
        units: size of the hidden state.
        return_sequences, return_state: as in `keras.layers.RNN`.
        name: layer name.
        **kwargs: further arguments of that layer (activation, dropout,
            recurrent_initializer, seed, ...).
    """
    cell = _cell(cell)
    units = validation.positive_int(units, "units")
    layer_class = {"elman": Elman, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    return layer_class(
        units,
        return_sequences=return_sequences,
        return_state=return_state,
        name=name,
        **kwargs,
    )


def _stack(x, cell, units, prefix, return_sequences, initial_states=None, **kwargs):
    """Stacked layers (R6): every layer but the last returns all h_t.

    Returns `(output, states)` with one state list per layer.
    """
    states = []
    for i, width in enumerate(units):
        last = i == len(units) - 1
        layer = recurrent_layer(
            cell,
            width,
            return_sequences=return_sequences or not last,
            return_state=True,
            name=f"{prefix}{i}",
            **kwargs,
        )
        initial = None if initial_states is None else initial_states[i]
        out = layer(x, initial_state=initial) if initial is not None else layer(x)
        x, layer_states = out[0], list(out[1:])
        states.append(layer_states)
    return x, states


def _inputs(input_shape, vocabulary_size, embedding_dim, name, dtype):
    shape = _sequence_shape(input_shape, vocabulary_size)
    if vocabulary_size is None:
        inputs = keras.Input(shape=shape, name=f"{name}_input", dtype=dtype)
        return inputs, inputs
    vocabulary_size = validation.positive_int(vocabulary_size, "vocabulary_size")
    embedding_dim = validation.positive_int(embedding_dim, "embedding_dim")
    inputs = keras.Input(shape=shape, name=f"{name}_input", dtype="int64")
    # Id 0 is padding (TextVectorization's convention): masked, so padded
    # steps keep the previous state.
    x = keras.layers.Embedding(
        vocabulary_size,
        embedding_dim,
        mask_zero=True,
        name=f"{name}_embedding",
        dtype=dtype,
    )(inputs)
    return inputs, x


def _head(x, output_units, output_activation, name, dtype):
    output_units = validation.positive_int(output_units, "output_units")
    # Dense on (batch, T, units) acts on the last axis: y_t = W_y h_t + b_y
    # with the same W_y at every step.
    return keras.layers.Dense(
        output_units, activation=output_activation, name=f"{name}_output", dtype=dtype
    )(x)


def build_one_to_one(
    input_shape,
    units,
    output_units,
    cell="elman",
    output_activation=None,
    vocabulary_size=None,
    embedding_dim=32,
    dtype=None,
    name="one_to_one",
    **layer_kwargs,
):
    """One input and one output per step (notes: "one to one"), `(T, d) -> (T, k)`.

        h_t = act(W_h h_{t-1} + W_x x_t + b),   y_t = W_y h_t + b_y,   t = 1..T

    (R1), with one recurrent layer per entry of `units` (R6). Train it with
    `SummedOverSteps(...)` for the notes' loss L = sum_t l^(t).

    Args:
        input_shape: `(T, features)`, T may be None; `(T,)` token ids when
            `vocabulary_size` is given.
        units: hidden size, or a sequence of sizes for stacked layers.
        output_units: size k of y_t.
        cell: "elman", "lstm" or "gru".
        output_activation: activation of the head (None: logits / means).
        vocabulary_size: if given, inputs are token ids (0 = padding, masked)
            fed through an Embedding of `embedding_dim`.
        embedding_dim: width of that embedding.
        dtype: layer dtype (policy).
        name: model name and prefix of layer names (`{name}_rnn{i}`,
            `{name}_output`).
        **layer_kwargs: passed to every recurrent layer (activation,
            dropout, recurrent_initializer, ...).

    Returns:
        A functional `keras.Model`.

    Example:

    >>> model = build_one_to_one((None, 3), units=(8, 8), output_units=2)
    >>> model.output_shape
    (None, None, 2)
    """
    units, cell = _units(units), _cell(cell)
    inputs, x = _inputs(input_shape, vocabulary_size, embedding_dim, name, dtype)
    x, _ = _stack(x, cell, units, f"{name}_rnn", True, dtype=dtype, **layer_kwargs)
    return keras.Model(inputs, _head(x, output_units, output_activation, name, dtype), name=name)


def build_many_to_one(
    input_shape,
    units,
    output_units,
    cell="elman",
    output_activation=None,
    vocabulary_size=None,
    embedding_dim=32,
    dtype=None,
    name="many_to_one",
    **layer_kwargs,
):
    """A sequence in, one output (notes: "many to one"), `(T, d) -> (k,)`.

        h_t = act(W_h h_{t-1} + W_x x_t + b),  t = 1..T,   y = W_y h_T + b_y

    The output reads only the last hidden state h_T of the top layer (R2);
    lower stacked layers pass every h_t upward (R6). Arguments as in
    `build_one_to_one`.

    Example:

    >>> model = build_many_to_one((8, 8), units=16, output_units=10, cell="lstm")
    >>> model.output_shape
    (None, 10)
    """
    units, cell = _units(units), _cell(cell)
    inputs, x = _inputs(input_shape, vocabulary_size, embedding_dim, name, dtype)
    x, _ = _stack(x, cell, units, f"{name}_rnn", False, dtype=dtype, **layer_kwargs)
    return keras.Model(inputs, _head(x, output_units, output_activation, name, dtype), name=name)


def build_one_to_many(
    input_shape,
    output_length,
    units,
    output_units,
    cell="elman",
    output_activation=None,
    dtype=None,
    name="one_to_many",
    **layer_kwargs,
):
    """One input, a sequence out (notes: "one to many"), `(d,) -> (T_out, k)`.

    The single input x is presented at every step (x_t = x, a
    `RepeatVector`), and the recurrence unrolls for `output_length` steps:

        h_t = act(W_h h_{t-1} + W_x x + b),   y_t = W_y h_t + b_y,   t = 1..T_out

    Args:
        input_shape: `(features,)` of the single input.
        output_length: T_out, a positive integer.
        units, output_units, cell, output_activation, dtype, name,
        **layer_kwargs: as in `build_one_to_one`.

    Example:

    >>> model = build_one_to_many((4,), output_length=6, units=8, output_units=3)
    >>> model.output_shape
    (None, 6, 3)
    """
    units, cell = _units(units), _cell(cell)
    output_length = validation.positive_int(output_length, "output_length")
    shape = validation.shape(
        input_shape, "input_shape", rank=1, expected="(features,) of the single input"
    )
    inputs = keras.Input(shape=shape, name=f"{name}_input", dtype=dtype)
    x = keras.layers.RepeatVector(output_length, name=f"{name}_repeat", dtype=dtype)(inputs)
    x, _ = _stack(x, cell, units, f"{name}_rnn", True, dtype=dtype, **layer_kwargs)
    return keras.Model(inputs, _head(x, output_units, output_activation, name, dtype), name=name)


def build_many_to_many(
    input_shape,
    units,
    output_units,
    output_length=None,
    cell="elman",
    output_activation=None,
    vocabulary_size=None,
    embedding_dim=32,
    dtype=None,
    name="many_to_many",
    **layer_kwargs,
):
    """A sequence to a sequence (notes: "many to many").

    With `output_length=None`, the aligned form `(T, d) -> (T, k)`: one
    output per input step, the same network as `build_one_to_one`.

    With `output_length=T_out`, an encoder-decoder `(T, d) -> (T_out, k)` for
    outputs of another length (the notes' translation example): the encoder
    stack reads x_1..x_T; the decoder stack starts from the encoder's final
    states (layer by layer) and reads the encoder's last hidden vector
    c = h^enc_T at each of its T_out steps:

        h^dec_0 = h^enc_T,   h^dec_t = act(W_h h^dec_{t-1} + W_x c + b),
        y_t = W_y h^dec_t + b_y.

    Arguments as in `build_one_to_one` (layers `{name}_encoder{i}`,
    `{name}_decoder{i}`).

    Example:

    >>> model = build_many_to_many((12, 3), units=8, output_units=3, output_length=5)
    >>> model.output_shape
    (None, 5, 3)
    """
    if output_length is None:
        return build_one_to_one(
            input_shape,
            units,
            output_units,
            cell=cell,
            output_activation=output_activation,
            vocabulary_size=vocabulary_size,
            embedding_dim=embedding_dim,
            dtype=dtype,
            name=name,
            **layer_kwargs,
        )
    units, cell = _units(units), _cell(cell)
    output_length = validation.positive_int(output_length, "output_length")
    inputs, x = _inputs(input_shape, vocabulary_size, embedding_dim, name, dtype)
    context, states = _stack(x, cell, units, f"{name}_encoder", False, dtype=dtype, **layer_kwargs)
    x = keras.layers.RepeatVector(output_length, name=f"{name}_repeat", dtype=dtype)(context)
    x, _ = _stack(
        x,
        cell,
        units,
        f"{name}_decoder",
        True,
        initial_states=states,
        dtype=dtype,
        **layer_kwargs,
    )
    return keras.Model(inputs, _head(x, output_units, output_activation, name, dtype), name=name)


def build_sequence_model(mode, *args, **kwargs):
    """Dispatch to `build_<mode>` for `mode` in `MODES` (R2)."""
    builders = {
        "one_to_one": build_one_to_one,
        "one_to_many": build_one_to_many,
        "many_to_one": build_many_to_one,
        "many_to_many": build_many_to_many,
    }
    mode = validation.one_of(mode, "mode", MODES)
    return builders[mode](*args, **kwargs)
