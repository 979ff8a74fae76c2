"""A damaged study folder never blocks a sweep, and no finished result is lost."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mbo.sweeps.sweep import Sweep, run_sweep, study_state

SMALL = {
    "name": "faults",
    "plots": False,
    "base": {
        "domain": "branin",
        "domain_options": {"n_reference": 100},
        "surrogate_options": {"width": 8, "epochs": 2},
        "optimizer_options": {"steps": 4, "checkpoint_every": 2},
        "k": 4,
    },
    "grid": {"seed": [0, 1, 2]},
}


@pytest.fixture
def finished(tmp_path, one_thread):
    sweep = Sweep.from_dict(SMALL)
    run_sweep(sweep, tmp_path, workers=1, progress=False)
    return sweep, tmp_path


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: (d / "summary.json").write_text((d / "summary.json").read_text()[:40]),
        lambda d: (d / "spec.yaml").write_text("domain: [branin\n  k: :"),
        lambda d: (d / "spec.yaml").write_text("domain: branin\nk: 999\n"),
        lambda d: (d / "summary.json").write_text("[1, 2]"),
    ],
    ids=["truncated-summary", "broken-yaml", "other-study", "not-a-mapping"],
)
def test_a_damaged_study_is_reported_moved_aside_and_rerun(finished, damage):
    sweep, out = finished
    target = sweep.studies[1].id
    before = {
        s.id: json.loads((out / "studies" / s.id / "summary.json").read_text())["p100"]
        for s in sweep.studies
    }
    damage(out / "studies" / target)
    assert study_state(out, target)[0] == "damaged"
    with pytest.warns(RuntimeWarning, match=f"studies/{target}.*cannot be read"):
        status = run_sweep(sweep, out, workers=1, progress=False)
    by_id = status.set_index("id")["status"]
    assert by_id[target] == "done"
    assert (by_id.drop(target) == "skipped").all()
    # the damaged folder was kept aside, not deleted
    aside = list((out / "damaged").glob(f"{target}-*"))
    assert len(aside) == 1 and (aside[0] / "spec.yaml").exists()
    # the re-run reproduces the lost result, and the healthy studies were not touched
    for s in sweep.studies:
        summary = json.loads((out / "studies" / s.id / "summary.json").read_text())
        assert summary["p100"] == pytest.approx(before[s.id], abs=1e-6)
    # results.csv is rebuilt from the folders: every study, once
    results = pd.read_csv(out / "results.csv")
    assert sorted(results["id"]) == sorted(s.id for s in sweep.studies)


def test_results_are_rebuilt_not_trusted(finished):
    sweep, out = finished
    (out / "results.csv").write_text("id,p100\nstale,9.9\n")
    run_sweep(sweep, out, workers=1, progress=False)
    results = pd.read_csv(out / "results.csv")
    assert "stale" not in set(results["id"]) and len(results) == len(sweep.studies)


def test_a_study_whose_optimizer_starts_elsewhere_is_refused(monkeypatch):
    """The audit checks that step 0 is the top-k offline designs, not only the call counter."""
    from mbo import StudySpec, run_study
    from mbo.optimizers import GradientAscent

    orig = GradientAscent.optimize

    def shifted(self, p):
        p.x0 += 0.5  # starts somewhere else (the projection keeps it in the box)
        p.x0.copy_(p.space.project(p.x0))
        return orig(self, p)

    monkeypatch.setattr(GradientAscent, "optimize", shifted)
    spec = StudySpec.from_dict({**SMALL["base"], "seed": 0})
    with pytest.raises(ValueError, match="step 0 is not the top-k offline designs"):
        run_study(spec)


def test_dry_run_names_a_damaged_study(finished, capsys):
    from mbo.cli import main

    sweep, out = finished
    path = out / "sweep.yaml"  # run_sweep writes the sweep it ran beside its studies
    target = out / "studies" / sweep.studies[0].id / "summary.json"
    target.write_text("{")
    assert main(["sweep", str(path), "--out", str(out), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("damaged (JSONDecodeError") for line in lines)
    assert sum(line.startswith("done") for line in lines) == len(sweep.studies) - 1


def _task(item, threads):
    """A worker task: ``("ok", x)`` returns, ``("flaky", path)`` kills its worker the first
    time (then succeeds), ``("poison", _)`` kills its worker every time."""
    import os
    from pathlib import Path

    kind, arg = item
    if kind == "flaky" and not Path(arg).exists():
        Path(arg).write_text("died once")
        os._exit(1)
    if kind == "poison":
        os._exit(1)
    return {"status": "done", "value": arg}


def test_a_dead_worker_costs_only_the_task_that_kills_it(tmp_path):
    from mbo.sweeps.executors import MAX_BREAKS, LocalExecutor

    items = [("ok", i) for i in range(4)] + [("flaky", str(tmp_path / "m")), ("poison", 0)]
    got = dict(LocalExecutor(workers=2, threads=1).map_unordered(_task, items))
    assert sorted(got) == list(range(len(items)))
    assert [got[i]["value"] for i in range(4)] == [0, 1, 2, 3]  # healthy tasks all finished
    assert got[4]["status"] == "done"  # died once, ran again on a new pool
    assert got[5]["status"] == "failed" and "worker died" in got[5]["error"]
    assert MAX_BREAKS >= 2
