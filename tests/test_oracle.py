import math
import os
import pickle
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domains import Oracle, OracleResult


def square_sum(designs):
    return np.asarray(designs, dtype=float).sum(axis=1) ** 2


def die_on_negative(designs):
    arr = np.asarray(designs, dtype=float)
    if (arr < 0).any():
        os._exit(1)  # a crashed worker, not an exception
    return arr.sum(axis=1)


def raise_on_negative(designs):
    arr = np.asarray(designs, dtype=float)
    if (arr < 0).any():
        raise ValueError(f"bad design among {len(arr)}")
    return arr.sum(axis=1)


def drop_negative(designs):
    """A buggy evaluator: leaves the designs it cannot score out of its answer."""
    arr = np.asarray(designs, dtype=float)
    return arr[(arr >= 0).all(axis=1)].sum(axis=1)


def nan_above_ten(designs):
    s = raise_on_negative(designs)
    return np.where(s > 10, np.nan, s)


def always_die(designs):
    os._exit(3)


def key(row):
    return np.asarray(row).tobytes()


def rows(n, start=1.0):
    return np.arange(2 * n, dtype=float).reshape(n, 2) + start  # n distinct designs


class LingerOnVictim:
    """Sums rows; the first worker to get the victim design writes its pid to ``marker`` and
    lingers there (to be killed by the test). Every other chunk takes a moment too, so the
    whole batch is in flight when the kill lands."""

    def __init__(self, marker, victim):
        self.marker, self.victim = str(marker), float(victim)

    def __call__(self, designs):
        arr = np.asarray(designs, dtype=float)
        if (arr == self.victim).all(axis=1).any():
            try:
                fd = os.open(self.marker + ".claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                with open(self.marker + ".tmp", "w") as f:
                    f.write(str(os.getpid()))
                os.replace(self.marker + ".tmp", self.marker)
                time.sleep(30)  # killed here
        time.sleep(0.02)
        return arr.sum(axis=1)


def kill_when_marked(marker, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(marker):
            os.kill(int(open(marker).read()), signal.SIGKILL)
            return
        time.sleep(0.005)


def test_oracle_counts_and_caches():
    o = Oracle(square_sum, key=key)
    x = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]])
    np.testing.assert_allclose(o(x), [9.0, 49.0, 9.0])
    assert o.counts() == {"calls": 1, "queries": 3, "evaluations": 2, "failed": 0}
    o(x[:1])
    assert o.counts() == {"calls": 2, "queries": 4, "evaluations": 2, "failed": 0}


def test_parallel_oracle_equals_serial():
    x = np.random.default_rng(0).normal(size=(300, 3))
    serial = Oracle(square_sum, key=key)(x)
    par = Oracle(square_sum, key=key, workers=2, chunk_size=16)
    np.testing.assert_allclose(par(x), serial)
    par.close()


def test_worker_killed_mid_batch_costs_nothing(tmp_path):
    """A worker killed from outside while the batch is in flight: its chunk is evaluated
    again on a new worker, every result that finished alongside is kept, nothing is nan."""
    x = rows(40)
    marker = tmp_path / "victim.pid"
    o = Oracle(LingerOnVictim(marker, x[21, 0]), key=key, workers=2, chunk_size=4)
    x[21] = x[21, 0]  # the victim design: both entries equal
    killer = threading.Thread(target=kill_when_marked, args=(str(marker),))
    killer.start()
    try:
        with pytest.warns(RuntimeWarning, match="1 oracle worker process"):
            res = o.query(x)
    finally:
        killer.join()
    assert os.path.exists(marker)  # the kill happened mid-batch
    assert o.n_worker_deaths == 1
    np.testing.assert_array_equal(res.values, x.sum(1))
    assert not res.error.any() and res.messages == {} and o.errors == []
    assert o.counts() == {"calls": 1, "queries": 40, "evaluations": 40, "failed": 0}
    np.testing.assert_array_equal(o(x), x.sum(1))  # from the cache
    assert o.n_evaluations == 40
    # idle workers killed between calls are replaced too
    for pid in list(o._pool._processes):
        os.kill(pid, signal.SIGKILL)
    z = rows(12, start=500.0)
    with pytest.warns(RuntimeWarning, match="2 oracle worker process"):
        np.testing.assert_array_equal(o(z), z.sum(1))
    assert o.n_failed == 0
    o.close(wait=True)


