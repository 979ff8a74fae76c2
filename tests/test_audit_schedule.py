"""The audit schedule: every design at the start, at the final checkpoint and in the control,
a seeded subsample of ``audit_subsample`` designs at the intermediate checkpoints."""

import io
import json
import tarfile

import numpy as np
import pandas as pd
import pytest
from conftest import FAST

from mbo import StudySpec, run_study
from mbo.cli import main
from mbo.evaluation import audit, audit_ids, scheduled_rows, summarize
from mbo.evaluation.metrics import curves, peak_and_stops
from mbo.registry import DOMAINS
from mbo.sweeps import sweep as sweep_mod
from mbo.sweeps.ids import study_id

K, N = FAST["k"], 4  # FAST: 20 steps, a checkpoint every 5: steps 0, 5, 10, 15, 20
STEPS = [0, 5, 10, 15, 20]

#: summary keys computed on the start and final designs (and the control) only
FINAL_KEYS = (
    "p100",
    "p50",
    "true_mean",
    "true_start_mean",
    "p50_valid",
    "predicted_mean",
    "predicted_start_mean",
    "overestimation",
    "overestimation_median",
    "gap",
    "gap_start",
    "fooled_rate",
    "fooled_delta",
    "rank_agreement",
    "true_improvement_rate",
    "invalid_rate",
    "impossible_rate",
    "unchanged_rate",
    "relaxation_gap",
    "gradient_advantage",
    "control_true_mean",
    "control_distance_ratio",
    "moved_mean",
)


def _spec(**kw) -> StudySpec:
    return StudySpec.from_dict({**FAST, **kw})


@pytest.fixture(scope="module")
def full():
    return run_study(_spec())


@pytest.fixture(scope="module")
def sub():
    return run_study(_spec(audit_subsample=N))


def test_audit_ids_are_seeded_distinct_sorted_and_none_for_a_full_audit():
    a = audit_ids(128, 32, seed=3)
    assert len(a) == 32 and len(set(a.tolist())) == 32 and (np.diff(a) > 0).all()
    assert a.min() >= 0 and a.max() < 128
    np.testing.assert_array_equal(a, audit_ids(128, 32, seed=3))
    assert not np.array_equal(a, audit_ids(128, 32, seed=4))
    assert audit_ids(128, None, seed=0) is None
    assert audit_ids(128, 128, seed=0) is None and audit_ids(128, 500, seed=0) is None
    for bad in (0, -2, True, 2.5, 500.0, "8"):
        with pytest.raises(ValueError, match="audit_subsample"):
            audit_ids(128, bad, seed=0)


def test_subsampled_table_has_k_rows_at_start_and_final_and_the_same_ids_between(sub):
    t = sub.table
    ascent = t[t["arm"] == "ascent"]
    per_step = ascent.groupby("step")["design_id"].apply(lambda s: sorted(s.tolist()))
    assert list(per_step.index) == STEPS
    assert per_step[0] == per_step[20] == list(range(K))
    ids = audit_ids(K, N, seed=0).tolist()
    for step in STEPS[1:-1]:
        assert per_step[step] == ids
    assert len(t[t["arm"] == "control"]) == K  # the control in full
    assert len(t) == 2 * K + 3 * N + K
    s = sub.summary
    assert s["audit_subsample"] == N and s["audit_designs"] == len(t)
    assert "4 of 16" in s["audit_schedule"] and "3 intermediate" in s["audit_schedule"]


def test_the_oracle_evaluates_fewer_designs(full, sub):
    assert full.summary["audit_subsample"] is None
    assert full.summary["audit_designs"] == 5 * K + K
    assert sub.summary["audit_designs"] == 2 * K + 3 * N + K
    # evaluations: cache misses only (the start designs were labelled with the reference set)
    assert 0 < sub.summary["audit_evaluations"] < full.summary["audit_evaluations"]
    for res in (full, sub):
        assert res.domain.oracle.n_calls == 2  # reference labelling, then one audit call


def test_final_metrics_equal_those_of_the_full_audit_on_the_same_trajectory(full, sub):
    ids = audit_ids(K, N, seed=0)
    d = full.domain
    args = (d, full.surrogate, full.trajectory, full.control)
    t_full = audit(*args)
    t_sub = audit(*args, subsample=ids[::-1])  # order does not matter
    ends = t_full["step"].isin([0, 20]) | (t_full["arm"] == "control")
    pd.testing.assert_frame_equal(
        t_full[ends].reset_index(drop=True),
        t_sub[t_sub["step"].isin([0, 20]) | (t_sub["arm"] == "control")].reset_index(drop=True),
    )
    a, b = summarize(t_full, label_sd=0.2, d_best=0.5), summarize(t_sub, label_sd=0.2, d_best=0.5)
    for key in ("p100", "p50", "overestimation", "fooled_rate", "rank_agreement", "gap"):
        assert a[key] == b[key] or (np.isnan(a[key]) and np.isnan(b[key])), key
    # the same through run_study: the subsampled study's start/final metrics are the full one's
    s_full, s_sub = full.summary, sub.summary
    for key in FINAL_KEYS:
        if key in s_full:
            assert s_sub[key] == pytest.approx(s_full[key], nan_ok=True, abs=0, rel=0), key


