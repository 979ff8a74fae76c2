"""How a task's verdicts depend on the ascent horizon, read from one sweep of long ascents.

A gradient-ascent trajectory does not depend on how many steps it will take (no schedule), so
one long run audited at every checkpoint gives every shorter horizon at once. For each
checkpoint of the studies under ``RUNS`` (audited in full: run the sweep with
``audit_subsample`` >= k), this prints and writes per method the mean over seeds of

- ``p50``: the median normalized true score of the K designs (``outcome_score``: an invalid
  design counts at the floor score 0, an oracle error is left out);
- ``over``: the overestimation, mean rise of (predicted - true) from step 0, normalized;
- ``impossible``: the share of predictions above the design's exact upper bound, where the
  domain has one;

and per step the discriminativeness check of ``mbo leaderboard``: the spread of the methods'
mean p50 against the largest seed std (a task tells methods apart at > 3x).

    python benchmarks/horizon_scan.py /tmp/car-horizon/studies --out benchmarks/results/car-horizon.csv

Sweep files: ``benchmarks/suites/car-horizon.yaml``, ``benchmarks/suites/molecules-horizon.yaml``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from mbo.evaluation.metrics import outcome_score
from mbo.sweeps.leaderboard import DISCRIMINATIVE_METHODS, discriminativeness


def checkpoints(runs: Path) -> pd.DataFrame:
    """One row per (study, step) of the ascent arm: task, method, seed, step, n, p50, over,
    impossible. Steps audited on a subsample only are dropped."""
    rows = []
    for audit in sorted(runs.glob("*/audit.parquet")):
        folder = audit.parent
        labels = {}
        if (folder / "sweep.json").exists():
            labels = json.loads((folder / "sweep.json").read_text())
        summary = json.loads((folder / "summary.json").read_text())
        method = labels.get("method") or f"{summary['surrogate']} / {summary['optimizer']}"
        task = labels.get("task") or summary.get("domain", "")
        a = pd.read_parquet(audit)
        a = a[a.arm == "ascent"]
        start = a[a.step == 0].set_index("design_id")
        k = len(start)
        for step, g in a.groupby("step"):
            if len(g) < k:
                continue
            g = g.set_index("design_id")
            true = outcome_score(g)  # invalid at the floor score; oracle errors left out
            gap = (g.predicted_norm - g.true_norm) - (start.predicted_norm - start.true_norm)
            bound = g["bound"] if "bound" in g else pd.Series(np.nan, index=g.index)
            rows.append(
                {
                    "task": task,
                    "method": method,
                    "seed": int(summary["seed"]),
                    "step": int(step),
                    "n": len(g),
                    "p50": float(np.nanmedian(true)),
                    "over": float(gap.mean()),
                    "impossible": float((g.predicted > bound).mean())
                    if bound.notna().any()
                    else np.nan,
                }
            )
    return pd.DataFrame(rows)


def by_step(points: pd.DataFrame) -> pd.DataFrame:
    """Per step: each method's mean p50 over seeds, then ``mbo leaderboard``'s
    discriminativeness check at that step (:func:`~mbo.sweeps.leaderboard.discriminativeness`,
    each step taken as a task): spread, largest seed std, ratio and the seeds behind it."""
    pts = points[points.method.isin(DISCRIMINATIVE_METHODS)]
    out = pts.groupby(["step", "method"]).p50.mean().unstack("method")
    out = out.rename(columns=lambda m: m.split(" / ")[0])
    check = discriminativeness(pts.assign(task=pts.step)).set_index("task").reindex(out.index)
    out["spread"] = check["spread"]
    out["max_std"] = check["max_std"]
    out["ratio"] = check["ratio"]
    out["seeds"] = check["n_seeds"]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=Path, help="a sweep's studies/ folder")
    p.add_argument("--out", type=Path, help="CSV of the per-step table")
    p.add_argument("--steps", type=int, nargs="*", help="steps of the per-method table")
    args = p.parse_args(argv)
    points = checkpoints(args.runs)
    if points.empty:
        raise SystemExit(f"no fully audited ascent checkpoints under {args.runs}")
    pd.set_option("display.width", 200)
    steps = args.steps or sorted(points.step.unique())[:: max(1, points.step.nunique() // 5)]
    tables = []
    for task, pts in points.groupby("task"):
        table = by_step(pts)
        if not table.empty:
            print(f"== {task}: mean p50 over seeds and the discriminativeness check, by step")
            print(table.round(3).to_string())
            tables.append(table.assign(task=task).reset_index())
        per = pts[pts.step.isin(steps)].groupby(["method", "step"])
        print(f"== {task}: p50, overestimation and impossible predictions (means over seeds)")
        print(per[["p50", "over", "impossible"]].mean().round(3).unstack("step").to_string())
    if args.out and tables:
        pd.concat(tables).round(4).to_csv(args.out, index=False)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
