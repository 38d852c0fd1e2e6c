"""Fixtures for the data tests: one temporary TFDS data dir per session.

Builders are prepared there on first use and shared by every test, so the
suite never touches ~/tensorflow_datasets and prepares each config once.
"""

import pytest


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    """A TFDS data dir private to this test session."""
    import tensorflow_datasets as tfds

    tfds.disable_progress_bar()
    return str(tmp_path_factory.mktemp("tfds"))


@pytest.fixture
def fresh_data_dir(tmp_path):
    """An empty TFDS data dir for tests that prepare or break a copy."""
    return str(tmp_path / "tfds")


@pytest.fixture
def epoch_zero():
    """Set every live training dataset to pass 0 before and after a test."""
    from mpkeras.data import shuffling

    shuffling.set_epoch(0)
    yield shuffling
    shuffling.set_epoch(0)
