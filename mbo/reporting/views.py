"""Teaching views of a study, computed: each returns a tidy table (or a dict of arrays).

Nothing here draws or writes a file; :mod:`mbo.reporting.figures` draws what these return
and :mod:`mbo.reporting.artifacts` saves both, the data beside its picture.

- :func:`trajectory_curves` -- a study's trajectory curves with the distribution of its
  designs' exact upper bounds per step (:func:`bound_band`).
- :func:`trajectory_comparison` -- predicted vs true score against step, per study.
- :func:`overoptimization` -- true and predicted score against the distance from the offline
  data (Gao et al. 2022's over-optimization picture, with an exact oracle), the offline
  stopping rules' checkpoints marked; :func:`overoptimization_comparison` for several
  variants, seed-averaged by step.
- :func:`stopping_rules` -- each offline stopping rule's checkpoint and regret, beside the
  final checkpoint's and the true-score peak.
- :func:`gradient_sweep` -- a 1-D walk from one design along the surrogate's input gradient
  and along a random direction; :func:`walk_shape` says in numbers what it shows.
- :func:`linearization` -- the surrogate along the optimizer's own path against the straight
  line through its gradient at the start: how linear the surrogate is where ascent went.
- :func:`cross_section` -- 2-D maps (surrogate, oracle, difference) on the plane spanned by the
  gradient and a random orthogonal direction, with the offline data's neighbourhood marked.
- :func:`transfer_matrix` -- designs optimized against surrogate A, scored by surrogate B and
  by the oracle.
- :func:`landscape` -- the whole design space of a 2-D box, true beside predicted.
- :func:`top_designs` -- the top proposed designs beside the best offline ones, labelled.

**Coordinates** are the optimizer's own (see :mod:`mbo.reporting.geometry`). The gradient is
that of the surrogate's prediction at the design tensor (at the relaxed softmax for sequences,
as the optimizer sees it), normalized to unit length. Every point is projected into the space
(``clipped`` marks where the projection changed it) and decoded; the primary prediction is the
surrogate at the *decoded* design (``predicted``), the one at the projected design tensor is
``predicted_relaxed`` (they differ only for sequences). All scores are normalized by the full
reference data's min/max.

**Oracle.** The views call the oracle only to report, after designs were chosen (allowed by
the sealing rule); each per-design view makes one batched oracle call, and the transfer
matrix makes none (it reuses the audit's oracle values for the same designs).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from domains import BoxSpace, Domain

from ..evaluation import STOPPING_RULES, predict_batched, scheduled_rows, surrogate_device
from ..study import StudyResult
from .geometry import (
    coordinates_note,
    default_span,
    displace,
    input_gradient,
    pick_design,
    random_unit,
    score_points,
    study_coordinates,
    study_geometry,
)

#: the offline data's neighbourhood: within this many typical offline spacings of a design.
NEIGHBOURHOOD = 2.0


def study_label(result: StudyResult) -> str:
    """Short label: the run folder's name, else the spec's label."""
    return result.run_dir.name if result.run_dir is not None else result.spec.label


def domain_key(result: StudyResult) -> str:
    """Studies with equal keys share a domain (same designs, same oracle, same normalization)."""
    spec = result.spec
    return json.dumps(
        {"domain": spec.domain.lower(), "options": spec.domain_options}, sort_keys=True, default=str
    )


def _reference_lines(result: StudyResult) -> dict[str, float]:
    """D(best) and the offline labels' standard deviation, normalized: the yardsticks the
    captions measure gaps with."""
    y = np.asarray(result.domain.normalize(np.asarray(result.offline.y, dtype=np.float64)))
    return {"d_best": float(y.max()), "label_sd": float(y.std())}


def _ascent(table: pd.DataFrame) -> pd.DataFrame:
    """The ascent arm's rows that have an outcome (oracle errors left out, as the metrics do),
    of the designs audited at every checkpoint (the subsample of a subsampled audit)."""
    table = scheduled_rows(table)
    t = table[table["arm"] == "ascent"]
    if "oracle_error" in t:
        t = t[~t["oracle_error"].astype(bool)]
    return t


def _num(v: Any) -> float:
    try:
        return math.nan if v is None else float(v)
    except (TypeError, ValueError):
        return math.nan


# --- trajectory ---------------------------------------------------------------------------
#: the per-step statistics of the designs' exact bounds that :func:`bound_band` adds.
BOUND_COLUMNS = ("bound_mean", "bound_q25", "bound_median", "bound_q75", "bound_min", "bound_max")


def bound_band(table: pd.DataFrame) -> pd.DataFrame:
    """Per step, the distribution over designs of their exact upper bounds (normalized), from
    the audit table's ascent arm: ``step`` and :data:`BOUND_COLUMNS` (mean, quartiles, min,
    max over the designs with a bound). No rows where the audit has no bound at all."""
    t = _ascent(table)
    if "bound_norm" not in t or not t["bound_norm"].notna().any():
        return pd.DataFrame(columns=["step", *BOUND_COLUMNS])
    g = t.groupby("step", sort=True)["bound_norm"]
    out = pd.DataFrame(
        {
            "bound_mean": g.mean(),
            "bound_q25": g.quantile(0.25),
            "bound_median": g.median(),
            "bound_q75": g.quantile(0.75),
            "bound_min": g.min(),
            "bound_max": g.max(),
        }
    )
    return out.rename_axis("step").reset_index()


def with_bounds(curves: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``curves`` with the per-step bound distribution of :func:`bound_band` (replacing any
    ``bound_mean`` column by the audit's own); ``curves`` unchanged without bounds."""
    band = bound_band(table)
    if band.empty:
        return curves
    keep = curves.drop(columns=[c for c in BOUND_COLUMNS if c in curves])
    return keep.merge(band.astype({"step": keep["step"].dtype}), on="step", how="left")


def trajectory_curves(result: StudyResult) -> pd.DataFrame:
    """A study's trajectory curves (``result.curves``) with the distribution of its designs'
    exact upper bounds per step (:func:`with_bounds`): what the trajectory picture draws."""
    return with_bounds(result.curves, result.table)


