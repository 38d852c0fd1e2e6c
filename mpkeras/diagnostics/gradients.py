"""BPTT gradient probes of recurrent cells (notes section 4.2, claim R3).

The notes (section 4.2) unroll the recurrence and write the Jacobian of the
last hidden state with respect to an earlier one as a product of one-step
Jacobians,

    dh_T/dh_k = prod_{i=k+1}^{T} dh_i/dh_{i-1}
              = prod_{i=k+1}^{T} W_h^T diag(sigma'(W_h h_{i-1} + W_x x_i)),

so that with ||diag(sigma')|| < gamma and the largest singular value of W_h
below 1/gamma the norm shrinks like eta^(T-k), eta < 1 (vanishing
gradients), and above 1/gamma it can grow like eta^(T-k), eta > 1
(exploding gradients). For tanh, gamma = 1 (tanh' <= 1, equal at 0).
"""

import keras
import numpy as np
import tensorflow as tf

from mpkeras import validation


def _cell_of(cell_or_layer):
    cell = getattr(cell_or_layer, "cell", cell_or_layer)
    if isinstance(cell, keras.layers.StackedRNNCells) or not hasattr(cell, "state_size"):
        raise ValueError(
            "Received an invalid value for `cell`, expected a single RNN cell "
            "(e.g. ElmanCell, SimpleRNNCell, LSTMCell, GRUCell) or a "
            "keras.layers.RNN layer of one. Received: "
            f"{type(cell_or_layer).__name__}"
        )
    return cell


def hidden_state_gradient_norms(
    cell, inputs, initial_state=None, norm="spectral", per_example=False
):
    """||dh_T/dh_k|| for k = 1..T, by backpropagation through time.

    Runs `cell` over `inputs` step by step under a `tf.GradientTape` (the
    unrolled graph of the notes' Figure 12) and differentiates the last
    hidden state h_T with respect to every earlier h_k. The full Jacobians
    come from one backward pass: each example is repeated `units` times and
    copy i backpropagates the i-th coordinate of h_T, so copy i receives row
    i of dh_T/dh_k for every k at once.

    For cells whose state is `[h, c]` (LSTM) the derivative is taken with
    respect to h_k alone, holding c_k fixed (the path through the hidden
    vector; the cell state is the LSTM's second path).

    Args:
        cell: a recurrent cell (`mpkeras.layers.ElmanCell`,
            `keras.layers.SimpleRNNCell`, `LSTMCell`, `GRUCell`, ...) or a
            `keras.layers.RNN` layer (its cell is used; `go_backwards`,
            masks and stacking are ignored). An unbuilt cell is built for the
            inputs' feature size.
        inputs: sequences, shape `(batch, T, features)`.
        initial_state: optional list of initial states (default the cell's
            zeros).
        norm: "spectral" (largest singular value, the operator norm of the
            notes' bound) or "fro" (Frobenius).
        per_example: return `(batch, T)` norms instead of their batch mean.

    Returns:
        float64 NumPy array of shape `(T,)` (or `(batch, T)`): entry k - 1 is
        ||dh_T/dh_k||; the last entry (k = T) is ||I|| = 1 for "spectral".
    """
    norm = validation.one_of(norm, "norm", ("spectral", "fro"))
    cell = _cell_of(cell)
    x = tf.convert_to_tensor(inputs)
    if x.shape.rank != 3:
        raise ValueError(
            "Received an invalid value for `inputs`, expected a tensor of "
            f"rank 3 (batch, T, features). Received: inputs with shape {tuple(x.shape)}"
        )
    if not cell.built:
        cell.build((None, x.shape[-1]))
    x = tf.cast(x, cell.compute_dtype)
    batch, steps = int(x.shape[0]), int(x.shape[1])
    if initial_state is None:
        states = cell.get_initial_state(batch_size=batch)
    else:
        states = initial_state
    states = list(states) if isinstance(states, (list, tuple)) else [states]
    states = [tf.cast(tf.convert_to_tensor(s), cell.compute_dtype) for s in states]
    units = int(states[0].shape[-1])
    # Copy i of example b sits at row b * units + i.
    x = tf.repeat(x, units, axis=0)
    states = [tf.repeat(s, units, axis=0) for s in states]
    selector = tf.tile(tf.eye(units, dtype=x.dtype), [batch, 1])
    with tf.GradientTape() as tape:
        # Watching the inputs records every step even for frozen weights.
        tape.watch(x)
        hidden = []  # h_1 .. h_T, the tensors the next step reads
        for t in range(steps):
            _, new_states = cell(x[:, t], states, training=False)
            if not isinstance(new_states, (list, tuple)):
                new_states = [new_states]
            states = list(new_states)
            hidden.append(states[0])
        target = tf.reduce_sum(hidden[-1] * selector)
    grads = tape.gradient(target, hidden)
    jacobians = np.stack(
        [np.asarray(g, dtype=np.float64).reshape(batch, units, units) for g in grads],
        axis=1,
    )  # (batch, T, units, units): [b, k-1] is dh_T/dh_k
    if norm == "spectral":
        norms = np.linalg.norm(jacobians, ord=2, axis=(-2, -1))
    else:
        norms = np.linalg.norm(jacobians, ord="fro", axis=(-2, -1))
    return norms if per_example else norms.mean(axis=0)


