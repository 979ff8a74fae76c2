"""Drawing: each function takes a view's data and returns a :class:`matplotlib.figure.Figure`.

Nothing here computes a view, writes a file or chooses a backend. The figures are built with
:class:`~matplotlib.figure.Figure` directly, outside pyplot's global state: in a notebook a
returned figure shows inline, and nothing needs closing.
:func:`mbo.reporting.artifacts.save_figure` writes one to a PNG.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from .views import NEIGHBOURHOOD, section_shape, transfer_wide, walk_shape

#: colours of the surrogate's prediction and of the oracle's truth, in every picture.
PRED, TRUE = "#1f77b4", "#d62728"


# --- trajectory ---------------------------------------------------------------------------
#: the label of the exact-bound line (the per-step mean of the designs' own bounds).
BOUND_LABEL = "exact upper bound (mean over designs)"


def draw_bounds(ax: Axes, curves: pd.DataFrame) -> None:
    """The designs' exact upper bounds as a distribution: the per-step mean of each design's
    own normalized bound (``bound_mean``, a dotted line) and, where the curves carry it
    (:func:`~mbo.reporting.views.with_bounds`), the interquartile band over designs. Nothing
    where no design has a bound."""
    if "bound_mean" not in curves:
        return
    mean = curves["bound_mean"].to_numpy(dtype=float)
    if not np.isfinite(mean).any():
        return
    s = curves["step"].to_numpy()
    if {"bound_q25", "bound_q75"} <= set(curves):
        lo = curves["bound_q25"].to_numpy(dtype=float)
        hi = curves["bound_q75"].to_numpy(dtype=float)
        width = hi - lo
        if np.isfinite(width).any() and np.nanmax(width) > 1e-9:  # bounds differ by design
            ax.fill_between(
                s,
                lo,
                hi,
                color="gray",
                alpha=0.1,
                lw=0,
                zorder=0,
                label="exact upper bound: IQR over designs",
            )
    ax.plot(
        s,
        mean,
        color="gray",
        ls=":",
        lw=1.4,
        marker="o" if len(s) == 1 else None,
        label=BOUND_LABEL,
    )


def _headline(summary: dict[str, Any]) -> str:
    """The trajectory title's numbers: overestimation (gap for older summaries), fooled
    rate, true-improvement rate; ``n/a`` where missing."""

    def num(key: str, spec: str) -> str:
        v = summary.get(key)
        try:
            v = float(v)
        except (TypeError, ValueError):
            return "n/a"
        return format(v, spec) if math.isfinite(v) else "n/a"

    first = (
        f"overest. {num('overestimation', '+.2f')}"
        if "overestimation" in summary
        else f"gap {num('gap', '+.2f')}"
    )
    return (
        f"{first}, fooled {num('fooled_rate', '.0%')}, "
        f"true improved {num('true_improvement_rate', '.0%')}"
    )


def outside_legend(ax: Axes, fontsize: float = 8) -> None:
    """``ax``'s legend to the right of it, where it covers no band or line it explains."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def figure_legend(fig: Figure, axes, ncol: int = 4, fontsize: float = 8) -> None:
    """One legend for the whole figure, below the axes (a constrained-layout figure keeps
    room for it): the entries of ``axes``, each label once."""
    seen: dict[str, Any] = {}
    for ax in np.ravel(axes):
        for h, lbl in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(lbl, h)
    if seen:
        fig.legend(
            list(seen.values()),
            list(seen),
            loc="outside lower center",
            ncol=min(ncol, len(seen)),
            fontsize=fontsize,
            frameon=False,
        )


