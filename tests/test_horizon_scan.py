"""benchmarks/horizon_scan.py: every horizon read off one long, fully audited ascent."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "horizon_scan.py"
spec = importlib.util.spec_from_file_location("horizon_scan", SCRIPT)
horizon_scan = importlib.util.module_from_spec(spec)
spec.loader.exec_module(horizon_scan)

METHODS = ("mlp", "ensemble+min", "coms", "grad-penalty", "gp")


def _study(root: Path, method: str, seed: int, true_by_step: dict[int, list[float]]) -> None:
    """A study folder whose ascent arm has these true scores per step (nan = invalid); the
    prediction rises by 0.1 a step; the bound is 1. Step 10 is audited on a subsample."""
    folder = root / f"car-{method}-s{seed}"
    folder.mkdir(parents=True)
    rows = []
    for step, trues in true_by_step.items():
        for i, t in enumerate(trues):
            rows.append(
                {
                    "arm": "ascent",
                    "step": step,
                    "design_id": i,
                    "true_norm": t,
                    "valid": not np.isnan(t),
                    "predicted_norm": 0.5 + 0.1 * step,
                    "predicted": 0.5 + 0.1 * step,
                    "bound": 1.0,
                }
            )
    rows.append({**rows[0], "arm": "control"})
    pd.DataFrame(rows).to_parquet(folder / "audit.parquet")
    (folder / "summary.json").write_text(
        json.dumps({"surrogate": method, "optimizer": "gradient_ascent", "seed": seed})
    )
    (folder / "sweep.json").write_text(
        json.dumps({"task": "car", "method": f"{method} / gradient_ascent"})
    )


def test_p50_per_step_counts_invalid_as_zero_and_the_check_uses_seed_stds(tmp_path):
    nan = float("nan")
    for m, method in enumerate(METHODS):
        for seed in (0, 1):
            end = 0.1 * m + 0.01 * seed
            _study(
                tmp_path,
                method,
                seed,
                {
                    0: [0.5, 0.5, 0.5, 0.5],
                    10: [0.9, 0.9],  # a subsample: not a full checkpoint, dropped
                    20: [end, end, nan, nan] if method == "mlp" else [end, end, end, 0.9],
                },
            )
    points = horizon_scan.checkpoints(tmp_path)
    assert sorted(points.step.unique()) == [0, 20]
    mlp20 = points[(points.method == "mlp / gradient_ascent") & (points.step == 20)]
    # two of four designs invalid: the median of [end, end, 0, 0] is end / 2
    assert mlp20.p50.tolist() == pytest.approx([0.0, 0.005])
    assert (mlp20.impossible == 1.0).all()  # prediction 2.5 > bound 1
    # rise of (predicted - true) from step 0 (gap 0) over the scored designs: 2.5 - end
    assert mlp20.over.tolist() == pytest.approx([2.5 - 0.0, 2.5 - 0.01])
    table = horizon_scan.by_step(points)
    row = table.loc[20]
    assert row["gp"] == pytest.approx(0.405) and row["mlp"] == pytest.approx(0.0025)
    assert row["spread"] == pytest.approx(0.405 - 0.0025)
    # the other methods differ by 0.01 between seeds, the plain MLP by 0.005
    assert row["max_std"] == pytest.approx(np.std([0.0, 0.01], ddof=1))
    assert row["ratio"] == pytest.approx(row["spread"] / row["max_std"])
    assert row["seeds"] == 2
    assert np.isnan(table.loc[0, "ratio"])  # every method at its start: 0 / 0