def trajectory_comparison(
    results: Sequence[StudyResult], labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """The trajectory curves of several studies in one table (column ``study`` first)."""
    labels = list(labels) if labels is not None else [study_label(r) for r in results]
    frames = [
        trajectory_curves(r).assign(study=lbl) for r, lbl in zip(results, labels, strict=True)
    ]
    df = pd.concat(frames, ignore_index=True)
    return df[["study", *[c for c in df.columns if c != "study"]]]


# --- over-optimization: scores against the distance from the data ------------------------
#: the over-optimization picture's x: median distance of the designs to the offline data.
DISTANCE = "offline_distance_median"


def overoptimization_table(
    table: pd.DataFrame, summary: dict[str, Any] | None = None
) -> pd.DataFrame:
    """True and predicted score against the distance from the offline data, per checkpoint,
    from an audit table with an ``offline_distance`` column (its ascent arm, oracle errors
    left out).

    One row per step: ``step``, ``offline_distance_median`` (median over the designs of the
    distance to the nearest offline design, in :class:`mbo.evaluation.Geometry` units),
    ``moved_median`` (where the audit has ``moved``), ``predicted_mean`` and ``true_mean``
    (normalized, mean over designs, as in the trajectory curves) and ``n`` (designs).
    ``df.attrs``: ``d_best``, ``distance_unit``, ``peak_step``, ``final_step`` and ``stops``
    (``{rule: step}`` of the offline stopping rules that apply), read from ``summary``.
    """
    t = _ascent(table)
    if "offline_distance" not in t:
        raise ValueError("the audit table has no offline_distance column (no geometry)")
    g = t.groupby("step", sort=True)
    cols: dict[str, pd.Series] = {DISTANCE: g["offline_distance"].median()}
    if "moved" in t:
        cols["moved_median"] = g["moved"].median()
    cols |= {
        "predicted_mean": g["predicted_norm"].mean(),
        "true_mean": g["true_norm"].mean(),
        "n": g.size(),
    }
    df = pd.DataFrame(cols).rename_axis("step").reset_index()
    df["step"] = df["step"].astype(int)
    s = summary or {}
    stops = {}
    for rule in STOPPING_RULES:
        step = _num(s.get(f"stop_{rule}_step"))
        if math.isfinite(step):
            stops[rule] = int(step)
    peak = _num(s.get("peak_step"))
    df.attrs = {
        "view": "overoptimization",
        "x": DISTANCE,
        "d_best": _num(s.get("d_best")),
        "distance_unit": str(s.get("distance_unit") or ""),
        "peak_step": int(peak) if math.isfinite(peak) else None,
        "final_step": int(df["step"].max()) if len(df) else None,
        "stops": stops,
    }
    return df


def overoptimization(result: StudyResult) -> pd.DataFrame:
    """:func:`overoptimization_table` of one study; an audit table without distances (an
    older run folder) gets them from the study's geometry first. No oracle calls."""
    table = result.table
    summary = dict(result.summary)
    if not summary.get("distance_unit"):
        summary["distance_unit"] = study_geometry(result).unit
    if "offline_distance" not in table:
        geometry = study_geometry(result)
        table = table.copy()
        rows = table["arm"] == "ascent"
        steps = list(result.trajectory.steps)
        c = torch.as_tensor([steps.index(int(s)) for s in table.loc[rows, "step"]])
        k = torch.tensor(table.loc[rows, "design_id"].astype(int).tolist())
        table.loc[rows, "offline_distance"] = geometry.offline_distance(result.trajectory.x[c, k])
    if "d_best" not in summary:
        summary |= _reference_lines(result)
    return overoptimization_table(table, summary)


def overoptimization_comparison(curves: pd.DataFrame) -> pd.DataFrame:
    """Several variants' over-optimization curves, seed-averaged by step.

    ``curves``: per-run curves with ``variant``, ``step``, ``offline_distance_median``,
    ``predicted_mean``, ``true_mean`` (and optionally ``seed``, ``moved_median``): the
    concatenated curves :func:`mbo.sweeps.compare.compare` returns, or per-study
    :func:`overoptimization` tables with a ``variant`` column. Returns one row per variant and
    step (variants in order of appearance): the means over seeds of those columns and
    ``seeds``, the number of runs averaged. Rows without a distance are left out.
    """
    need = ["variant", "step", DISTANCE, "predicted_mean", "true_mean"]
    missing = [c for c in need if c not in curves]
    if missing:
        raise ValueError(
            f"the curves lack {missing}; {DISTANCE} comes with run folders whose audit has "
            "distances (re-run older ones)"
        )
    c = curves[curves[DISTANCE].notna()]
    if c.empty:
        raise ValueError(f"no curve has a {DISTANCE}")
    cols = [DISTANCE] + (["moved_median"] if "moved_median" in c else [])
    cols += ["predicted_mean", "true_mean"]
    order = list(dict.fromkeys(c["variant"]))
    g = c.groupby(["variant", "step"], sort=False)
    out = g[cols].mean()
    out["seeds"] = g.size()
    out = out.reset_index()
    out["variant"] = pd.Categorical(out["variant"], order, ordered=True)
    out = out.sort_values(["variant", "step"], kind="stable").reset_index(drop=True)
    out["variant"] = out["variant"].astype(str)
    out.attrs = {"view": "overoptimization_comparison", "x": DISTANCE, "variants": order}
    return out


def variant_labels(results: Sequence[StudyResult], labels: Sequence[str]) -> list[str]:
    """One variant label per study: studies whose specs differ only in ``seed`` (and
    ``name``) are one variant, labelled ``<surrogate> (n seeds)`` (``+<objective>`` added for
    an objective other than the mean, as in ``mbo compare``); a study alone keeps its own label."""
    keys = [
        json.dumps(
            {k: v for k, v in r.spec.to_dict().items() if k not in ("seed", "name")},
            sort_keys=True,
            default=str,
        )
        for r in results
    ]
    members: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        members.setdefault(key, []).append(i)
    out = []
    for i, key in enumerate(keys):
        group = members[key]
        if len(group) == 1:
            out.append(labels[i])
            continue
        spec = results[i].spec
        what = spec.surrogate + ("" if spec.objective == "mean" else f"+{spec.objective}")
        seeds = len({results[j].spec.seed for j in group})
        out.append(f"{what} ({seeds} seeds)" if seeds > 1 else f"{what} ({len(group)} runs)")
    taken: dict[str, str] = {}
    for i, (lbl, key) in enumerate(zip(out, keys, strict=True)):
        if taken.setdefault(lbl, key) != key:  # two variants would share a label
            out[i] = f"{lbl} [{labels[members[key][0]]}]"
    return out


def runs_table(results: Sequence[StudyResult], labels: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per study: ``variant`` (:func:`variant_labels` without its seed count, so the
    seeds of one variant share it), ``seed``, ``study`` (its label) and every numeric value of
    its summary (``p100``, ``p50``, ``overestimation``, ``stop_<rule>_regret``...): the table
    :func:`mbo.reporting.prose.compare_verdict` and :func:`~mbo.reporting.prose.stopping_overview`
    read, as :func:`mbo.sweeps.compare.compare` returns it for a comparison."""
    labels = list(labels) if labels is not None else [study_label(r) for r in results]
    variants = [re.sub(r" \(\d+ (seeds|runs)\)$", "", v) for v in variant_labels(results, labels)]
    rows = []
    for r, lbl, v in zip(results, labels, variants, strict=True):
        numbers = {
            k: float(x)
            for k, x in r.summary.items()
            if isinstance(x, int | float) and not isinstance(x, bool)
        }
        rows.append({"variant": v, "seed": r.spec.seed, "study": lbl, **numbers})
    return pd.DataFrame(rows)


def overoptimization_studies(
    results: Sequence[StudyResult], labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """:func:`overoptimization_comparison` of several studies on one domain: each study's
    :func:`overoptimization` table, studies pooled per variant (:func:`variant_labels`) and
    averaged over their seeds. ``attrs`` adds ``d_best`` and ``distance_unit`` (the first
    study's)."""
    labels = list(labels) if labels is not None else [study_label(r) for r in results]
    variants = variant_labels(results, labels)
    tables = [overoptimization(r) for r in results]
    frames = [
        df.assign(variant=v, seed=r.spec.seed)
        for df, v, r in zip(tables, variants, results, strict=True)
    ]
    out = overoptimization_comparison(pd.concat(frames, ignore_index=True))
    first = tables[0].attrs
    out.attrs |= {"d_best": first["d_best"], "distance_unit": first["distance_unit"]}
    return out


# --- offline stopping rules ---------------------------------------------------------------
#: regrets closer than this count as equal (a rule must do strictly better than the end).
REGRET_TOL = 1e-9


def stopping_rules(summary: dict[str, Any]) -> pd.DataFrame:
    """The offline stopping rules of one study (from its summary), beside running to the end
    and the true-score peak for reference.

    One row per rule of :data:`mbo.evaluation.STOPPING_RULES` (``kind="rule"``), then
    ``end`` (the final checkpoint) and ``peak`` (the oracle's best checkpoint, which no
    offline rule can know): ``rule``, ``kind``, ``step``, ``true_mean`` (the mean true score
    at that step, normalized), ``regret`` (peak minus that), ``beats_end`` (a rule's regret
    is smaller than the end's). ``nan`` where a rule does not apply.
    """
    peak = _num(summary.get("peak_true"))
    end_regret = _num(summary.get("regret_final"))

    def row(rule: str, kind: str, step: float, regret: float) -> dict[str, Any]:
        beats = (
            kind == "rule"
            and math.isfinite(regret)
            and math.isfinite(end_regret)
            and regret < end_regret - REGRET_TOL
        )
        return {
            "rule": rule,
            "kind": kind,
            "step": step,
            "true_mean": peak - regret if math.isfinite(regret) else math.nan,
            "regret": regret,
            "beats_end": bool(beats),
        }

    rows = [
        row(
            rule,
            "rule",
            _num(summary.get(f"stop_{rule}_step")),
            _num(summary.get(f"stop_{rule}_regret")),
        )
        for rule in STOPPING_RULES
    ]
    rows.append(row("end", "end", _num(summary.get("steps")), end_regret))
    rows.append(
        row(
            "peak", "peak", _num(summary.get("peak_step")), 0.0 if math.isfinite(peak) else math.nan
        )
    )
    df = pd.DataFrame(rows)
    df.attrs = {"view": "stopping_rules", "regret_final": end_regret, "peak_true": peak}
    return df


def _directions(
    result: StudyResult,
    design_id: int,
    step: str | int,
    seed: int,
    span: float | None,
    orthogonal: bool,
) -> tuple[Tensor, int, Tensor, Tensor, Tensor, bool, float]:
    """What the sweep and the cross-section share: the design ``x0`` and its step, the
    optimizer's ``scale``, the unit gradient direction ``g`` (a seeded random one where the
    gradient is zero), a seeded random unit direction ``r`` (orthogonal to ``g`` if asked),
    whether the gradient was zero, and the span."""
    x0, step_no = pick_design(result, design_id, step)
    _, scale = study_coordinates(result)
    g = input_gradient(result, x0)
    zero_grad = float(g.norm()) == 0
    if zero_grad:
        g = random_unit(x0.shape, seed + 1)
    r = random_unit(x0.shape, seed, orthogonal_to=g if orthogonal else None)
    span = default_span(result, design_id) if span is None else float(span)
    return x0, step_no, scale, g, r, zero_grad, span


# --- 1-D sweep ----------------------------------------------------------------------------
def gradient_sweep(
    result: StudyResult,
    design_id: int = 0,
    step: str | int = "start",
    n: int = 81,
    span: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Walk ``x + t * d`` from one design for ``t`` in ``[-span, span]`` along the unit gradient
    direction ``d = g`` and along a random unit direction; score every point.

    Returns one row per point: ``direction`` (``"gradient"``/``"random"``), ``t``, the columns
    of :func:`~mbo.reporting.geometry.score_points` (``predicted_norm``,
    ``predicted_relaxed_norm``, ``true_norm``, ``valid``, ``clipped``, ``offline_distance``,
    ...). ``df.attrs`` holds the design, the span, ``d_best`` and the offline spacing. One
    oracle call for both walks.
    """
    if n < 3:
        raise ValueError(f"n must be >= 3, got {n}")
    x0, step_no, scale, g, r, zero_grad, span = _directions(
        result, design_id, step, seed, span, orthogonal=False
    )
    t = torch.linspace(-span, span, n)
    if n % 2:
        t[n // 2] = 0.0
    disp = torch.cat([t.view(-1, *[1] * x0.ndim) * g, t.view(-1, *[1] * x0.ndim) * r])
    table = score_points(result, displace(x0, scale, disp))
    table.insert(0, "t", torch.cat([t, t]).numpy().astype(np.float64))
    table.insert(0, "direction", ["gradient"] * n + ["random"] * n)
    table.attrs = {
        "view": "gradient_sweep",
        "design_id": int(design_id),
        "step": step_no,
        "span": span,
        "seed": int(seed),
        "zero_gradient": zero_grad,
        "coordinates": coordinates_note(result),
        **_reference_lines(result),
        "offline_spacing": study_geometry(result).offline_spacing(),
        "distance_unit": study_geometry(result).unit,
    }
    return table


#: how close (in offline label sd) the surrogate must stay to the oracle along a whole walk
#: to "track" it, and how much faster than the oracle it must rise to be "fooled".
TRACK_TOL = 0.25


def _r2_of_line(t: np.ndarray, v: np.ndarray) -> float:
    """R² of the least-squares line through ``(t, v)`` (finite points; ``nan`` if < 3 or flat)."""
    ok = np.isfinite(t) & np.isfinite(v)
    t, v = t[ok], v[ok]
    if len(t) < 3 or np.ptp(v) == 0 or np.ptp(t) == 0:
        return math.nan
    fit = np.polyval(np.polyfit(t, v, 1), t)
    return float(1 - ((v - fit) ** 2).sum() / ((v - v.mean()) ** 2).sum())


def _argmax(t: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """``(max, t at max)`` over the finite values of ``v`` (``nan, nan`` if none)."""
    ok = np.isfinite(v)
    if not ok.any():
        return math.nan, math.nan
    i = int(np.flatnonzero(ok)[np.argmax(v[ok])])
    return float(v[i]), float(t[i])


def walk_shape(df: pd.DataFrame, direction: str = "gradient") -> dict[str, Any]:
    """What one walk of :func:`gradient_sweep` shows, in numbers, for captions written from
    the data (:func:`mbo.reporting.prose.sweep_caption`).

    On the forward half (``t >= 0``, the way the optimizer goes along the gradient):
    ``t_end``; the surrogate's and the oracle's values at ``t = 0`` (``pred_0``, ``true_0``)
    and at the end (``pred_end``, ``true_end``), their highest values and where
    (``pred_peak``/``t_pred_peak``, ``true_peak``/``t_true_peak``), ``pred_r2``/``true_r2``
    (R² of a straight line through each: 1 = perfectly linear), ``t_crosses_bound`` (first
    ``t`` where the prediction exceeds the point's exact upper bound; ``nan`` if never or
    unknown). Over the whole walk: ``gap_max`` (largest ``|pred - true|``), ``gap_mean``
    (mean ``pred - true``), ``pred_range``/``true_range`` (max - min), ``n``, ``clipped``
    (points the projection pulled back into the space), ``t_leaves`` / ``t_leaves_back``
    (first clipped ``t`` going forward / backward; ``nan`` if none), ``invalid``. Also on
    the forward half: ``true_min``/``t_true_min`` (the oracle's lowest value and where) and
    ``true_median`` (its median for ``t > 0``); and, for the stretch before the walk first
    leaves the design space, ``n_inside`` points and ``pred_r2_inside``/``true_r2_inside``.

    The *climb* is the forward walk up to the surrogate's highest point: ``true_at_pred_peak``
    (the oracle there), ``pred_r2_climb``/``true_r2_climb`` (R² of a line over the climb) and
    ``gap_open`` (how much ``pred - true`` grew from ``t = 0`` to the top of the climb).

    ``kind`` sorts the picture, with ``tol`` = :data:`TRACK_TOL` offline label sd:
    ``"tracks"`` (the two never differ by more than ``tol``), ``"fooled"`` (the surrogate
    climbs by more than ``tol`` and ``pred - true`` opens by more than ``tol`` on the way up),
    ``"under"`` (the surrogate sits below the oracle by more than ``tol`` on average),
    ``"apart"`` (they differ, but the gap does not open as the surrogate climbs).
    """
    d = df[df["direction"] == direction].sort_values("t", kind="stable")
    if d.empty:
        raise ValueError(f"the sweep has no {direction!r} walk")
    t = d["t"].to_numpy(dtype=float)
    p = d["predicted_norm"].to_numpy(dtype=float)
    y = d["true_norm"].to_numpy(dtype=float)
    bound = (
        d["bound_norm"].to_numpy(dtype=float) if "bound_norm" in d else np.full(len(d), math.nan)
    )
    clipped = d["clipped"].to_numpy(dtype=bool) if "clipped" in d else np.zeros(len(d), bool)
    fwd = t >= -1e-12
    i0 = int(np.argmin(np.abs(t)))
    i1 = int(np.flatnonzero(fwd)[-1])
    sd = _num(df.attrs.get("label_sd"))
    tol = TRACK_TOL * (sd if math.isfinite(sd) and sd > 0 else 0.2)
    gap = p - y
    pred_peak, t_pred_peak = _argmax(t[fwd], p[fwd])
    true_peak, t_true_peak = _argmax(t[fwd], y[fwd])
    true_low, t_true_low = _argmax(t[fwd], -y[fwd])
    over = fwd & np.isfinite(bound) & (p > bound + 1e-9)
    # the forward walk while it is still inside the design space (before the first clip)
    first_clip = np.flatnonzero(fwd & clipped)
    inside = fwd & (t < t[first_clip[0]]) if len(first_clip) else fwd
    ahead = fwd & (t > 1e-12)
    out: dict[str, Any] = {
        "direction": direction,
        "t_end": float(t[i1]),
        "pred_0": float(p[i0]),
        "true_0": float(y[i0]),
        "pred_end": float(p[i1]),
        "true_end": float(y[i1]),
        "pred_peak": pred_peak,
        "t_pred_peak": t_pred_peak,
        "true_peak": true_peak,
        "t_true_peak": t_true_peak,
        "true_min": -true_low,
        "t_true_min": t_true_low,
        "true_median": float(np.nanmedian(y[ahead])) if np.isfinite(y[ahead]).any() else math.nan,
        "pred_r2": _r2_of_line(t[fwd], p[fwd]),
        "true_r2": _r2_of_line(t[fwd], y[fwd]),
        "n_inside": int(inside.sum()),
        "pred_r2_inside": _r2_of_line(t[inside], p[inside]),
        "true_r2_inside": _r2_of_line(t[inside], y[inside]),
        "t_crosses_bound": float(t[over].min()) if over.any() else math.nan,
        "bound_0": float(bound[i0]),
        "gap_max": float(np.nanmax(np.abs(gap))) if np.isfinite(gap).any() else math.nan,
        "gap_mean": float(np.nanmean(gap)) if np.isfinite(gap).any() else math.nan,
        "pred_range": float(np.nanmax(p) - np.nanmin(p)) if np.isfinite(p).any() else math.nan,
        "true_range": float(np.nanmax(y) - np.nanmin(y)) if np.isfinite(y).any() else math.nan,
        "n": len(d),
        "clipped": int(clipped.sum()),
        "t_leaves": float(t[clipped & fwd].min()) if (clipped & fwd).any() else math.nan,
        "t_leaves_back": float(t[clipped & ~fwd].max()) if (clipped & ~fwd).any() else math.nan,
        "invalid": int((~d["valid"].astype(bool)).sum()) if "valid" in d else 0,
        "tol": tol,
        "label_sd": sd,
    }
    # the climb: from t = 0 to where the surrogate is highest going forward
    at_peak = int(np.flatnonzero(t == t_pred_peak)[0]) if math.isfinite(t_pred_peak) else i0
    climb = fwd & (t <= t[at_peak] + 1e-12)
    out["true_at_pred_peak"] = float(y[at_peak])
    out["pred_r2_climb"] = _r2_of_line(t[climb], p[climb])
    out["true_r2_climb"] = _r2_of_line(t[climb], y[climb])
    gap_open = (out["pred_peak"] - out["true_at_pred_peak"]) - (out["pred_0"] - out["true_0"])
    climbs = math.isfinite(out["pred_peak"]) and out["pred_peak"] - out["pred_0"] > tol
    if math.isfinite(out["gap_max"]) and out["gap_max"] <= tol:
        kind = "tracks"
    elif climbs and math.isfinite(gap_open) and gap_open > tol:
        kind = "fooled"
    elif math.isfinite(out["gap_mean"]) and out["gap_mean"] < -tol:
        kind = "under"
    else:
        kind = "apart"
    out["kind"] = kind
    out["gap_open"] = gap_open
    return out


# --- linearity along the path ------------------------------------------------------------
def linearization(result: StudyResult) -> pd.DataFrame:
    """How linear is the surrogate along the path the optimizer actually took? At every
    checkpoint, each design's prediction against the straight line through the surrogate's
    gradient at its start: ``f(x0) + grad f(x0) . (x - x0)`` (relaxed features, as the
    optimizer sees them; normalized units). No oracle calls: the true scores come from the
    audit table.

    One row per step: ``network_rise`` (median over the designs of ``f(x) - f(x0)``),
    ``linear_rise`` (median of the first-order prediction of that rise), ``linear_error``
    (median of ``|f(x) - first-order|``), ``true_rise`` (median of the oracle's change since
    the start, scored designs only) and ``n``.
    """
    x = result.trajectory.x.detach().cpu().float()  # (C, K, *shape)
    dev = surrogate_device(result.surrogate)
    space, domain = result.domain.space, result.domain
    x0 = x[0].to(dev).requires_grad_(True)
    with torch.enable_grad():
        f0 = result.surrogate(space.features(x0, hard=False))
        (g,) = torch.autograd.grad(f0.sum(), x0)
    g = g.detach().cpu()
    f0 = f0.detach().cpu().double().numpy()
    with torch.no_grad():
        f = np.stack(
            [
                result.surrogate(space.features(xc.to(dev), hard=False)).cpu().double().numpy()
                for xc in x
            ]
        )
    lin = f0[None] + ((x - x[0][None]) * g[None]).flatten(2).sum(-1).double().numpy()
    fn, ln, f0n = (np.asarray(domain.normalize(v)) for v in (f, lin, f0))
    t = _ascent(result.table)
    true = t.pivot_table(index="step", columns="design_id", values="true_norm", aggfunc="mean")
    steps = [int(s) for s in result.trajectory.steps]
    true = true.reindex(index=steps)
    true_rise = true.to_numpy() - true.to_numpy()[:1]
    rows = []
    for c, step in enumerate(steps):
        tr = true_rise[c]
        rows.append(
            {
                "step": step,
                "network_rise": float(np.median(fn[c] - f0n)),
                "linear_rise": float(np.median(ln[c] - f0n)),
                "linear_error": float(np.median(np.abs(fn[c] - ln[c]))),
                "true_rise": float(np.nanmedian(tr)) if np.isfinite(tr).any() else math.nan,
                "n": int(fn.shape[1]),
            }
        )
    df = pd.DataFrame(rows)
    df.attrs = {"view": "linearization", "label_sd": _reference_lines(result)["label_sd"]}
    return df


# --- 2-D cross-section --------------------------------------------------------------------
def cross_section(
    result: StudyResult,
    design_id: int = 0,
    step: str | int = "start",
    n: int = 31,
    span: float | None = None,
    seed: int = 0,
    n_near: int = 40,
    max_points: int = 500,
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Surrogate and oracle on the plane ``x + a * g + b * r`` around one design.

    ``g`` is the unit gradient direction, ``r`` a seeded random unit direction orthogonal to
    it; ``a, b`` run over an ``n x n`` grid in ``[-span, span]`` (``n`` odd so that the grid's
    centre ``a = b = 0`` is the design itself). Every grid point is projected and decoded.

    Returns ``(grid, points)``. ``grid``: one row per grid point with ``a``, ``b``, the
    columns of :func:`~mbo.reporting.geometry.score_points` and ``difference`` (predicted -
    true, normalized). ``points``: offline designs near the plane (``kind="offline"``: those
    whose out-of-plane distance ``residual`` is below the typical offline spacing, at most
    ``max_points``, at least the ``n_near`` nearest) and the design's own trajectory
    (``kind="path"``), projected onto the plane. One oracle call (the grid); with
    ``progress`` one per grid row instead, under a progress bar (slow oracles: the car).
    """
    if n < 3:
        raise ValueError(f"n must be >= 3, got {n}")
    n = n if n % 2 else n + 1
    x0, step_no, scale, g, r, zero_grad, span = _directions(
        result, design_id, step, seed, span, orthogonal=True
    )
    ticks = torch.linspace(-span, span, n)
    ticks[n // 2] = 0.0
    bb, aa = torch.meshgrid(ticks, ticks, indexing="ij")
    a, b = aa.reshape(-1), bb.reshape(-1)
    shape1 = (-1, *[1] * x0.ndim)
    disp = a.view(shape1) * g + b.view(shape1) * r
    points_raw = displace(x0, scale, disp)
    if progress:
        from tqdm.auto import tqdm

        rows = [
            score_points(result, points_raw[i : i + n])
            for i in tqdm(range(0, len(points_raw), n), desc="cross-section rows", leave=False)
        ]
        grid = pd.concat(rows, ignore_index=True)
    else:
        grid = score_points(result, points_raw)
    grid.insert(0, "b", b.numpy().astype(np.float64))
    grid.insert(0, "a", a.numpy().astype(np.float64))
    grid["difference"] = grid["predicted_norm"] - grid["true_norm"]

    def project(x: Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        d = ((x - x0) / scale).flatten(1).double()
        gd, rd = g.flatten().double(), r.flatten().double()
        pa, pb = d @ gd, d @ rd
        resid = (d - pa[:, None] * gd - pb[:, None] * rd).norm(dim=1)
        return pa.numpy(), pb.numpy(), resid.numpy()

    off = result.offline.x.float()
    pa, pb, resid = project(off)
    spacing = study_geometry(result).offline_spacing()
    order = np.argsort(resid, kind="stable")
    within = int((resid <= spacing).sum())
    near = order[: min(max(n_near, min(within, max_points)), len(resid))]
    path = result.trajectory.x[:, design_id].float()
    qa, qb, qres = project(path)
    points = pd.DataFrame(
        {
            "kind": ["offline"] * len(near) + ["path"] * len(path),
            "index": np.concatenate([near, np.asarray(result.trajectory.steps)]),
            "a": np.concatenate([pa[near], qa]),
            "b": np.concatenate([pb[near], qb]),
            "residual": np.concatenate([resid[near], qres]),
            "true_norm": np.concatenate(
                [result.domain.normalize(result.offline.y[near]), np.full(len(path), np.nan)]
            ),
        }
    )
    grid.attrs = {
        "view": "cross_section",
        "design_id": int(design_id),
        "step": step_no,
        "span": span,
        "n": n,
        "seed": int(seed),
        "zero_gradient": zero_grad,
        "coordinates": coordinates_note(result),
        **_reference_lines(result),
        "offline_spacing": spacing,
        "neighbourhood": NEIGHBOURHOOD,
        "neighbourhood_level": NEIGHBOURHOOD * spacing,
        "distance_unit": study_geometry(result).unit,
        "n_offline": len(result.offline),
        "dim": int(result.domain.space.dim),
    }
    return grid, points


def section_shape(grid: pd.DataFrame) -> dict[str, Any]:
    """What a :func:`cross_section` grid shows, in numbers, for captions written from the
    data: ``n`` (grid points), ``clipped`` (points outside the space, projected back),
    ``dist_min``/``dist_max`` (distance to the nearest offline design over the grid),
    ``level`` (the neighbourhood: :data:`NEIGHBOURHOOD` x the typical offline spacing),
    ``near_share`` (share of the grid within it), ``n_far`` (grid points beyond it), ``over`` (largest ``predicted - true``),
    ``over_a``/``over_b`` (where), ``over_share`` (share of grid points where the surrogate
    over-predicts by more than ``tol`` = :data:`TRACK_TOL` offline label sd), ``over_ahead``
    (of those, the share on the gradient's side, ``a > 0``), ``under`` (largest
    ``true - predicted``) and ``tol``."""
    a = grid.attrs
    dist = grid["offline_distance"].to_numpy(dtype=float)
    diff = grid["difference"].to_numpy(dtype=float)
    level = _num(a.get("neighbourhood_level"))
    sd = _num(a.get("label_sd"))
    tol = TRACK_TOL * (sd if math.isfinite(sd) and sd > 0 else 0.2)
    finite = np.isfinite(diff)
    i = int(np.flatnonzero(finite)[np.argmax(diff[finite])]) if finite.any() else None
    big = finite & (diff > tol)
    ahead = grid["a"].to_numpy(dtype=float) > 0
    return {
        "n": len(grid),
        "clipped": int(grid["clipped"].astype(bool).sum()),
        "dist_min": float(np.nanmin(dist)) if len(dist) else math.nan,
        "dist_max": float(np.nanmax(dist)) if len(dist) else math.nan,
        "level": level,
        "near_share": float((dist <= level).mean()) if math.isfinite(level) else math.nan,
        "n_far": int((dist > level).sum()) if math.isfinite(level) else 0,
        "over": float(diff[i]) if i is not None else math.nan,
        "over_a": float(grid["a"].iloc[i]) if i is not None else math.nan,
        "over_b": float(grid["b"].iloc[i]) if i is not None else math.nan,
        "over_share": float(big.mean()) if len(diff) else math.nan,
        "over_ahead": float((big & ahead).sum() / big.sum()) if big.any() else math.nan,
        "under": float(-np.nanmin(diff)) if finite.any() else math.nan,
        "tol": tol,
    }


# --- transfer matrix ----------------------------------------------------------------------
@torch.no_grad()
def _predict_norm(result: StudyResult, surrogate, x: Tensor) -> np.ndarray:
    f = result.domain.space.features(x, hard=True)
    return np.asarray(result.domain.normalize(predict_batched(surrogate, f)))


def transfer_matrix(
    results: Sequence[StudyResult], labels: Sequence[str] | None = None, start_row: bool = True
) -> pd.DataFrame:
    """Do adversarial designs transfer? Rows: the final designs of each study (optimized
    against its surrogate A); columns: each study's surrogate B, then ``oracle``.

    Cells are the mean normalized score of the row's K designs (the oracle column over valid
    designs); the diagonal is each surrogate's own prediction on its own final designs. With
    ``start_row`` a first row ``start designs`` scores the first study's start designs
    (offline top-k) as a baseline. Oracle values come from each study's audit table (the same
    designs, already scored): no new oracle calls.

    Returns a long table: ``designs_from``, ``scored_by``, ``mean``, ``median``, ``n``.
    """
    if len(results) < 1:
        raise ValueError("transfer_matrix needs at least one study")
    keys = {domain_key(r) for r in results}
    if len(keys) > 1:
        raise ValueError(f"transfer_matrix needs studies on one domain; got {sorted(keys)}")
    labels = list(labels) if labels is not None else [study_label(r) for r in results]
    if len(set(labels)) != len(labels):
        labels = [f"{lbl} [{i}]" for i, lbl in enumerate(labels)]
    first = results[0]
    rows: list[tuple[str, Tensor, np.ndarray]] = []
    if start_row:
        start = _oracle_values(first, "start")
        rows.append(("start designs", first.trajectory.start.float(), start))
    for res, lbl in zip(results, labels, strict=True):
        final = _oracle_values(res, "final")
        rows.append((lbl, res.trajectory.final.float(), final))
    records = []
    for row_label, x, true in rows:
        for res, col in zip(results, labels, strict=True):
            p = _predict_norm(first, res.surrogate, x)
            records.append(_cell(row_label, col, p))
        records.append(_cell(row_label, "oracle", true))
    df = pd.DataFrame(records)
    df.attrs = {"view": "transfer_matrix", "studies": labels}
    return df


def _oracle_values(result: StudyResult, which: str) -> np.ndarray:
    t = result.table
    t = t[t["arm"] == "ascent"]
    step = t["step"].min() if which == "start" else t["step"].max()
    rows = t[t["step"] == step].sort_values("design_id")
    return rows["true_norm"].to_numpy(dtype=np.float64)


def _cell(row: str, col: str, v: np.ndarray) -> dict[str, Any]:
    v = np.asarray(v, dtype=np.float64)
    ok = v[np.isfinite(v)]
    return {
        "designs_from": row,
        "scored_by": col,
        "mean": float(ok.mean()) if len(ok) else math.nan,
        "median": float(np.median(ok)) if len(ok) else math.nan,
        "n": int(len(ok)),
    }


def transfer_wide(df: pd.DataFrame, stat: str = "mean") -> pd.DataFrame:
    """The long transfer table as a matrix (rows: designs from, columns: scored by)."""
    rows = list(dict.fromkeys(df["designs_from"]))
    cols = list(dict.fromkeys(df["scored_by"]))
    return df.pivot(index="designs_from", columns="scored_by", values=stat).loc[rows, cols]


def transfer_pairs(df: pd.DataFrame) -> pd.DataFrame:
    """The transfer matrix as rises over the shared start designs, one row per (designs from
    A, scored by B) with B another surrogate: ``designs_from``, ``scored_by``, ``rise`` (B's
    mean score of A's final designs minus its score of the start designs), ``own`` (A's rise
    on its own designs), ``true`` (the oracle's rise) and ``share`` (``rise / own``; ``nan``
    where ``own`` is not positive). Needs the ``start designs`` row."""
    w = transfer_wide(df)
    if "start designs" not in w.index:
        raise ValueError("transfer_pairs needs the 'start designs' row (start_row=True)")
    rise = w - w.loc["start designs"]
    rows = []
    for a in w.index:
        if a == "start designs" or a not in w.columns:
            continue
        own = float(rise.loc[a, a])
        for b in w.columns:
            if b in ("oracle", a):
                continue
            r = float(rise.loc[a, b])
            rows.append(
                {
                    "designs_from": a,
                    "scored_by": b,
                    "rise": r,
                    "own": own,
                    "true": float(rise.loc[a, "oracle"]),
                    "share": r / own if own > 0 else math.nan,
                }
            )
    return pd.DataFrame(rows, columns=["designs_from", "scored_by", "rise", "own", "true", "share"])


def transfer_by_variant(df: pd.DataFrame, variants: dict[str, str]) -> pd.DataFrame:
    """The long transfer matrix of :func:`transfer_matrix` averaged over the studies of each
    variant (``variants`` maps each study label to its variant, e.g. the seeds of one
    surrogate): the cell (A, B) is the mean over studies ``i`` of A and ``j`` of B, ``i != j``,
    of ``j``'s surrogate scoring ``i``'s final designs; the diagonal (A, A) is the mean of
    each study's own surrogate on its own designs; ``start designs`` and ``oracle`` are
    averaged likewise. Same columns as :func:`transfer_matrix` (``median`` and ``n`` are the
    cells' means and sums)."""
    w = transfer_wide(df)
    n = transfer_wide(df, "n")
    order = list(dict.fromkeys(variants[c] for c in w.columns if c != "oracle"))
    members = {v: [c for c in w.columns if c != "oracle" and variants[c] == v] for v in order}
    rows = []
    sources = ["start designs"] if "start designs" in w.index else []
    for src in sources + order:
        studies = [src] if src == "start designs" else members[src]
        for col in [*order, "oracle"]:
            cells = [
                (i, j)
                for i in studies
                for j in (["oracle"] if col == "oracle" else members[col])
                if col == "oracle" or src == "start designs" or (i == j) == (src == col)
            ]
            vals = [float(w.loc[i, j]) for i, j in cells]
            counts = [int(n.loc[i, j]) for i, j in cells]
            rows.append(
                {
                    "designs_from": src,
                    "scored_by": col,
                    "mean": float(np.mean(vals)) if vals else math.nan,
                    "median": float(np.mean(vals)) if vals else math.nan,
                    "n": int(sum(counts)),
                }
            )
    out = pd.DataFrame(rows)
    out.attrs = {"view": "transfer_by_variant", "studies": order}
    return out


def transfer_rises(df: pd.DataFrame) -> pd.DataFrame:
    """How much each study's final designs rose above the shared start designs, by their own
    surrogate, by the other surrogates and by the oracle: the transfer matrix read row by
    row (it needs the ``start designs`` row of :func:`transfer_matrix`).

    One row per study: ``designs_from``, ``own`` (its own surrogate's rise: the diagonal
    minus the start row), ``others`` (the mean rise the other surrogates see; ``nan`` with
    one study), ``true`` (the oracle's rise) and ``transfer`` (``others / own``: 1 = every
    other surrogate is fooled as much as the one optimized against; ``nan`` where ``own``
    is not positive)."""
    w = transfer_wide(df)
    if "start designs" not in w.index:
        raise ValueError("transfer_rises needs the 'start designs' row (start_row=True)")
    start = w.loc["start designs"]
    models = [c for c in w.columns if c != "oracle"]
    rows = []
    for name in w.index:
        if name == "start designs":
            continue
        rise = w.loc[name] - start
        own = float(rise[name]) if name in rise.index else math.nan
        others = [float(rise[c]) for c in models if c != name]
        mean_others = float(np.mean(others)) if others else math.nan
        rows.append(
            {
                "designs_from": name,
                "own": own,
                "others": mean_others,
                "true": float(rise["oracle"]),
                "transfer": mean_others / own if own > 0 and others else math.nan,
            }
        )
    return pd.DataFrame(rows)


# --- the whole 2-D landscape --------------------------------------------------------------
def can_draw_landscape(domain: Domain) -> bool:
    """Whether :func:`landscape` applies: a 2-D box."""
    return isinstance(domain.space, BoxSpace) and domain.space.dim == 2


def landscape_grid(result: StudyResult, n: int = 90) -> dict[str, np.ndarray]:
    """True and surrogate values (normalized) on an ``n x n`` grid over a 2-D box.

    The oracle is called here for reporting only, after all designs were chosen.
    """
    domain, space = result.domain, result.domain.space
    lo, hi = space.lower.numpy(), space.upper.numpy()
    g0, g1 = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    a, b = np.meshgrid(g0, g1)
    pts = np.stack([a.ravel(), b.ravel()], 1)
    true = domain.normalize(domain.oracle(domain.decode(torch.as_tensor(pts, dtype=torch.float32))))
    pred = predict_batched(result.surrogate, torch.as_tensor(pts, dtype=torch.float32))
    return {
        "x0": a,
        "x1": b,
        "true": true.reshape(a.shape),
        "predicted": domain.normalize(pred).reshape(a.shape),
    }


def landscape(result: StudyResult, n: int = 90, n_paths: int = 32) -> dict[str, Any]:
    """Everything the landscape picture shows: :func:`landscape_grid` (``x0``, ``x1``,
    ``true``, ``predicted``), the offline designs ``offline`` ``(N, 2)``, ``n_paths`` evenly
    picked ascent paths ``paths`` ``(C, P, 2)`` of the ``k`` designs, the level ``d_best``,
    and the ``domain`` and ``surrogate`` names. One oracle call (the grid)."""
    if not can_draw_landscape(result.domain):
        raise ValueError(f"{result.domain.name}: a landscape needs a 2-D box")
    xs = result.trajectory.x.detach().cpu().numpy()  # (C, K, 2)
    k = xs.shape[1]
    pick = np.linspace(0, k - 1, min(n_paths, k)).astype(int)
    return {
        **landscape_grid(result, n),
        "offline": result.offline.x.numpy(),
        "paths": xs[:, pick],
        "k": k,
        "d_best": float(result.domain.normalize(result.offline.y.max())),
        "domain": result.summary["domain"],
        "surrogate": result.spec.surrogate,
    }


# --- top designs --------------------------------------------------------------------------
def raw_score_name(domain: Domain) -> str:
    """What the raw score is called in labels: the domain's ``score_name`` where it has one,
    else its objective where it names one (molecules: ``qed``, ``logp``...), else "raw
    score"; its unit in brackets (``raw score (m)``)."""
    name = "raw score"
    for attr in ("score_name", "objective"):
        value = getattr(domain, attr, None)
        if isinstance(value, str) and value:
            name = value
            break
    return f"{name} ({domain.score_unit})" if domain.score_unit else name


def top_designs(result: StudyResult, n: int = 8) -> tuple[Any, list[str]]:
    """The ``n`` top proposed designs (by prediction, final step) followed by the ``n`` best
    offline designs, decoded, and one label each: normalized predicted / true scores on the
    first line, the same in the domain's own units on the second, named
    (:func:`raw_score_name`: ``qed: 0.71 / 0.38``, ``raw score (m): 12.3 / 4.1``). For
    :meth:`domains.Domain.render_designs`."""
    t = result.table
    final = t[(t["arm"] == "ascent") & (t["step"] == t["step"].max())]
    top = final.sort_values("predicted", ascending=False).head(n)
    x = result.trajectory.final[torch.as_tensor(top["design_id"].to_numpy().copy())]
    designs = result.domain.decode(x)
    best = result.offline.top(min(n, len(result.offline)))
    raw = raw_score_name(result.domain)

    def outcome(row: pd.Series, norm: bool) -> str:
        if "oracle_error" in row and bool(row["oracle_error"]):
            return "oracle error"
        if not bool(row["valid"]):
            return "invalid"
        return f"{row['true_norm']:.2f}" if norm else f"{row['true']:.3g}"

    labels = [
        f"proposed: pred {r['predicted_norm']:.2f} / true {outcome(r, True)}\n"
        f"{raw}: pred {r['predicted']:.3g} / true {outcome(r, False)}"
        for _, r in top.iterrows()
    ]
    labels += [
        f"offline best: true {v:.2f}\n{raw}: true {r:.3g}"
        for v, r in zip(result.domain.normalize(best.y), best.y, strict=True)
    ]
    combined = (
        np.concatenate([np.asarray(designs), np.asarray(best.designs)])
        if isinstance(designs, np.ndarray)
        else list(designs) + list(best.designs)
    )
    return combined, labels
