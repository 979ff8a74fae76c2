"""Saving: each view's data beside its picture, and a study's pictures in its run folder.

Every picture passes through :func:`save_figure`, every table through :func:`save_table`;
the functions below compute a view (:mod:`mbo.reporting.views`), draw it
(:mod:`mbo.reporting.figures`) and write both, returning the paths.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from ..study import StudyResult
from . import figures as F
from . import views as V


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` to ``path`` (PNG by its suffix; folders made as needed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def save_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a view's table: parquet for a ``.parquet`` path, CSV otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def meta_path(path: str | Path) -> Path:
    """Where a table's metadata (its ``attrs``) goes: beside it, as ``.json``."""
    path = Path(path)
    return path.with_name(path.stem + ".json")


def save_meta(meta: dict[str, Any], path: str | Path) -> Path:
    """Write ``meta`` (a table's ``attrs``) beside the table at ``path``; returns its path."""
    out = meta_path(path)
    out.write_text(json.dumps(meta, indent=2, default=float))
    return out


# --- one study ----------------------------------------------------------------------------
def save_trajectory(result: StudyResult, out: str | Path) -> dict[str, Path]:
    """``trajectory.png`` and its data ``trajectory.csv`` (the curves with the per-step
    distribution of the designs' exact bounds, :func:`~mbo.reporting.views.trajectory_curves`)
    in ``out``."""
    out = Path(out)
    curves = V.trajectory_curves(result)
    data = save_table(curves, out / "trajectory.csv")
    png = save_figure(F.trajectory_figure(curves, result.summary), out / "trajectory.png")
    return {"png": png, "data": data}


