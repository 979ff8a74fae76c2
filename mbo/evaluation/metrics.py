"""Metrics computed from the audit table alone (see DESIGN.md, "Adversarial-design metrics").

All scores are in normalized units: ``(y - y_min) / (y_max - y_min)`` over the full
reference data. Invalid designs (``true`` is ``nan``) are left out of percentiles, means and
the gap, and counted by ``invalid_rate``; a fooled or non-improving design is one whose true
score did not rise, which an invalid design never does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

#: default margin (normalized units) by which a prediction must rise to count as "fooled".
FOOLED_MARGIN = 0.02


#: the headline rows of a summary table: (summary key, label).
SUMMARY_ROWS = [
    ("predicted_start_mean", "predicted, start (mean)"),
    ("predicted_mean", "predicted, end (mean)"),
    ("true_start_mean", "true, start (mean)"),
    ("true_mean", "true, end (mean)"),
    ("gap", "gap = mean(pred - true), end"),
    ("fooled_rate", "fooled rate"),
    ("true_improvement_rate", "true-improvement rate"),
    ("p100", "100th percentile (true)"),
    ("p50", "50th percentile (true)"),
    ("d_best", "D(best)"),
    ("gradient_advantage", "gradient advantage vs random dir."),
    ("rank_agreement", "rank agreement (Spearman)"),
    ("impossible_rate", "impossible-prediction rate"),
    ("invalid_rate", "invalid rate"),
    ("unchanged_rate", "unchanged designs"),
    ("relaxation_gap", "relaxation gap (relaxed - decoded pred.)"),
    ("val_r2", "surrogate validation R^2"),
]


def summary_rows(summaries: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """:data:`SUMMARY_ROWS` plus, for domain columns in any summary (``<col>_start_mean`` and
    ``<col>_mean``, e.g. heavy atoms), a start and an end row."""
    cols = {
        k[: -len("_start_mean")] for s in summaries.values() for k in s if k.endswith("_start_mean")
    }
    extra = sorted(cols - {"true", "predicted"})
    return SUMMARY_ROWS + [
        (f"{c}{w}", f"{c}, {lbl} (mean)")
        for c in extra
        for w, lbl in (("_start_mean", "start"), ("_mean", "end"))
    ]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two arrays (average ranks for ties); ``nan`` if undefined."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return math.nan
    ra = pd.Series(a[ok]).rank().to_numpy()
    rb = pd.Series(b[ok]).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def _nan(f, x: pd.Series) -> float:
    x = x.dropna()
    return float(f(x)) if len(x) else math.nan


def start_and_final(table: pd.DataFrame, arm: str = "ascent") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of ``arm`` at the first and last step, indexed by ``design_id``."""
    t = table[table["arm"] == arm]
    if t.empty:
        raise ValueError(f"the audit table has no rows for arm {arm!r}")
    start = t[t["step"] == t["step"].min()].set_index("design_id")
    final = t[t["step"] == t["step"].max()].set_index("design_id")
    return start, final.loc[start.index]


def summarize(
    table: pd.DataFrame,
    fooled_margin: float = FOOLED_MARGIN,
    d_best: float | None = None,
    columns: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The headline metrics of one run, from its audit table.

    Args:
        table: the audit table (:func:`mbo.audit.audit`).
        fooled_margin: the δ of the fooled rate, in normalized units.
        d_best: the offline dataset's best score, normalized (reported alongside).
        columns: numeric or boolean design columns whose start and final means to report
            (``<col>_start_mean``, ``<col>_mean``).
    """
    start, final = start_and_final(table)
    ps, pf = start["predicted_norm"], final["predicted_norm"]
    ts, tf = start["true_norm"], final["true_norm"]
    valid = final["valid"].astype(bool)
    rose_true = (tf > ts).fillna(False)
    fooled = ((pf - ps) > fooled_margin) & ~rose_true
    ascent = table[table["arm"] == "ascent"]
    bound = final["bound_norm"]
    out: dict[str, Any] = {
        "k": int(len(final)),
        "steps": int(table.loc[table["arm"] == "ascent", "step"].max()),
        "d_best": math.nan if d_best is None else float(d_best),
        "p100": _nan(np.max, tf),
        "p50": _nan(np.median, tf),
        "true_mean": _nan(np.mean, tf),
        "true_start_mean": _nan(np.mean, ts),
        "predicted_mean": float(pf.mean()),
        "predicted_start_mean": float(ps.mean()),
        "predicted_max": float(pf.max()),
        "gap": _nan(np.mean, (pf - tf)[valid]),
        "gap_start": _nan(np.mean, ps - ts),
        "relaxation_gap": float((final["predicted_relaxed_norm"] - pf).mean()),
        "fooled_rate": float(fooled.mean()),
        "fooled_margin": float(fooled_margin),
        "rank_agreement": spearman(ascent["predicted"].to_numpy(), ascent["true"].to_numpy()),
        "true_improvement_rate": float(rose_true.mean()),
        "invalid_rate": float((~valid).mean()),
        "impossible_rate": float((pf > bound)[bound.notna()].mean())
        if bound.notna().any()
        else math.nan,
        "unchanged_rate": float((~final["changed"].astype(bool)).mean())
        if "changed" in final
        else math.nan,
        "gradient_advantage": math.nan,
        "control_true_mean": math.nan,
    }
    for col in columns:
        if col in final:
            out[f"{col}_start_mean"] = float(start[col].astype(float).mean())
            out[f"{col}_mean"] = float(final[col].astype(float).mean())
    control = table[table["arm"] == "control"]
    if not control.empty:
        out["control_true_mean"] = _nan(np.mean, control["true_norm"])
        out["gradient_advantage"] = out["true_mean"] - out["control_true_mean"]
    return out


def curves(table: pd.DataFrame, arm: str = "ascent") -> pd.DataFrame:
    """Per-step statistics of normalized predicted and true scores (the trajectory curves).

    One row per step; for ``predicted``, ``predicted_relaxed`` and ``true``: mean, median,
    q25, q75, min, max; plus ``gap`` (mean predicted - true over valid designs) and ``valid``
    (share of valid designs).
    """
    t = table[table["arm"] == arm]
    rows = []
    for step, g in t.groupby("step", sort=True):
        row: dict[str, Any] = {"step": int(step)}
        for col in ("predicted", "predicted_relaxed", "true"):
            v = g[f"{col}_norm"].dropna()
            q = (
                v.quantile([0.25, 0.5, 0.75])
                if len(v)
                else pd.Series([math.nan] * 3, [0.25, 0.5, 0.75])
            )
            row |= {
                f"{col}_mean": v.mean(),
                f"{col}_median": q[0.5],
                f"{col}_q25": q[0.25],
                f"{col}_q75": q[0.75],
                f"{col}_min": v.min(),
                f"{col}_max": v.max(),
            }
        ok = g["valid"].astype(bool)
        row["gap"] = (g["predicted_norm"] - g["true_norm"])[ok].mean()
        row["valid"] = ok.mean()
        rows.append(row)
    return pd.DataFrame(rows)
