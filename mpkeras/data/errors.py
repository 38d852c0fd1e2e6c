"""Errors raised by ``mpkeras.data``.

Kept free of TensorFlow imports so that callers (the CLI) can catch them
without paying for ``import tensorflow``.
"""


class DatasetUnavailableError(RuntimeError):
    """A dataset can neither be read from the data dir nor be prepared now.

    Raised when a remote TFDS dataset is not prepared locally and its download
    host cannot be reached, or when a prepared copy is corrupted. The message
    says which dataset and data dir are involved and what to do about it.
    """
