"""dSprites rasterised procedurally: the factor grid, offline, as a TFDS builder.

The dSprites data (Matthey et al. 2017) is every combination of five
independent generative factors: shape (square, ellipse, heart), scale (6
values in [0.5, 1]), orientation (40 values in [0, 2 pi]), x and y position
(32 values each in [0, 1]) -- 737,280 binary 64x64 images. Here each image
is drawn from its factor values by testing every pixel centre against the
shape's implicit equation, so the grid needs no download. Features are named
exactly as TFDS's ``dsprites`` (``image``, ``label_<factor>`` class indices,
``value_<factor>`` floats; images uint8 with values {0, 1}), so the same code
and disentanglement metrics run on both.

Configs: ``full`` is the whole grid, generated one image at a time (memory
stays flat); ``small`` keeps every factor with 2+ values on a coarser grid
(3 shapes x 3 scales x 4 orientations x 8 x 8 positions = 2,304 images) for
quick runs. ``label_*`` index the config's own grid (so ``num_classes`` is
the config's factor size); ``value_*`` are the true factor values and
``metadata["grid_indices"]`` maps the former to the full grid.
"""

import itertools
import sys

import numpy as np
import tensorflow_datasets as tfds

from mpkeras import progress
from mpkeras.data.builders._png import encode_png
from mpkeras.data.registry import SPRITE_FACTORS

IMAGE_SIZE = 64
SHAPE_NAMES = ("square", "ellipse", "heart")

# The dSprites factor values (latents_values in the original hdf5).
FULL_VALUES = {
    "shape": np.array([1.0, 2.0, 3.0]),
    "scale": np.linspace(0.5, 1.0, 6),
    "orientation": np.linspace(0.0, 2 * np.pi, 40),
    "x_position": np.linspace(0.0, 1.0, 32),
    "y_position": np.linspace(0.0, 1.0, 32),
}

# Sub-grid of the small config, as indices into FULL_VALUES. Orientations
# stop short of index 39 (= 2 pi, the same image as index 0).
SMALL_INDICES = {
    "shape": [0, 1, 2],
    "scale": [0, 2, 5],
    "orientation": [0, 10, 20, 30],
    "x_position": np.linspace(0, 31, 8).round().astype(int).tolist(),
    "y_position": np.linspace(0, 31, 8).round().astype(int).tolist(),
}

# Geometry in pixels: a unit-scale sprite has half-size _RADIUS, and
# positions 0..1 map the centre to [_LOW, _LOW + _SPAN].
_RADIUS = 9.0
_LOW = 14.0
_SPAN = 36.0
_PIXEL_CENTRES = np.arange(IMAGE_SIZE) + 0.5


def _inside(shape_index, u, v):
    """Whether unit-frame coordinates (u right, v down) fall inside the shape."""
    if shape_index == 0:  # square
        return np.maximum(np.abs(u), np.abs(v)) <= 1.0
    if shape_index == 1:  # ellipse, 2:1
        return u**2 + (v / 0.5) ** 2 <= 1.0
    # Heart: (x^2 + y^2 - 1)^3 <= x^2 y^3 with y up, shifted to centre it.
    x = 1.2 * u
    y = -1.2 * v + 0.15
    return (x**2 + y**2 - 1.0) ** 3 - x**2 * y**3 <= 0.0


def render_column(shape, scale, orientation, x_position, y_positions):
    """Sprites at one x and several y positions, in one vectorised pass.

    Args:
        shape: 1 (square), 2 (ellipse) or 3 (heart), as dSprites' value_shape.
        scale: size factor in [0.5, 1].
        orientation: rotation in radians (counter-clockwise on screen).
        x_position: horizontal position in [0, 1], left to right.
        y_positions: array of vertical positions in [0, 1], top to bottom.

    Returns:
        uint8 array of shape (len(y_positions), 64, 64, 1) with values {0, 1}.
    """
    cx = _LOW + _SPAN * x_position
    cy = _LOW + _SPAN * np.asarray(y_positions, dtype=np.float64)
    dx = (_PIXEL_CENTRES - cx)[None, None, :]
    dy = _PIXEL_CENTRES[None, :, None] - cy[:, None, None]
    cos, sin = np.cos(orientation), np.sin(orientation)
    size = _RADIUS * scale
    # Rotate the pixel offsets back into the sprite's own frame.
    u = (cos * dx - sin * dy) / size
    v = (sin * dx + cos * dy) / size
    mask = _inside(int(round(shape)) - 1, u, v)
    return mask.astype(np.uint8)[..., None]


def render(shape, scale, orientation, x_position, y_position):
    """One 64x64 binary sprite from its factor values (see ``render_column``).

    Returns:
        uint8 array of shape (64, 64, 1) with values {0, 1}.
    """
    return render_column(shape, scale, orientation, x_position, [y_position])[0]


class SpritesConfig(tfds.core.BuilderConfig):
    """A sub-grid of the dSprites factors, as indices into the full grid."""

    def __init__(self, *, indices, **kwargs):
        super().__init__(**kwargs)
        self.indices = indices


def _grid_size(indices):
    return int(np.prod([len(indices[f]) for f in SPRITE_FACTORS]))


_FULL_INDICES = {f: list(range(len(FULL_VALUES[f]))) for f in SPRITE_FACTORS}


class Sprites(tfds.core.GeneratorBasedBuilder):
    """dSprites factor grid rasterised procedurally (configs small, full)."""

    name = "sprites"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        SpritesConfig(
            name="small",
            indices=SMALL_INDICES,
            description=f"Coarse grid of {_grid_size(SMALL_INDICES)} images: "
            "3 shapes x 3 scales x 4 orientations x 8 x 8 positions.",
        ),
        SpritesConfig(
            name="full",
            indices=_FULL_INDICES,
            description=f"The whole dSprites grid of {_grid_size(_FULL_INDICES)} "
            "images: 3 shapes x 6 scales x 40 orientations x 32 x 32 positions.",
        ),
    ]

    def _info(self):
        indices = self.builder_config.indices
        features = {"image": tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, 1))}
        for factor in SPRITE_FACTORS:
            features[f"label_{factor}"] = tfds.features.ClassLabel(num_classes=len(indices[factor]))
        for factor in SPRITE_FACTORS:
            features[f"value_{factor}"] = tfds.features.Tensor(shape=(), dtype=np.float32)
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "dSprites (shape, scale, orientation, x, y) rasterised "
                "procedurally as 64x64 binary images, with each image's factor "
                "indices (label_*) and values (value_*), named as TFDS dsprites."
            ),
            features=tfds.features.FeaturesDict(features),
            supervised_keys=("image", "label_shape"),
            homepage="https://github.com/deepmind/dsprites-dataset",
            citation=(
                "@misc{dsprites17, author={Loic Matthey and Irina Higgins and "
                "Demis Hassabis and Alexander Lerchner}, title={dSprites: "
                "Disentanglement testing Sprites dataset}, year={2017}, "
                "howpublished={https://github.com/deepmind/dsprites-dataset/}}"
            ),
            metadata=tfds.core.MetadataDict(
                factor_names=list(SPRITE_FACTORS),
                factor_sizes=[len(indices[f]) for f in SPRITE_FACTORS],
                factor_values={f: FULL_VALUES[f][indices[f]].tolist() for f in SPRITE_FACTORS},
                grid_indices={f: [int(i) for i in indices[f]] for f in SPRITE_FACTORS},
                shape_names=list(SHAPE_NAMES),
            ),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Rendered, nothing to download.
        # dSprites has a single split, and so do we (use TFDS slicing).
        return {"train": self._tracked_examples()}

    def _tracked_examples(self):
        """The examples, with a progress bar of those written when stderr is a terminal.

        sprites/full takes minutes. The bar goes to the process's own stdout
        (``sys.__stdout__``): ``mpkeras prepare`` holds TFDS's output on
        ``sys.stdout``/``sys.stderr`` back while it builds (mpkeras.data.sources),
        and the CLI's file descriptor 2 is a pipe through its log filter.
        Elsewhere (a log, a pipe) nothing is added: the line ``mpkeras
        prepare`` prints says how many were written.
        """
        examples = self._generate_examples()
        stream = sys.__stdout__
        if stream is None or not stream.isatty():
            return examples
        # The bar on a line of its own, below "Preparing sprites/full (built locally) ...".
        stream.write("\n")
        total = _grid_size(self.builder_config.indices)
        return progress.track(examples, total, f"sprites/{self.builder_config.name}", stream=stream)

    def _generate_examples(self):
        indices = self.builder_config.indices
        grids = [indices[f] for f in SPRITE_FACTORS]
        values = [FULL_VALUES[f][g] for f, g in zip(SPRITE_FACTORS, grids)]
        n_y = len(grids[-1])
        key = 0
        # One column of y positions is rendered at a time: memory stays flat
        # whatever the grid size. Keys follow dSprites' order (y fastest).
        outer = itertools.product(*(range(len(g)) for g in grids[:-1]))
        for labels in outer:
            head = [v[i] for v, i in zip(values, labels)]
            column = render_column(*head, values[-1])
            for iy in range(n_y):
                example = {"image": encode_png(column[iy])}
                for factor, label, value in zip(
                    SPRITE_FACTORS, (*labels, iy), (*head, values[-1][iy])
                ):
                    example[f"label_{factor}"] = label
                    example[f"value_{factor}"] = np.float32(value)
                yield key, example
                key += 1
