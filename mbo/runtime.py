"""Process-wide runtime policy: how many torch threads a study uses.

The models of a study are small (MLPs of a few hundred units, batches of a few hundred rows):
torch's intra-op parallelism buys little for them and costs a lot as soon as another process
wants the same cores (the threads of a parallel region wait for the one that lost its core).
``mbo demo`` on a 2-core machine also used by other people's jobs (wall seconds, 2-3 runs
each; the high ends had other jobs running too):

============================  ===========  ============
beside the demo               1 thread     2 threads
============================  ===========  ============
nothing (idle)                6.6-9.0      6.8-31
one busy core (``yes``)       6.8-16.8     12.7-109
both cores busy (2x ``yes``)  14-31        148-372
============================  ===========  ============

So every ``mbo`` command that runs torch code uses **one** thread unless told otherwise.
The number is chosen, first match wins, from:

1. the command's ``--threads N`` flag (``threads=`` of :func:`resolve_threads`);
2. the environment: ``MBO_THREADS``, then ``OMP_NUM_THREADS``, then ``MKL_NUM_THREADS``;
3. :data:`DEFAULT_THREADS` (1).

Sweep executors pass the same number to every worker (:func:`set_threads` in the worker
process), so one policy covers a single study, a comparison and a sweep. Only torch's
intra-op pool is set: its inter-op pool can be sized only before its first use and is not
what these models spend their time in. A study's ``summary.json`` records the value it ran
with (``"threads"``). This module imports nothing heavy; torch is imported when a policy
is applied.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = [
    "DEFAULT_THREADS",
    "THREAD_ENV",
    "current_threads",
    "resolve_threads",
    "set_threads",
    "thread_policy",
]

#: torch intra-op threads when neither a flag nor the environment says otherwise
DEFAULT_THREADS = 1
#: environment variables read, in this order, when no ``--threads`` is given
THREAD_ENV = ("MBO_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

_current: int | None = None


def _positive(value: object, what: str) -> int:
    text = str(value).strip().split(",")[0]  # OMP_NUM_THREADS may list nested levels: "4,2"
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1 or isinstance(value, bool):
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return n


def resolve_threads(threads: int | None = None) -> int:
    """The number of torch threads to use: ``threads`` if given, else the first of
    :data:`THREAD_ENV` that is set, else :data:`DEFAULT_THREADS`. ``ValueError`` for a value
    that is not a positive integer (naming where it came from)."""
    if threads is not None:
        return _positive(threads, "--threads")
    for var in THREAD_ENV:
        value = os.environ.get(var, "").strip()
        if value:
            return _positive(value, var)
    return DEFAULT_THREADS


def set_threads(threads: int | None = None) -> int:
    """Apply the policy in this process (torch's intra-op threads) and return the number."""
    global _current
    n = resolve_threads(threads)
    import torch

    torch.set_num_threads(n)
    _current = n
    return n


@contextlib.contextmanager
def thread_policy(threads: int | None = None) -> Iterator[int]:
    """Apply the policy for the block (yields the number) and restore torch's previous
    setting afterwards, so a caller in the same process (a test, a notebook) keeps its own."""
    global _current
    n = resolve_threads(threads)
    import torch

    before, previous = torch.get_num_threads(), _current
    set_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(before)
        _current = previous


def current_threads() -> int | None:
    """torch's intra-op threads now (what a study runs with), or the last policy applied if
    torch is not imported yet, or ``None``."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.get_num_threads())
    return _current