def draw_trajectory(
    ax: Axes, curves: pd.DataFrame, summary: dict[str, Any], legend: bool = True
) -> Axes:
    """Draw predicted vs true normalized score against step on ``ax``: mean line,
    interquartile band, min-max range; D(best) and the exact bound where known; the legend
    beside the axes (``legend=False``: none, for a figure-wide one)."""
    s = curves["step"]
    for col, color, label in (
        ("predicted", PRED, "predicted (surrogate)"),
        ("true", TRUE, "true (oracle)"),
    ):
        ax.fill_between(
            s, curves[f"{col}_min"], curves[f"{col}_max"], color=color, alpha=0.08, lw=0
        )
        ax.fill_between(
            s, curves[f"{col}_q25"], curves[f"{col}_q75"], color=color, alpha=0.25, lw=0
        )
        one = len(s) == 1  # a single checkpoint (e.g. the dbest baseline): bars, not bands
        if one:
            ax.vlines(s, curves[f"{col}_min"], curves[f"{col}_max"], color=color, alpha=0.4, lw=1)
            ax.vlines(s, curves[f"{col}_q25"], curves[f"{col}_q75"], color=color, alpha=0.6, lw=6)
        ax.plot(
            s,
            curves[f"{col}_mean"],
            color=color,
            lw=2,
            marker="o" if one else None,
            label=f"{label}: mean, IQR, range",
        )
    relaxed = curves["predicted_relaxed_mean"]
    if (relaxed - curves["predicted_mean"]).abs().max() > 1e-6:  # categorical designs
        ax.plot(
            s, relaxed, color=PRED, lw=1.2, ls="--", label="predicted at the relaxed point (mean)"
        )
    d_best = summary.get("d_best", math.nan)
    if math.isfinite(d_best):
        ax.axhline(d_best, color="k", ls="--", lw=1, label=f"D(best) = {d_best:.2f}")
    draw_bounds(ax, curves)
    optimizer = summary.get("optimizer", "gradient_ascent")
    ax.set_xlabel(f"{optimizer.replace('_', '-')} step")
    ax.set_ylabel("normalized score")
    ax.set_title(
        f"{summary.get('domain', '')} · {summary.get('surrogate', '')}: {_headline(summary)}",
        fontsize=10,
    )
    if legend:
        outside_legend(ax)
    ax.grid(alpha=0.3)
    return ax


def trajectory_figure(curves: pd.DataFrame, summary: dict[str, Any]) -> Figure:
    """One study's trajectory (``result.curves``, ``result.summary``)."""
    fig = Figure(figsize=(9.5, 4.2), dpi=110, layout="constrained")
    draw_trajectory(fig.subplots(), curves, summary)
    return fig


def trajectory_comparison_figure(df: pd.DataFrame, summaries: dict[str, dict[str, Any]]) -> Figure:
    """One trajectory panel per study (:func:`~mbo.reporting.views.trajectory_comparison`),
    on a shared y axis; ``summaries`` maps each ``study`` label to its summary."""
    names = list(dict.fromkeys(df["study"]))
    n = len(names)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(5.2 * cols, 3.8 * rows + 0.8), dpi=100, layout="constrained")
    axes = fig.subplots(rows, cols, sharey=True, squeeze=False)
    for ax, name in zip(axes.ravel(), names, strict=False):
        curves = df[df["study"] == name].reset_index(drop=True)
        draw_trajectory(ax, curves, summaries[name], legend=False)
        ax.set_title(f"{name}\n{ax.get_title()}", fontsize=8)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    figure_legend(fig, axes[:, :n] if rows == 1 else axes, ncol=3)
    fig.suptitle("predicted (blue) vs true (red) score against step, per study")
    return fig


def comparison_figure(curves: pd.DataFrame, title: str = "") -> Figure:
    """Seed-averaged predicted (dashed) and true (solid) mean curves, one colour per
    ``variant`` (the curves table of :func:`mbo.sweeps.compare.compare`)."""
    fig = Figure(figsize=(9.5, 4.8), dpi=110, layout="constrained")
    ax = fig.subplots()
    cmap = mpl.colormaps["tab10" if curves["variant"].nunique() <= 10 else "tab20"]
    for i, (variant, g) in enumerate(curves.groupby("variant", sort=False)):
        m = g.groupby("step")[["predicted_mean", "true_mean"]].mean()
        c = cmap(i % cmap.N)
        n = int(g["seed"].nunique()) if "seed" in g else 1
        seeds = f" ({n} seeds)" if n > 1 else ""
        ax.plot(m.index, m["true_mean"], color=c, lw=2, label=f"{variant}{seeds}")
        ax.plot(m.index, m["predicted_mean"], color=c, lw=1.2, ls="--")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("normalized score (mean over designs)")
    ax.set_title(
        f"{title + ' — ' if title else ''}solid: true (oracle), dashed: predicted", fontsize=10
    )
    ax.grid(alpha=0.3)
    outside_legend(ax)
    return fig


