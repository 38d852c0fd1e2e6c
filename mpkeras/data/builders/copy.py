"""The copy (memory) task (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016).

The input shows ``NUM_SYMBOLS`` = 10 symbols drawn from {1, ..., 8}, then T
blanks (0) of which the last is replaced by the delimiter 9, then 10 more
blanks; the target is blank for the first T + 10 steps and then repeats the
10 symbols. A model must hold the symbols in memory for T steps. Guessing
blanks and then uniform symbols gives a cross-entropy of
10 log(8) / (T + 20), the baseline.
"""

import numpy as np
import tensorflow_datasets as tfds

from mpkeras.data.builders import _sequence
from mpkeras.data.registry import SPLIT_SEEDS

NUM_SYMBOLS = 10
NUM_CATEGORIES = 8
BLANK = 0
DELIMITER = 9
# Vocabulary size: blank, 8 symbols, delimiter.
NUM_TOKENS = 10


def copy_arrays(delay, split):
    """All examples of a split, a pure function of (delay, split).

    Returns:
        ``(tokens, targets)``: int32 arrays of shape (n, delay + 20).
    """
    n = _sequence.SPLIT_SIZES[split]
    rng = np.random.default_rng([1998, delay, SPLIT_SEEDS[split]])
    length = delay + 2 * NUM_SYMBOLS
    symbols = rng.integers(1, NUM_CATEGORIES + 1, size=(n, NUM_SYMBOLS), dtype=np.int32)
    tokens = np.full((n, length), BLANK, dtype=np.int32)
    tokens[:, :NUM_SYMBOLS] = symbols
    tokens[:, NUM_SYMBOLS + delay - 1] = DELIMITER
    targets = np.full((n, length), BLANK, dtype=np.int32)
    targets[:, -NUM_SYMBOLS:] = symbols
    return tokens, targets


def baseline_cross_entropy(delay):
    """Per-step cross-entropy (nats) of the best memoryless strategy."""
    return NUM_SYMBOLS * np.log(NUM_CATEGORIES) / (delay + 2 * NUM_SYMBOLS)


class Copy(tfds.core.GeneratorBasedBuilder):
    """The copy task; config ``t<T>`` has a delay of T steps."""

    name = "copy"
    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    BUILDER_CONFIGS = _sequence.configs(
        lambda t: f"Copy task with a delay of T={t} (sequences of length {t + 20})."
    )
    DEFAULT_BUILDER_CONFIG_NAME = "t50"

    def _info(self):
        delay = self.builder_config.length
        length = delay + 2 * NUM_SYMBOLS
        return tfds.core.DatasetInfo(
            builder=self,
            description=(
                "The copy task: 10 symbols from {1..8}, T blanks (0) ending in "
                "the delimiter 9, 10 blanks; the target repeats the symbols in "
                "the last 10 steps and is blank elsewhere."
            ),
            features=tfds.features.FeaturesDict(
                {
                    "tokens": tfds.features.Tensor(shape=(length,), dtype=np.int32),
                    "targets": tfds.features.Tensor(shape=(length,), dtype=np.int32),
                }
            ),
            supervised_keys=("tokens", "targets"),
            homepage="https://arxiv.org/abs/1511.06464",
            citation=_sequence.HOCHREITER_CITATION
            + "\n@inproceedings{arjovsky2016unitary, title={Unitary evolution "
            "recurrent neural networks}, author={Arjovsky, Martin and Shah, Amar "
            "and Bengio, Yoshua}, booktitle={ICML}, year={2016}}",
            metadata=tfds.core.MetadataDict(
                delay=delay,
                sequence_length=length,
                num_tokens=NUM_TOKENS,
                baseline_cross_entropy=float(baseline_cross_entropy(delay)),
            ),
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # Generated, nothing to download.
        return {s: self._generate_examples(s) for s in _sequence.SPLIT_SIZES}

    def _generate_examples(self, split):
        tokens, targets = copy_arrays(self.builder_config.length, split)
        for i in range(len(tokens)):
            yield i, {"tokens": tokens[i], "targets": targets[i]}