def test_design_that_crashes_its_worker_is_isolated():
    o = Oracle(die_on_negative, key=key, workers=2, chunk_size=4)
    x = rows(12)
    x[5] = -1.0  # crashes whichever worker evaluates it
    with pytest.warns(RuntimeWarning, match=r"could not evaluate 1 of 12 designs \(1 crash"):
        res = o.query(x)
    assert res.error.tolist() == [i == 5 for i in range(12)]
    assert np.isnan(res.values[5]) and not res.invalid.any()
    good = np.arange(12) != 5
    np.testing.assert_array_equal(res.values[good], x[good].sum(1))  # its chunk-mates too
    (fail,) = res.failures
    assert fail.index == 5 and fail.kind == "crash" and "exit code 1" in fail.message
    assert fail.attempts == o.retries + 1 and res.messages == {5: fail.message}
    assert o.counts() == {"calls": 1, "queries": 12, "evaluations": 11, "failed": 1}
    # not cached: asking again tries it again (and fails again), the rest comes from the cache
    with pytest.warns(RuntimeWarning, match="could not evaluate 1 of 1 designs"):
        again = o.query(x)
    assert again.error.tolist() == res.error.tolist()
    assert o.counts() == {"calls": 2, "queries": 24, "evaluations": 11, "failed": 2}
    assert [f.call for f in o.drain_errors()] == [1, 2] and o.errors == []
    # the workers were replaced and later calls work
    z = rows(10, start=100.0)
    np.testing.assert_array_equal(o(z), z.sum(1))
    o.close(wait=True)


def test_evaluator_that_kills_every_worker_gives_up():
    o = Oracle(always_die, key=key, workers=2, chunk_size=2, retries=5)
    with pytest.warns(RuntimeWarning, match="could not evaluate 16 of 16"):
        res = o.query(rows(16))
    assert res.error.all() and o.n_evaluations == 0 and o.n_failed == 16
    assert {f.kind for f in res.failures} <= {"crash", "abandoned"}
    assert o.n_worker_deaths <= 8 + 2  # the limit, plus what was in flight
    o.close(wait=True)


@pytest.mark.parametrize("workers", [0, 2])
def test_exception_on_one_design_is_isolated(workers):
    o = Oracle(raise_on_negative, key=key, workers=workers, chunk_size=4)
    x = rows(10)
    x[6] = -2.0
    x = np.concatenate([x, x[6:7]])  # the bad design twice
    with pytest.warns(RuntimeWarning, match=r"1 of 10 designs \(1 exception"):
        res = o.query(x)
    assert np.flatnonzero(res.error).tolist() == [6, 10]
    ok = ~res.error
    np.testing.assert_array_equal(res.values[ok], x[ok].sum(1))
    (fail,) = res.failures
    assert fail.kind == "exception" and fail.message == "ValueError: bad design among 1"
    assert "raise_on_negative" in fail.traceback and fail.attempts == 1
    assert set(res.messages) == {6, 10}
    assert o.counts() == {"calls": 1, "queries": 11, "evaluations": 9, "failed": 1}
    o.close(wait=True)


def test_exception_everywhere_errors_every_design():
    def raise_always(designs):
        raise ZeroDivisionError("boom")

    o = Oracle(raise_always, key=key, chunk_size=2)
    with pytest.warns(RuntimeWarning, match="ZeroDivisionError: boom"):
        res = o.query(np.eye(5))
    assert res.error.all() and np.isnan(res.values).all()
    assert o.counts()["evaluations"] == 0 and o.n_failed == 5 and o._cache == {}


def test_wrong_number_of_values_is_an_error_of_that_design():
    o = Oracle(drop_negative, key=key)
    x = rows(6)
    x[2] = -1.0
    with pytest.warns(RuntimeWarning, match="1 shape"):
        res = o.query(x)
    assert res.error.tolist() == [i == 2 for i in range(6)]
    assert res.messages[2] == "evaluate returned 0 values for 1 design"
    np.testing.assert_array_equal(np.delete(res.values, 2), np.delete(x, 2, axis=0).sum(1))


