"""Sweeps: expansion and stable ids, resume, atomic results, failures, executors, leaderboard."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mbo.sweeps.sweep as sweep_mod
from mbo.cli import main
from mbo.study import Fitted, StudySpec
from mbo.sweeps.ids import study_id
from mbo.sweeps.leaderboard import (
    aggregate,
    collect,
    leaderboard,
    mean_rank,
    paired_tests,
    to_markdown,
)
from mbo.sweeps.sweep import Sweep, expand, run_sweep

TINY = {
    "name": "tiny",
    "plots": False,
    "base": {
        "domain_options": {"n_reference": 200},
        "surrogate_options": {"width": 32, "epochs": 15},
        "optimizer_options": {"steps": 10, "checkpoint_every": 5},
        "k": 8,
    },
    "grid": {
        "domain": [
            {"task": "branin", "domain": "branin"},
            {"task": "st3", "domain": "styblinski_tang", "domain_options": {"dim": 3}},
        ],
        "surrogate": ["mlp", "linear"],
        "seed": [0, 1],
    },
}


def _tiny(**changes) -> dict:
    data = copy.deepcopy(TINY)
    data.update(changes)
    return data


def test_expansion_order_labels_and_merged_options():
    studies = expand(TINY)
    assert len(studies) == 8
    s = studies[0]
    assert (s.task, s.method, s.spec.seed) == ("branin", "mlp / gradient_ascent", 0)
    st = [x for x in studies if x.task == "st3"][0].spec
    # grid options merge into the base's, they do not replace them
    assert st.domain_options == {"n_reference": 200, "dim": 3}
    assert st.surrogate_options == {"width": 32, "epochs": 15}
    assert len({x.id for x in studies}) == 8


def test_ids_are_stable_and_depend_only_on_the_resolved_spec():
    ids = [s.id for s in expand(TINY)]
    assert ids == [s.id for s in expand(copy.deepcopy(TINY))]  # same file, same ids
    # labels and axis order do not change what a study computes, so not its id
    relabeled = _tiny()
    relabeled["grid"]["domain"][0]["task"] = "renamed"
    reordered = _tiny()
    reordered["grid"] = dict(reversed(list(TINY["grid"].items())))
    assert set(ids) == {s.id for s in expand(relabeled)} == {s.id for s in expand(reordered)}
    # an edited grid keeps the ids of the studies it did not change
    more = _tiny()
    more["grid"]["seed"] = [0, 1, 2]
    assert set(ids) < {s.id for s in expand(more)}
    changed = _tiny()
    changed["base"]["k"] = 9
    assert not set(ids) & {s.id for s in expand(changed)}
    # a pinned id: hashing must not drift between Python versions or runs (a change to the
    # spec's fields or to canonical() changes it on purpose: update the pin and say why)
    spec = expand(TINY)[0].spec
    assert study_id(spec) == "branin-mlp-gradient_ascent-s0-69e8b8894b"
    # an option stated at its default value is the same study
    same = StudySpec.from_dict(
        {**spec.to_dict(), "domain_options": {**spec.domain_options, "seed": 0}}
    )
    assert study_id(same) == study_id(spec)


def test_a_tasks_own_ascent_defaults_are_part_of_the_study_id(monkeypatch):
    """A control task's horizon lives in its domain's ``optimizer_defaults``: changing it must
    change the ids, or a resumed sweep would count studies of the old task as finished."""
    from domains.car import CarControlDomain

    spec = StudySpec(domain="car-control", k=8)
    before = study_id(spec)
    # the same options given by hand are the same study
    explicit = StudySpec(domain="car-control", k=8, optimizer_options={"steps": 20})
    assert study_id(explicit) == before
    monkeypatch.setattr(CarControlDomain, "optimizer_defaults", {"gradient_ascent": {"steps": 50}})
    assert study_id(spec) != before
    # other optimizers do not run the ascent defaults: their ids stay
    cma = StudySpec(domain="car-control", k=8, optimizer="cma_es")
    cma_id = study_id(cma)
    monkeypatch.setattr(CarControlDomain, "optimizer_defaults", {})
    assert study_id(cma) == cma_id


def test_expansion_variants_grids_and_errors():
    data = {
        "grids": [
            {"surrogate": ["ensemble+min", "mlp"], "seed": [0]},
            {"optimizer": [{"method": "top offline", "optimizer": "gradient_ascent"}], "seed": [5]},
        ],
        "base": {"k": 4},
    }
    studies = expand(data)
    assert studies[0].spec.surrogate == "ensemble" and studies[0].spec.objective == "min"
    assert studies[0].method == "ensemble+min / gradient_ascent"
    assert studies[2].method == "top offline"
    with pytest.raises(ValueError, match="same study"):
        expand({"grid": {"seed": [0, 0]}})
    with pytest.raises(ValueError, match="non-empty list"):
        expand({"grid": {"seed": 3}})
    with pytest.raises(ValueError, match="unknown surrogate"):
        expand({"grid": {"surrogate": ["nope"]}})
    with pytest.raises(ValueError, match="unknown sweep keys"):
        Sweep.from_dict({"grid": {}, "studies": []})


def _count_runs(monkeypatch) -> list[str]:
    ran: list[str] = []
    real = sweep_mod.run_packed

    def counting(task, threads=None):
        ran.extend(spec["name"] for spec in task["specs"])
        return real(task, threads)

    monkeypatch.setattr(sweep_mod, "run_packed", counting)
    return ran


def test_resume_skips_finished_and_reruns_missing(tmp_path, monkeypatch, one_thread):
    ran = _count_runs(monkeypatch)
    sweep = Sweep.from_dict(_tiny())
    first = run_sweep(sweep, tmp_path, workers=1, progress=False)
    assert (first.status == "done").all() and len(ran) == 8
    results = pd.read_csv(tmp_path / "results.csv")
    assert len(results) == 8

    ran.clear()
    again = run_sweep(sweep, tmp_path, workers=1, progress=False)
    assert (again.status == "skipped").all() and ran == []

    # a lost study and a half-written one (a killed driver's temp folder, a folder without
    # summary.json) are not results: exactly those re-run
    victim = sweep.studies[3]
    shutil.rmtree(tmp_path / "studies" / victim.id)
    half = sweep.studies[5]
    (tmp_path / "studies" / half.id / "summary.json").unlink()
    stale = tmp_path / "studies" / f".tmp-{victim.id}-dead"
    stale.mkdir()
    (stale / "audit.parquet").write_bytes(b"partial")
    third = run_sweep(sweep, tmp_path, workers=1, progress=False)
    assert sorted(ran) == sorted([victim.spec.name, half.spec.name])
    assert (third.status == "done").sum() == 2 and not stale.exists()
    rerun = pd.read_csv(tmp_path / "results.csv")
    cols = ["id", "p100", "p50", "gap", "fooled_rate"]
    pd.testing.assert_frame_equal(
        rerun[cols].sort_values("id").reset_index(drop=True),
        results[cols].sort_values("id").reset_index(drop=True),
    )


def test_a_failing_study_is_recorded_and_the_sweep_goes_on(tmp_path, one_thread):
    data = _tiny()
    data["grid"] = {"surrogate_options": [{"width": 16}, {"width": -3}], "seed": [0]}
    sweep = Sweep.from_dict(data)
    status = run_sweep(sweep, tmp_path, workers=1, progress=False)
    assert list(status.status) == ["done", "failed"]
    bad = sweep.studies[1]
    record = json.loads((tmp_path / "failed" / f"{bad.id}.json").read_text())
    assert "width" in record["error"] and "Traceback" in record["traceback"]
    assert record["spec"]["surrogate_options"]["width"] == -3
    assert not (tmp_path / "studies" / bad.id).exists()
    # a re-run retries only the failed study (and records it failed again)
    again = run_sweep(sweep, tmp_path, workers=1, progress=False)
    assert list(again.status) == ["skipped", "failed"]
    assert main(["sweep", str(_write(tmp_path, data)), "--out", str(tmp_path), "--quiet"]) == 1


def test_studies_sharing_a_fit_fit_once_and_equal_separate_runs(tmp_path, monkeypatch, one_thread):
    from mbo import StudySpec, run_study
    from surrogates.mlp import MLPSurrogate

    optimizers = [
        {"optimizer": "gradient_ascent", "optimizer_options": {"steps": 10}},
        {"optimizer": "random_search", "optimizer_options": {"n_samples": 200}},
        "dbest",
    ]
    data = _tiny(grid={"optimizer": optimizers, "seed": [0]})
    data["base"].pop("optimizer_options")
    sweep = Sweep.from_dict(data)
    fits = []
    real_fit = MLPSurrogate.fit
    monkeypatch.setattr(
        MLPSurrogate, "fit", lambda self, *a, **k: fits.append(1) or real_fit(self, *a, **k)
    )
    status = run_sweep(sweep, tmp_path, workers=1, progress=False)
    assert (status.status == "done").all() and len(fits) == 1
    shared = [
        json.loads((tmp_path / "studies" / s.id / "summary.json").read_text())
        for s in sweep.studies
    ]
    assert [s["fit_shared"] for s in shared] == [False, True, True]
    for study, summary in zip(sweep.studies, shared, strict=True):
        alone = run_study(StudySpec.from_dict(study.spec.to_dict())).summary
        for key in ("p100", "p50", "gap", "fooled_rate", "val_r2"):
            assert alone[key] == pytest.approx(summary[key], abs=1e-6), (study.method, key)
    with pytest.raises(ValueError, match="fit_key"):
        other = StudySpec.from_dict({**study.spec.to_dict(), "seed": 9})
        res = run_study(StudySpec.from_dict(sweep.studies[0].spec.to_dict()))
        run_study(other, fitted=Fitted(res.surrogate, res.fit_key))


def _write(tmp_path, data) -> str:
    import yaml

    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_local_pool_and_ray_give_the_same_table(tmp_path):
    pytest.importorskip("ray", reason="the ray extra is part of `make test`'s install")
    data = _tiny()
    data["grid"]["seed"] = [0]
    sweep = Sweep.from_dict(data)
    local = run_sweep(sweep, tmp_path / "local", workers=2, progress=False)
    ray = run_sweep(sweep, tmp_path / "ray", executor="ray", workers=2, progress=False)
    assert (local.status == "done").all() and (ray.status == "done").all()
    a, b = (
        pd.read_csv(tmp_path / d / "results.csv").pipe(
            lambda t: t.drop(columns=["path", *(c for c in t if c.endswith("_s"))])
        )
        for d in ("local", "ray")
    )
    pd.testing.assert_frame_equal(
        a.sort_values("id").reset_index(drop=True), b.sort_values("id").reset_index(drop=True)
    )
    ta, tb = (leaderboard(collect([tmp_path / d / "studies"])) for d in ("local", "ray"))
    for key in ta:
        pd.testing.assert_frame_equal(ta[key], tb[key])


def _runs() -> pd.DataFrame:
    rows = []
    vals = {  # task -> method -> p100 per seed
        "A": {"m1": [0.9, 0.7], "m2": [0.5, 0.5], "D(best)": [0.6, 0.6]},
        "B": {"m1": [0.1, 0.3], "m2": [0.8, 0.6], "D(best)": [0.3, 0.3]},
    }
    for task, methods in vals.items():
        for method, ys in methods.items():
            for seed, y in enumerate(ys):
                rows.append(
                    {
                        "task": task,
                        "method": method,
                        "seed": seed,
                        "p100": y,
                        "p50": y / 2,
                        "gap": 0.1 * (seed + 1) if method == "m1" else -0.05,
                        "overestimation": 0.1 * (seed + 1) if method == "m1" else 0.02,
                        "fooled_rate": 0.5,
                    }
                )
    # D(best) under a second surrogate: same designs, must not count twice
    rows.append(dict(rows[-1]))
    return pd.DataFrame(rows)


def test_leaderboard_aggregates_ranks_and_dedupes():
    runs = _runs()
    long = aggregate(runs)
    m1a = long[(long.method == "m1") & (long.task == "A") & (long.metric == "p100")].iloc[0]
    assert m1a["mean"] == pytest.approx(0.8) and m1a["std"] == pytest.approx(
        np.std([0.9, 0.7], ddof=1)
    )
    assert m1a["low"] == pytest.approx(0.7) and m1a["high"] == pytest.approx(0.9)
    dbb = long[(long.method == "D(best)") & (long.task == "B") & (long.metric == "p100")]
    assert dbb["n"].iloc[0] == 2  # two seeds, not three rows
    rank = mean_rank(long, "p100")
    # A: m1 0.8 (1), D(best) 0.6 (2), m2 0.5 (3); B: m2 0.7 (1), D(best) 0.3 (2), m1 0.2 (3)
    assert rank["m1"] == pytest.approx(2.0) and rank["m2"] == pytest.approx(2.0)
    assert rank["D(best)"] == pytest.approx(2.0)
    tables = leaderboard(runs)
    assert list(tables["p100"].columns) == ["A", "B", "mean rank"]
    assert tables["p100"].loc["m1", "A"] == "0.800 [0.700, 0.900]"
    assert tables["overestimation"].loc["m2", "B"] == "0.020 [0.020, 0.020] / 50% [50%, 50%]"
    # lower overestimation ranks first: m2 (0.02) beats m1 (0.15) on both tasks
    assert tables["overestimation"].index[-1] == "m1"
    assert np.isfinite(long["mean"]).all()
    # one seed: no interval, n stated
    one = leaderboard(runs[runs.seed == 0])
    assert one["p100"].loc["m1", "A"] == "0.900 (n=1)"


def test_leaderboard_pairs_methods_with_the_plain_mlp_on_the_same_seeds():
    runs = _runs()
    runs["method"] = runs["method"].replace({"m1": "mlp / gradient_ascent"})
    pairs = paired_tests(runs)
    row = pairs[(pairs.task == "B") & (pairs.method == "m2") & (pairs.metric == "p100")].iloc[0]
    assert row["n"] == 2 and row["diff"] == pytest.approx(np.mean([0.8 - 0.1, 0.6 - 0.3]))
    assert "## Paired against `mlp / gradient_ascent`" in to_markdown(leaderboard(runs), runs)


def test_the_leaderboard_lists_what_it_skipped(tmp_path, one_thread):
    sweep = Sweep.from_dict(_tiny(grid={"surrogate": ["mlp", "linear"], "seed": [0]}))
    run_sweep(sweep, tmp_path, workers=1, progress=False)
    broken = tmp_path / "studies" / sweep.studies[0].id / "summary.json"
    broken.write_text(broken.read_text()[:30])
    runs = collect([tmp_path / "studies"])
    assert len(runs) == 1 and runs.attrs["skipped"][0]["path"] == str(broken.parent)
    assert "JSONDecodeError" in runs.attrs["skipped"][0]["reason"]
    assert "## Skipped folders (1)" in to_markdown(leaderboard(runs), runs)


def test_leaderboard_cli_on_sweep_and_compare_folders(tmp_path, one_thread, capsys):
    sweep = Sweep.from_dict(_tiny(grid={"surrogate": ["mlp", "linear"], "seed": [0]}))
    run_sweep(sweep, tmp_path / "sw", workers=1, progress=False)
    assert main(["leaderboard", str(tmp_path / "sw"), "--out", str(tmp_path / "lb")]) == 0
    out = capsys.readouterr().out
    assert "100th percentile" in out and "mlp / gradient_ascent" in out and "mean rank" in out
    md = (tmp_path / "lb" / "leaderboard.md").read_text()
    assert md.count("| method |") == 3 + 3  # three tables, then three paired-test tables
    long = pd.read_csv(tmp_path / "lb" / "leaderboard.csv")
    assert set(long.metric) >= {"p100", "p50", "gap", "overestimation", "fooled_rate"}
    # by default the files go to their own folder: the sweep's own files stay as they were
    names = ("results.csv", "leaderboard.md", "leaderboard.csv", "status.csv")
    own = {n: (tmp_path / "sw" / n).read_bytes() for n in names}
    assert main(["leaderboard", str(tmp_path / "sw")]) == 0
    assert {n: (tmp_path / "sw" / n).read_bytes() for n in names} == own
    assert (tmp_path / "sw" / "leaderboard" / "leaderboard-runs.csv").exists()
    assert main(["leaderboard", str(tmp_path / "nothing-here")]) == 2


def test_workers_shut_oracle_pools_down_after_each_task(monkeypatch):
    """A sweep worker whose cached domain keeps an oracle pool alive hung at exit (seen with
    the car domain): run_packed must leave no pool processes behind."""
    from types import SimpleNamespace

    from domains import Oracle
    from tests.test_oracle import key, square_sum

    oracle = Oracle(square_sum, key=key, workers=2, chunk_size=4)
    oracle(np.random.default_rng(0).normal(size=(32, 3)))  # starts the pool
    procs = list(oracle._pool._processes.values())
    assert procs and all(p.is_alive() for p in procs)
    monkeypatch.setattr(sweep_mod, "_DOMAINS", {"fake": SimpleNamespace(_oracle=oracle)})
    out = sweep_mod.run_packed({"specs": [], "plots": False})
    assert out == {"studies": []}
    assert oracle._pool is None
    for p in procs:
        p.join(timeout=10)
    assert not any(p.is_alive() for p in procs)


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).parent.parent / "benchmarks" / "suites").glob("*.yaml"))
)
def test_the_committed_suites_expand_with_unique_ids(path):
    """A typo in a suite file (an unknown domain, surrogate or key) fails here, not an hour
    into a run."""
    sweep = Sweep.from_file(path)
    ids = [s.id for s in sweep.studies]
    assert ids and len(set(ids)) == len(ids)
    if path.stem == "medium":  # 8 tasks x (11 surrogates + 4 baselines) x 3 seeds
        assert len(ids) == 360
        assert {s.task for s in sweep.studies} == {
            "st16",
            "branin",
            "car",
            "car-control",
            "molecules",
            "molecules-control",
            "ehrlich",
            "ehrlich-control",
        }