def save_overoptimization(
    result: StudyResult, out: str | Path
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """:func:`~mbo.reporting.views.overoptimization` saved as ``overoptimization.csv`` +
    ``overoptimization.json`` + ``overoptimization.png`` in ``out`` (no oracle calls)."""
    out = Path(out)
    df = V.overoptimization(result)
    data = save_table(df, out / "overoptimization.csv")
    meta = save_meta(df.attrs, data)
    png = save_figure(F.overoptimization_figure(df), out / "overoptimization.png")
    return df, {"png": png, "data": data, "meta": meta}


def save_sweep(
    result: StudyResult, out: str | Path, **kwargs: Any
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """:func:`~mbo.reporting.views.gradient_sweep` (``kwargs``) saved as ``sweep.csv`` +
    ``sweep.json`` + ``sweep.png`` in ``out``."""
    out = Path(out)
    df = V.gradient_sweep(result, **kwargs)
    data = save_table(df, out / "sweep.csv")
    meta = save_meta(df.attrs, data)
    png = save_figure(F.sweep_figure(df), out / "sweep.png")
    return df, {"png": png, "data": data, "meta": meta}


def save_linearization(
    result: StudyResult, out: str | Path
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """:func:`~mbo.reporting.views.linearization` saved as ``linearization.csv`` +
    ``linearization.png`` in ``out`` (no oracle calls)."""
    out = Path(out)
    df = V.linearization(result)
    data = save_table(df, out / "linearization.csv")
    png = save_figure(F.linearization_figure(df), out / "linearization.png")
    return df, {"png": png, "data": data}


def save_cross_section(
    result: StudyResult, out: str | Path, **kwargs: Any
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """:func:`~mbo.reporting.views.cross_section` (``kwargs``) saved as
    ``cross_section.parquet`` (grid), ``cross_section_points.csv``, ``cross_section.json`` and
    ``cross_section.png`` in ``out``."""
    out = Path(out)
    grid, pts = V.cross_section(result, **kwargs)
    data = save_table(grid, out / "cross_section.parquet")
    meta = save_meta(grid.attrs, data)
    points = save_table(pts, out / "cross_section_points.csv")
    png = save_figure(F.cross_section_figure(grid, pts), out / "cross_section.png")
    return grid, {"png": png, "data": data, "points": points, "meta": meta}


def save_landscape(result: StudyResult, path: str | Path) -> Path:
    """The 2-D landscape picture (:func:`~mbo.reporting.views.landscape`) at ``path``."""
    return save_figure(F.landscape_figure(V.landscape(result)), path)


def save_top_designs(result: StudyResult, path: str | Path, n: int = 8) -> bool:
    """Top designs drawn by the domain itself (:meth:`domains.Domain.render_designs` writes
    the PNG); ``False`` where the domain has no drawing."""
    designs, labels = V.top_designs(result, n)
    return result.domain.render_designs(designs, labels, str(path))


def save_views(
    result: StudyResult,
    out_dir: str | Path,
    design_id: int = 0,
    step: str | int = "start",
    grid: int = 31,
    sweep_points: int = 81,
    seed: int = 0,
) -> dict[str, dict[str, Path]]:
    """Compute, draw and save the per-study views in ``out_dir``; returns
    ``{view: {kind: path}}``.

    Files: ``trajectory.png`` (+ ``trajectory.csv``), ``overoptimization.png`` (+
    ``overoptimization.csv``, ``overoptimization.json``), ``sweep.png`` (+ ``sweep.csv``,
    ``sweep.json``), ``cross_section.png`` (+ ``cross_section.parquet``,
    ``cross_section_points.csv``, ``cross_section.json``).
    """
    out = Path(out_dir)
    where = {"design_id": design_id, "step": step, "seed": seed}
    return {
        "trajectory": save_trajectory(result, out),
        "overoptimization": save_overoptimization(result, out)[1],
        "sweep": save_sweep(result, out, n=sweep_points, **where)[1],
        "cross_section": save_cross_section(result, out, n=grid, **where)[1],
    }


def save_study_figures(result: StudyResult, out: str | Path) -> list[Path]:
    """Draw a study's pictures into its run folder ``out``: ``trajectory.png``,
    ``overoptimization.png``, and where the domain allows ``landscape.png`` and
    ``top_designs.png``; returns the paths written."""
    out = Path(out)
    curves = V.trajectory_curves(result)
    paths = [
        save_figure(F.trajectory_figure(curves, result.summary), out / "trajectory.png"),
        save_figure(
            F.overoptimization_figure(V.overoptimization(result)), out / "overoptimization.png"
        ),
    ]
    if V.can_draw_landscape(result.domain):
        paths.append(save_landscape(result, out / "landscape.png"))
    if save_top_designs(result, out / "top_designs.png"):
        paths.append(out / "top_designs.png")
    return paths


# --- several studies ----------------------------------------------------------------------
def save_trajectory_comparison(
    results: Sequence[StudyResult], labels: Sequence[str], out: str | Path
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """:func:`~mbo.reporting.views.trajectory_comparison` saved as ``trajectories.csv`` +
    ``trajectories.png`` in ``out``."""
    out = Path(out)
    df = V.trajectory_comparison(results, labels)
    data = save_table(df, out / "trajectories.csv")
    summaries = {lbl: r.summary for lbl, r in zip(labels, results, strict=True)}
    png = save_figure(F.trajectory_comparison_figure(df, summaries), out / "trajectories.png")
    return df, {"png": png, "data": data}


def save_overoptimization_comparison(
    results: Sequence[StudyResult], labels: Sequence[str], out: str | Path
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """:func:`~mbo.reporting.views.overoptimization_studies` (studies on one domain, one
    curve per variant, seed-averaged) saved as ``overoptimization.csv`` +
    ``overoptimization.png`` in ``out``."""
    out = Path(out)
    df = V.overoptimization_studies(results, labels)
    data = save_table(df, out / "overoptimization.csv")
    png = save_figure(F.overoptimization_comparison_figure(df), out / "overoptimization.png")
    return df, {"png": png, "data": data}


def save_transfer(
    results: Sequence[StudyResult], labels: Sequence[str], out: str | Path
) -> tuple[pd.DataFrame, dict[str, Path]]:
    """:func:`~mbo.reporting.views.transfer_matrix` saved as ``transfer.csv`` (long),
    ``transfer_matrix.csv`` (wide) and ``transfer.png`` in ``out``."""
    out = Path(out)
    df = V.transfer_matrix(results, labels)
    data = save_table(df, out / "transfer.csv")
    wide = save_table(V.transfer_wide(df).reset_index(), out / "transfer_matrix.csv")
    png = save_figure(F.transfer_figure(df), out / "transfer.png")
    return df, {"png": png, "data": data, "wide": wide}


def plot_comparison(curves: pd.DataFrame, path: str | Path, title: str = "") -> Path:
    """The seed-averaged comparison picture (:func:`~mbo.reporting.figures.comparison_figure`)
    of ``mbo compare``'s curves, saved at ``path``."""
    return save_figure(F.comparison_figure(curves, title), path)


def plot_overoptimization(
    curves: pd.DataFrame,
    path: str | Path,
    title: str = "",
    d_best: float | None = None,
    unit: str | None = None,
) -> Path:
    """The over-optimization picture of ``mbo compare``'s curves (per-run curves with
    ``variant``, ``step``, ``offline_distance_median``, ``predicted_mean``, ``true_mean``):
    one curve per variant, seed-averaged by step
    (:func:`~mbo.reporting.views.overoptimization_comparison`), saved at ``path`` with its
    data beside it (same name, ``.csv``). ``d_best`` draws D(best); ``unit`` names the
    distance's unit on the axis."""
    path = Path(path)
    df = V.overoptimization_comparison(curves)
    save_table(df, path.with_suffix(".csv"))
    return save_figure(F.overoptimization_comparison_figure(df, title, d_best, unit), path)