@pytest.mark.parametrize("workers", [0, 2])
def test_nan_from_evaluate_is_an_invalid_design_not_an_error(workers):
    o = Oracle(nan_above_ten, key=key, workers=workers, chunk_size=2)
    x = rows(6)  # sums 3, 7, 11, 15, ...
    x[1] = -1.0  # and one design the evaluator raises on
    with pytest.warns(RuntimeWarning, match="1 of 6 designs"):
        res = o.query(x)
    assert isinstance(res, OracleResult) and len(res) == 6
    assert res.error.tolist() == [False, True, False, False, False, False]
    assert res.invalid.tolist() == [False, False, True, True, True, True]
    assert set(res.messages) == {1}
    assert o.counts() == {"calls": 1, "queries": 6, "evaluations": 5, "failed": 1}
    with pytest.warns(RuntimeWarning, match="1 of 1 designs"):  # only the error is asked again
        again = o.query(x)
    np.testing.assert_array_equal(again.values, res.values)
    assert o.counts() == {"calls": 2, "queries": 12, "evaluations": 5, "failed": 2}
    o.close(wait=True)


def test_oracle_pickles_without_its_pool():
    o = Oracle(raise_on_negative, key=key, workers=2, chunk_size=2)
    x = rows(4)
    x[0] = -1.0
    with pytest.warns(RuntimeWarning):
        o(x)
    assert o._pool is not None
    clone = pickle.loads(pickle.dumps(o))
    assert clone._pool is None and len(clone.errors) == 1 and clone.counts() == o.counts()
    procs = list(o._pool._processes.values())
    o.close(wait=True)
    assert o._pool is None and not any(p.is_alive() for p in procs)


class RaiseOn:
    def __init__(self, bad):
        self.bad = frozenset(bad)
        self.calls = 0

    def __call__(self, designs):
        self.calls += 1
        arr = np.asarray(designs, dtype=float)
        if any(int(r[0]) in self.bad for r in arr):
            raise RuntimeError("bad")
        return np.where(arr[:, 0] % 5 == 0, np.nan, arr.sum(1))  # some invalid designs


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(0, 30), min_size=1, max_size=40),
    bad=st.sets(st.integers(0, 30), max_size=8),
    chunk=st.integers(1, 9),
)
def test_errors_are_exactly_the_bad_designs(ids, bad, chunk):
    """In-process: good designs always get their direct score (nan: invalid), the error mask
    is exactly the bad designs, nothing bad is cached, and the counters add up."""
    evaluate = RaiseOn(bad)
    o = Oracle(evaluate, key=key, chunk_size=chunk)
    x = np.array([[i, 2 * i] for i in ids], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = o.query(x)
    is_bad = np.array([i in bad for i in ids])
    assert res.error.tolist() == is_bad.tolist()
    direct = np.where(x[:, 0] % 5 == 0, np.nan, x.sum(1))
    np.testing.assert_array_equal(res.values[~is_bad], direct[~is_bad])
    assert np.isnan(res.values[is_bad]).all()
    n_bad, n_good = len(set(ids) & bad), len(set(ids) - bad)
    assert o.counts() == {"calls": 1, "queries": len(ids), "evaluations": n_good, "failed": n_bad}
    assert len(o._cache) == n_good and len(res.failures) == n_bad
    levels = math.ceil(math.log2(max(chunk, 2)))
    assert evaluate.calls <= 1 + math.ceil(len(set(ids)) / chunk) + 2 * n_bad * levels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        o.query(x)
    assert o.counts()["evaluations"] == n_good and o.counts()["failed"] == 2 * n_bad


def test_a_progress_bar_shows_long_evaluations_and_changes_no_value(capsys):
    x = np.random.default_rng(0).normal(size=(100, 3))
    plain = Oracle(square_sum, key=key, chunk_size=16).query(x)
    shown = Oracle(square_sum, key=key, chunk_size=16).query(x, progress="simulating")
    np.testing.assert_array_equal(plain.values, shown.values)
    err = capsys.readouterr().err
    assert "simulating" in err and "/100" in err


def test_forked_workers_do_not_hang_in_torch_after_the_parent_used_its_threads():
    """A forked worker that calls torch after the parent ran a parallel region used to hang
    for ever in OpenMP (seen in CI with BoTorch test functions)."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import numpy as np, torch
        from domains import Oracle
        torch.set_num_threads(2)
        a = torch.randn(512, 512)
        for _ in range(20):
            a = torch.tanh(a @ a.T / 512)  # the parent's OpenMP pool is now up
        def evaluate(x):
            t = torch.as_tensor(np.asarray(x, dtype=float))
            return torch.tanh(t.repeat(1, 2000)).sum(1).numpy()
        def key(row):
            return np.asarray(row).tobytes()
        o = Oracle(evaluate, key=key, workers=2, chunk_size=8, mp_context="fork")
        print(np.isfinite(o(np.random.default_rng(0).normal(size=(32, 64)))).all())
        o.close(wait=True)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "True", proc.stderr[-2000:]
