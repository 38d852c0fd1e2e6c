"""The Elman recurrence (notes section 4.1, claim R1): `ElmanCell` and `Elman`.

The cell and the layer that runs it are one concept and stay together (about
430 lines, two thirds of them docstrings): `Elman` adds to `keras.layers.RNN`
only the cell's arguments and the dropout that a plain `RNN` cannot train with.
"""

import keras
from keras import ops

from mpkeras import validation


@keras.saving.register_keras_serializable(package="mpkeras")
class ElmanCell(keras.layers.Layer):
    """One step of the Elman recurrent network, for `keras.layers.RNN`.

    The notes' Elman RNN (section 4.1, claim R1) updates its hidden state as

        h_t = act(W_h h_{t-1} + W_x x_t + b)

    with `act = tanh` in the notes (their formula has no bias; pass
    `use_bias=False` for it). Keras stores weights for row vectors, so the
    step computes `h_t = act(x_t @ kernel + b + h_{t-1} @ recurrent_kernel)`
    with `kernel = W_x^T` (shape `(features, units)`),
    `recurrent_kernel = W_h^T` (shape `(units, units)`) and `bias = b`
    (shape `(units,)`): the same names, order and shapes as
    `keras.layers.SimpleRNNCell`, so `cell.set_weights(simple_rnn.get_weights())`
    loads a trained `SimpleRNN` and then gives exactly its outputs (with
    masking, `return_sequences`, `return_state`, `go_backwards`, `stateful`
    and a given initial state, all of which `keras.layers.RNN` handles).

    The output head y_t = W_y h_t is in the builders of `mpkeras.models.rnn`,
    the loss summed over steps is `mpkeras.losses.SummedOverSteps`.

    Args:
        units: positive integer, the size of h_t.
        activation: the non-linearity `act` ("tanh" in the notes; "linear"
            makes the recurrence linear, as in the vanishing/exploding
            analysis of claim R3).
        use_bias: whether to add the bias `b`.
        kernel_initializer: initializer of `kernel` (W_x^T).
        recurrent_initializer: initializer of `recurrent_kernel` (W_h^T).
        bias_initializer: initializer of `bias`.
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            optional regularizers of the three weights.
        kernel_constraint, recurrent_constraint, bias_constraint: optional
            constraints of the three weights.
        dropout: fraction of the input units dropped (one mask per sequence,
            in training only).
        recurrent_dropout: fraction of the units of h_{t-1} dropped (one
            mask per sequence, in training only).
        seed: seed of the dropout masks (a `keras.random.SeedGenerator`).

    Dropout, as in `SimpleRNNCell`: in training, x_t and h_{t-1} are
    multiplied by masks m and m_h with entries 0 (probability `dropout`,
    `recurrent_dropout`) or 1 / (1 - rate), drawn once per sequence and used
    at every step t = 1..T (not redrawn per step):

        h_t = act(W_h (m_h * h_{t-1}) + W_x (m * x_t) + b)

    The layer that runs the cell draws the masks before the time loop
    (`draw_dropout_masks`) and clears them after it (`reset_dropout_masks`).
    `mpkeras.layers.Elman` does; Keras's `keras.layers.RNN` only does so for
    its own cells, so `keras.layers.RNN(ElmanCell(..., dropout=0.2))`
    raises in training (inference is unaffected): use `Elman(...)`.

    Call arguments:
        sequence: the step input x_t, shape `(batch, features)`.
        states: `[h_{t-1}]`, shape `(batch, units)` (or the tensor itself).
        training: whether dropout is active.

    Returns `(h_t, [h_t])`.

    Example:

    >>> rnn = keras.layers.RNN(ElmanCell(4), return_sequences=True)
    >>> rnn(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        units = validation.positive_int(units, "units")
        dropout = validation.rate(dropout, "dropout")
        recurrent_dropout = validation.rate(recurrent_dropout, "recurrent_dropout")
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.state_size = self.units
        self.output_size = self.units
        # The masks of the sequence being processed (None outside one).
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                "ElmanCell expects step inputs of rank 2 (batch, features), "
                "i.e. sequences of rank 3 (batch, timesteps, features). "
                f"Received: inputs with step shape {tuple(input_shape)}"
            )
        if input_shape[-1] is None:
            raise ValueError(
                "The last axis (features) of the inputs of ElmanCell must be "
                f"defined. Received: input_shape={tuple(input_shape)}"
            )
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,),
                name="bias",
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None

    def call(self, sequence, states, training=False):
        nested = isinstance(states, (list, tuple))
        h_prev = states[0] if nested else states
        if h_prev.shape[-1] is not None and h_prev.shape[-1] != self.units:
            raise ValueError(
                "Received an invalid value for `initial_state`: ElmanCell "
                f"has units={self.units}, so its state must have shape "
                f"(batch, {self.units}). Received: state of shape "
                f"{tuple(h_prev.shape)}"
            )
        if training and (self.dropout > 0 or self.recurrent_dropout > 0):
            input_mask, recurrent_mask = self._sequence_masks()
            if input_mask is not None:
                sequence = sequence * input_mask
            if recurrent_mask is not None:
                h_prev = h_prev * recurrent_mask
        # W_x x_t + b + W_h h_{t-1}, summed in SimpleRNNCell's order so the
        # two cells agree bit for bit.
        pre_activation = ops.matmul(sequence, self.kernel)
        if self.bias is not None:
            pre_activation = ops.add(pre_activation, self.bias)
        pre_activation = pre_activation + ops.matmul(h_prev, self.recurrent_kernel)
        h = self.activation(pre_activation)
        return h, ([h] if nested else h)

    def draw_dropout_masks(self, step_input, state):
        """Draw this sequence's masks: call before the loop over time.

        Each mask is `keras.random.dropout` of ones shaped like `step_input`
        (batch, features) and `state` (batch, units), from the cell's
        `SeedGenerator`: input mask first, then the recurrent one, as
        `keras.layers.RNN` draws them for `SimpleRNNCell`, so with the same
        seed both cells use the same masks. A rate of 0 draws nothing.
        """
        if self.dropout > 0:
            self._dropout_mask = keras.random.dropout(
                ops.ones_like(step_input), rate=self.dropout, seed=self.seed_generator
            )
        if self.recurrent_dropout > 0:
            self._recurrent_dropout_mask = keras.random.dropout(
                ops.ones_like(state), rate=self.recurrent_dropout, seed=self.seed_generator
            )

    def reset_dropout_masks(self):
        """Forget the masks after the loop over time, so the next sequence
        draws new ones."""
        self._dropout_mask = None
        self._recurrent_dropout_mask = None

    def _sequence_masks(self):
        missing = (self.dropout > 0 and self._dropout_mask is None) or (
            self.recurrent_dropout > 0 and self._recurrent_dropout_mask is None
        )
        if missing:
            # Drawing here would draw a new mask at every step (the loop body
            # runs once per step): a different regulariser, silently.
            raise ValueError(
                "ElmanCell's dropout needs one mask per sequence, drawn before "
                "the loop over time, which `keras.layers.RNN` does only for "
                "Keras's own cells. Use `mpkeras.layers.Elman(units, "
                "dropout=..., recurrent_dropout=...)` in place of "
                "`keras.layers.RNN(ElmanCell(...))`, or call "
                "`cell.draw_dropout_masks(x_0, h_0)` before the loop and "
                "`cell.reset_dropout_masks()` after it. Received: "
                f"dropout={self.dropout}, recurrent_dropout={self.recurrent_dropout}"
            )
        return self._dropout_mask, self._recurrent_dropout_mask

    def get_initial_state(self, batch_size=None):
        """h_0 = 0, shape `(batch_size, units)`."""
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": keras.regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": keras.constraints.serialize(self.recurrent_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


_CELL_ARGS = (
    "units",
    "activation",
    "use_bias",
    "kernel_initializer",
    "recurrent_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "recurrent_regularizer",
    "bias_regularizer",
    "kernel_constraint",
    "recurrent_constraint",
    "bias_constraint",
    "dropout",
    "recurrent_dropout",
    "seed",
)


@keras.saving.register_keras_serializable(package="mpkeras")
class Elman(keras.layers.RNN):
    """An Elman recurrent layer: `keras.layers.RNN(ElmanCell(...))`.

    The convenience layer for `ElmanCell`, as `keras.layers.SimpleRNN` is
    for `SimpleRNNCell`: it runs

        h_t = act(W_h h_{t-1} + W_x x_t + b),   t = 1..T,   h_0 = 0

    over a sequence (claim R1) and returns h_T, or every h_t with
    `return_sequences=True`. Weights are `kernel`, `recurrent_kernel`,
    `bias` as in `SimpleRNN`, so `layer.set_weights(simple_rnn.get_weights())`
    gives identical outputs.

    Args:
        units, activation, use_bias, *_initializer, *_regularizer,
        *_constraint, dropout, recurrent_dropout, seed: as in `ElmanCell`.
        activity_regularizer: regularizer of the layer's output.
        return_sequences: return h_1..h_T `(batch, T, units)` instead of h_T.
        return_state: also return the last state h_T.
        go_backwards: read the sequence from t = T down to 1.
        stateful: carry the last state of a batch over as the initial state
            of the next (fixed batch size).
        unroll: unroll the loop (faster for short sequences, more memory).

    Call arguments:
        sequences: `(batch, timesteps, features)`.
        initial_state: optional h_0, `(batch, units)` (or a list of it).
        mask: optional boolean `(batch, timesteps)`; masked steps keep the
            previous state.
        training: whether dropout is active.

    Input shape: `(batch, timesteps, features)`.
    Output shape: `(batch, units)`, or `(batch, timesteps, units)` with
    `return_sequences`, followed by the state `(batch, units)` with
    `return_state`.

    Example:

    >>> layer = Elman(8, return_sequences=True)
    >>> layer(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 8)
    """

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        seed=None,
        **kwargs,
    ):
        kwargs.pop("cell", None)
        cell = ElmanCell(
            units,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint,
            dropout=dropout,
            recurrent_dropout=recurrent_dropout,
            seed=seed,
            dtype=kwargs.get("dtype", None),
            trainable=kwargs.get("trainable", True),
            name="elman_cell",
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            activity_regularizer=activity_regularizer,
            **kwargs,
        )

    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) != 3:
            raise ValueError(
                "Received an invalid value for `sequences`, expected a tensor "
                "of rank 3 (batch, timesteps, features). Received: "
                f"sequences with shape {tuple(sequences_shape)}"
            )
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if initial_state is not None:
            for state in keras.tree.flatten(initial_state):
                shape = tuple(state.shape)
                if len(shape) != 2 or shape[-1] not in (None, self.cell.units):
                    raise ValueError(
                        "Received an invalid value for `initial_state`, "
                        f"expected shape (batch, {self.cell.units}). "
                        f"Received: initial_state with shape {shape}"
                    )
        # One pair of dropout masks per call (per sequence), drawn before the
        # loop and shared by every step. Drawn whatever `training` is, as
        # keras.layers.RNN does for SimpleRNNCell, so that the two layers
        # consume their seeds alike.
        if self.cell.dropout > 0 or self.cell.recurrent_dropout > 0:
            batch = ops.shape(sequences)[0]
            state_like = ops.ones((batch, self.cell.units), dtype=self.cell.compute_dtype)
            self.cell.draw_dropout_masks(sequences[:, 0, :], state_like)
        try:
            return super().call(
                sequences, mask=mask, training=training, initial_state=initial_state
            )
        finally:
            self.cell.reset_dropout_masks()

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for key in _CELL_ARGS:
            config[key] = cell_config[key]
        config["activity_regularizer"] = keras.regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _cell_property(name):
    return property(
        lambda self: getattr(self.cell, name),
        doc=f"The cell's `{name}` (read-only), as on `keras.layers.SimpleRNN`.",
    )


for _name in _CELL_ARGS:
    setattr(Elman, _name, _cell_property(_name))
del _name
