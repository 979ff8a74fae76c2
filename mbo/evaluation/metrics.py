"""Metrics computed from the audit table alone (definitions in ``docs/metrics.md``).

All scores are in normalized units: ``(y - y_min) / (y_max - y_min)`` over the full
reference data. Rows are *scored* when the oracle returned a value; *invalid* designs (the
domain rejects them: a real outcome of optimization) and *oracle errors* (the evaluation
failed: no outcome at all) are both unscored. Oracle errors are left out of every rate and
counted apart. An invalid design is a failed proposal: the score statistics of a batch
(``p100``, ``p50``, ``true_mean``, the per-checkpoint means behind the peak and the stopping
rules, the control's mean) count it at :data:`INVALID_SCORE`, the reference data's worst
score (normalized 0), so a method that turns 97 of 100 designs invalid cannot report the
median of its 3 survivors. The survivors' statistics stay beside them (``p100_valid``,
``p50_valid``, ``true_mean_valid``); ``invalid_rate`` counts the invalid ones. Statistics of
a design's own rise (overestimation, fooled, gap, rank agreement) need a true score and use
the scored designs only.

The headline fooled measure is **overestimation**: per design, the rise of
``predicted - true`` from its start to its end, so a surrogate that is merely biased (low or
high) by a constant reads 0. A design is **fooled** when its overestimation rose by more than
``delta = fooled_margin * sd(offline labels)`` while its true score did not rise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

#: the normalized score an invalid design counts as in batch score statistics: the worst
#: score of the full reference data (the Ehrlich functions' own rule scores infeasible 0)
INVALID_SCORE = 0.0

#: default fooled margin, in standard deviations of the offline (visible) labels.
FOOLED_MARGIN = 0.1

#: offline stopping rules (none reads the oracle): name -> one-line description.
STOPPING_RULES = {
    "distance": "stop before the median design is farther from the offline data than "
    "twice the data's own nearest-neighbour spacing",
    "disagreement": "stop before the surrogate's mean std (ensemble spread or GP) doubles "
    "from its start (surrogates with a std only)",
    "plateau": "stop at the first checkpoint whose predicted mean rose less than 0.1 offline "
    "label sd since the previous one",
    "beyond_data": "stop before the mean prediction exceeds the best offline label by more "
    "than 1 offline label sd",
}

#: the headline rows of a summary table: (summary key, label).
SUMMARY_ROWS = [
    ("predicted_start_mean", "predicted, start (mean)"),
    ("predicted_mean", "predicted, end (mean)"),
    ("true_start_mean", "true, start (mean)"),
    ("true_mean", "true, end (mean)"),
    ("overestimation", "overestimation = rise of (pred - true)"),
    ("gap_start", "gap = mean(pred - true), start"),
    ("gap", "gap = mean(pred - true), end"),
    ("fooled_rate", "fooled rate"),
    ("true_improvement_rate", "true-improvement rate"),
    ("p100", "100th percentile (true; invalid = 0)"),
    ("p50", "50th percentile (true; invalid = 0)"),
    ("d_best", "D(best)"),
    ("gradient_advantage", "gradient advantage vs random dir."),
    ("control_distance_ratio", "control / optimizer distance"),
    ("rank_agreement", "rank agreement (Spearman, final)"),
    ("rank_agreement_pooled", "rank agreement (Spearman, pooled)"),
    ("peak_true", "true-score peak (mean over designs)"),
    ("peak_step", "step of the true-score peak"),
    ("regret_final", "regret of the final checkpoint"),
    ("impossible_rate", "impossible-prediction rate"),
    ("invalid_rate", "invalid rate"),
    ("p50_valid", "50th percentile of the valid designs"),
    ("oracle_errors", "oracle errors (left out)"),
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
    """Spearman rank correlation (``scipy.stats.spearmanr``) over the pairs where both are
    finite; ``nan`` with fewer than 3 pairs or a constant side."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return math.nan
    return float(stats.spearmanr(a[ok], b[ok]).statistic)


def _nan(f, x: pd.Series) -> float:
    x = x.dropna()
    return float(f(x)) if len(x) else math.nan


def outcome_score(t: pd.DataFrame) -> pd.Series:
    """Normalized true scores with invalid designs at :data:`INVALID_SCORE` (oracle errors,
    which have no outcome, stay ``nan``)."""
    valid = t["valid"].astype(bool) if "valid" in t else t["true_norm"].notna()
    invalid = ~valid & ~_errors(t)
    return t["true_norm"].mask(invalid, INVALID_SCORE)


