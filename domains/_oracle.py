"""The sealed ground-truth oracle: batched, cached by design, call-counted, optionally parallel.

Two outcomes are kept apart. An **invalid** design is one that ``evaluate`` scored ``nan``: a
real result of optimization, cached like any other value. An **oracle error** is a design the
oracle could not score at all (``evaluate`` raised on it, the worker process evaluating it
died, or ``evaluate`` returned the wrong number of values for it): it also reads ``nan`` in
:meth:`Oracle.__call__`, but it is never cached (the next call evaluates it again), is not
counted in ``n_evaluations`` but in ``n_failed``, and :meth:`Oracle.query` flags it.

Failures are isolated to the designs that cause them. With ``workers > 0`` each worker process
has its own pipe, so the oracle knows which chunk each worker was evaluating: a dead worker
costs only its own chunk (every other result, finished before or alongside the death, is kept)
and is replaced by a new process. A chunk that fails is bisected until the failing design(s)
stand alone, so every healthy design of the chunk still gets its score; a lone design whose
worker died is retried ``retries`` times before it is declared an error (a worker killed from
outside is not the design's fault). This costs at most about ``log2(chunk_size)`` extra rounds.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import signal
import sys
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, NamedTuple

import numpy as np
from tqdm.auto import tqdm

_TRACEBACK_CHARS = 8000  # keep the end of very long worker tracebacks


class OracleError(RuntimeError):
    """The oracle cannot work at all (e.g. its worker processes cannot be started)."""


@dataclass(frozen=True)
class OracleFailure:
    """One design the oracle could not score in one call.

    Attributes:
        index: position of the design in the batch it was asked in (its first occurrence).
        key: ``repr`` of the design's cache key (shortened).
        kind: ``"exception"`` (``evaluate`` raised), ``"crash"`` (the worker process died),
            ``"shape"`` (``evaluate`` returned the wrong number of values) or ``"abandoned"``
            (not tried alone: every evaluation of the batch was crashing its worker).
        message: one line, e.g. ``"ZeroDivisionError: boom"`` or
            ``"worker process died (killed by SIGKILL)"``.
        traceback: the traceback text from where ``evaluate`` raised (``""`` for crashes).
        call: the oracle call it happened in (``n_calls`` at the time).
        attempts: how often the design was tried alone in that call.
    """

    index: int
    key: str
    kind: str
    message: str
    traceback: str = ""
    call: int = 0
    attempts: int = 1


@dataclass(frozen=True)
class OracleResult:
    """What :meth:`Oracle.query` returns for a batch of ``n`` designs.

    Attributes:
        values: ``(n,)`` float64 raw scores, ``nan`` where a design is invalid *or* errored.
        error: ``(n,)`` bool, ``True`` where the oracle could not score the design.
        messages: batch index -> one-line error message, for every errored position.
        failures: one :class:`OracleFailure` per distinct errored design.
    """

    values: np.ndarray
    error: np.ndarray
    messages: dict[int, str] = field(default_factory=dict)
    failures: tuple[OracleFailure, ...] = ()

    @property
    def invalid(self) -> np.ndarray:
        """``(n,)`` bool: scored ``nan`` by the oracle itself (a real outcome, not an error)."""
        return np.isnan(self.values) & ~self.error

    def __len__(self) -> int:
        return len(self.values)


# --- evaluation tasks -------------------------------------------------------------------------
class _Task(NamedTuple):
    idx: list[int]  # positions in the batch of cache misses
    deaths: int = 0  # worker deaths of this exact task so far (only lone designs are retried)


class _Outcome(NamedTuple):
    values: np.ndarray | None
    kind: str = ""  # "" on success
    message: str = ""
    traceback: str = ""


def _take(designs: Any, idx: Sequence[int]) -> Any:
    if isinstance(designs, np.ndarray):
        return designs[np.asarray(idx, dtype=int)]
    return [designs[i] for i in idx]


def _short(obj: Any, limit: int = 200) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _exception_outcome(err: BaseException) -> _Outcome:
    text = "".join(traceback.format_exception(err))[-_TRACEBACK_CHARS:]
    return _Outcome(None, "exception", f"{type(err).__name__}: {err}", text)


def _checked(values: Any, n: int) -> _Outcome:
    try:
        values = np.asarray(values, dtype=np.float64).reshape(-1)
    except Exception as err:
        return _exception_outcome(err)
    if values.shape != (n,):
        noun = "design" if n == 1 else "designs"
        return _Outcome(None, "shape", f"evaluate returned {values.shape[0]} values for {n} {noun}")
    return _Outcome(values)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running, killed"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


# --- worker processes -------------------------------------------------------------------------
def _worker_main(conn: Connection, parent_end: Connection | None, evaluate: Callable) -> None:
    """Loop of one worker: receive ``(tag, designs)``, send ``(tag, values, None)`` or
    ``(tag, None, (message, traceback))``; ``None`` or a closed pipe ends it."""
    if parent_end is not None:  # fork: our copy of the parent's end would hide its death
        parent_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    torch = sys.modules.get("torch")
    if torch is not None:
        # a forked child must not enter an OpenMP region: the parent's thread pool did not
        # survive the fork, and an evaluator calling torch (BoTorch test functions) would hang
        # for ever. One thread keeps torch out of parallel regions (as DataLoader workers do).
        torch.set_num_threads(1)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        tag, designs = msg
        try:
            values = np.asarray(evaluate(designs), dtype=np.float64).reshape(-1)
            reply = (tag, values, None)
        except BaseException as err:
            out = _exception_outcome(err)
            reply = (tag, None, (out.message, out.traceback))
        try:
            conn.send(reply)
        except (OSError, ValueError):  # the parent is gone
            return


class _Worker:
    __slots__ = ("process", "conn", "task")

    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.task: tuple[int, _Task] | None = None


class _WorkerPool:
    """``size`` worker processes, each with its own pipe: the parent knows which task each
    worker runs, so a dead worker costs exactly its task, and is replaced on demand."""

    def __init__(self, evaluate: Callable, size: int, mp_context: str | None) -> None:
        self._ctx = mp.get_context(mp_context)
        self._fork = self._ctx.get_start_method() == "fork"
        self._evaluate = evaluate
        self.size = max(1, int(size))
        self._workers: list[_Worker] = []
        self.deaths = 0

    @property
    def _processes(self) -> dict[int, Any]:
        """pid -> process of the live workers (like ``ProcessPoolExecutor._processes``)."""
        return {w.process.pid: w.process for w in self._workers}

    def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_worker_main,
            args=(child, parent if self._fork else None, self._evaluate),
            name="oracle-worker",
            daemon=True,  # multiprocessing ends it at exit instead of joining it
        )
        try:
            process.start()
        except Exception as err:
            parent.close()
            raise OracleError(f"cannot start an oracle worker process: {err!r}") from err
        finally:
            child.close()
        worker = _Worker(process, parent)
        self._workers.append(worker)
        return worker

    def _bury(self, worker: _Worker) -> _Outcome:
        """Collect a dead (or broken) worker and describe its death."""
        process = worker.process
        process.join(timeout=2.0)
        if process.exitcode is None:  # its pipe broke but it lives on: end it
            process.kill()
            process.join(timeout=2.0)
        worker.conn.close()
        self._workers.remove(worker)
        self.deaths += 1
        return _Outcome(None, "crash", f"worker process died ({_describe_exit(process.exitcode)})")

    def _receive(self, worker: _Worker, tag: int) -> _Outcome:
        n = len(worker.task[1].idx) if worker.task else 0
        try:
            if worker.conn.poll():
                got, values, err = worker.conn.recv()
                if got == tag:
                    if err is None:
                        return _checked(values, n)
                    return _Outcome(None, "exception", err[0], err[1])
        except Exception:  # EOF, reset, or a message cut short by the death
            pass
        return self._bury(worker)

    def run(
        self,
        queue: deque[_Task],
        payload: Callable[[_Task], Any],
        settle: Callable[[_Task, _Outcome], None],
    ) -> None:
        """Evaluate every task of ``queue`` (``settle`` may append more) until none is left."""
        tag = 0
        while True:
            idle = [w for w in self._workers if w.task is None]
            while queue and (idle or len(self._workers) < self.size):
                worker = idle.pop() if idle else self._start()
                if worker.process.exitcode is not None:  # died after its last result
                    self._bury(worker)  # not charged to any task
                    continue
                task = queue.popleft()
                tag += 1
                try:
                    data = payload(task)
                    worker.conn.send((tag, data))
                except (OSError, ValueError):  # its pipe is broken: it died
                    settle(task, self._bury(worker))
                    continue
                except Exception as err:  # the designs cannot be sent (pickling)
                    settle(task, _exception_outcome(err))
                    continue
                worker.task = (tag, task)
            busy = [w for w in self._workers if w.task is not None]
            if not busy:
                if queue:
                    continue
                return
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    tag_, task = worker.task
                    outcome = self._receive(worker, tag_)
                    worker.task = None
                    settle(task, outcome)

    def shutdown(self, wait: bool = False, kill: bool = False) -> None:
        """Ask every worker to stop (``kill``: end them now); ``wait`` until they are gone."""
        workers, self._workers = self._workers, []
        for w in workers:
            if kill:
                w.process.kill()
            else:
                try:
                    w.conn.send(None)
                except Exception:
                    pass
            w.conn.close()
        if wait or kill:
            for w in workers:
                w.process.join(timeout=10.0 if not kill else 2.0)
                if w.process.exitcode is None:
                    w.process.kill()
                    w.process.join(timeout=2.0)


# --- the oracle ------------------------------------------------------------------------------
class Oracle:
    """Ground truth for a domain.

    Calling it evaluates a batch of concrete designs and returns raw scores ``(n,)`` as a
    float64 array, ``nan`` where a design is invalid or could not be evaluated;
    :meth:`query` returns the same scores with the error mask and messages
    (:class:`OracleResult`). Scores are cached by ``key(design)``; errors never are.
    Counters record what was asked (``n_queries``), what was actually evaluated
    (``n_evaluations``, successful evaluations only), the designs that could not be
    evaluated (``n_failed``, once per call they fail in) and how many batches came in
    (``n_calls``). Every error is recorded in :attr:`errors` (see :meth:`drain_errors`) and a
    call with errors warns one line.

    With ``workers > 0`` all cache misses are evaluated on worker processes, in chunks of at
    most ``chunk_size`` designs (smaller when that keeps every worker busy), so a design that
    crashes its process cannot take the caller down; with ``workers=0`` they are evaluated in
    this process (exceptions are isolated, hard crashes are not).

    Args:
        evaluate: picklable function ``designs -> np.ndarray`` evaluating a batch.
        key: maps one design to a hashable cache key.
        workers: worker processes for cache misses (0 evaluates in this process).
        chunk_size: most designs per worker task.
        mp_context: multiprocessing start method for the workers (default: the platform's).
        retries: how often a lone design whose worker died is tried again before it counts
            as an error.
    """

    def __init__(
        self,
        evaluate: Callable[[Any], np.ndarray],
        key: Callable[[Any], Hashable],
        workers: int = 0,
        chunk_size: int = 64,
        mp_context: str | None = None,
        retries: int = 2,
    ) -> None:
        self._evaluate = evaluate
        self._key = key
        self.workers = int(workers)
        self.chunk_size = max(1, int(chunk_size))
        self.mp_context = mp_context
        self.retries = max(0, int(retries))
        self._cache: dict[Hashable, float] = {}
        self._pool: _WorkerPool | None = None
        self.errors: list[OracleFailure] = []
        self.n_calls = 0
        self.n_queries = 0
        self.n_evaluations = 0
        self.n_failed = 0
        self.n_worker_deaths = 0

    # --- asking -------------------------------------------------------------------------------
    def __call__(self, designs: Any) -> np.ndarray:
        """Raw scores ``(n,)`` float64, ``nan`` where invalid or not evaluated (see :meth:`query`)."""
        return self._query(designs, stacklevel=3).values

    def query(self, designs: Any, progress: str | None = None) -> OracleResult:
        """Scores of a batch with the designs that could not be evaluated flagged.

        ``progress``: a label to show a progress bar over the designs evaluated (cache misses
        only), for long batches such as a car domain's reference simulation; in-process
        evaluation is then done in ``chunk_size`` pieces so the bar can move."""
        return self._query(designs, stacklevel=3, progress=progress)

    def _query(self, designs: Any, stacklevel: int, progress: str | None = None) -> OracleResult:
        n = len(designs)
        self.n_calls += 1
        self.n_queries += n
        keys = [self._key(designs[i]) for i in range(n)]
        missing: dict[Hashable, int] = {}
        for i, k in enumerate(keys):
            if k not in self._cache and k not in missing:
                missing[k] = i
        failed: dict[Hashable, OracleFailure] = {}
        deaths = self.n_worker_deaths
        if missing:
            bar = None
            if progress:
                bar = tqdm(total=len(missing), desc=progress, unit="design", leave=False)
            try:
                values, outcomes = self._resolve(_take(designs, list(missing.values())), bar)
            finally:
                if bar is not None:
                    bar.close()
            for j, (k, i) in enumerate(missing.items()):
                if j in outcomes:
                    out, attempts = outcomes[j]
                    failed[k] = OracleFailure(
                        index=i,
                        key=_short(k),
                        kind=out.kind,
                        message=out.message,
                        traceback=out.traceback,
                        call=self.n_calls,
                        attempts=attempts,
                    )
                else:
                    self._cache[k] = float(values[j])
            self.n_evaluations += len(missing) - len(failed)
            self.n_failed += len(failed)
            self.errors.extend(failed.values())
            if failed:
                self._warn(failed, len(missing), stacklevel + 1)
            elif self.n_worker_deaths > deaths:
                warnings.warn(
                    f"{self.n_worker_deaths - deaths} oracle worker process(es) died during "
                    "this call; their designs were evaluated again",
                    RuntimeWarning,
                    stacklevel=stacklevel,
                )
        error = np.fromiter((k in failed for k in keys), dtype=bool, count=n)
        values = np.array(
            [np.nan if e else self._cache[k] for k, e in zip(keys, error, strict=True)]
        )
        messages = {i: failed[keys[i]].message for i in np.flatnonzero(error).tolist()}
        return OracleResult(
            values.astype(np.float64).reshape(n),
            error,
            messages,
            tuple(failed.values()),
        )

    @staticmethod
    def _warn(failed: dict[Hashable, OracleFailure], n: int, stacklevel: int) -> None:
        kinds: dict[str, int] = {}
        for f in failed.values():
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        what = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
        first = next(iter(failed.values()))
        warnings.warn(
            f"oracle could not evaluate {len(failed)} of {n} designs ({what}; first: "
            f"{first.message}); they read nan, are not cached, and are listed in Oracle.errors",
            RuntimeWarning,
            stacklevel=stacklevel,
        )

    # --- evaluating cache misses ------------------------------------------------------------
    def _resolve(
        self, designs: Any, bar: Any = None
    ) -> tuple[np.ndarray, dict[int, tuple[_Outcome, int]]]:
        """Scores of ``designs`` (all cache misses) and, for each one that could not be
        scored, its last failed outcome and how often it was tried alone; ``bar`` (tqdm)
        advances by every design settled."""
        n = len(designs)
        values = np.full(n, np.nan)
        failures: dict[int, tuple[_Outcome, int]] = {}
        queue: deque[_Task] = deque()
        tally = {"ok": 0, "crash": 0}
        blind_limit = max(8, 2 * self.workers)  # crashes before the first success

        def settle(task: _Task, out: _Outcome) -> None:
            if out.kind == "":
                values[task.idx] = out.values
                tally["ok"] += 1
                if bar is not None:
                    bar.update(len(task.idx))
                return
            if out.kind == "crash":
                tally["crash"] += 1
                if tally["ok"] == 0 and tally["crash"] >= blind_limit:
                    # every evaluation so far killed its worker: a broken evaluator, not bad
                    # designs; stop respawning and give every design left up.
                    msg = (
                        f"not evaluated: {tally['crash']} worker crashes and no successful "
                        f"evaluation in this batch (last: {out.message})"
                    )
                    gave_up = _Outcome(None, "abandoned", msg)
                    for t in [task, *queue]:
                        for i in t.idx:
                            failures[i] = (gave_up, 0)
                    queue.clear()
                    return
            if len(task.idx) > 1:  # split: the whole batch into chunks, a chunk in halves
                step = (
                    self.chunk_size if len(task.idx) > self.chunk_size else -(-len(task.idx) // 2)
                )
                queue.extend(_Task(task.idx[i : i + step]) for i in range(0, len(task.idx), step))
            elif out.kind == "crash" and task.deaths < self.retries:
                queue.append(_Task(task.idx, task.deaths + 1))
            else:
                failures[task.idx[0]] = (out, task.deaths + 1)
                if bar is not None:
                    bar.update(1)

        if self.workers <= 0:
            # one call (split only if it fails); in chunks when a progress bar must move
            step = self.chunk_size if bar is not None else max(n, 1)
            queue.extend(_Task(list(range(i, min(i + step, n)))) for i in range(0, n, step))
            while queue:
                task = queue.popleft()
                try:
                    out = _checked(self._evaluate(_take(designs, task.idx)), len(task.idx))
                except Exception as err:
                    out = _exception_outcome(err)
                settle(task, out)
        else:
            size = max(1, min(self.chunk_size, math.ceil(n / self.workers)))
            queue.extend(_Task(list(range(i, min(i + size, n)))) for i in range(0, n, size))
            pool = self._get_pool()
            deaths = pool.deaths
            try:
                pool.run(queue, lambda t: _take(designs, t.idx), settle)
            except BaseException:  # e.g. Ctrl-C: do not leave workers half way
                self.close(kill=True)
                raise
            finally:
                self.n_worker_deaths += pool.deaths - deaths
        return values, failures

    def _get_pool(self) -> _WorkerPool:
        if self._pool is None:
            self._pool = _WorkerPool(self._evaluate, self.workers, self.mp_context)
        return self._pool

    # --- the rest ------------------------------------------------------------------------------
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

    def drain_errors(self) -> list[OracleFailure]:
        """The error records collected so far (oldest first); empties :attr:`errors`."""
        out, self.errors = self.errors, []
        return out

    def close(self, wait: bool = False, kill: bool = False) -> None:
        """Shut the worker processes down (they are restarted on the next call that needs
        them); ``wait`` until they have exited, ``kill`` them without waiting for their work."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.shutdown(wait=wait, kill=kill)

    def clear_cache(self) -> None:
        self._cache.clear()

    def counts(self) -> dict[str, int]:
        """``calls``, ``queries``, ``evaluations`` (successful) and ``failed`` (designs that
        could not be evaluated, once per call)."""
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

    def __setstate__(self, state: dict) -> None:
        state.setdefault("retries", 2)
        state.setdefault("errors", [])
        state.setdefault("n_worker_deaths", 0)
        self.__dict__.update(state)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
