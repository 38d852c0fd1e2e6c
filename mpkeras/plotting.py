"""Figures shared by experiments (matplotlib, headless).

Figures are ``matplotlib.figure.Figure`` objects made without pyplot: they
render anywhere (servers, CI, a notebook's kernel) without choosing a global
matplotlib backend, and need no closing.
"""

import numpy as np
from matplotlib.figure import Figure


def decision_boundary(ax, predict, x, y, title, margin=0.5, resolution=150):
    """Shade where ``predict`` says class 1 and scatter the labelled points.

    Args:
        ax: the matplotlib axes to draw on.
        predict: ``(n, 2) array -> (n,)`` scores or probabilities of class 1;
            the boundary is drawn at 0.5.
        x: ``(n, 2)`` points; y: ``(n,)`` labels in {0, 1}.
    """
    low, high = x.min(axis=0) - margin, x.max(axis=0) + margin
    grid_x, grid_y = np.meshgrid(
        np.linspace(low[0], high[0], resolution), np.linspace(low[1], high[1], resolution)
    )
    grid = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype("float32")
    scores = np.asarray(predict(grid)).reshape(grid_x.shape)
    ax.contourf(grid_x, grid_y, scores, levels=[-np.inf, 0.5, np.inf], colors=["#c6dbef", "#fdd0a2"])
    ax.contour(grid_x, grid_y, scores, levels=[0.5], colors="k", linewidths=1)
    y = np.asarray(y).ravel()
    for label, marker, color in ((0, "o", "#2171b5"), (1, "s", "#d94801")):
        chosen = y == label
        ax.scatter(x[chosen, 0], x[chosen, 1], marker=marker, c=color, edgecolors="k", label=f"y={label}")
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def batch_predict(model):
    """``points -> predictions`` in one call: a plotting grid is one batch, not
    the thousand small batches ``model.predict`` would make of it."""
    import keras

    return lambda points: keras.ops.convert_to_numpy(model(points, training=False))


def figure(ncols=1, nrows=1, size=4.0):
    """A new figure with a grid of axes, ``size`` inches per panel."""
    fig = Figure(figsize=(size * ncols, size * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes
