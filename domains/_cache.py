"""One builder per reference-set cache file across processes.

The processes of a sweep build their domains at the same time; with an empty cache each one
used to simulate or label the same reference set itself (two sweep workers each spent 2 min 10 s
simulating the car's 10,000 reference cars side by side). :func:`cache_lock` lets the first
process build and write the file while the others wait, then read it.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout


def lock_path(path: Path) -> Path:
    """The lock file beside a cache file: ``<name>.lock``."""
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def cache_lock(path: Path | None, what: str) -> Iterator[None]:
    """Hold the cache file ``path``'s inter-process lock for the body (load, or build and save).

    Another process holding it is building the same file: say so on stderr (naming ``what``)
    and wait for it. ``path`` ``None`` (no disk cache) runs the body unlocked; so does a folder
    where no lock file can be made (read-only, or a file in its place), with a
    ``RuntimeWarning`` naming it: the cache is only ever written atomically, so the worst case
    is a duplicate build. The lock is an OS file lock, released if its
    holder dies.
    """
    if path is None:
        yield
        return
    lock: FileLock | None = FileLock(str(lock_path(path)))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            print(
                f"{what}: waiting for another process building the same cache ({path})",
                file=sys.stderr,
                flush=True,
            )
            lock.acquire()
    except OSError as err:
        warnings.warn(
            f"{what}: cannot lock or cache in {path.parent} ({type(err).__name__}: "
            f"{err.strerror or err}); the reference set is built without the cache",
            RuntimeWarning,
            stacklevel=3,
        )
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()
