import os

import numpy as np
import pytest

from domains import Oracle, OracleError


def square_sum(designs):
    return np.asarray(designs, dtype=float).sum(axis=1) ** 2


def die_on_negative(designs):
    arr = np.asarray(designs, dtype=float)
    if (arr < 0).any():
        os._exit(1)  # a crashed worker, not an exception
    return arr.sum(axis=1)


def raise_always(designs):
    raise ZeroDivisionError("boom")


def key(row):
    return np.asarray(row).tobytes()


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


def test_crashed_worker_gives_nan_not_a_lost_run():
    o = Oracle(die_on_negative, key=key, workers=2, chunk_size=4)
    x = np.arange(24, dtype=float).reshape(12, 2) + 1.0  # 12 distinct designs
    x[5] = -1.0  # kills the worker evaluating the second chunk
    with pytest.warns(RuntimeWarning, match="worker process died"):
        y = o(x)
    assert np.isnan(y[4:8]).all()
    assert o.n_failed >= 4 and np.isnan(y).sum() == o.n_failed
    np.testing.assert_allclose(y[:4], x[:4].sum(1))
    # the pool is rebuilt and later calls work
    z = np.arange(20, dtype=float).reshape(10, 2) + 100.0
    np.testing.assert_allclose(o(z), z.sum(1))
    o.close()


def test_exception_in_evaluate_is_a_clear_error():
    with pytest.raises(OracleError, match="boom"):
        Oracle(raise_always, key=key)(np.ones((2, 2)))


def test_wrong_number_of_values_is_an_error():
    with pytest.raises(OracleError, match="returned 1 values for 2 designs"):
        Oracle(lambda d: np.zeros(1), key=key)(np.eye(2))
