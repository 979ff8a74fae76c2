"""An oracle that fails on some designs: the failures are counted apart, never scored."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import LinearSurrogate

from mbo import StudySpec, Trajectory, run_study
from mbo.evaluation import audit, summarize
from mbo.registry import DOMAINS
from mbo.study import OracleFailureError

POISON = (0.25, 0.75)


def poisoned(x: np.ndarray) -> np.ndarray:
    """x0 + x1, raising on the one poisoned design (an evaluator that crashes on it)."""
    if np.any(np.all(np.isclose(x, POISON), axis=1)):
        raise ZeroDivisionError("poisoned design")
    return x.sum(axis=1)


def half_broken(x: np.ndarray) -> np.ndarray:
    """x0 + 0.1 x1 (ascent heads for large x0), raising on every design with x0 > 0.45."""
    if np.any(x[:, 0] > 0.45):
        raise ValueError("broken simulator")
    return x[:, 0] + 0.1 * x[:, 1]


def _domain(fn: str):
    return DOMAINS.make(
        "function",
        function=f"test_oracle_faults_study:{fn}",
        lower=[0.0, 0.0],
        upper=[1.0, 1.0],
        n_reference=60,
    )


def test_one_failing_design_is_an_oracle_error_not_an_invalid_or_fooled_design():
    domain = _domain("poisoned")
    off = domain.offline()
    k = 8
    x0 = off.top(k).x
    x1 = x0.clone()
    x1[3] = torch.tensor(POISON)  # one design ends on the poisoned point
    traj = Trajectory([0, 10], torch.stack([x0, x1]), torch.zeros(2, k))
    sur = LinearSurrogate([1.0, 1.0]).fit(
        domain.space.features(off.x), torch.as_tensor(off.y).float()
    )
    with pytest.warns(RuntimeWarning, match="could not evaluate 1 of"):
        table = audit(domain, sur, traj)
    err = table[table["oracle_error"]]
    assert len(err) == 1 and int(err["design_id"].iloc[0]) == 3 and int(err["step"].iloc[0]) == 10
    # every healthy design kept its exact score, including its batch neighbours
    ok = table[~table["oracle_error"]]
    x = torch.cat([x0, x1])[~torch.as_tensor(table["oracle_error"].to_numpy())]
    np.testing.assert_allclose(ok["true"].to_numpy(), x.sum(1).double().numpy(), rtol=1e-6)
    assert not err["valid"].iloc[0]
    s = summarize(table)
    assert s["oracle_errors"] == 1 and s["invalid_rate"] == 0.0
    assert s["k"] == k and math.isfinite(s["p50"])
    # the failure is not cached: asking again evaluates it again
    before = domain.oracle.counts()["failed"]
    with pytest.warns(RuntimeWarning):
        again = domain.oracle.query(np.array([POISON]))
    assert again.error[0] and domain.oracle.counts()["failed"] == before + 1


def test_a_study_with_too_many_oracle_errors_publishes_no_numbers(tmp_path):
    spec = StudySpec(
        domain="function",
        domain_options={
            "function": "test_oracle_faults_study:half_broken",
            "lower": [0.0, 0.0],
            "upper": [1.0, 1.0],
            "n_reference": 80,
        },
        surrogate="linear",  # its gradient points into the broken half
        surrogate_options={"epochs": 200, "lr": 0.05},
        optimizer_options={"steps": 20, "lr": 0.5, "checkpoint_every": 10},
        k=8,
    )
    with (
        pytest.warns(RuntimeWarning),
        pytest.raises(OracleFailureError, match=r"could not be evaluated by the oracle.*5%"),
    ):
        run_study(spec, tmp_path / "run")
    assert not (tmp_path / "run" / "summary.json").exists()
    assert (tmp_path / "run" / "oracle_errors.json").exists()
