"""What a VAE's latent space looks like while it trains, for TensorBoard (claims A5, A6).

`LatentImageLogger` logs three image grids every few epochs:

- ``reconstructions``: the given images (top row) over their reconstructions
  at the posterior mean (bottom row);
- ``samples``: decoded draws z ~ N(0, I) from the prior, the same draws
  every time, so the grids show the decoder improving;
- ``traversals``: one row per latent dimension: z = mu(x) with that one
  dimension swept over `traversal_values` (the others fixed), ordered by the
  dimension's KL so informative dimensions come first. In a disentangled
  code (beta-VAE, A6) each row changes one factor.

The grid helpers (`image_grid`, `latent_traversals`, `grid_figure`) serve the
experiments' figures too. Every array they take or return is float32 numpy
whatever the model computes in: under a mixed-precision policy the VAE's
encoder and decoder return bfloat16 or float16 tensors, converted here.
"""

import numpy as np
from matplotlib.figure import Figure

from mpkeras import validation
from mpkeras.callbacks.figures import PeriodicImageLogger
from mpkeras.losses import gaussian_kl
from mpkeras.plotting import as_float32


def image_grid(rows, pad=1, pad_value=1.0):
    """Tile images of shape (rows, cols, H, W, C) into one (H', W', C) image.

    Args:
        rows: array (rows, cols, height, width, channels) (or without the
            channel axis), values in [0, 1].
        pad: pixels of `pad_value` between tiles.
    """
    rows = as_float32(rows)
    if rows.ndim == 4:
        rows = rows[..., None]
    if rows.ndim != 5:
        raise ValueError(
            "Received an invalid value for `rows`, expected an array of shape "
            f"(rows, cols, height, width[, channels]). Received: shape={rows.shape}"
        )
    r, c, h, w, ch = rows.shape
    grid = np.full((r * h + (r - 1) * pad, c * w + (c - 1) * pad, ch), pad_value, np.float32)
    for i in range(r):
        for j in range(c):
            grid[i * (h + pad) : i * (h + pad) + h, j * (w + pad) : j * (w + pad) + w] = rows[i, j]
    return grid


def latent_traversals(vae, x, values=None, max_dims=None, order="kl", reference=None):
    """Decoded traversals, shape (dims, len(values), *image_shape).

    Row d decodes z = mu(x) with z_d replaced by each of `values` (the
    posterior mean of the single example `x`).

    Args:
        vae: a `mpkeras.models.VAE`.
        x: one example (no batch axis).
        values: the values swept; default linspace(-2.5, 2.5, 7) (prior
            standard deviations).
        max_dims: keep at most this many rows.
        order: "kl" (dimensions by decreasing mean KL over `reference`, or
            over x alone) or "index".
        reference: a batch whose mean per-dimension KL orders the rows.

    Returns:
        (images, dims): the decoded images and the latent index of each row.
    """
    order = validation.one_of(order, "order", ("kl", "index"))
    values = np.linspace(-2.5, 2.5, 7) if values is None else as_float32(values)
    x = as_float32(x)[None]
    mean, _ = vae.encode(x)
    mean = as_float32(mean)[0]
    d = mean.shape[-1]
    dims = np.arange(d)
    if order == "kl":
        batch = x if reference is None else as_float32(reference)
        m, lv = vae.encode(batch)
        per_dim = as_float32(gaussian_kl(as_float32(m), as_float32(lv), reduction="none", axis=()))
        dims = np.argsort(-per_dim.reshape(-1, d).mean(0), kind="stable")
    if max_dims is not None:
        dims = dims[:max_dims]
    z = np.repeat(mean[None, None], len(dims), 0).repeat(len(values), 1)
    for row, dim in enumerate(dims):
        z[row, :, dim] = values
    decoded = as_float32(vae.decode(z.reshape(-1, d)))
    return decoded.reshape((len(dims), len(values)) + decoded.shape[1:]), dims


def grid_figure(rows, title=None, row_labels=None, size=1.0):
    """A matplotlib figure of `image_grid(rows)` (grey for one channel)."""
    rows = as_float32(rows)
    grid = image_grid(rows)
    r, c = rows.shape[:2]
    # A pyplot-free Figure: nothing to close, no global backend chosen.
    fig = Figure(figsize=(max(2.0, size * c), max(2.0, size * r)), layout="tight")
    ax = fig.subplots()
    ax.imshow(grid.squeeze(-1) if grid.shape[-1] == 1 else grid, cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    if row_labels is not None:
        h = rows.shape[2]
        ax.set_yticks([i * (h + 1) + h / 2 for i in range(r)])
        ax.set_yticklabels(row_labels)
    else:
        ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig


class LatentImageLogger(PeriodicImageLogger):
    """Log reconstructions, prior samples and latent traversals to TensorBoard.

    Args:
        log_dir: TensorBoard directory (images go to ``log_dir/images``).
        images: a batch of examples (at most 8 are reconstructed; the first
            is the traversals' starting point, the batch orders their rows).
        every: epochs between logs; the last epoch is always logged.
        num_samples: prior samples per grid (a multiple of 8 fills rows).
        traversal_values: values swept per latent dimension.
        max_dims: at most this many traversal rows.
        seed: seed of the prior draws (fixed, so grids are comparable).

    Example:

    >>> logger = LatentImageLogger("logs/vae", x_val[:16], every=5)
    >>> vae.fit(train, epochs=50, callbacks=[logger])
    """

    def __init__(
        self,
        log_dir,
        images,
        every=5,
        num_samples=16,
        traversal_values=None,
        max_dims=10,
        seed=0,
    ):
        super().__init__(log_dir, every=every)
        num_samples = validation.positive_int(num_samples, "num_samples")
        images = as_float32(images)
        if images.ndim < 2 or len(images) == 0:
            raise ValueError(
                "Received an invalid value for `images`, expected a non-empty "
                f"batch of examples. Received: shape={images.shape}"
            )
        self.examples = images
        self.num_samples = num_samples
        self.traversal_values = traversal_values
        self.max_dims = max_dims
        self.seed = seed

    def grids(self):
        """The three grids as (H, W, C) float arrays in [0, 1]."""
        vae = self.model
        shown = self.examples[:8]
        recon = as_float32(vae.reconstruct(shown))
        pairs = np.stack([shown, recon])  # (2, n, ...)
        samples = as_float32(vae.sample(self.num_samples, seed=self.seed))
        cols = min(8, self.num_samples)
        rows = -(-self.num_samples // cols)
        padded = np.ones((rows * cols,) + samples.shape[1:], np.float32)
        padded[: len(samples)] = samples
        traversals, _ = latent_traversals(
            vae,
            self.examples[0],
            self.traversal_values,
            max_dims=self.max_dims,
            reference=self.examples,
        )
        return {
            "reconstructions": image_grid(pairs),
            "samples": image_grid(padded.reshape((rows, cols) + samples.shape[1:])),
            "traversals": image_grid(traversals),
        }

    def images(self):
        return {name: np.clip(grid, 0.0, 1.0)[None] for name, grid in self.grids().items()}
