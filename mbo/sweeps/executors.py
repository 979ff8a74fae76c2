"""Executors run a function over many inputs: in this process, on a local process pool, or
on Ray (a local instance or a cluster). One interface, so a sweep runs the same on each.

Every executor yields ``(index, result)`` pairs as results arrive (in any order). The
function must be importable by workers (a module-level function of plain, picklable data).
It is called as ``fn(item, threads)`` after :func:`mbo.runtime.set_threads` has applied the
thread policy (``threads`` per task; default: the policy's choice, one thread unless the
environment says otherwise) in the process that runs it.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from ..runtime import resolve_threads, set_threads, thread_policy

EXECUTORS = ("local", "ray")


def cpu_count() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _pinned(fn: Callable[..., dict[str, Any]], item: Any, threads: int) -> dict[str, Any]:
    """``fn(item, threads)`` under the thread policy (the worker side of every executor)."""
    set_threads(threads)
    return fn(item, threads)


#: broken pools a task may be caught in before it is reported failed
MAX_BREAKS = 3


class LocalExecutor:
    """A process pool of ``workers`` (default: one per CPU core); ``workers=1`` runs in this
    process. ``threads`` torch threads per task (default: :func:`mbo.runtime.resolve_threads`).
    A worker that dies (segfault, OOM kill) breaks the pool; the tasks that were not finished
    run again on a new pool, and a task comes back as ``{"status": "failed", ...}`` only after
    :data:`MAX_BREAKS` pools broke under it (a study that kills its worker every time)."""

    def __init__(self, workers: int | None = None, threads: int | None = None) -> None:
        self.workers = cpu_count() if workers is None else int(workers)
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.threads = resolve_threads(threads)

    def map_unordered(
        self, fn: Callable[..., dict[str, Any]], items: list[Any]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        if self.workers == 1 or len(items) == 1:
            with thread_policy(self.threads):  # restored afterwards: this is the caller's process
                for i, item in enumerate(items):
                    yield i, fn(item, self.threads)
            return
        ctx = mp.get_context("spawn")  # torch and fork do not mix
        todo = dict(enumerate(items))  # not finished yet
        broken = dict.fromkeys(todo, 0)  # pools each task was in flight in when one broke
        while todo:
            with ProcessPoolExecutor(min(self.workers, len(todo)), mp_context=ctx) as pool:
                futures = {
                    pool.submit(_pinned, fn, item, self.threads): i for i, item in todo.items()
                }
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in done:
                        i = futures[f]
                        try:
                            result = f.result()
                        except BrokenProcessPool as err:
                            # a dead worker breaks the whole pool: every task in it comes back
                            # broken; run them again on a new pool, and fail only a task that
                            # was in flight in MAX_BREAKS broken pools
                            broken[i] += 1
                            if broken[i] < MAX_BREAKS:
                                continue
                            result = _died(err)
                        del todo[i]
                        yield i, result

    def close(self) -> None:
        pass


class RayExecutor:
    """Tasks on Ray: ``address`` of a running cluster (``"auto"``, ``"ray://host:10001"``, ...)
    or ``None`` to start a local instance with ``workers`` CPUs (default: all cores). Each task
    asks for one CPU and runs with ``threads`` torch threads (default:
    :func:`mbo.runtime.resolve_threads` on the driver). Needs ``pip install .[ray]`` here and
    the project installed on every node; results travel back to the driver, so nodes need no
    shared file system."""

    def __init__(
        self, workers: int | None = None, address: str | None = None, threads: int | None = None
    ) -> None:
        try:
            import ray
        except ImportError as err:
            raise ValueError(
                "the ray executor needs Ray: pip install 'mbo-sandbox[ray]' (or pip install ray)"
            ) from err
        self.ray = ray
        self.threads = resolve_threads(threads)
        self._started = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address:
                ray.init(address=address, **kwargs)
            else:
                ray.init(num_cpus=workers or cpu_count(), **kwargs)
            self._started = True

    def map_unordered(
        self, fn: Callable[..., dict[str, Any]], items: list[Any]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=0)(_pinned)
        refs = {remote.remote(fn, item, self.threads): i for i, item in enumerate(items)}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    yield refs[ref], ray.get(ref)
                except Exception as err:  # noqa: BLE001 - a worker crash fails one task
                    yield refs[ref], _died(err)

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()


def _died(err: BaseException) -> dict[str, Any]:
    return {
        "status": "failed",
        "error": f"worker died: {type(err).__name__}: {err}",
        "traceback": "",
        "seconds": 0.0,
    }


def make_executor(
    name: str = "local",
    workers: int | None = None,
    address: str | None = None,
    threads: int | None = None,
) -> LocalExecutor | RayExecutor:
    """``"local"`` or ``"ray"``; ``address`` only for Ray; ``threads`` per task (default: the
    thread policy of :mod:`mbo.runtime`)."""
    if name == "local":
        if address:
            raise ValueError("--address is for the ray executor")
        return LocalExecutor(workers, threads=threads)
    if name == "ray":
        return RayExecutor(workers, address=address, threads=threads)
    raise ValueError(f"unknown executor {name!r}; choose from {EXECUTORS}")
