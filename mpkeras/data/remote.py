"""Fail fast, with instructions, when a remote dataset cannot be had.

Left alone, tensorflow-datasets retries an unreachable download host for
minutes before giving up with a bare connection error. Here a dataset that is
not prepared in the data dir is only handed to TFDS's ``download_and_prepare``
after a quick probe (a TCP connect with a short timeout) of the host it
downloads from; when the probe fails, ``DatasetUnavailableError`` says what
to do instead.
"""

import concurrent.futures
import os
import socket

from mpkeras.data.errors import DatasetUnavailableError

PROBE_TIMEOUT_SECONDS = 3.0

# Where each remote dataset's files come from (see the TFDS builders' URLs).
DOWNLOAD_HOSTS = {
    "mnist": ("storage.googleapis.com",),
    "fashion_mnist": ("fashion-mnist.s3-website.eu-central-1.amazonaws.com",),
    "binarized_mnist": ("www.cs.toronto.edu",),
    "dsprites": ("github.com",),
    "oxford_iiit_pet": ("thor.robots.ox.ac.uk",),
    "imdb_reviews": ("ai.stanford.edu",),
}

# Offline stand-ins, named in the error message.
OFFLINE_ALTERNATIVES = {
    "mnist": "digits",
    "fashion_mnist": "digits",
    "binarized_mnist": "digits (with binarize='static')",
    "dsprites": "sprites/full (or sprites/small)",
    "oxford_iiit_pet": "shapes",
    "imdb_reviews": "copy or adding (sequence tasks)",
}


def default_data_dir():
    """The TFDS data dir used when ``data_dir`` is None."""
    from tensorflow_datasets.core import constants

    return os.path.expanduser(os.environ.get("TFDS_DATA_DIR") or constants.DATA_DIR)


def host_reachable(host, port=443, timeout=PROBE_TIMEOUT_SECONDS):
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` s.

    DNS resolution has no timeout of its own, so the whole probe runs in a
    worker thread that is abandoned (not joined) when it overruns.
    """

    def connect():
        with socket.create_connection((host, port), timeout=timeout):
            return True

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(connect).result(timeout=timeout + 0.5)
    except (OSError, concurrent.futures.TimeoutError):
        return False
    finally:
        pool.shutdown(wait=False)


def download_is_mocked(builder):
    """Whether ``download_and_prepare`` was replaced (``tfds.testing.mock_data``).

    The replacement does not download, so there is nothing to probe for.
    """
    fn = type(builder).download_and_prepare
    return not getattr(fn, "__module__", "").startswith("tensorflow_datasets.core")


def unavailable_message(name, data_dir):
    """The text of ``DatasetUnavailableError`` for an unreachable dataset."""
    base = name.split("/", 1)[0]
    alternative = OFFLINE_ALTERNATIVES.get(base, "an offline dataset (see `mpkeras datasets`)")
    return (
        f"Dataset {name!r} is not prepared in the TFDS data dir {data_dir!r} and "
        f"cannot be downloaded now (no connection to "
        f"{', '.join(DOWNLOAD_HOSTS.get(base, ('its download host',)))}).\n"
        "To use it: on a machine with network access run\n"
        f"    mpkeras prepare {name}\n"
        '(or python -c "import tensorflow_datasets as tfds; '
        f"tfds.builder('{name}').download_and_prepare()\"), then copy that "
        f"machine's TFDS data dir (~/tensorflow_datasets/{base}) to "
        f"{os.path.join(data_dir, base)} here, or pass data_dir= / set "
        "TFDS_DATA_DIR to where the copy lives.\n"
        f"Offline alternative: {alternative}."
    )


def ensure_prepared(builder, name, data_dir):
    """Prepare a remote dataset, or raise at once if its host is unreachable.

    Args:
        builder: the TFDS builder.
        name: the dataset name, for messages.
        data_dir: the data dir root, for messages.

    Raises:
        DatasetUnavailableError: the dataset is not prepared and no download
            host answers within a few seconds.
    """
    if builder.is_prepared() or download_is_mocked(builder):
        if not builder.is_prepared():
            builder.download_and_prepare()
        return
    hosts = DOWNLOAD_HOSTS.get(name.split("/", 1)[0], ("storage.googleapis.com",))
    reachable = [h for h in hosts if host_reachable(h)]
    if not reachable:
        raise DatasetUnavailableError(unavailable_message(name, data_dir))
    # TFDS's own download banner and progress bars follow: a real download.
    print(f"Preparing {name} (downloading from {reachable[0]})", flush=True)
    builder.download_and_prepare()