# --- over-optimization ----------------------------------------------------------------------
#: marker of each offline stopping rule's checkpoint (unknown rules get a circle).
STOP_MARKERS = {"distance": "s", "disagreement": "D", "plateau": "^", "beyond_data": "v"}


def distance_label(unit: str | None) -> str:
    """The over-optimization picture's x-axis label, with the distance's unit."""
    unit = f" ({unit})" if unit else ""
    return f"median distance to the nearest offline design{unit}"


def _d_best_line(ax: Axes, d_best: float | None) -> None:
    if d_best is not None and math.isfinite(d_best):
        ax.axhline(d_best, color="k", ls="--", lw=1, label=f"D(best) = {d_best:.2f}")


def draw_overoptimization(ax: Axes, df: pd.DataFrame) -> Axes:
    """One study's over-optimization curve (:func:`~mbo.reporting.views.overoptimization`)
    on ``ax``: mean true (solid) and predicted (dashed) score against the median distance to
    the offline data, one point per checkpoint; D(best); the true-score peak and the
    checkpoint each offline stopping rule picks, marked on the true curve."""
    a = df.attrs
    x = df["offline_distance_median"].to_numpy(dtype=float)
    true = df["true_mean"].to_numpy(dtype=float)
    ax.plot(
        x,
        df["predicted_mean"],
        color=PRED,
        lw=1.8,
        ls="--",
        marker=".",
        ms=4,
        label="predicted (surrogate, mean)",
    )
    ax.plot(x, true, color=TRUE, lw=2, marker=".", ms=4, label="true (oracle, mean)")
    _d_best_line(ax, a.get("d_best"))
    at = {int(s): i for i, s in enumerate(df["step"])}
    for end in sorted({0, len(df) - 1}) if len(df) else []:  # where the path starts and ends
        if math.isfinite(true[end]):
            ax.annotate(
                f"step {int(df['step'].iloc[end])}",
                (x[end], true[end]),
                textcoords="offset points",
                xytext=(4, -10),
                fontsize=7,
                color="0.3",
            )
    peak = a.get("peak_step")
    if peak is not None and peak in at:
        i = at[peak]
        ax.plot(
            x[i],
            true[i],
            ls="none",
            marker="*",
            ms=13,
            color="gold",
            mec="k",
            mew=0.7,
            zorder=4,
            label=f"true peak (oracle): step {peak}",
        )
    for j, (rule, step) in enumerate(a.get("stops", {}).items()):
        if step not in at:
            continue
        i = at[step]
        ax.plot(
            x[i],
            true[i],
            ls="none",
            marker=STOP_MARKERS.get(rule, "o"),
            ms=6 + 2 * j,  # growing, so that rules stopping at one checkpoint stay visible
            mfc="none",
            mec="k",
            mew=1.2,
            zorder=5,
            label=f"stop: {rule} (step {step})",
        )
    ax.set_xlabel(distance_label(a.get("distance_unit")))
    ax.set_ylabel("normalized score (mean over designs)")
    ax.grid(alpha=0.3)
    outside_legend(ax, fontsize=7)
    return ax


def overoptimization_figure(df: pd.DataFrame, title: str = "") -> Figure:
    """One study's over-optimization picture (:func:`draw_overoptimization`)."""
    fig = Figure(figsize=(9.5, 4.2), dpi=110, layout="constrained")
    ax = fig.subplots()
    draw_overoptimization(ax, df)
    ax.set_title(
        title or "over-optimization: score against distance from the offline data", fontsize=10
    )
    return fig


