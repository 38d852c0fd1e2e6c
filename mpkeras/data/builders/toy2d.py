"""Two-dimensional toy problems: the XOR truth table and separable blobs.

``xor`` is the classic problem a single perceptron cannot solve: the four
points of {0,1}^2 labelled x1 XOR x2. Every split holds exactly those four
points. ``blobs`` is linearly separable by a line through the origin with a
known margin, so the perceptron convergence theorem (Novikoff: at most
(R / gamma)^2 mistakes) can be checked against the data's own R and gamma,
which are stored in the dataset metadata.
"""

import numpy as np
import tensorflow_datasets as tfds

from mpkeras.data.registry import SPLIT_SEEDS

# Blobs geometry. The separating line passes through the origin so that a
# perceptron without bias can realise it and Novikoff's bound applies as is.
BLOBS_MARGIN = 0.25
BLOBS_ANGLE = np.pi / 6
BLOBS_HALF_WIDTH = 2.0
BLOBS_SPLIT_SIZES = {"train": 200, "validation": 100, "test": 100}


def xor_points():
    """The XOR truth table.

    Returns:
        ``(x, y)``: ``x`` float32 of shape (4, 2), ``y`` int64 of shape (4,)
        with ``y = x1 XOR x2``.
    """
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.logical_xor(x[:, 0], x[:, 1]).astype(np.int64)
    return x, y


def blobs_normal():
    """Unit normal ``w`` of the separating line ``w . x = 0``."""
    return np.array([np.cos(BLOBS_ANGLE), np.sin(BLOBS_ANGLE)], dtype=np.float64)


def blobs_points(split):
    """Points of one split of ``blobs``, a pure function of the split name.

    Points are uniform in the square [-2, 2]^2 with the band
    ``|w . x| < gamma`` removed, labelled by the side of the line, so that
    every point satisfies ``(2y - 1) w . x >= gamma``.

    Returns:
        ``(x, y)``: ``x`` float32 of shape (n, 2), ``y`` int64 of shape (n,).
    """
    n = BLOBS_SPLIT_SIZES[split]
    rng = np.random.default_rng([20240, SPLIT_SEEDS[split]])
    w = blobs_normal()
    kept = []
    while sum(len(k) for k in kept) < n:
        cand = rng.uniform(-BLOBS_HALF_WIDTH, BLOBS_HALF_WIDTH, size=(4 * n, 2))
        cand = cand.astype(np.float32)
        # Test the float32 points, the ones stored, so rounding cannot push a
        # point inside the band.
        kept.append(cand[np.abs(cand.astype(np.float64) @ w) >= BLOBS_MARGIN])
    x = np.concatenate(kept)[:n]
    y = (x.astype(np.float64) @ w > 0).astype(np.int64)
    return x, y


def blobs_radius():
    """R = the largest norm of any blobs point over all splits."""
    return float(max(np.linalg.norm(blobs_points(s)[0], axis=1).max() for s in BLOBS_SPLIT_SIZES))


class Toy2D(tfds.core.GeneratorBasedBuilder):
    """Two-dimensional toy classification problems (configs xor, blobs)."""

    name = "toy2d"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(
            name="xor",
            description="The XOR truth table: the four points of {0,1}^2 "
            "labelled x1 XOR x2; every split holds these four points.",
        ),
        tfds.core.BuilderConfig(
            name="blobs",
            description=(
                f"Points uniform in [-2, 2]^2 outside the band |w.x| < {BLOBS_MARGIN}, "
                f"w = (cos 30deg, sin 30deg), labelled 1 where w.x > 0: linearly "
                f"separable through the origin with margin gamma >= {BLOBS_MARGIN}. "
                "metadata: margin, normal, radius."
            ),
        ),
    ]

    def _info(self):
        metadata = {"config": self.builder_config.name}
        if self.builder_config.name == "blobs":
            metadata.update(
                margin=BLOBS_MARGIN,
                normal=blobs_normal().tolist(),
                radius=blobs_radius(),
                novikoff_bound=(blobs_radius() / BLOBS_MARGIN) ** 2,
            )
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Two-dimensional toy problems for the perceptron and the MLP: "
                "XOR (not linearly separable) and blobs (separable with a known "
                "margin, for the perceptron convergence theorem)."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "x": tfds.features.Tensor(shape=(2,), dtype=np.float32),
                    "label": tfds.features.ClassLabel(num_classes=2),
                }
            ),
            supervised_keys=("x", "label"),
            homepage="https://github.com/mpkeras/mpkeras",
            citation=(
                "@book{minsky1969perceptrons, title={Perceptrons}, "
                "author={Minsky, Marvin and Papert, Seymour}, year={1969}, "
                "publisher={MIT Press}}\n"
                "@inproceedings{novikoff1962convergence, title={On convergence "
                "proofs on perceptrons}, author={Novikoff, Albert B. J.}, "
                "booktitle={Symposium on the Mathematical Theory of Automata}, "
                "year={1962}}"
            ),
            metadata=tfds.core.MetadataDict(metadata),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Nothing to download.
        return {split: self._generate_examples(split) for split in BLOBS_SPLIT_SIZES}

    def _generate_examples(self, split):
        if self.builder_config.name == "xor":
            x, y = xor_points()
        else:
            x, y = blobs_points(split)
        for i, (xi, yi) in enumerate(zip(x, y)):
            yield i, {"x": xi, "label": int(yi)}
