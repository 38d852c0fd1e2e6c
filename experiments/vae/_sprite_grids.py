"""Sub-grids of the dSprites factors rendered in memory, and per-model seeds.

beta_vae_sprites' quick budget trains on a sub-grid of sprites/full chosen so
that every factor can be disentangled at all (see beta_vae_sprites.toml for
the measurements behind it):

* every factor combination renders a distinct image (sprites/small's
  orientations 0, 90, 180, 270 degrees render a square four times the same,
  an ellipse twice, so its orientation cannot be learnt): orientations stay
  below 90 degrees, or orientation is held at 0;
* x and y position differ in spread: x spans the image, y half of it. With
  equal spreads, rotating the code's (x, y) plane changes neither the ELBO
  nor the reconstruction, so a VAE has no reason to put x and y into two
  different latents; with unequal ones the diagonal posterior aligns with
  them (Rolinek et al. 2019, "Variational autoencoders pursue PCA
  directions (by accident)").

The images are drawn by ``mpkeras.data.builders.sprites.render_column``, the
renderer of the sprites builder, so they are exactly sprites/full's images
at those indices; nothing is prepared or read from disk.
"""

import hashlib
import itertools

import numpy as np

from mpkeras.data.builders.sprites import FULL_VALUES, render_column
from mpkeras.data.registry import SPRITE_FACTORS

# Indices into sprites/full's factor values (FULL_VALUES), per factor.
GRIDS = {
    # 3 shapes x 3 scales x 3 orientations (0, 28, 55 degrees: below 90, so
    # each renders a distinct image for every shape) x 8 x 4 positions = 864
    # images. x over [0, 1], y over [0, 0.48].
    "asymmetric": {
        "shape": [0, 1, 2],
        "scale": [0, 2, 5],
        "orientation": [0, 3, 6],
        "x_position": [0, 4, 9, 13, 18, 22, 27, 31],
        "y_position": [0, 5, 10, 15],
    },
    # 3 shapes x 6 scales x 8 x 4 positions = 576 images, orientation 0
    # (it does not vary, so the scores skip it). x over [0, 1], y over
    # [0.03, 0.52]: y off the pixel grid's integer centres, where squares of
    # scale 0.5 and 0.6 at x = 0 or 1 render alike.
    "asymmetric_upright": {
        "shape": [0, 1, 2],
        "scale": [0, 1, 2, 3, 4, 5],
        "orientation": [0],
        "x_position": [0, 4, 9, 13, 18, 22, 27, 31],
        "y_position": [1, 6, 11, 16],
    },
}


def grid_size(name):
    """The number of images of grid ``name``."""
    return int(np.prod([len(GRIDS[name][f]) for f in SPRITE_FACTORS]))


def render_grid(name):
    """Every image of grid ``name`` and its factor labels.

    Returns:
        ``(images, factors)``: float32 images (N, 64, 64, 1) with values {0, 1}
        and int factor labels (N, 5), each the index into the grid's own
        values of that factor (as sprites/small's ``label_*``), in
        SPRITE_FACTORS order; the grid in row-major order.
    """
    if name not in GRIDS:
        raise ValueError(
            f"Received an invalid value for `grid`, expected one of {sorted(GRIDS)} "
            f"(or '' for the dataset's own images). Received: grid={name!r}"
        )
    indices = GRIDS[name]
    *outer, inner = SPRITE_FACTORS
    ys = FULL_VALUES[inner][indices[inner]]
    images, factors = [], []
    for labels in itertools.product(*(range(len(indices[f])) for f in outer)):
        values = [FULL_VALUES[f][indices[f][i]] for f, i in zip(outer, labels)]
        images.append(render_column(*values, ys))
        factors += [[*labels, j] for j in range(len(ys))]
    return np.concatenate(images).astype(np.float32), np.array(factors, dtype=np.int64)


def grid_batches(images, batch_size, seed, repeats=1):
    """``images`` as (x, x) batches for ``fit``: ``repeats`` shuffled passes per epoch.

    A per-pass dataset (``mpkeras.data.shuffling``): epoch i's order is a
    function of (seed, i) alone, so a resumed run sees the batches of the
    uninterrupted one. Each pass over the images drops its last partial
    batch. ``repeats`` > 1 makes an epoch of a small grid as long as one of
    a larger dataset, so the per-epoch callbacks (a checkpoint, TensorBoard)
    cost no more per step.
    """
    import tensorflow as tf

    from mpkeras.data import shuffling

    batch_size = min(batch_size, len(images))
    examples = tf.data.Dataset.from_tensor_slices(images).cache()

    def one_pass(pass_index):
        passes = [
            shuffling.shuffle_pass(examples, len(images), seed, pass_index * repeats + r)
            .batch(batch_size, drop_remainder=True)
            .map(lambda x: (x, x))
            for r in range(repeats)
        ]
        epoch = passes[0]
        for more in passes[1:]:
            epoch = epoch.concatenate(more)
        return epoch

    return shuffling.per_pass(one_pass, cardinality=repeats * (len(images) // batch_size))


def model_seed(seed, beta, restart=0):
    """A seed for the model of (run seed, beta, restart) alone, in [0, 2**31).

    Seeding each model from this instead of the run's one stream makes a
    model independent of which models were trained before it: the beta-4
    model of ``betas=[1, 4]`` is the model of ``beta=4``.
    """
    digest = hashlib.blake2b(repr((int(seed), float(beta), int(restart))).encode(), digest_size=4)
    return int.from_bytes(digest.digest(), "little") % (1 << 31)
