"""Teaching views of a study: lecture-style pictures, each with its data saved beside it.

Every view is a function that computes a tidy table (saved as CSV or parquet) and a plot
function that draws it (a PNG next to the table):

- :func:`trajectory_comparison` -- predicted vs true score against step, per study.
- :func:`gradient_sweep` -- a 1-D walk from one design along the surrogate's input gradient
  and along a random direction: the surrogate rises linearly, the oracle does not.
- :func:`cross_section` -- 2-D maps (surrogate, oracle, difference) on the plane spanned by the
  gradient and a random orthogonal direction, with the offline data's neighbourhood marked.
- :func:`transfer_matrix` -- designs optimized against surrogate A, scored by surrogate B and
  by the oracle.

**Coordinates.** Sweeps and maps move in the optimizer's own coordinates: for a box the
design tensor standardized per entry by the offline data (``z = (x - mean) / spread``, as
gradient ascent does), for sequences the raw logits. ``t`` (and the map axes ``a``, ``b``)
are Euclidean distances in those coordinates, so ``t = 1`` on a box is "one offline standard
deviation" spread over the entries. The gradient is that of the surrogate's prediction at the
design tensor (at the relaxed softmax for sequences, as the optimizer sees it), normalized to
unit length. Every point is projected into the space (``clipped`` marks where the projection
changed it) and decoded; the primary prediction is the surrogate at the *decoded* design
(``predicted``), the one at the projected design tensor is ``predicted_relaxed`` (they differ
only for sequences). All scores are normalized by the full reference data's min/max.

**Oracle.** The views call the oracle only to report, after designs were chosen (allowed by
the sealing rule); each per-design view makes one batched oracle call, and the transfer
matrix makes none (it reuses the audit's oracle values for the same designs).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import Tensor

from domains import CategoricalSpace
from surrogates._base import spread

from ..evaluation import audit_designs, predict_batched, surrogate_device
from ..study import StudyResult
from .plots import PRED, TRUE, plot_trajectory

#: a projection that moves a point by more than this (raw design units) counts as clipping.
CLIP_TOL = 1e-6
#: the offline data's neighbourhood: within this many typical offline spacings of a design.
NEIGHBOURHOOD = 2.0


# --- shared helpers -----------------------------------------------------------------------
def study_coordinates(result: StudyResult) -> tuple[Tensor, Tensor]:
    """``(loc, scale)`` of the optimizer's coordinates ``z = (x - loc) / scale`` (CPU).

    The offline data's per-entry mean and spread for spaces that standardize (boxes), zeros
    and ones otherwise (logits), exactly as :func:`mbo.study.run_study` sets them up.
    """
    if result.x_loc is not None and result.x_scale is not None:
        return result.x_loc.cpu(), result.x_scale.cpu()
    space, x = result.domain.space, result.offline.x.float()
    if space.standardize:
        return x.mean(0), spread(x)
    return torch.zeros(space.shape), torch.ones(space.shape)


def pick_design(
    result: StudyResult, design_id: int = 0, step: str | int = "start"
) -> tuple[Tensor, int]:
    """The design tensor ``(*shape)`` of one design at a checkpoint, and that step number.

    ``step`` is ``"start"``, ``"final"`` or a checkpoint step number.
    """
    traj = result.trajectory
    k = traj.x.shape[1]
    if not 0 <= design_id < k:
        raise ValueError(f"design_id must be in [0, {k}), got {design_id}")
    if step == "start":
        c = 0
    elif step == "final":
        c = len(traj.steps) - 1
    elif step in traj.steps:
        c = traj.steps.index(step)
    else:
        raise ValueError(f"step must be 'start', 'final' or one of {traj.steps}, got {step!r}")
    return traj.x[c, design_id].detach().cpu().float(), int(traj.steps[c])


def input_gradient(result: StudyResult, x0: Tensor) -> Tensor:
    """Unit-length gradient of the surrogate's prediction w.r.t. the optimizer's coordinates
    at design tensor ``x0`` ``(*shape)`` (relaxed features, as the optimizer sees them).

    Returns zeros where the gradient vanishes (a flat region of the surrogate).
    """
    _, scale = study_coordinates(result)
    dev = surrogate_device(result.surrogate)
    x0, scale = x0.to(dev), scale.to(dev)
    dz = torch.zeros_like(x0, requires_grad=True)
    with torch.enable_grad():
        value = result.surrogate(result.domain.space.features((x0 + scale * dz)[None], hard=False))
        (g,) = torch.autograd.grad(value.sum(), dz)
    g = g.detach().cpu().double()
    norm = float(g.norm())
    return (g / norm).float() if norm > 0 and math.isfinite(norm) else torch.zeros_like(g).float()


def random_unit(shape: Sequence[int], seed: int, orthogonal_to: Tensor | None = None) -> Tensor:
    """A seeded random unit vector of ``shape`` (orthogonal to a unit vector if given)."""
    g = torch.Generator().manual_seed(int(seed))
    u = torch.randn(tuple(shape), generator=g, dtype=torch.float64)
    if orthogonal_to is not None and float(orthogonal_to.norm()) > 0:
        o = orthogonal_to.double()
        u = u - (u * o).sum() * o
    return (u / u.norm()).float()


def default_span(result: StudyResult, design_id: int) -> float:
    """1.25 x how far gradient ascent moved this design (optimizer coordinates); 1 if it didn't."""
    _, scale = study_coordinates(result)
    traj = result.trajectory
    dist = float(((traj.x[-1, design_id] - traj.x[0, design_id]) / scale).norm())
    return 1.25 * dist if dist > 1e-6 else 1.0