def log_norm_slope(norms):
    """Least-squares slope of log ||dh_T/dh_k|| against the distance T - k.

    `norms[k - 1]` is ||dh_T/dh_k|| (as `hidden_state_gradient_norms`
    returns), so the distance of entry j is T - 1 - j. A negative slope s
    means vanishing gradients, |dh_T/dh_k| ~ exp(s (T - k)); a positive one
    exploding gradients (claim R3). Zero or non-finite norms are skipped.

    Returns:
        The slope per step (natural log), a float; NaN if fewer than two
        usable points.
    """
    norms = np.asarray(norms, dtype=np.float64)
    if norms.ndim != 1:
        raise ValueError(
            "Received an invalid value for `norms`, expected a 1-D array. "
            f"Received: norms with shape {norms.shape}"
        )
    distance = np.arange(len(norms))[::-1].astype(np.float64)
    keep = np.isfinite(norms) & (norms > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(distance[keep], np.log(norms[keep]), 1)[0])


def set_spectral_radius(cell, radius):
    """Rescale the recurrent matrix W_h so that its spectral radius is `radius`.

    The spectral radius is max |eigenvalue| of W_h (the notes' lambda_1);
    `recurrent_kernel` = W_h^T has the same eigenvalues. With Keras's default
    orthogonal `recurrent_initializer` every singular value of W_h equals
    every |eigenvalue|, so after this call ||W_h|| = lambda_1 = radius
    exactly, the quantity the notes compare with 1/gamma (claim R3).

    Args:
        cell: an Elman/SimpleRNN cell or a `keras.layers.RNN` layer of one,
            built (its `recurrent_kernel` must be square).
        radius: the target spectral radius, a positive number.

    Returns:
        The factor W_h was multiplied by.
    """
    radius = validation.positive_number(radius, "radius")
    cell = _cell_of(cell)
    kernel = getattr(cell, "recurrent_kernel", None)
    if kernel is None:
        raise ValueError(
            "set_spectral_radius needs a built cell with a `recurrent_kernel`; "
            "build the layer first (call it on an input)."
        )
    matrix = np.asarray(kernel, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(
            "set_spectral_radius needs a square recurrent matrix W_h (an "
            "Elman/SimpleRNN cell). Received: recurrent_kernel of shape "
            f"{matrix.shape}"
        )
    current = float(np.max(np.abs(np.linalg.eigvals(matrix))))
    if current == 0.0:
        raise ValueError(
            "The recurrent matrix is nilpotent (spectral radius 0) and "
            "cannot be rescaled to a positive radius."
        )
    factor = radius / current
    kernel.assign((matrix * factor).astype(kernel.dtype))
    return factor


def plot_gradient_norms(ax, norms_by_label, title=None):
    """Draw log ||dh_T/dh_k|| against the distance T - k, one line per entry.

    Args:
        ax: a matplotlib Axes.
        norms_by_label: label -> norms as `hidden_state_gradient_norms`
            returns them (entry k - 1 is ||dh_T/dh_k||).
        title: optional axes title.

    Straight lines on this log scale are the notes' eta^(T-k) (claim R3):
    falling below the threshold 1/gamma, rising above it.
    """
    for label, norms in norms_by_label.items():
        norms = np.asarray(norms, dtype=np.float64)
        distance = np.arange(len(norms))[::-1]
        keep = np.isfinite(norms) & (norms > 0)
        ax.semilogy(distance[keep], norms[keep], label=label)
    ax.set_xlabel("T - k")
    ax.set_ylabel("||dh_T / dh_k||")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax
