"""The adding problem (Hochreiter & Schmidhuber 1997): a long-term dependency task.

Each example is a sequence of T steps; step t carries a number ``values[t]``
uniform in [0, 1] and a marker ``markers[t]`` in {0, 1}. Exactly two steps
are marked, one in the first half and one in the second half (the variant of
Le et al. 2015 and Arjovsky et al. 2016), and the target is the sum of the
two marked numbers. Predicting 1 always gives a mean squared error of 1/6,
the baseline a model must beat, which needs memory across ~T/2 steps.
"""

import numpy as np
import tensorflow_datasets as tfds

from mpkeras.data.builders import _sequence
from mpkeras.data.registry import SPLIT_SEEDS

# MSE of the constant prediction 1 (Var(U1 + U2) = 2/12).
BASELINE_MSE = 1.0 / 6.0


def adding_arrays(length, split):
    """All examples of a split, a pure function of (length, split).

    Returns:
        ``(values, markers, targets)``: float32 (n, T), int32 (n, T) with two
        ones per row, float32 (n,) with ``targets = sum(values * markers)``.
    """
    n = _sequence.SPLIT_SIZES[split]
    rng = np.random.default_rng([1997, length, SPLIT_SEEDS[split]])
    values = rng.uniform(0.0, 1.0, size=(n, length)).astype(np.float32)
    half = length // 2
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, length, size=n)
    markers = np.zeros((n, length), dtype=np.int32)
    rows = np.arange(n)
    markers[rows, first] = 1
    markers[rows, second] = 1
    targets = values[rows, first] + values[rows, second]
    return values, markers, targets.astype(np.float32)


class Adding(tfds.core.GeneratorBasedBuilder):
    """The adding problem; config ``t<T>`` has sequences of length T."""

    name = "adding"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = _sequence.configs(lambda t: f"Adding problem with sequences of length T={t}.")
    DEFAULT_BUILDER_CONFIG_NAME = "t50"

    def _info(self):
        length = self.builder_config.length
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "The adding problem: T steps of (value uniform in [0, 1], marker "
                "in {0, 1}); one marked step in each half; the target is the sum "
                "of the two marked values. Constant prediction 1 has MSE 1/6."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "values": tfds.features.Tensor(shape=(length,), dtype=np.float32),
                    "markers": tfds.features.Tensor(shape=(length,), dtype=np.int32),
                    "target": tfds.features.Tensor(shape=(), dtype=np.float32),
                }
            ),
            supervised_keys=({"values": "values", "markers": "markers"}, "target"),
            homepage="https://doi.org/10.1162/neco.1997.9.8.1735",
            citation=_sequence.HOCHREITER_CITATION,
            metadata=tfds.core.MetadataDict(sequence_length=length, baseline_mse=BASELINE_MSE),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Generated, nothing to download.
        return {s: self._generate_examples(s) for s in _sequence.SPLIT_SIZES}

    def _generate_examples(self, split):
        values, markers, targets = adding_arrays(self.builder_config.length, split)
        for i in range(len(targets)):
            yield i, {"values": values[i], "markers": markers[i], "target": targets[i]}
