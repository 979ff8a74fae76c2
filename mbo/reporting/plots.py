"""Pictures of a study (matplotlib, headless): trajectory curves, 2-D landscapes, top designs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from domains import BoxSpace, Domain

from ..evaluation import predict_batched
from ..study import StudyResult

PRED, TRUE = "#1f77b4", "#d62728"


def plot_trajectory(
    curves: pd.DataFrame, summary: dict[str, Any], path: str | Path, ax=None
) -> None:
    """Predicted vs true normalized score against step: mean line, interquartile band, min-max."""
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
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
    bound = summary.get("bound_norm", math.nan)
    if bound is not None and math.isfinite(bound):
        ax.axhline(bound, color="gray", ls=":", lw=1.2, label=f"exact upper bound = {bound:.2f}")
    optimizer = summary.get("optimizer", "gradient_ascent")
    ax.set_xlabel(f"{optimizer.replace('_', '-')} step")
    ax.set_ylabel("normalized score")
    ax.set_title(
        f"{summary.get('domain', '')} · {summary.get('surrogate', '')}: gap {summary['gap']:+.2f}, "
        f"fooled {summary['fooled_rate']:.0%}, true improved {summary['true_improvement_rate']:.0%}",
        fontsize=10,
    )
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)
    if own:
        fig.tight_layout()
        fig.savefig(path)
        plt.close(fig)


def can_draw_landscape(domain: Domain) -> bool:
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


def plot_landscape(result: StudyResult, path: str | Path, n_paths: int = 32) -> None:
    """True landscape beside the surrogate's, with offline data and trajectories on both."""
    grid = landscape_grid(result)
    cut = float(result.domain.normalize(result.offline.y.max()))
    xs = result.trajectory.x.numpy()  # (C, K, 2)
    k = xs.shape[1]
    pick = np.linspace(0, k - 1, min(n_paths, k)).astype(int)
    off = result.offline.x.numpy()
    both = np.concatenate([grid["true"].ravel(), grid["predicted"].ravel()])
    levels = np.linspace(np.nanmin(both), np.nanmax(both), 31)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), dpi=110, sharey=True)
    for ax, key, title in (
        (axes[0], "true", "true (oracle)"),
        (axes[1], "predicted", f"surrogate ({result.spec.surrogate})"),
    ):
        z = grid[key]
        cf = ax.contourf(grid["x0"], grid["x1"], z, levels=levels, cmap="viridis")
        fig.colorbar(cf, ax=ax, label="normalized score (shared scale)")
        ax.contour(
            grid["x0"], grid["x1"], z, levels=[cut], colors="w", linewidths=1.2, linestyles="--"
        )
        ax.scatter(off[:, 0], off[:, 1], s=3, c="k", alpha=0.35, label="offline data (visible)")
        for i in pick:
            ax.plot(xs[:, i, 0], xs[:, i, 1], color="#ff7f0e", lw=0.9, alpha=0.9)
        ax.scatter(
            xs[0, pick, 0], xs[0, pick, 1], s=14, c="w", edgecolors="k", zorder=3, label="start"
        )
        ax.scatter(
            xs[-1, pick, 0],
            xs[-1, pick, 1],
            s=30,
            c="#ff7f0e",
            marker="X",
            edgecolors="k",
            zorder=3,
            label="end",
        )
        ax.set_title(f"{title}; dashed: level of D(best)", fontsize=10)
        ax.set_xlabel("x0")
    axes[0].set_ylabel("x1")
    axes[0].legend(fontsize=7, loc="lower left", framealpha=0.8)
    fig.suptitle(
        f"{result.summary['domain']}: where gradient ascent went ({len(pick)} of {k} designs)"
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_top_designs(result: StudyResult, path: str | Path, n: int = 8) -> bool:
    """Top proposed designs (by prediction) beside the best offline ones, drawn by the domain.

    Labels give normalized predicted / true scores, and raw ones in the domain's unit.
    """
    t = result.table
    final = t[(t["arm"] == "ascent") & (t["step"] == t["step"].max())]
    top = final.sort_values("predicted", ascending=False).head(n)
    x = result.trajectory.final[torch.as_tensor(top["design_id"].to_numpy().copy())]
    designs = result.domain.decode(x)
    best = result.offline.top(min(n, len(result.offline)))
    unit = f" {result.domain.score_unit}" if result.domain.score_unit else ""
    labels = [
        f"proposed: pred {p:.2f} / true {q:.2f}\n(raw {pr:.3g} / {qr:.3g}{unit})"
        for p, q, pr, qr in zip(
            top["predicted_norm"], top["true_norm"], top["predicted"], top["true"], strict=True
        )
    ]
    labels += [
        f"offline best: true {v:.2f}\n(raw {r:.3g}{unit})"
        for v, r in zip(result.domain.normalize(best.y), best.y, strict=True)
    ]
    combined = (
        np.concatenate([np.asarray(designs), np.asarray(best.designs)])
        if isinstance(designs, np.ndarray)
        else list(designs) + list(best.designs)
    )
    return result.domain.render_designs(combined, labels, str(path))


def plot_comparison(curves: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Seed-averaged predicted (dashed) and true (solid) mean curves, one colour per variant."""
    fig, ax = plt.subplots(figsize=(8, 4.8), dpi=120)
    cmap = plt.get_cmap("tab10" if curves["variant"].nunique() <= 10 else "tab20")
    for i, (variant, g) in enumerate(curves.groupby("variant", sort=False)):
        m = g.groupby("step")[["predicted_mean", "true_mean"]].mean()
        c = cmap(i % cmap.N)
        ax.plot(m.index, m["true_mean"], color=c, lw=2, label=f"{variant}")
        ax.plot(m.index, m["predicted_mean"], color=c, lw=1.2, ls="--")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("normalized score (mean over designs)")
    ax.set_title(f"{title} — solid: true (oracle), dashed: predicted", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def save_study_figures(result: StudyResult, out: str | Path) -> list[Path]:
    """Draw a study's pictures into its run folder ``out``: ``trajectory.png``, and where
    the domain allows ``landscape.png`` and ``top_designs.png``; returns the paths written."""
    out = Path(out)
    paths = [out / "trajectory.png"]
    plot_trajectory(result.curves, result.summary, paths[0])
    if can_draw_landscape(result.domain):
        paths.append(out / "landscape.png")
        plot_landscape(result, paths[-1])
    if plot_top_designs(result, out / "top_designs.png"):
        paths.append(out / "top_designs.png")
    return paths
