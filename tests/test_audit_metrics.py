"""The audit and the metrics: do they detect a fooled surrogate, and not a faithful one?"""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import LinearSurrogate, TrueFunctionSurrogate

from mbo import GradientAscent, SurrogateObjective, audit, random_direction_control, summarize
from mbo.evaluation.metrics import curves, spearman
from mbo.registry import DOMAINS
from surrogates._base import spread


def _ascend(domain, surrogate, steps=100, lr=None, method="gd", k=32):
    off = domain.offline()
    surrogate.fit(domain.space.features(off.x), torch.as_tensor(off.y, dtype=torch.float32))
    loc, scale = off.x.mean(0), spread(off.x)
    obj = SurrogateObjective(
        surrogate, domain.space.features, loc=float(off.y.mean()), scale=float(off.y.std())
    )
    traj = GradientAscent(steps=steps, lr=lr, method=method).run(
        obj, off.top(k).x, domain.space, loc, scale
    )
    ctrl = random_direction_control(traj, domain.space, loc, scale, seed=0)
    return off, traj, audit(domain, surrogate, traj, ctrl)


def test_surrogate_that_is_the_oracle_has_no_gap_and_fools_no_one():
    d = DOMAINS.make("branin", n_reference=300)
    off, traj, table = _ascend(d, TrueFunctionSurrogate("branin", 2), steps=60)
    s = summarize(table, d_best=float(d.normalize(off.y.max())))
    assert abs(s["gap"]) < 1e-4
    assert s["fooled_rate"] == 0.0
    assert s["true_improvement_rate"] > 0.9  # ascent on the truth improves the truth
    assert s["rank_agreement"] == pytest.approx(1.0, abs=1e-3)
    assert s["impossible_rate"] == 0.0


def test_linear_surrogate_pushed_far_on_interior_maximum_is_fooled():
    # Ackley has its maximum at the centre; a linear model that rises to the right drags
    # designs to the box edge, where Ackley is poor.
    d = DOMAINS.make("ackley", dim=2, n_reference=300)
    off, traj, table = _ascend(d, LinearSurrogate([5.0, 0.0]), steps=200, lr=0.5)
    s = summarize(table)
    assert np.allclose(traj.final[:, 0].numpy(), 32.768)  # projected onto the bound
    assert s["gap"] > 0.5
    assert s["fooled_rate"] > 0.6
    assert s["predicted_mean"] > s["predicted_start_mean"] + 0.5
    assert s["true_mean"] < s["true_start_mean"]


def test_audit_table_shape_and_columns():
    d = DOMAINS.make("branin", n_reference=200)
    off, traj, table = _ascend(d, TrueFunctionSurrogate(), steps=20, k=8)
    c = len(traj.steps)
    assert traj.steps[0] == 0 and traj.steps[-1] == 20
    assert len(table) == c * 8 + 8
    assert set(table["arm"]) == {"ascent", "control"}
    for col in (
        "step",
        "design_id",
        "predicted",
        "predicted_relaxed",
        "true",
        "valid",
        "bound",
        "predicted_norm",
        "true_norm",
        "x0",
        "x1",
    ):
        assert col in table
    start = table[(table.arm == "ascent") & (table.step == 0)]
    np.testing.assert_allclose(np.sort(start["true"].to_numpy()), np.sort(off.top(8).y))
    cur = curves(table)
    assert list(cur["step"]) == traj.steps and (cur["valid"] == 1).all()


def test_audit_asks_the_oracle_once_per_trajectory():
    d = DOMAINS.make("branin", n_reference=100)
    d.reference_data()
    before = d.oracle.n_calls
    _ascend(d, TrueFunctionSurrogate(), steps=10, k=4)
    assert d.oracle.n_calls == before + 1


def _table(pred_start, pred_end, true_start, true_end, bound=np.nan):
    k = len(pred_start)
    rows = []
    for step, p, t in ((0, pred_start, true_start), (10, pred_end, true_end)):
        for i in range(k):
            rows.append(
                {"arm": "ascent", "step": step, "design_id": i, "predicted": p[i], "true": t[i]}
            )
    df = pd.DataFrame(rows)
    df["predicted_relaxed"] = df["predicted"]
    df["valid"] = np.isfinite(df["true"])
    df["bound"] = bound
    for col in ("predicted", "predicted_relaxed", "true", "bound"):
        df[f"{col}_norm"] = df[col]
    return df


def test_metric_definitions_on_a_hand_made_table():
    t = _table(
        pred_start=[0.1, 0.2, 0.3, 0.4],
        pred_end=[0.9, 0.21, 0.8, 1.2],
        true_start=[0.1, 0.2, 0.3, 0.4],
        true_end=[0.05, 0.5, np.nan, 0.3],
        bound=1.0,
    )
    s = summarize(t, fooled_margin=0.02, d_best=0.4)
    # design 0: pred +0.8, true fell -> fooled; 1: pred +0.01 (< δ) -> not fooled;
    # 2: invalid -> fooled (its true score did not rise); 3: pred +0.8, true fell -> fooled
    assert s["fooled_rate"] == pytest.approx(3 / 4)
    assert s["true_improvement_rate"] == pytest.approx(1 / 4)
    assert s["invalid_rate"] == pytest.approx(1 / 4)
    assert s["p100"] == pytest.approx(0.5) and s["p50"] == pytest.approx(0.3)
    assert s["gap"] == pytest.approx(np.mean([0.9 - 0.05, 0.21 - 0.5, 1.2 - 0.3]))
    assert s["impossible_rate"] == pytest.approx(1 / 4)  # 1.2 > bound 1.0
    assert s["d_best"] == 0.4 and math.isnan(s["gradient_advantage"])


def test_gradient_advantage_compares_with_the_control_arm():
    t = _table([0.1, 0.2], [0.5, 0.6], [0.1, 0.2], [0.4, 0.6])
    ctrl = t[t.step == 10].copy()
    ctrl["arm"] = "control"
    ctrl["true_norm"] = [0.1, 0.1]
    s = summarize(pd.concat([t, ctrl]))
    assert s["gradient_advantage"] == pytest.approx(0.5 - 0.1)


def test_spearman():
    a = np.arange(10.0)
    assert spearman(a, a**3) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert math.isnan(spearman(a[:2], a[:2]))


def test_random_direction_control_moves_the_same_distance():
    d = DOMAINS.make("hartmann", n_reference=100)
    off = d.offline()
    loc, scale = off.x.mean(0), spread(off.x)
    x0 = off.top(16).x
    x1 = torch.clamp(x0 + 0.05, 0, 1)
    from mbo import Trajectory

    traj = Trajectory([0, 1], torch.stack([x0, x1]), torch.zeros(2, 16))
    ctrl = random_direction_control(traj, d.space, loc, scale, seed=0)
    moved = ((x1 - x0) / scale).norm(dim=1)
    ctrl_moved = ((ctrl - x0) / scale).norm(dim=1)
    assert (ctrl_moved <= moved + 1e-5).all()  # equal unless the box clipped it
    assert (ctrl_moved > 0.5 * moved).float().mean() > 0.5
    assert not torch.allclose(ctrl, x1)
