"""The UCI optical handwritten digits bundled with scikit-learn, as a TFDS builder.

1,797 greyscale 8x8 images of the digits 0-9 (Alpaydin & Kaynak 1998),
split once, stratified by class, into train (1,257), validation (180) and
test (360). The originals count on-pixels in 4x4 blocks, giving values 0-16;
they are stored scaled to 0-255 as ``round(v * 255 / 16)``, which is exact to
invert (``round(p * 16 / 255)``) and lets images be normalised like any other
uint8 image.
"""

import numpy as np
import tensorflow_datasets as tfds

SPLIT_SIZES = {"train": 1257, "validation": 180, "test": 360}
_SEED = 0


def digits_splits():
    """The three splits as uint8 (n, 8, 8, 1) images and int64 labels.

    Deterministic: a stratified split with a fixed seed.

    Returns:
        ``{split: (images, labels)}``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = np.round(data.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = data.target.astype(np.int64)
    index = np.arange(len(labels))
    rest, test = train_test_split(
        index, test_size=SPLIT_SIZES["test"], stratify=labels, random_state=_SEED
    )
    train, validation = train_test_split(
        rest,
        test_size=SPLIT_SIZES["validation"],
        stratify=labels[rest],
        random_state=_SEED,
    )
    return {
        name: (images[np.sort(idx)], labels[np.sort(idx)])
        for name, idx in (("train", train), ("validation", validation), ("test", test))
    }


class Digits(tfds.core.GeneratorBasedBuilder):
    """UCI handwritten digits (scikit-learn's ``load_digits``), 8x8, 10 classes."""

    name = "digits"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "Optical recognition of handwritten digits (UCI), as bundled with "
                "scikit-learn: 1,797 8x8 greyscale images, 10 classes. Pixel values "
                "0-16 are stored as round(v * 255 / 16). Fixed stratified splits: "
                "train 1,257 / validation 180 / test 360."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 1)),
                    "label": tfds.features.ClassLabel(num_classes=10),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://archive.ics.uci.edu/dataset/80",
            citation=(
                "@misc{alpaydin1998optical, title={Optical Recognition of "
                "Handwritten Digits}, author={Alpaydin, E. and Kaynak, C.}, "
                "year={1998}, howpublished={UCI Machine Learning Repository}, "
                "doi={10.24432/C50P49}}"
            ),
            metadata=tfds.core.MetadataDict(original_max_value=16),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # scikit-learn ships the data.
        splits = digits_splits()
        return {name: self._generate_examples(*arrays) for name, arrays in splits.items()}

    def _generate_examples(self, images, labels):
        for i, (image, label) in enumerate(zip(images, labels)):
            yield i, {"image": image, "label": int(label)}