def _displace(x0: Tensor, scale: Tensor, steps: Tensor) -> Tensor:
    """``x0 + scale * steps`` for a batch of displacements ``(N, *shape)`` in optimizer
    coordinates; a zero displacement gives ``x0`` exactly."""
    return x0[None] + scale[None] * steps


def _hard_tokens(x: Tensor) -> Tensor:
    return x.argmax(-1)


def offline_distance(result: StudyResult, x: Tensor, chunk: int = 256) -> np.ndarray:
    """Distance from each design tensor ``(N, *shape)`` to the nearest offline design.

    Boxes: Euclidean distance in optimizer coordinates (offline standard deviations).
    Sequences: number of positions whose decoded token differs from the nearest offline
    sequence (Hamming distance).
    """
    space = result.domain.space
    off = result.offline.x.float()
    out = []
    if isinstance(space, CategoricalSpace):
        a_all, b = _hard_tokens(x), _hard_tokens(off)
        for i in range(0, len(a_all), chunk):
            a = a_all[i : i + chunk]
            d = torch.cat(
                [(a[:, None, :] != b[None, j : j + 2048]).sum(-1) for j in range(0, len(b), 2048)],
                1,
            )
            out.append(d.min(1).values.double())
    else:
        loc, scale = study_coordinates(result)
        za = ((x - loc) / scale).flatten(1)
        zb = ((off - loc) / scale).flatten(1)
        for i in range(0, len(za), chunk):
            out.append(torch.cdist(za[i : i + chunk].double(), zb.double()).min(1).values)
    return torch.cat(out).numpy() if out else np.zeros(0)


def offline_spacing(result: StudyResult, n: int = 512, seed: int = 0) -> float:
    """Median distance from an offline design to its nearest *other* offline design (same
    units as :func:`offline_distance`; at most ``n`` sampled designs): a point closer to the
    data than this lies inside the offline data's neighbourhood."""
    off = result.offline.x.float()
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(off), generator=g)[: min(n, len(off))]
    space = result.domain.space
    if isinstance(space, CategoricalSpace):
        a, b = _hard_tokens(off[idx]), _hard_tokens(off)
        d = torch.cat(
            [(a[i : i + 64, None, :] != b[None]).sum(-1).double() for i in range(0, len(a), 64)]
        )
    else:
        loc, scale = study_coordinates(result)
        z = ((off - loc) / scale).flatten(1).double()
        d = torch.cdist(z[idx], z)
    d[torch.arange(len(idx)), idx] = math.inf  # not to itself
    return float(d.min(1).values.median())


def score_points(result: StudyResult, x_raw: Tensor) -> pd.DataFrame:
    """Project design tensors ``(N, *shape)`` into the space, decode them and score them: the
    surrogate (decoded and relaxed) and the oracle in one batched call (reporting only).

    Returns the columns of :func:`mbo.audit.audit_designs` plus ``clipped`` (the projection
    moved the point) and ``offline_distance``.
    """
    space = result.domain.space
    x = space.project(x_raw)
    clipped = (x - x_raw).abs().flatten(1).amax(1) > CLIP_TOL
    table = audit_designs(result.domain, result.surrogate, x)
    table["clipped"] = clipped.numpy()
    table["offline_distance"] = offline_distance(result, x)
    return table


