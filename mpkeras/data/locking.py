"""One process at a time prepares a dataset: a lock file per dataset variant.

``mpkeras reproduce --jobs 2`` (or two of a user's own scripts) can ask for
the same unprepared dataset at once. TFDS writes into a temporary folder and
renames it at the end, so the second process to finish would fail on the
rename, or find a half-written copy. Holding an exclusive ``flock`` on
``<data dir>/.<name>.lock`` while one checks "prepared?" and prepares makes
the other wait and then find the copy prepared. The lock is released when
its process ends, however it ends, so a killed run leaves no stale lock.
"""

import contextlib
import os

try:  # POSIX; elsewhere (Windows) preparing is not locked.
    import fcntl
except ImportError:  # pragma: no cover - not on the supported platforms' CI
    fcntl = None


@contextlib.contextmanager
def preparing(data_dir, name):
    """Hold the lock of dataset ``name`` (``"digits"``, ``"sprites/small"``) in ``data_dir``."""
    if fcntl is None:
        yield
        return
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, "." + name.replace("/", "-") + ".lock")
    with open(path, "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