def test_bad_subsample_ids_are_refused(full):
    args = (full.domain, full.surrogate, full.trajectory)
    for bad in ([], [0, 0], [K], [-1]):
        with pytest.raises(ValueError, match="subsample"):
            audit(*args, subsample=bad)


def test_curves_and_peak_compare_like_with_like(full, sub):
    ids = set(audit_ids(K, N, seed=0).tolist())
    like = full.table[(full.table["arm"] != "ascent") | full.table["design_id"].isin(ids)]
    # the subsampled study's per-step curves are the full audit's over the same designs
    cur = sub.curves.set_index("step")
    ref = curves(like).set_index("step")
    assert list(cur.index) == STEPS
    for col in ("true_mean", "predicted_mean", "gap", "overestimation"):
        np.testing.assert_allclose(cur[col], ref[col], rtol=1e-12, atol=1e-12, err_msg=col)
    peak = peak_and_stops(
        like,
        label_sd=sub.summary["label_sd"],
        d_best=sub.summary["d_best"],
        spacing=None,
    )
    for key in ("peak_step", "peak_true", "regret_final", "stop_plateau_step"):
        assert sub.summary[key] == pytest.approx(peak[key], nan_ok=True), key
    # scheduled_rows picks the designs audited at every step; a full table is left whole
    assert scheduled_rows(full.table) is full.table
    rows = scheduled_rows(sub.table)
    assert set(rows.loc[rows["arm"] == "ascent", "design_id"]) == ids
    assert (rows["arm"] == "control").sum() == K


def test_spec_field_round_trips_and_is_validated(tmp_path, sub):
    spec = _spec(audit_subsample=N)
    assert StudySpec.from_dict(spec.to_dict()) == spec
    folder = run_study(spec, tmp_path / "run").run_dir
    assert StudySpec.from_file(folder / "spec.yaml") == spec
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["audit_subsample"] == N and summary["audit_designs"] == 2 * K + 3 * N + K
    for bad in (0, -1):
        with pytest.raises(ValueError, match="audit_subsample") as err:
            _spec(audit_subsample=bad)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="audit_subsample"):
        _spec(audit_subsample="some")
    # the audit does not change the fit; a stated subsample is another study
    assert spec.fit_key() == _spec().fit_key()
    assert study_id(spec) != study_id(_spec())
    assert study_id(_spec(audit_subsample=None)) == study_id(_spec())


def test_cli_flag(capsys):
    try:
        main(["run", "--help"])
    except SystemExit:
        pass
    assert "--audit-subsample" in capsys.readouterr().out


def test_domain_default_and_the_spec_wins():
    from domains.car import CarDomain

    assert CarDomain.audit_subsample == 32
    d = DOMAINS.make("branin", **FAST["domain_options"])
    assert d.audit_subsample is None
    d.audit_subsample = 6
    res = run_study(_spec(), domain=d)
    assert res.summary["audit_subsample"] == 6
    assert res.table.groupby("step").size()[5] == 6
    res = run_study(_spec(audit_subsample=3), domain=d)  # the spec's value wins
    assert res.summary["audit_subsample"] == 3
    res = run_study(_spec(audit_subsample=K), domain=d)  # >= k: the full audit
    assert res.summary["audit_subsample"] is None
    assert (res.table[res.table["arm"] == "ascent"].groupby("step").size() == K).all()
    d.audit_subsample = 0
    with pytest.raises(ValueError, match="audit_subsample"):
        run_study(_spec(), domain=d)


def test_sweep_workers_share_one_domain_and_its_oracle_cache(monkeypatch):
    monkeypatch.setattr(sweep_mod, "_DOMAINS", {})
    a, b = _spec(), _spec(seed=1, surrogate_options={"width": 16, "epochs": 5})
    assert sweep_mod._cached_domain(a) is sweep_mod._cached_domain(b)
    other = _spec(domain_options={"n_reference": 150})
    assert sweep_mod._cached_domain(other) is not sweep_mod._cached_domain(a)
    # two studies of one task: the second finds the first one's designs in the cache
    monkeypatch.setattr(sweep_mod, "_DOMAINS", {})
    spec = _spec(audit_subsample=N).to_dict()
    out = sweep_mod.run_packed({"specs": [spec, {**spec, "name": "again"}], "figures": None})
    summaries = []
    for res in out["studies"]:
        assert res["status"] == "done", res.get("error")
        with tarfile.open(fileobj=io.BytesIO(res["tar"])) as tar:
            summaries.append(json.load(tar.extractfile("./summary.json")))
    assert summaries[0]["audit_evaluations"] > 0
    assert summaries[1]["audit_evaluations"] == 0  # same designs: all cached
    assert summaries[1]["audit_designs"] == summaries[0]["audit_designs"]