def _save(df: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def _meta_path(path: Path) -> Path:
    return path.with_name(path.stem + ".json")


def _write_meta(meta: dict[str, Any], path: Path) -> None:
    _meta_path(path).write_text(json.dumps(meta, indent=2, default=float))


# --- trajectory ---------------------------------------------------------------------------
def trajectory_comparison(
    results: Sequence[StudyResult], labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """The trajectory curves of several studies in one table (column ``study`` first)."""
    labels = list(labels) if labels is not None else [study_label(r) for r in results]
    frames = [r.curves.assign(study=lbl) for r, lbl in zip(results, labels, strict=True)]
    df = pd.concat(frames, ignore_index=True)
    return df[["study", *[c for c in df.columns if c != "study"]]]


def plot_trajectory_comparison(
    df: pd.DataFrame, summaries: dict[str, dict[str, Any]], path: str | Path
) -> None:
    """One trajectory panel per study, on a shared y axis."""
    names = list(dict.fromkeys(df["study"]))
    n = len(names)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(5.2 * cols, 3.8 * rows), dpi=110, sharey=True, squeeze=False
    )
    for ax, name in zip(axes.ravel(), names, strict=False):
        plot_trajectory(df[df["study"] == name].reset_index(drop=True), summaries[name], None, ax)
        ax.set_title(f"{name}\n{ax.get_title()}", fontsize=8)
        ax.legend(fontsize=6, loc="best")
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.suptitle("predicted (blue) vs true (red) score against step, per study")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def study_label(result: StudyResult) -> str:
    """Short label: the run folder's name, else the spec's label."""
    return result.run_dir.name if result.run_dir is not None else result.spec.label


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
    of :func:`score_points` (``predicted_norm``, ``predicted_relaxed_norm``, ``true_norm``,
    ``valid``, ``clipped``, ``offline_distance``, ...). ``df.attrs`` holds the design, the
    span, ``d_best``, the exact bound and the offline spacing. One oracle call for both walks.
    """
    if n < 3:
        raise ValueError(f"n must be >= 3, got {n}")
    x0, step_no = pick_design(result, design_id, step)
    _, scale = study_coordinates(result)
    g = input_gradient(result, x0)
    zero_grad = float(g.norm()) == 0
    if zero_grad:
        g = random_unit(x0.shape, seed + 1)
    r = random_unit(x0.shape, seed)
    span = default_span(result, design_id) if span is None else float(span)
    t = torch.linspace(-span, span, n)
    if n % 2:
        t[n // 2] = 0.0
    disp = torch.cat([t.view(-1, *[1] * x0.ndim) * g, t.view(-1, *[1] * x0.ndim) * r])
    table = score_points(result, _displace(x0, scale, disp))
    table.insert(0, "t", torch.cat([t, t]).numpy().astype(np.float64))
    table.insert(0, "direction", ["gradient"] * n + ["random"] * n)
    table.attrs = {
        "view": "gradient_sweep",
        "design_id": int(design_id),
        "step": step_no,
        "span": span,
        "seed": int(seed),
        "zero_gradient": zero_grad,
        "coordinates": _coordinates_note(result),
        **_reference_lines(result),
        "offline_spacing": offline_spacing(result),
    }
    return table


def _coordinates_note(result: StudyResult) -> str:
    if result.domain.space.standardize:
        return "design tensor standardized by the offline data (offline standard deviations)"
    return "raw logits (the optimizer's coordinates); each point decoded by per-position argmax"


def _reference_lines(result: StudyResult) -> dict[str, float]:
    return {"d_best": float(result.domain.normalize(result.offline.y.max()))}


def _shade_clipped(ax, t: np.ndarray, clipped: np.ndarray) -> None:
    if not clipped.any():
        return
    dt = (t[1] - t[0]) / 2 if len(t) > 1 else 0.5
    first = True
    for ti, c in zip(t, clipped, strict=True):
        if c:
            ax.axvspan(
                ti - dt,
                ti + dt,
                color="0.85",
                lw=0,
                zorder=0,
                label="projection clipped" if first else None,
            )
            first = False


def plot_gradient_sweep(df: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Two columns (gradient, random direction): scores against ``t`` on top, the distance to
    the nearest offline design below."""
    a = df.attrs
    categorical = (df["predicted_relaxed_norm"] - df["predicted_norm"]).abs().max() > 1e-6
    fig, axes = plt.subplots(
        2,
        2,
        figsize=(12, 6.2),
        dpi=110,
        sharex="col",
        sharey="row",
        gridspec_kw={"height_ratios": [3, 1.2]},
    )
    for j, direction in enumerate(("gradient", "random")):
        d = df[df["direction"] == direction]
        t = d["t"].to_numpy()
        ax = axes[0, j]
        _shade_clipped(ax, t, d["clipped"].to_numpy())
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
        what = "gradient direction" if direction == "gradient" else "a random direction"
        if direction == "gradient" and a.get("zero_gradient"):
            what = "gradient is zero here: a second random direction"
        ax.set_title(f"along {what}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        ax2 = axes[1, j]
        ax2.plot(t, d["offline_distance"], color="0.3", lw=1.5)
        ax2.axhline(
            a["offline_spacing"], color="0.3", ls="--", lw=1, label="typical offline spacing"
        )
        ax2.axvline(0, color="k", lw=0.8)
        ax2.set_xlabel("t (distance walked, optimizer coordinates)")
        ax2.grid(alpha=0.3)
        ax2.legend(fontsize=7, loc="upper center")
    axes[0, 0].set_ylabel("normalized score")
    axes[1, 0].set_ylabel("to nearest\noffline design")
    fig.suptitle(
        title
        or f"1-D sweep from design {a['design_id']} (step {a['step']}): the model extrapolates "
        "linearly, the world does not",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Surrogate and oracle on the plane ``x + a * g + b * r`` around one design.

    ``g`` is the unit gradient direction, ``r`` a seeded random unit direction orthogonal to
    it; ``a, b`` run over an ``n x n`` grid in ``[-span, span]`` (``n`` odd so that the grid's
    centre ``a = b = 0`` is the design itself). Every grid point is projected and decoded.

    Returns ``(grid, points)``. ``grid``: one row per grid point with ``a``, ``b``, the
    columns of :func:`score_points` and ``difference`` (predicted - true, normalized).
    ``points``: offline designs near the plane (``kind="offline"``: those whose out-of-plane
    distance ``residual`` is below the typical offline spacing, at most ``max_points``, at
    least the ``n_near`` nearest) and the design's own trajectory (``kind="path"``),
    projected onto the plane. One oracle call (the grid).
    """
    if n < 3:
        raise ValueError(f"n must be >= 3, got {n}")
    n = n if n % 2 else n + 1
    x0, step_no = pick_design(result, design_id, step)
    _, scale = study_coordinates(result)
    g = input_gradient(result, x0)
    zero_grad = float(g.norm()) == 0
    if zero_grad:
        g = random_unit(x0.shape, seed + 1)
    r = random_unit(x0.shape, seed, orthogonal_to=g)
    span = default_span(result, design_id) if span is None else float(span)
    ticks = torch.linspace(-span, span, n)
    ticks[n // 2] = 0.0
    bb, aa = torch.meshgrid(ticks, ticks, indexing="ij")
    a, b = aa.reshape(-1), bb.reshape(-1)
    shape1 = (-1, *[1] * x0.ndim)
    disp = a.view(shape1) * g + b.view(shape1) * r
    grid = score_points(result, _displace(x0, scale, disp))
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
    spacing = offline_spacing(result)
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
        "coordinates": _coordinates_note(result),
        **_reference_lines(result),
        "offline_spacing": spacing,
        "neighbourhood_level": NEIGHBOURHOOD * spacing,
    }
    return grid, points


def plot_cross_section(
    grid: pd.DataFrame, points: pd.DataFrame, path: str | Path, title: str = ""
) -> None:
    """Three maps: surrogate, oracle (one colour scale), and their difference."""
    at = grid.attrs
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
    fig, axes = plt.subplots(1, 3, figsize=(16, 5), dpi=110, sharey=True)
    specs = (
        (pred, "surrogate prediction", "viridis", lo, hi),
        (true, "oracle (true)", "viridis", lo, hi),
        (diff, "surrogate - oracle (red: over-predicts)", "RdBu_r", -m, m),
    )
    off = points[points["kind"] == "offline"]
    path_pts = points[points["kind"] == "path"]
    extent = (a.min(), a.max(), b.min(), b.max())
    for ax, (z, name, cmap, vmin, vmax) in zip(axes, specs, strict=True):
        im = ax.imshow(
            np.ma.masked_invalid(z),
            origin="lower",
            extent=extent,
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            aspect="auto",
            interpolation="nearest",
        )
        fig.colorbar(im, ax=ax, label="normalized score")
        level = at.get("neighbourhood_level", math.nan)
        if math.isfinite(level) and dist.min() < level < dist.max():
            ax.contour(a, b, dist, levels=[level], colors="w", linewidths=1.4, linestyles="--")
        elif math.isfinite(level) and dist.max() <= level and ax is axes[0]:
            ax.text(
                0.02,
                0.98,
                "the whole plane is near the offline data",
                transform=ax.transAxes,
                va="top",
                fontsize=7,
                bbox={"fc": "w", "alpha": 0.8, "lw": 0},
            )
        if 0 < clipped.mean() < 1:
            ax.contour(a, b, clipped, levels=[0.5], colors="0.6", linewidths=1, linestyles=":")
        ax.scatter(
            off["a"],
            off["b"],
            s=10,
            c="k",
            alpha=0.5,
            marker="o",
            label=f"{len(off)} offline designs near the plane (projected)",
        )
        ax.plot(path_pts["a"], path_pts["b"], color="#ff7f0e", lw=1.6, label="its ascent path")
        ax.scatter([0], [0], s=60, c="w", edgecolors="k", zorder=4, label="the design")
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("a: along the gradient")
    axes[0].set_ylabel("b: random orthogonal direction")
    axes[0].legend(fontsize=7, loc="lower left", framealpha=0.85)
    fig.suptitle(
        title
        or f"cross-section around design {at['design_id']} (step {at['step']}); white dashed: "
        f"{NEIGHBOURHOOD:g}x the typical offline spacing from the data; grey dotted: clipping",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --- transfer matrix ----------------------------------------------------------------------
def domain_key(result: StudyResult) -> str:
    """Studies with equal keys share a domain (same designs, same oracle, same normalization)."""
    spec = result.spec
    return json.dumps(
        {"domain": spec.domain.lower(), "options": spec.domain_options}, sort_keys=True, default=str
    )


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


def plot_transfer_matrix(df: pd.DataFrame, path: str | Path, title: str = "") -> None:
    """Heatmap of the mean normalized scores, diagonal boxed, the oracle column set apart."""
    w = transfer_wide(df)
    vals = w.to_numpy(dtype=float)
    nr, nc = vals.shape
    fig, ax = plt.subplots(figsize=(2.0 + 1.5 * nc, 1.6 + 0.6 * nr), dpi=110)
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
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="w", lw=2.5))
    ax.axvline(nc - 1.5, color="w", lw=4)
    ax.set_xticks(range(nc), [f"scored by\n{c}" for c in w.columns], fontsize=8)
    ax.set_yticks(range(nr), [f"designs from\n{r}" for r in w.index], fontsize=8)
    ax.set_title(
        title or "transfer: designs optimized against one surrogate, scored by the others",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --- all views of a study -----------------------------------------------------------------
def save_trajectory(result: StudyResult, out: Path) -> dict[str, Path]:
    """``trajectory.png`` and its data ``trajectory.csv`` in ``out``."""
    data = _save(result.curves, out / "trajectory.csv")
    plot_trajectory(result.curves, result.summary, out / "trajectory.png")
    return {"png": out / "trajectory.png", "data": data}


def save_sweep(
    result: StudyResult, out: Path, **kwargs: Any
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """:func:`gradient_sweep` (``kwargs``) saved as ``sweep.csv`` + ``sweep.json`` + ``sweep.png``."""
    df = gradient_sweep(result, **kwargs)
    data = _save(df, out / "sweep.csv")
    _write_meta(df.attrs, data)
    plot_gradient_sweep(df, out / "sweep.png")
    return df, {"png": out / "sweep.png", "data": data, "meta": _meta_path(data)}


def save_cross_section(
    result: StudyResult, out: Path, **kwargs: Any
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """:func:`cross_section` (``kwargs``) saved as ``cross_section.parquet`` (grid),
    ``cross_section_points.csv``, ``cross_section.json`` and ``cross_section.png``."""
    grid, pts = cross_section(result, **kwargs)
    data = _save(grid, out / "cross_section.parquet")
    _write_meta(grid.attrs, data)
    points = _save(pts, out / "cross_section_points.csv")
    plot_cross_section(grid, pts, out / "cross_section.png")
    files = {"png": out / "cross_section.png", "data": data, "points": points}
    return grid, {**files, "meta": _meta_path(data)}


def compute_views(
    result: StudyResult,
    out_dir: str | Path,
    design_id: int = 0,
    step: str | int = "start",
    grid: int = 31,
    sweep_points: int = 81,
    seed: int = 0,
) -> dict[str, dict[str, Path]]:
    """Compute and save the per-study views in ``out_dir``; returns ``{view: {kind: path}}``.

    Files: ``trajectory.png`` (+ ``trajectory.csv``), ``sweep.png`` (+ ``sweep.csv``,
    ``sweep.json``), ``cross_section.png`` (+ ``cross_section.parquet``,
    ``cross_section_points.csv``, ``cross_section.json``).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    where = {"design_id": design_id, "step": step, "seed": seed}
    return {
        "trajectory": save_trajectory(result, out),
        "sweep": save_sweep(result, out, n=sweep_points, **where)[1],
        "cross_section": save_cross_section(result, out, n=grid, **where)[1],
    }
