"""Figures shared by experiments (matplotlib, headless).

Figures are ``matplotlib.figure.Figure`` objects made without pyplot: they
render anywhere (servers, CI, a notebook's kernel) without choosing a global
matplotlib backend, and need no closing.

Every function here converts the arrays it is given with :func:`as_float32`
first: under a mixed-precision policy (``mixed_bfloat16``, ``mixed_float16``)
a model's outputs are bfloat16 or float16 tensors, which matplotlib cannot
draw (bfloat16 numpy arrays fail inside ``contourf`` with "Cannot convert
fill_value ... to dtype float64").
"""

import numpy as np
from matplotlib.figure import Figure


def as_float32(value):
    """``value`` (a tensor, a Keras variable, an array, a list) as float32 numpy.

    bfloat16 and float16 tensors, the outputs of a model under a
    mixed-precision policy, become float32 arrays; so does everything else
    numeric. Figures and metrics computed in NumPy take this, never the raw
    model output.
    """
    return np.asarray(value).astype(np.float32, copy=False)


def decision_boundary(ax, predict, x, y, title, margin=0.5, resolution=150):
    """Shade where ``predict`` says class 1 and scatter the labelled points.

    Args:
        ax: the matplotlib axes to draw on.
        predict: ``(n, 2) float32 array -> (n,)`` scores or probabilities of
            class 1, in any float dtype (a bfloat16 tensor included); the
            boundary is drawn at 0.5.
        x: ``(n, 2)`` points; y: ``(n,)`` labels in {0, 1}.
    """
    x = as_float32(x)
    low, high = x.min(axis=0) - margin, x.max(axis=0) + margin
    grid_x, grid_y = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    grid = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype("float32")
    scores = as_float32(predict(grid)).reshape(grid_x.shape)
    ax.contourf(
        grid_x, grid_y, scores, levels=[-np.inf, 0.5, np.inf], colors=["#c6dbef", "#fdd0a2"]
    )
    ax.contour(grid_x, grid_y, scores, levels=[0.5], colors="k", linewidths=1)
    y = np.asarray(y).ravel()
    for label, marker, color in ((0, "o", "#2171b5"), (1, "s", "#d94801")):
        chosen = y == label
        ax.scatter(
            x[chosen, 0], x[chosen, 1], marker=marker, c=color, edgecolors="k", label=f"y={label}"
        )
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def batch_predict(model):
    """``points -> float32 predictions`` in one call: a plotting grid is one
    batch, not the thousand small batches ``model.predict`` would make of it."""
    import keras

    return lambda points: as_float32(keras.ops.convert_to_numpy(model(points, training=False)))


def figure(ncols=1, nrows=1, size=4.0):
    """A new figure with a grid of axes, ``size`` inches per panel."""
    fig = Figure(figsize=(size * ncols, size * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes
