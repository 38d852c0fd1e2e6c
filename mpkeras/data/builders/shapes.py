"""Random shapes on textured noise with per-pixel class masks (segmentation).

Each 64x64 RGB image shows 1-4 shapes -- circles, squares and triangles of
random size, position, rotation and colour, later ones occluding earlier
ones -- over a background of smooth random colour variation plus pixel
noise; the shapes carry pixel noise too, so neither colour nor texture alone
gives the class away. The mask labels every pixel: 0 background, 1 circle,
2 square, 3 triangle. Every example is a pure function of (split, index).
"""

import numpy as np
import tensorflow_datasets as tfds

from mpkeras.data.builders._png import encode_png
from mpkeras.data.registry import SPLIT_SEEDS

IMAGE_SIZE = 64
CLASS_NAMES = ("background", "circle", "square", "triangle")
SPLIT_SIZES = {"train": 2000, "validation": 200, "test": 200}
_MAX_SHAPES = 4
_NOISE_STD = 0.06
_CENTRES = np.arange(IMAGE_SIZE) + 0.5


def _background(rng):
    """Smooth random colour field: a 5x5 grid of colours, bilinearly upsampled."""
    coarse = rng.uniform(0.0, 1.0, size=(5, 5, 3))
    pos = np.linspace(0, 4, IMAGE_SIZE)
    i0 = np.minimum(pos.astype(int), 3)
    t = (pos - i0)[:, None]
    rows = coarse[i0] * (1 - t)[..., None] + coarse[i0 + 1] * t[..., None]
    cols = rows[:, i0] * (1 - t)[None] + rows[:, i0 + 1] * t[None]
    return cols


def _shape_mask(kind, cx, cy, radius, angle):
    """Boolean (64, 64) mask of one shape; kind 1 circle, 2 square, 3 triangle."""
    dx = _CENTRES[None, :] - cx
    dy = _CENTRES[:, None] - cy
    if kind == 1:
        return dx**2 + dy**2 <= radius**2
    cos, sin = np.cos(angle), np.sin(angle)
    u = cos * dx + sin * dy
    v = -sin * dx + cos * dy
    if kind == 2:
        half = radius / np.sqrt(2)  # same circumradius as the other shapes
        return np.maximum(np.abs(u), np.abs(v)) <= half
    # Equilateral triangle with circumradius `radius`: inside all three edges,
    # each at distance radius/2 from the centre.
    inside = np.ones_like(u, dtype=bool)
    for k in range(3):
        theta = 2 * np.pi * k / 3
        inside &= np.cos(theta) * u + np.sin(theta) * v <= radius / 2
    return inside


def make_example(split, index):
    """One image and its mask, a pure function of (split, index).

    Returns:
        ``(image, mask, counts)``: uint8 (64, 64, 3), uint8 (64, 64, 1) with
        classes 0-3, and int64 (3,) number of circles, squares, triangles drawn.
    """
    rng = np.random.default_rng([4242, SPLIT_SEEDS[split], index])
    image = _background(rng)
    mask = np.zeros((IMAGE_SIZE, IMAGE_SIZE), dtype=np.uint8)
    counts = np.zeros(3, dtype=np.int64)
    for _ in range(rng.integers(1, _MAX_SHAPES + 1)):
        kind = int(rng.integers(1, 4))
        radius = rng.uniform(7.0, 15.0)
        cx, cy = rng.uniform(radius * 0.6, IMAGE_SIZE - radius * 0.6, size=2)
        inside = _shape_mask(kind, cx, cy, radius, rng.uniform(0, 2 * np.pi))
        image[inside] = rng.uniform(0.0, 1.0, size=3)
        mask[inside] = kind
        counts[kind - 1] += 1
    image = image + rng.normal(0.0, _NOISE_STD, size=image.shape)
    image = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    return image, mask[..., None], counts


class Shapes(tfds.core.GeneratorBasedBuilder):
    """64x64 RGB images of random shapes with 4-class segmentation masks."""

    name = "shapes"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "64x64 RGB images of 1-4 random circles, squares and triangles "
                "(random size, position, rotation, colour; later shapes occlude "
                "earlier ones) over a smooth noisy background, with a per-pixel "
                "class mask: 0 background, 1 circle, 2 square, 3 triangle."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, 3)),
                    "mask": tfds.features.Image(shape=(IMAGE_SIZE, IMAGE_SIZE, 1)),
                    "counts": tfds.features.Tensor(shape=(3,), dtype=np.int64),
                }
            ),
            supervised_keys=("image", "mask"),
            homepage="https://github.com/mpkeras/mpkeras",
            citation=(
                "@inproceedings{long2015fully, title={Fully convolutional networks "
                "for semantic segmentation}, author={Long, Jonathan and Shelhamer, "
                "Evan and Darrell, Trevor}, booktitle={CVPR}, year={2015}}"
            ),
            metadata=tfds.core.MetadataDict(
                class_names=list(CLASS_NAMES), num_classes=len(CLASS_NAMES)
            ),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Rendered, nothing to download.
        return {split: self._generate_examples(split) for split in SPLIT_SIZES}

    def _generate_examples(self, split):
        for index in range(SPLIT_SIZES[split]):
            image, mask, counts = make_example(split, index)
            yield (
                index,
                {
                    "image": encode_png(image),
                    "mask": encode_png(mask),
                    "counts": counts,
                },
            )