def scheduled_rows(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its ascent rows limited to the designs audited at every checkpoint (the
    subsample of a subsampled audit, every design of a full one; other arms untouched): the
    rows on which per-step means compare like with like."""
    ascent = table["arm"] == "ascent"
    per_step = table[ascent].groupby("step")["design_id"].agg(frozenset)
    if per_step.empty:
        return table
    common = frozenset.intersection(*per_step)
    if all(len(ids) == len(common) for ids in per_step):
        return table
    return table[~ascent | table["design_id"].isin(common)]


def _errors(t: pd.DataFrame) -> pd.Series:
    if "oracle_error" in t:
        return t["oracle_error"].astype(bool)
    return pd.Series(False, index=t.index)


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
    label_sd: float | None = None,
    spacing: float | None = None,
) -> dict[str, Any]:
    """The headline metrics of one run, from its audit table.

    Args:
        table: the audit table (:func:`mbo.evaluation.audit`).
        fooled_margin: the fooled rule's margin in offline label standard deviations.
        d_best: the offline dataset's best score, normalized.
        columns: numeric or boolean design columns whose start and final means to report.
        label_sd: standard deviation of the offline labels, normalized (scales the fooled
            margin and two stopping rules); ``None`` reads the margin as absolute.
        spacing: the offline data's nearest-neighbour spacing (``Geometry.offline_spacing``),
            for the distance stopping rule.
    """
    start, final = start_and_final(table)
    err = _errors(final) | _errors(start)
    ps, pf = start["predicted_norm"], final["predicted_norm"]
    ts, tf = start["true_norm"], final["true_norm"]
    ss, sf = outcome_score(start), outcome_score(final)  # invalid designs at the floor
    outcome = ~err  # designs with an outcome (scored or invalid)
    scored = outcome & tf.notna() & ts.notna()
    valid = final["valid"].astype(bool)
    rose_true = (tf > ts).fillna(False)
    over = ((pf - tf) - (ps - ts))[scored]
    delta = fooled_margin * (1.0 if label_sd is None else float(label_sd))
    fooled = (over > delta) & ~rose_true[scored]
    pooled = scheduled_rows(table)  # every checkpoint weighs the same
    ascent = pooled[(pooled["arm"] == "ascent") & ~_errors(pooled)]
    bound = final["bound_norm"][outcome]
    n_out = int(outcome.sum())
    out: dict[str, Any] = {
        "k": int(len(final)),
        "steps": int(table.loc[table["arm"] == "ascent", "step"].max()),
        "d_best": math.nan if d_best is None else float(d_best),
        "p100": _nan(np.max, sf[outcome]),
        "p50": _nan(np.median, sf[outcome]),
        "true_mean": _nan(np.mean, sf[outcome]),
        "true_start_mean": _nan(np.mean, ss[outcome]),
        "p100_valid": _nan(np.max, tf[outcome]),
        "p50_valid": _nan(np.median, tf[outcome]),
        "true_mean_valid": _nan(np.mean, tf[outcome]),
        "predicted_mean": float(pf.mean()),
        "predicted_start_mean": float(ps.mean()),
        "predicted_max": float(pf.max()),
        "overestimation": _nan(np.mean, over),
        "overestimation_median": _nan(np.median, over),
        "gap": _nan(np.mean, (pf - tf)[scored]),
        "gap_start": _nan(np.mean, (ps - ts)[scored]),
        "relaxation_gap": float((final["predicted_relaxed_norm"] - pf).mean()),
        "fooled_rate": float(fooled.mean()) if len(fooled) else math.nan,
        "fooled_margin": float(fooled_margin),
        "fooled_delta": float(delta),
        "label_sd": math.nan if label_sd is None else float(label_sd),
        "rank_agreement": spearman(pf[scored].to_numpy(), tf[scored].to_numpy()),
        "rank_agreement_pooled": spearman(
            ascent["predicted"].to_numpy(), ascent["true"].to_numpy()
        ),
        "true_improvement_rate": float(rose_true[outcome].mean()) if n_out else math.nan,
        "invalid_rate": float((~valid[outcome]).mean()) if n_out else math.nan,
        "oracle_errors": int(_errors(table).sum()),
        "oracle_error_rate": float(_errors(table).mean()),
        "impossible_rate": float((pf[outcome] > bound)[bound.notna()].mean())
        if bound.notna().any()
        else math.nan,
        "unchanged_rate": float((~final["changed"].astype(bool)).mean())
        if "changed" in final
        else math.nan,
        "gradient_advantage": math.nan,
        "control_true_mean": math.nan,
    }
    for col in columns:
        if col not in final:
            continue
        if not (
            pd.api.types.is_numeric_dtype(final[col]) or pd.api.types.is_bool_dtype(final[col])
        ):  # a label per design: count the final ones
            counts = final[col].astype(str).value_counts()
            out[f"{col}_counts"] = {k: int(v) for k, v in counts.items() if k != ""}
            continue
        out[f"{col}_start_mean"] = float(start[col].astype(float).mean())
        out[f"{col}_mean"] = float(final[col].astype(float).mean())
    if "moved" in final:
        out["moved_mean"] = float(final["moved"].mean())
    control = table[(table["arm"] == "control") & ~_errors(table)]
    if not control.empty:
        out["control_true_mean"] = _nan(np.mean, outcome_score(control))
        out["gradient_advantage"] = out["true_mean"] - out["control_true_mean"]
        if "moved" in control and "moved" in final:
            c = control.set_index("design_id")["moved"]
            m = final["moved"].reindex(c.index)
            ratio = (c / m)[m > 0]
            out["control_distance_ratio"] = _nan(np.mean, ratio)
            out["control_distance_ratio_min"] = _nan(np.min, ratio)
            out["control_distance_ratio_max"] = _nan(np.max, ratio)
    out |= peak_and_stops(table, label_sd=label_sd, d_best=d_best, spacing=spacing)
    return out


def peak_and_stops(
    table: pd.DataFrame,
    label_sd: float | None = None,
    d_best: float | None = None,
    spacing: float | None = None,
) -> dict[str, Any]:
    """The true-score peak along the trajectory and the regret of the final checkpoint and of
    every offline stopping rule (:data:`STOPPING_RULES`) against it.

    The peak is that of the per-checkpoint mean true score (invalid designs at
    :data:`INVALID_SCORE`); a rule picks
    one checkpoint for the whole batch from surrogate and geometry columns only (never
    ``true``); its regret is the peak minus the mean true score at its checkpoint (``nan``
    where the rule cannot be applied, e.g. disagreement without a std).
    """
    table = scheduled_rows(table)  # per-step means over the designs audited at every step
    t = table[(table["arm"] == "ascent") & ~_errors(table)]
    g = t.assign(score=outcome_score(t)).groupby("step", sort=True)
    true = g["score"].mean()
    pred = g["predicted_norm"].mean()
    steps = list(true.index)
    out: dict[str, Any] = {
        "peak_step": math.nan,
        "peak_true": math.nan,
        "regret_final": math.nan,
    }
    if true.notna().any():
        peak_step = int(true.idxmax())
        out |= {
            "peak_step": peak_step,
            "peak_true": float(true[peak_step]),
            "regret_final": float(true[peak_step] - true.iloc[-1]),
        }
    sd = 1.0 if label_sd is None or not math.isfinite(label_sd) else float(label_sd)
    chosen = {
        "distance": _last_before(
            g["offline_distance"].median() > 2 * spacing
            if "offline_distance" in t and spacing is not None and math.isfinite(spacing)
            else None
        ),
        "disagreement": _last_before(
            g["predicted_std_norm"].mean() > 2 * g["predicted_std_norm"].mean().iloc[0]
            if "predicted_std_norm" in t and t["predicted_std_norm"].notna().any()
            else None
        ),
        "plateau": _first(pred.diff().iloc[1:] < 0.1 * sd, default=steps[-1]),
        "beyond_data": _last_before(
            pred > d_best + sd if d_best is not None and math.isfinite(d_best) else None
        ),
    }
    for rule, step in chosen.items():
        out[f"stop_{rule}_step"] = math.nan if step is None else int(step)
        out[f"stop_{rule}_regret"] = (
            math.nan
            if step is None or not math.isfinite(out["peak_true"])
            else float(out["peak_true"] - true[step])
        )
    return out


def _first(flags: pd.Series, default: Any) -> Any:
    hit = flags[flags.fillna(False).astype(bool)]
    return hit.index[0] if len(hit) else default


def _last_before(flags: pd.Series | None) -> Any:
    """The last step before ``flags`` first turns true (the final step if it never does, the
    first step if it is already true there); ``None`` if the rule does not apply."""
    if flags is None:
        return None
    flags = flags.fillna(False).astype(bool)
    steps = list(flags.index)
    for i, step in enumerate(steps):
        if flags[step]:
            return steps[max(i - 1, 0)]
    return steps[-1]


def curves(table: pd.DataFrame, arm: str = "ascent") -> pd.DataFrame:
    """Per-step statistics of normalized predicted and true scores (the trajectory curves).

    One row per step; for ``predicted``, ``predicted_relaxed`` and ``true``: mean, median,
    q25, q75, min, max; plus ``gap`` (mean predicted - true over scored designs), ``valid``
    (share of valid designs among those with an outcome), ``overestimation`` (mean rise of
    predicted - true since the start), and where the audit has them ``moved`` and
    ``offline_distance`` (medians) and ``bound`` (mean normalized bound).
    """
    table = scheduled_rows(table)  # per-step statistics over the designs audited at every step
    t = table[(table["arm"] == arm) & ~_errors(table)]
    first = t[t["step"] == t["step"].min()].set_index("design_id")
    start_gap = first["predicted_norm"] - first["true_norm"]
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
        ok = g["valid"].astype(bool)  # error rows were dropped above
        gap = (g["predicted_norm"] - g["true_norm"])[ok]
        row["gap"] = gap.mean()
        row["valid"] = ok.mean()
        rise = gap.to_numpy() - start_gap.reindex(g.loc[ok, "design_id"]).to_numpy()
        row["overestimation"] = float(np.nanmean(rise)) if np.isfinite(rise).any() else math.nan
        for col in ("moved", "offline_distance"):
            if col in g:
                row[f"{col}_median"] = float(g[col].median())
        if "bound_norm" in g:
            row["bound_mean"] = float(g["bound_norm"].mean())
        rows.append(row)
    return pd.DataFrame(rows)
