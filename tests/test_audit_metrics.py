"""The audit and the metrics: do they detect a fooled surrogate, and not a faithful one?"""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import LinearSurrogate, TrueFunctionSurrogate
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from domains import CategoricalSpace
from mbo import GradientAscent, SurrogateObjective, audit, random_direction_control, summarize
from mbo.evaluation import distance_ratio
from mbo.evaluation.metrics import INVALID_SCORE, curves, peak_and_stops, spearman
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
    # overestimation rise (pred - true at end minus at start): design 0: 0.85, true fell ->
    # fooled; 1: -0.29 -> not fooled; 2: invalid -> unscored, neither; 3: 0.9, true fell
    assert s["fooled_rate"] == pytest.approx(2 / 3)
    assert s["overestimation"] == pytest.approx(np.mean([0.85, -0.29, 0.9]))
    assert s["gap_start"] == pytest.approx(0.0)
    assert s["true_improvement_rate"] == pytest.approx(1 / 4)
    assert s["invalid_rate"] == pytest.approx(1 / 4)
    # the invalid design counts at the floor 0 in the batch's percentiles
    assert s["p100"] == pytest.approx(0.5) and s["p50"] == pytest.approx(0.175)
    assert s["p50_valid"] == pytest.approx(0.3)
    assert s["gap"] == pytest.approx(np.mean([0.9 - 0.05, 0.21 - 0.5, 1.2 - 0.3]))
    assert s["impossible_rate"] == pytest.approx(1 / 4)  # 1.2 > bound 1.0
    assert s["d_best"] == 0.4 and math.isnan(s["gradient_advantage"])


def test_invalid_designs_count_as_failures_not_as_missing():
    """97 of 100 designs invalid: the batch's median is the floor, not its survivors' median;
    the peak of the mean true score is the start, where every design was valid."""
    k = 100
    end = [np.nan] * 97 + [0.9, 0.95, 1.0]
    t = _table([0.5] * k, [2.0] * k, [0.6] * k, end)
    s = summarize(t, d_best=0.6)
    assert s["p50"] == pytest.approx(INVALID_SCORE) and s["p100"] == pytest.approx(1.0)
    assert s["p50_valid"] == pytest.approx(0.95)
    assert s["true_mean"] == pytest.approx((0.9 + 0.95 + 1.0) / k)
    assert s["invalid_rate"] == pytest.approx(0.97)
    assert s["peak_step"] == 0 and s["regret_final"] == pytest.approx(0.6 - s["true_mean"])
    # an oracle error is no outcome at all: left out, never counted at the floor
    t["oracle_error"] = False
    t.loc[(t["step"] == 10) & t["true"].isna(), "oracle_error"] = True
    s = summarize(t, d_best=0.6)
    assert s["p50"] == pytest.approx(0.95) and s["invalid_rate"] == 0


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


def test_a_constant_bias_is_not_being_fooled():
    """A model biased low by a constant: large negative gap, zero overestimation, no fooled."""
    rng = np.random.default_rng(0)
    true_start = rng.uniform(0, 1, 32)
    true_end = true_start + rng.normal(0, 0.2, 32)  # some rise, some fall
    t = _table(true_start - 0.3, true_end - 0.3, true_start, true_end)
    s = summarize(t, fooled_margin=0.1, label_sd=0.2)
    assert s["gap"] == pytest.approx(-0.3) and s["gap_start"] == pytest.approx(-0.3)
    assert s["overestimation"] == pytest.approx(0.0, abs=1e-12)
    assert s["fooled_rate"] == 0.0
    # biased low AND fooled: the prediction climbs 0.2 while the truth falls 0.1; the gap
    # stays negative (-0.3 -> 0.0), yet every design was fooled
    t = _table(true_start - 0.3, true_start - 0.1, true_start, true_start - 0.1)
    s = summarize(t, fooled_margin=0.1, label_sd=0.2)
    assert s["gap"] == pytest.approx(0.0, abs=1e-12) and s["gap_start"] == pytest.approx(-0.3)
    assert s["overestimation"] == pytest.approx(0.3) and s["fooled_rate"] == 1.0


def test_the_fooled_margin_scales_with_the_offline_label_spread():
    t = _table([0.0, 0.0], [0.02, 0.02], [0.0, 0.0], [0.0, 0.0])  # pred +0.02, truth flat
    assert summarize(t, fooled_margin=0.1, label_sd=0.5)["fooled_rate"] == 0.0  # δ = 0.05
    s = summarize(t, fooled_margin=0.1, label_sd=0.01)  # δ = 0.001: a narrow offline set
    assert s["fooled_rate"] == 1.0 and s["fooled_delta"] == pytest.approx(0.001)


def test_rank_agreement_headline_is_the_final_checkpoint():
    t = _table(
        [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4]
    )
    s = summarize(t)
    assert s["rank_agreement"] == pytest.approx(-1.0)
    assert s["rank_agreement_pooled"] > -1.0


