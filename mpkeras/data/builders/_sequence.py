"""Shared pieces of the long-term dependency builders (adding, copy)."""

import tensorflow_datasets as tfds

from mpkeras.data.registry import SEQUENCE_LENGTHS

SPLIT_SIZES = {"train": 10_000, "validation": 1_000, "test": 1_000}

HOCHREITER_CITATION = (
    "@article{hochreiter1997long, title={Long short-term memory}, "
    'author={Hochreiter, Sepp and Schmidhuber, J{\\"u}rgen}, journal={Neural '
    "Computation}, volume={9}, number={8}, pages={1735--1780}, year={1997}}"
)


class SequenceConfig(tfds.core.BuilderConfig):
    """A config fixing the sequence length (or delay) T; named ``t<T>``."""

    def __init__(self, *, length, **kwargs):
        super().__init__(name=f"t{length}", **kwargs)
        self.length = length


def configs(describe):
    """One ``SequenceConfig`` per length in ``SEQUENCE_LENGTHS``."""
    return [SequenceConfig(length=t, description=describe(t)) for t in SEQUENCE_LENGTHS]
