"""Leaderboard sections: discriminativeness, ascent vs start/D(best), invalid rate, stage times."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from mbo.study import StudySpec
from mbo.sweeps.leaderboard import (
    BASELINE,
    DISCRIMINATIVE_METHODS,
    LEADERBOARD_FILES,
    SECTION_FILES,
    ascent_check,
    collect,
    discriminativeness,
    invalid_rates,
    leaderboard,
    stage_times,
    to_markdown,
    write_leaderboard,
)

MLP, ENS, COMS, GP = (
    "mlp / gradient_ascent",
    "ensemble+min / gradient_ascent",
    "coms / gradient_ascent",
    "gp / gradient_ascent",
)


def _rows(task: str, method: str, p50s: list[float], **cols) -> list[dict]:
    return [
        {"task": task, "method": method, "seed": seed, "p50": y, "p100": y, **cols}
        for seed, y in enumerate(p50s)
    ]


def test_the_discriminative_methods_use_the_sweep_labels():
    from mbo.sweeps.ids import method_label

    spec = StudySpec(surrogate="ensemble", objective="min")
    assert method_label(spec) in DISCRIMINATIVE_METHODS
    assert BASELINE in DISCRIMINATIVE_METHODS


def test_discriminativeness_verdicts():
    rows = []
    # well separated, small seed std: spread 0.6 >> 3 x 0.01
    rows += _rows("apart", MLP, [0.19, 0.20, 0.21])
    rows += _rows("apart", COMS, [0.49, 0.50, 0.51])
    rows += _rows("apart", GP, [0.79, 0.80, 0.81])
    rows += _rows("apart", "mlp / cma_es", [5.0, 9.0, 1.0])  # not one of the methods
    # spread 0.04 below 3 x the largest std (0.05)
    rows += _rows("close", MLP, [0.45, 0.50, 0.55])
    rows += _rows("close", ENS, [0.53, 0.54, 0.55])
    # one seed: no std
    rows += _rows("one-seed", MLP, [0.1])
    rows += _rows("one-seed", GP, [0.9])
    # one method only
    rows += _rows("alone", MLP, [0.1, 0.2])
    runs = pd.DataFrame(rows)
    d = discriminativeness(runs).set_index("task")
    assert list(d.index) == ["apart", "close", "one-seed", "alone"]
    apart = d.loc["apart"]
    assert apart["discriminative"] == "yes" and apart["n_methods"] == 3 and apart["n_seeds"] == 3
    assert apart["spread"] == pytest.approx(0.6)
    assert apart["max_std"] == pytest.approx(0.01)
    assert apart["ratio"] == pytest.approx(60.0)
    assert apart[f"{COMS} mean"] == pytest.approx(0.5)
    assert math.isnan(apart[f"{ENS} mean"])  # not run on this task
    close = d.loc["close"]
    assert close["discriminative"] == "no"
    assert close["spread"] == pytest.approx(0.04) and close["max_std"] == pytest.approx(0.05)
    assert d.loc["one-seed", "discriminative"] == "n/a"
    assert d.loc["one-seed", "spread"] == pytest.approx(0.8)  # still reported
    assert d.loc["alone", "discriminative"] == "n/a"
    md = to_markdown(leaderboard(runs), runs)
    assert "## Does each task tell surrogates apart?" in md
    assert "| apart | 0.200 ± 0.010 |" in md and "| one-seed | 0.100 (n=1) |" in md
    assert "Not run: `grad-penalty / gradient_ascent`." in md
    # zero seed std with a spread reads yes (ratio infinite), no spread at all reads no
    flat = pd.DataFrame(_rows("t", MLP, [0.2, 0.2]) + _rows("t", GP, [0.4, 0.4]))
    assert discriminativeness(flat)["discriminative"].iloc[0] == "yes"
    same = pd.DataFrame(_rows("t", MLP, [0.2, 0.2]) + _rows("t", GP, [0.2, 0.2]))
    assert discriminativeness(same)["discriminative"].iloc[0] == "no"


def test_ascent_check_against_start_and_d_best():
    rows = []
    rows += _rows("x-control", MLP, [0.8, 0.9], true_start_mean=0.5, d_best=0.7)
    rows += _rows("x", MLP, [0.3, 0.3], true_start_mean=0.2, d_best=0.6)
    rows += _rows("x", GP, [0.99, 0.99], true_start_mean=0.2, d_best=0.6)  # not the baseline
    rows += _rows("no-mlp", GP, [0.5, 0.5], true_start_mean=0.2, d_best=0.6)
    runs = pd.DataFrame(rows)
    a = ascent_check(runs).set_index("task")
    assert list(a.index) == ["x-control", "x", "no-mlp"]  # every task
    c = a.loc["x-control"]
    assert c["p50"] == pytest.approx(0.85) and c["n"] == 2
    assert c["start"] == pytest.approx(0.5) and c["d_best"] == pytest.approx(0.7)
    assert (c["above_d_best"], c["above_start"]) == ("yes", "yes")
    assert c["p50_low"] == pytest.approx(0.8) and c["p50_high"] == pytest.approx(0.9)
    assert (a.loc["x", "above_d_best"], a.loc["x", "above_start"]) == ("no", "yes")
    assert (a.loc["no-mlp", "above_d_best"], a.loc["no-mlp", "above_start"]) == ("n/a", "n/a")
    assert a.loc["no-mlp", "n"] == 0
    md = to_markdown(leaderboard(runs), runs)
    assert "## Does ascent truly improve on the control tasks?" in md
    assert "| x-control | 2 | 0.850 [0.800, 0.900] | 0.500 | 0.700 | yes | yes |" in md
    assert "| no-mlp | 0 | – | n/a | n/a | n/a | n/a |" in md
    # without the start column (runs from before it was collected): n/a, no crash
    old = runs.drop(columns=["true_start_mean"])
    assert ascent_check(old).set_index("task").loc["x", "above_start"] == "n/a"


def test_stage_times_sum_per_task_and_read_missing_stages_as_na():
    runs = pd.DataFrame(
        [
            {"task": "a", "method": MLP, "seed": 0, "data_s": 6.0, "fit_s": 60.0,
             "optimize_s": 30.0, "audit_s": 12.0},
            {"task": "a", "method": GP, "seed": 0, "data_s": 6.0, "fit_s": 0.0,
             "optimize_s": 30.0, "audit_s": np.nan},
            {"task": "b", "method": MLP, "seed": 0, "data_s": np.nan, "fit_s": 120.0,
             "optimize_s": 60.0, "audit_s": np.nan},
        ]
    )  # fmt: skip
    st = stage_times(runs).set_index("task")
    assert list(st.index) == ["a", "b", "all tasks"]
    a = st.loc["a"]
    assert a["studies"] == 2
    assert a["data_min"] == pytest.approx(0.2) and a["fit_min"] == pytest.approx(1.0)
    assert a["optimize_min"] == pytest.approx(1.0) and a["audit_min"] == pytest.approx(0.2)
    assert a["total_min"] == pytest.approx(2.4)
    stages = ["data_min", "fit_min", "optimize_min", "audit_min"]
    assert st.loc["b", "total_min"] == pytest.approx(3.0)
    assert math.isnan(st.loc["b", "data_min"]) and math.isnan(st.loc["b", "audit_min"])
    assert st.loc["all tasks", "studies"] == 3
    assert st.loc["all tasks", "total_min"] == pytest.approx(5.4)
    assert st.loc["all tasks", stages].sum() == pytest.approx(5.4)
    # a frame without any timing column (older runs tables): every stage n/a
    bare = stage_times(runs[["task", "method", "seed"]])
    assert bare[[*stages, "total_min"]].isna().all().all()


def test_invalid_rate_table_only_over_tasks_with_invalid_designs():
    rows = []
    rows += _rows("mol", MLP, [0.5, 0.5], invalid_rate=0.4)
    rows += _rows("mol", GP, [0.5, 0.5], invalid_rate=0.1)
    rows += _rows("branin", MLP, [0.5, 0.5], invalid_rate=0.0)
    runs = pd.DataFrame(rows)
    inv = invalid_rates(runs)
    assert list(inv.columns) == ["mol", "mean rank"]
    assert list(inv.index) == [GP, MLP]  # lower is better
    assert inv.loc[MLP, "mol"] == "40% [40%, 40%]"
    md = to_markdown(leaderboard(runs), runs)
    assert "## Invalid designs (mean invalid rate; lower is better)" in md
    clean = runs[runs.task == "branin"]
    assert invalid_rates(clean).empty
    md = to_markdown(leaderboard(clean), clean)
    assert "No study produced an invalid design." in md
    # the existing tables are untouched: three leaderboard tables, no other method table
    assert md.count("| method |") == 3


def _fake_run(folder, seed: int, summary: dict) -> None:
    folder.mkdir(parents=True)
    spec = StudySpec(domain="branin", seed=seed).to_dict()
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec))
    (folder / "summary.json").write_text(json.dumps(summary))


def test_collect_reads_every_stage_and_write_leaderboard_writes_the_sections(tmp_path):
    base = {"p50": 0.6, "p100": 0.9, "true_start_mean": 0.4, "d_best": 0.5, "invalid_rate": 0.0}
    timings = {"data": 3.0, "fit": 30.0, "optimize": 12.0, "audit": 6.0}
    _fake_run(tmp_path / "r0", 0, base | {"timings_s": timings})
    _fake_run(tmp_path / "r1", 1, base | {"p50": 0.7, "timings_s": {"fit": 30.0}})
    _fake_run(tmp_path / "r2", 2, base | {"p50": 0.8})  # no timings at all
    runs = collect([tmp_path])
    assert len(runs) == 3 and set(runs.method) == {MLP} and set(runs.task) == {"branin"}
    r0 = runs.set_index("seed").loc[0]
    assert (r0["data_s"], r0["fit_s"], r0["optimize_s"], r0["audit_s"]) == (3.0, 30.0, 12.0, 6.0)
    assert runs.set_index("seed").loc[1, ["data_s", "audit_s"]].isna().all()
    assert r0["true_start_mean"] == pytest.approx(0.4)
    tables, paths = write_leaderboard(runs, tmp_path / "lb")
    names = {p.name for p in paths}
    assert names == {*LEADERBOARD_FILES, "leaderboard-runs.csv"}
    assert set(SECTION_FILES.values()) <= names
    stages = pd.read_csv(tmp_path / "lb" / SECTION_FILES["stages"])
    assert stages.loc[0, "studies"] == 3
    assert stages.loc[0, "fit_min"] == pytest.approx(1.0)
    assert stages.loc[0, "data_min"] == pytest.approx(0.05)
    ascent = pd.read_csv(tmp_path / "lb" / SECTION_FILES["ascent"])
    assert ascent.loc[0, "above_d_best"] == "yes" and ascent.loc[0, "p50"] == pytest.approx(0.7)
    disc = pd.read_csv(tmp_path / "lb" / SECTION_FILES["discriminative"])
    assert pd.isna(disc.loc[0, "discriminative"])  # "n/a" (one of the methods only)
    md = (tmp_path / "lb" / "leaderboard.md").read_text()
    assert "## Wall time by stage" in md
    assert "| branin | 3 | 0.05 | 1.00 | 0.20 | 0.10 | 1.35 |" in md
    assert "all tasks" not in md  # one task: no total row to repeat it


def test_earlier_rows_are_kept_only_for_tasks_without_new_studies(tmp_path):
    """A leaderboard rebuilt from new studies plus an earlier runs table: a task with any new
    study is taken from the new studies alone (rows of its older definition would otherwise
    count as extra seeds), every other task keeps its earlier rows."""
    from mbo.sweeps.leaderboard import keep_earlier

    new = pd.DataFrame(_rows("car", MLP, [0.5, 0.6, 0.7]))
    new["id"] = ["new0", "new1", "new2"]
    earlier = pd.DataFrame(
        _rows("car", MLP, [0.1, 0.2, 0.3]) + _rows("branin", MLP, [0.9, 0.95]),
    )
    earlier["id"] = ["old0", "old1", "old2", "b0", "b1"]
    for m in collect([tmp_path]).columns:  # the full runs-table layout
        if m not in earlier:
            earlier[m] = np.nan
    earlier.to_csv(tmp_path / "earlier.csv", index=False)
    merged = keep_earlier(new.reindex(columns=earlier.columns), tmp_path / "earlier.csv")
    assert sorted(merged["id"]) == ["b0", "b1", "new0", "new1", "new2"]
    assert merged.attrs["kept"] == {"branin": 2}
    assert merged.loc[merged.task == "car", "p50"].tolist() == [0.5, 0.6, 0.7]
    (tmp_path / "broken.csv").write_text("task,seed\ncar,0\n")
    with pytest.raises(ValueError, match="lacks columns"):
        keep_earlier(new, tmp_path / "broken.csv")
    with pytest.raises(ValueError, match="not a readable runs table"):
        keep_earlier(new, tmp_path / "missing.csv")