@given(
    hnp.arrays(np.float64, st.integers(3, 30), elements=st.floats(-1e3, 1e3)),
    st.integers(0, 2**31 - 1),
)
@settings(max_examples=60, deadline=None)
def test_spearman_matches_scipy(a, seed):
    b = a + np.random.default_rng(seed).normal(0, 1, len(a))
    expected = stats.spearmanr(a, b).statistic
    got = spearman(a, b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-12)


def test_stopping_rules_on_a_hand_built_trajectory():
    """Steps 0..4; mean true 0.5, 0.7, 0.6, 0.3, 0.1 (peak at step 1); the prediction climbs
    0.5, 0.9, 1.0, 1.05, 1.06; the median distance from the data 0, 1, 2, 3, 4 with spacing 1;
    the std doubles after step 2."""
    rows = []
    true = [0.5, 0.7, 0.6, 0.3, 0.1]
    pred = [0.5, 0.9, 1.0, 1.05, 1.06]
    std = [0.1, 0.12, 0.15, 0.25, 0.4]
    for step in range(5):
        for i in range(3):
            rows.append(
                {
                    "arm": "ascent",
                    "step": step,
                    "design_id": i,
                    "predicted_norm": pred[step],
                    "true_norm": true[step],
                    "offline_distance": float(step),
                    "predicted_std_norm": std[step],
                }
            )
    s = peak_and_stops(pd.DataFrame(rows), label_sd=0.2, d_best=0.8, spacing=1.0)
    assert (s["peak_step"], s["peak_true"]) == (1, pytest.approx(0.7))
    assert s["regret_final"] == pytest.approx(0.6)
    # distance: median > 2 * spacing first at step 3 -> stop at 2: regret 0.7 - 0.6
    assert s["stop_distance_step"] == 2 and s["stop_distance_regret"] == pytest.approx(0.1)
    # disagreement: std > 2 * 0.1 first at step 3 -> stop at 2
    assert s["stop_disagreement_step"] == 2
    # plateau: predicted rise < 0.1 * 0.2 = 0.02 first at step 4 (1.05 -> 1.06)
    assert s["stop_plateau_step"] == 4 and s["stop_plateau_regret"] == pytest.approx(0.6)
    # beyond data: prediction > 0.8 + 0.2 first at step 3 -> stop at 2
    assert s["stop_beyond_data_step"] == 2
    # without a std the disagreement rule does not apply
    rows_no_std = pd.DataFrame(rows).drop(columns="predicted_std_norm")
    assert math.isnan(peak_and_stops(rows_no_std, 0.2, 0.8, 1.0)["stop_disagreement_regret"])


def _moved_ratio(traj, ctrl, space, loc, scale):
    r = distance_ratio(traj, ctrl, space, loc, scale)
    return r[np.isfinite(r)]


def test_random_direction_control_moves_exactly_as_far_on_a_box_with_designs_at_its_edge():
    d = DOMAINS.make("hartmann", n_reference=100)
    off = d.offline()
    loc, scale = off.x.mean(0), spread(off.x)
    x0 = off.top(32).x.clone()
    x0[:8, 0] = 1.0  # on a face
    x0[8:12] = 0.0  # in a corner
    g = torch.Generator().manual_seed(0)
    x1 = d.space.project(x0 + 0.3 * torch.randn(x0.shape, generator=g))
    from mbo import Trajectory

    traj = Trajectory([0, 1], torch.stack([x0, x1]), torch.zeros(2, 32))
    ctrl = random_direction_control(traj, d.space, loc, scale, seed=0)
    assert torch.equal(d.space.project(ctrl), ctrl)
    ratio = _moved_ratio(traj, ctrl, d.space, loc, scale)
    assert len(ratio) == 32 and np.abs(ratio - 1).max() < 0.01
    assert not torch.allclose(ctrl, x1)


def test_random_direction_control_changes_as_many_tokens_on_sequences():
    space = CategoricalSpace(12, 6)
    g = torch.Generator().manual_seed(1)
    x0 = space.sample(20, generator=g)
    x1 = x0.clone()
    x1[:, :5] = space.sample(20, generator=g)[:, :5]  # up to 5 tokens changed
    x1[0] = x0[0]  # one design unchanged
    from mbo import Trajectory

    traj = Trajectory([0, 1], torch.stack([x0, x1]), torch.zeros(2, 20))
    ctrl = random_direction_control(traj, space, seed=0)
    changed = (ctrl.argmax(-1) != x0.argmax(-1)).sum(-1)
    assert torch.equal(changed, (x1.argmax(-1) != x0.argmax(-1)).sum(-1))
    assert np.abs(_moved_ratio(traj, ctrl, space, None, None) - 1).max() == 0
    assert ctrl.abs().max() <= space.logit_bound