def overoptimization_comparison_figure(
    df: pd.DataFrame,
    title: str = "",
    d_best: float | None = None,
    unit: str | None = None,
) -> Figure:
    """Several variants' over-optimization curves
    (:func:`~mbo.reporting.views.overoptimization_comparison`, seed-averaged): true (solid)
    and predicted (dashed) mean score against the median distance to the offline data, one
    colour per ``variant``; ``d_best`` and ``unit`` default to ``df.attrs``'."""
    a = df.attrs
    d_best = a.get("d_best") if d_best is None else d_best
    unit = a.get("distance_unit") if unit is None else unit
    fig = Figure(figsize=(9.5, 4.8), dpi=110, layout="constrained")
    ax = fig.subplots()
    variants = list(dict.fromkeys(df["variant"]))
    cmap = mpl.colormaps["tab10" if len(variants) <= 10 else "tab20"]
    for i, variant in enumerate(variants):
        g = df[df["variant"] == variant]
        c = cmap(i % cmap.N)
        n = int(g["seeds"].max()) if "seeds" in g else 1
        seeds = f" ({n} seeds)" if n > 1 and "seeds" not in str(variant) else ""
        x = g["offline_distance_median"]
        ax.plot(x, g["true_mean"], color=c, lw=2, marker=".", ms=4, label=f"{variant}{seeds}")
        ax.plot(x, g["predicted_mean"], color=c, lw=1.2, ls="--")
    _d_best_line(ax, d_best)
    ax.set_xlabel(distance_label(unit))
    ax.set_ylabel("normalized score (mean over designs)")
    ax.set_title(
        f"{title + ' — ' if title else ''}over-optimization; solid: true (oracle), "
        "dashed: predicted",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    outside_legend(ax)
    return fig


# --- 1-D sweep ----------------------------------------------------------------------------
#: the sweep picture's title, by what the gradient walk shows (:func:`~mbo.reporting.views.walk_shape`).
SWEEP_TITLES = {
    "fooled": "the surrogate climbs, the oracle does not",
    "tracks": "the surrogate tracks the oracle along this line",
    "under": "the surrogate stays below the oracle along this line",
    "apart": "surrogate and oracle differ, but the gap does not grow along the gradient",
}
#: the legend entry of the line where a walk leaves the design space.
LEAVES_LABEL = "walk leaves the design space (beyond: projected back onto it)"


def _mark_leaving(ax: Axes, shape: dict[str, Any]) -> None:
    """A dotted vertical line where the walk first leaves the design space, each way: beyond
    it every point is projected back into the space (as the optimizer's own steps are)."""
    for t in (shape["t_leaves"], shape["t_leaves_back"]):
        if math.isfinite(t):
            ax.axvline(t, color="0.45", ls=(0, (1, 2)), lw=1.3, label=LEAVES_LABEL)


def sweep_figure(df: pd.DataFrame, title: str = "") -> Figure:
    """The 1-D sweep (:func:`~mbo.reporting.views.gradient_sweep`) in two columns (gradient,
    random direction): scores against ``t`` on top, the distance to the nearest offline
    design below; one legend under both. The title says what the gradient walk shows
    (:data:`SWEEP_TITLES`, from :func:`~mbo.reporting.views.walk_shape`)."""
    a = df.attrs
    categorical = (df["predicted_relaxed_norm"] - df["predicted_norm"]).abs().max() > 1e-6
    fig = Figure(figsize=(12, 6.4), dpi=100, layout="constrained")
    axes = fig.subplots(2, 2, sharex="col", sharey="row", gridspec_kw={"height_ratios": [3, 1.2]})
    for j, direction in enumerate(("gradient", "random")):
        d = df[df["direction"] == direction]
        shape = walk_shape(df, direction)
        t = d["t"].to_numpy()
        ax = axes[0, j]
        ax.plot(t, d["predicted_norm"], color=PRED, lw=2, label="surrogate (decoded design)")
        if categorical:
            ax.plot(
                t,
                d["predicted_relaxed_norm"],
                color=PRED,
                lw=1.2,
                ls="--",
                label="surrogate at the relaxed point",
            )
        ax.plot(t, d["true_norm"], color=TRUE, lw=2, marker=".", ms=4, label="oracle (true)")
        bad = ~d["valid"].astype(bool).to_numpy()
        if bad.any():
            lo = np.nanmin(d[["predicted_norm", "true_norm"]].to_numpy())
            ax.scatter(t[bad], np.full(bad.sum(), lo), marker="x", c=TRUE, label="invalid design")
        ax.axvline(0, color="k", lw=0.8)
        if math.isfinite(a.get("d_best", math.nan)):
            ax.axhline(a["d_best"], color="k", ls="--", lw=1, label=f"D(best) = {a['d_best']:.2f}")
        bound = d["bound_norm"].to_numpy(dtype=float)
        if np.isfinite(bound).any():  # the exact bound of each point's design
            ax.plot(t, bound, color="gray", ls=":", lw=1.2, label="exact upper bound")
        _mark_leaving(ax, shape)
        what = "gradient direction" if direction == "gradient" else "a random direction"
        if direction == "gradient" and a.get("zero_gradient"):
            what = "gradient is zero here: a second random direction"
        ax.set_title(f"along {what}", fontsize=10)
        ax.grid(alpha=0.3)
        ax2 = axes[1, j]
        ax2.plot(t, d["offline_distance"], color="0.3", lw=1.5, label="distance to the data")
        ax2.axhline(
            a["offline_spacing"], color="0.3", ls="--", lw=1, label="typical offline spacing"
        )
        _mark_leaving(ax2, shape)
        ax2.axvline(0, color="k", lw=0.8)
        ax2.set_xlabel("t (distance walked, optimizer coordinates)")
        ax2.grid(alpha=0.3)
    axes[0, 0].set_ylabel("normalized score")
    axes[1, 0].set_ylabel("to nearest\noffline design")
    figure_legend(fig, axes, ncol=4)
    kind = walk_shape(df, "gradient")["kind"]
    fig.suptitle(
        title or f"1-D sweep from design {a['design_id']} (step {a['step']}): {SWEEP_TITLES[kind]}",
        fontsize=11,
    )
    return fig


# --- linearity along the path ------------------------------------------------------------
def linearization_figure(df: pd.DataFrame, title: str = "") -> Figure:
    """:func:`~mbo.reporting.views.linearization`: the surrogate's rise along the optimizer's
    path (blue), the rise the straight line through its start gradient predicts (blue,
    dashed), and the oracle's change (red), medians over the designs, against the step."""
    fig = Figure(figsize=(9.5, 4.0), dpi=100, layout="constrained")
    ax = fig.subplots()
    ax.plot(df["step"], df["network_rise"], color=PRED, lw=2, label="surrogate: rise since start")
    ax.plot(
        df["step"],
        df["linear_rise"],
        color=PRED,
        lw=1.5,
        ls="--",
        label="straight line through its start gradient",
    )
    ax.plot(
        df["step"],
        df["true_rise"],
        color=TRUE,
        lw=2,
        marker=".",
        label="oracle: change since start",
    )
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("normalized score change\n(median over designs)")
    ax.set_title(
        title or "how linear is the surrogate along the path the optimizer took?", fontsize=10
    )
    ax.grid(alpha=0.3)
    outside_legend(ax)
    return fig


# --- 2-D cross-section --------------------------------------------------------------------
def cross_section_figure(grid: pd.DataFrame, points: pd.DataFrame, title: str = "") -> Figure:
    """The cross-section (:func:`~mbo.reporting.views.cross_section`) as three maps:
    surrogate and oracle on one colour scale (one colour bar), and their difference; one
    legend under the maps. Where the whole plane lies within the offline data's
    neighbourhood, the first map says so with the numbers instead of drawing the line."""
    at = grid.attrs
    shape = section_shape(grid)
    n = int(round(math.sqrt(len(grid))))
    a = grid["a"].to_numpy().reshape(n, n)
    b = grid["b"].to_numpy().reshape(n, n)
    pred = grid["predicted_norm"].to_numpy().reshape(n, n)
    true = grid["true_norm"].to_numpy().reshape(n, n)
    diff = grid["difference"].to_numpy().reshape(n, n)
    dist = grid["offline_distance"].to_numpy().reshape(n, n)
    clipped = grid["clipped"].to_numpy().reshape(n, n).astype(float)
    both = np.concatenate([pred[np.isfinite(pred)], true[np.isfinite(true)]])
    lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
    hi = hi if hi > lo else lo + 1e-6
    m = float(np.nanmax(np.abs(diff))) if np.isfinite(diff).any() else 1.0
    m = m if m > 0 else 1e-6
    fig = Figure(figsize=(16, 5.6), dpi=100, layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    specs = (
        (pred, "surrogate prediction", "viridis", lo, hi),
        (true, "oracle (true)", "viridis", lo, hi),
        (diff, "surrogate - oracle (red: over-predicts)", "RdBu_r", -m, m),
    )
    off = points[points["kind"] == "offline"]
    path_pts = points[points["kind"] == "path"]
    extent = (a.min(), a.max(), b.min(), b.max())
    level = at.get("neighbourhood_level", math.nan)
    images = []
    for ax, (z, name, cmap, vmin, vmax) in zip(axes, specs, strict=True):
        images.append(
            ax.imshow(
                np.ma.masked_invalid(z),
                origin="lower",
                extent=extent,
                cmap=cmap,
                vmin=vmin,
                vmax=vmax,
                aspect="auto",
                interpolation="nearest",
            )
        )
        if math.isfinite(level) and dist.min() < level < dist.max():
            ax.contour(a, b, dist, levels=[level], colors="w", linewidths=1.4, linestyles="--")
            if ax is axes[0]:
                ax.plot(
                    [], [], color="w", ls="--", lw=1.4, label="edge of the data's neighbourhood"
                )
        if 0 < clipped.mean() < 1:
            ax.contour(a, b, clipped, levels=[0.5], colors="0.6", linewidths=1, linestyles=":")
            if ax is axes[0]:
                ax.plot([], [], color="0.6", ls=":", lw=1, label="edge of the design space")
        ax.scatter(
            off["a"],
            off["b"],
            s=10,
            c="k",
            alpha=0.5,
            marker="o",
            label=f"{len(off)} offline designs near the plane (projected)"
            if ax is axes[0]
            else None,
        )
        ax.plot(
            path_pts["a"],
            path_pts["b"],
            color="#ff7f0e",
            lw=1.6,
            label="its ascent path" if ax is axes[0] else None,
        )
        ax.scatter(
            [0],
            [0],
            s=60,
            c="w",
            edgecolors="k",
            zorder=4,
            label="the design" if ax is axes[0] else None,
        )
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("a: along the gradient")
    fig.colorbar(images[0], ax=list(axes[:2]), label="normalized score (both maps)", pad=0.01)
    fig.colorbar(images[2], ax=axes[2], label="predicted - true (normalized)", pad=0.01)
    if math.isfinite(level) and dist.max() <= level:
        axes[0].text(
            0.02,
            0.98,
            f"every point is within {level:.2g} of some offline design\n"
            f"({at.get('neighbourhood', NEIGHBOURHOOD):g}x the data's typical spacing): "
            "no edge to draw",
            transform=axes[0].transAxes,
            va="top",
            fontsize=7,
            bbox={"fc": "w", "alpha": 0.8, "lw": 0},
        )
    axes[0].set_ylabel("b: random orthogonal direction")
    figure_legend(fig, axes[:1], ncol=5)
    clip_note = (
        f"; {shape['clipped']} of {shape['n']} points outside the design space (projected back)"
        if shape["clipped"]
        else ""
    )
    fig.suptitle(
        title or f"cross-section around design {at['design_id']} (step {at['step']}){clip_note}",
        fontsize=10,
    )
    return fig


# --- transfer matrix ----------------------------------------------------------------------
def transfer_figure(df: pd.DataFrame, title: str = "") -> Figure:
    """Heatmap of the transfer matrix's mean normalized scores
    (:func:`~mbo.reporting.views.transfer_matrix`), diagonal boxed, the oracle column set
    apart."""
    w = transfer_wide(df)
    vals = w.to_numpy(dtype=float)
    nr, nc = vals.shape
    fig = Figure(figsize=(2.0 + 1.5 * nc, 1.6 + 0.6 * nr), dpi=110)
    ax = fig.subplots()
    finite = vals[np.isfinite(vals)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    im = ax.imshow(vals, cmap="viridis", vmin=vmin, vmax=max(vmax, vmin + 1e-6), aspect="auto")
    fig.colorbar(im, ax=ax, label="mean normalized score")
    mid = (vmin + vmax) / 2
    for i in range(nr):
        for j in range(nc):
            v = vals[i, j]
            ax.text(
                j,
                i,
                "nan" if not math.isfinite(v) else f"{v:.2f}",
                ha="center",
                va="center",
                color="w" if not math.isfinite(v) or v < mid else "k",
                fontsize=9,
            )
    for i, r in enumerate(w.index):
        if r in w.columns:
            j = list(w.columns).index(r)
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="w", lw=2.5))
    ax.axvline(nc - 1.5, color="w", lw=4)
    ax.set_xticks(range(nc), [f"scored by\n{c}" for c in w.columns], fontsize=8)
    ax.set_yticks(range(nr), [f"designs from\n{r}" for r in w.index], fontsize=8)
    ax.set_title(
        title or "transfer: designs optimized against one surrogate, scored by the others",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


# --- the whole 2-D landscape --------------------------------------------------------------
def landscape_figure(data: dict[str, Any]) -> Figure:
    """True landscape beside the surrogate's (:func:`~mbo.reporting.views.landscape`), with
    the offline data and the ascent paths on both."""
    cut = data["d_best"]
    xs, off, k = data["paths"], data["offline"], data["k"]
    p = xs.shape[1]
    both = np.concatenate([data["true"].ravel(), data["predicted"].ravel()])
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
    levels = MaxNLocator(nbins=24).tick_values(lo, hi if hi > lo else lo + 1e-6)
    fig = Figure(figsize=(12, 5.4), dpi=100, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    cf = None
    for ax, key, title in (
        (axes[0], "true", "true (oracle)"),
        (axes[1], "predicted", f"surrogate ({data['surrogate']})"),
    ):
        z = data[key]
        cf = ax.contourf(data["x0"], data["x1"], z, levels=levels, cmap="viridis", extend="both")
        ax.contour(
            data["x0"], data["x1"], z, levels=[cut], colors="w", linewidths=1.2, linestyles="--"
        )
        ax.scatter(off[:, 0], off[:, 1], s=3, c="k", alpha=0.35, label="offline data (visible)")
        for i in range(p):
            ax.plot(xs[:, i, 0], xs[:, i, 1], color="#ff7f0e", lw=0.9, alpha=0.9)
        ax.scatter(xs[0, :, 0], xs[0, :, 1], s=14, c="w", edgecolors="k", zorder=3, label="start")
        ax.scatter(
            xs[-1, :, 0],
            xs[-1, :, 1],
            s=30,
            c="#ff7f0e",
            marker="X",
            edgecolors="k",
            zorder=3,
            label="end",
        )
        ax.set_title(f"{title}; dashed: level of D(best)", fontsize=10)
        ax.set_xlabel("x0")
    cbar = fig.colorbar(cf, ax=list(axes), label="normalized score (one scale for both)", pad=0.01)
    cbar.set_ticks(MaxNLocator(nbins=8).tick_values(lo, hi))
    axes[0].set_ylabel("x1")
    figure_legend(fig, axes[:1], ncol=3)
    fig.suptitle(f"{data['domain']}: where gradient ascent went ({p} of {k} designs)")
    return fig
