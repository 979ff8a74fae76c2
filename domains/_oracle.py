"""The sealed ground-truth oracle: batched, cached by design, call-counted, optionally parallel."""

from __future__ import annotations

import multiprocessing as mp
import warnings
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np


class OracleError(RuntimeError):
    """The oracle's evaluation function raised on a batch of designs."""


def _take(designs: Any, idx: Sequence[int]) -> Any:
    if isinstance(designs, np.ndarray):
        return designs[np.asarray(idx, dtype=int)]
    return [designs[i] for i in idx]


class Oracle:
    """Ground truth for a domain.

    Calling it evaluates a batch of concrete designs and returns raw scores ``(n,)`` as a
    float64 array, ``nan`` where a design is invalid. Results are cached by ``key(design)``;
    counters record what was asked (``n_queries``), what was actually evaluated
    (``n_evaluations``) and how many batches came in (``n_calls``). With ``workers > 0`` the
    cache misses are evaluated in chunks on a process pool; a worker that dies gives ``nan``
    for its chunk (counted in ``n_failed``) with a warning, while an exception raised by
    ``evaluate`` itself is re-raised as :class:`OracleError`.

    Args:
        evaluate: picklable function ``designs -> np.ndarray`` evaluating a batch.
        key: maps one design to a hashable cache key.
        workers: worker processes for cache misses (0 evaluates in this process).
        chunk_size: designs per worker task.
        mp_context: multiprocessing start method for the pool.
    """

    def __init__(
        self,
        evaluate: Callable[[Any], np.ndarray],
        key: Callable[[Any], Hashable],
        workers: int = 0,
        chunk_size: int = 64,
        mp_context: str | None = None,
    ) -> None:
        self._evaluate = evaluate
        self._key = key
        self.workers = int(workers)
        self.chunk_size = int(chunk_size)
        self.mp_context = mp_context
        self._cache: dict[Hashable, float] = {}
        self._pool: ProcessPoolExecutor | None = None
        self.n_calls = 0
        self.n_queries = 0
        self.n_evaluations = 0
        self.n_failed = 0

    def __call__(self, designs: Any) -> np.ndarray:
        n = len(designs)
        self.n_calls += 1
        self.n_queries += n
        keys = [self._key(designs[i]) for i in range(n)]
        missing: dict[Hashable, int] = {}
        for i, k in enumerate(keys):
            if k not in self._cache and k not in missing:
                missing[k] = i
        if missing:
            idx = list(missing.values())
            values = self._run(_take(designs, idx))
            self.n_evaluations += len(idx)
            for k, v in zip(missing, values, strict=True):
                self._cache[k] = float(v)
        return np.array([self._cache[k] for k in keys], dtype=np.float64)

    def key(self, design: Any) -> Hashable:
        """The cache key of one design (equal keys mean the same design)."""
        return self._key(design)

    def prime(self, designs: Any, values: Any) -> None:
        """Seed the cache with known values (e.g. a reference set labeled earlier); not counted."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if len(designs) != len(values):
            raise ValueError(f"{len(designs)} designs but {len(values)} values")
        for i, v in enumerate(values):
            self._cache.setdefault(self._key(designs[i]), float(v))

    def _run(self, designs: Any) -> np.ndarray:
        n = len(designs)
        if self.workers <= 0 or n <= self.chunk_size:
            return self._checked(self._evaluate_safe(designs), n)
        chunks = [list(range(i, min(i + self.chunk_size, n))) for i in range(0, n, self.chunk_size)]
        out = np.full(n, np.nan)
        pool = self._get_pool()
        futures = [pool.submit(self._evaluate, _take(designs, c)) for c in chunks]
        broken = False
        for c, f in zip(chunks, futures, strict=True):
            try:
                out[c] = self._checked(f.result(), len(c))
            except BrokenProcessPool:
                broken = True
                self.n_failed += len(c)
            except OracleError:
                raise
            except Exception as err:  # raised inside evaluate
                raise OracleError(f"oracle evaluation failed: {err!r}") from err
        if broken:
            warnings.warn(
                "an oracle worker process died; its designs score nan", RuntimeWarning, stacklevel=3
            )
            self.close()
        return out

    def _evaluate_safe(self, designs: Any) -> np.ndarray:
        try:
            return self._evaluate(designs)
        except Exception as err:
            raise OracleError(f"oracle evaluation failed: {err!r}") from err

    @staticmethod
    def _checked(values: Any, n: int) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        if values.shape != (n,):
            raise OracleError(f"oracle returned {values.shape[0]} values for {n} designs")
        return values

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = mp.get_context(self.mp_context) if self.mp_context else None
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self._pool

    def close(self, wait: bool = False) -> None:
        """Shut the worker pool down (it is restarted on the next call that needs it);
        ``wait`` until its processes have exited."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None

    def clear_cache(self) -> None:
        self._cache.clear()

    def counts(self) -> dict[str, int]:
        return {
            "calls": self.n_calls,
            "queries": self.n_queries,
            "evaluations": self.n_evaluations,
            "failed": self.n_failed,
        }

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_pool"] = None
        return state

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
