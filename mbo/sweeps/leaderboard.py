"""Design-Bench-style leaderboard over finished studies: rows methods, columns tasks.

Tables (normalized scores, mean ± std over seeds): the 100th percentile, the 50th
percentile, and the gap with the fooled rate; each with the mean rank across tasks (rank 1 =
best mean in a task; ties share the average rank). Any folder holding run folders works: a
sweep's ``studies/``, ``mbo compare`` output, single ``mbo run`` folders.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from ..study import StudySpec, atomic_write
from .ids import method_label, task_label

#: per-study columns of :func:`collect` besides the labels
METRICS = [
    "p100",
    "p50",
    "gap",
    "fooled_rate",
    "true_improvement_rate",
    "d_best",
    "rank_agreement",
    "impossible_rate",
    "invalid_rate",
    "val_r2",
]
#: the tables: (key, title, metrics shown, higher is better for the rank, rank metric)
TABLES = [
    ("p100", "100th percentile (normalized true score)", ["p100"], True),
    ("p50", "50th percentile (normalized true score)", ["p50"], True),
    ("gap", "gap = mean(predicted - true) / fooled rate", ["gap", "fooled_rate"], False),
]


def collect(paths: list[str | Path]) -> pd.DataFrame:
    """One row per finished study found under ``paths`` (recursively; ``summary.json`` marks a
    finished run folder): ``task, method, seed, id, <metrics>, fit_s, optimize_s, path``."""
    rows: list[dict[str, Any]] = []
    seen: set[Path] = set()
    for root in map(Path, paths):
        if not root.exists():
            raise FileNotFoundError(f"{root} does not exist")
        found = [root / "summary.json"] if (root / "summary.json").exists() else []
        found += sorted(root.rglob("*/summary.json"))
        for f in found:
            run = f.parent.resolve()
            if run in seen or any(p.name.startswith(".tmp-") for p in f.parents):
                continue
            seen.add(run)
            summary = json.loads(f.read_text())
            try:
                spec = StudySpec.from_dict(yaml.safe_load((f.parent / "spec.yaml").read_text()))
            except (OSError, ValueError, TypeError):
                continue  # not a study folder of this version
            labels = {}
            if (f.parent / "sweep.json").exists():
                labels = json.loads((f.parent / "sweep.json").read_text())
            timings = summary.get("timings_s", {})
            rows.append(
                {
                    "task": labels.get("task") or task_label(spec),
                    "method": labels.get("method") or method_label(spec),
                    "seed": spec.seed,
                    "id": labels.get("id", f.parent.name),
                    **{m: _num(summary.get(m)) for m in METRICS},
                    "fit_s": _num(timings.get("fit")),
                    "optimize_s": _num(timings.get("optimize")),
                    "path": str(f.parent),
                }
            )
    cols = ["task", "method", "seed", "id", *METRICS, "fit_s", "optimize_s", "path"]
    return pd.DataFrame(rows, columns=cols)


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Long table: ``method, task, metric, mean, std, n`` over seeds.

    Studies sharing (task, method, seed) — e.g. D(best) under several surrogates, which all
    return the same designs — are averaged first, so each seed counts once.
    """
    if runs.empty:
        raise ValueError("no finished studies to aggregate")
    metrics = [m for m in METRICS if m in runs]
    per_seed = runs.groupby(["task", "method", "seed"], sort=False)[metrics].mean().reset_index()
    g = per_seed.groupby(["method", "task"], sort=False)
    out = []
    for m in metrics:
        out.append(
            pd.DataFrame(
                {
                    "metric": m,
                    "mean": g[m].mean(),
                    "std": g[m].std(ddof=0),
                    "n": g[m].count(),
                }
            ).reset_index()
        )
    return pd.concat(out, ignore_index=True)[["method", "task", "metric", "mean", "std", "n"]]


def mean_rank(long: pd.DataFrame, metric: str, higher_is_better: bool = True) -> pd.Series:
    """Mean over tasks of each method's rank by ``metric``'s seed mean (1 = best).

    A method missing from a task is left out of that task's ranking (its mean rank is over the
    tasks it ran)."""
    wide = long[long.metric == metric].pivot(index="method", columns="task", values="mean")
    ranks = wide.rank(axis=0, ascending=not higher_is_better, method="average")
    return ranks.mean(axis=1)


def leaderboard(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The three tables as wide frames of strings (rows methods sorted by mean rank, columns
    tasks plus ``mean rank``), keyed ``p100``, ``p50``, ``gap``."""
    long = aggregate(runs)
    tasks = list(dict.fromkeys(runs["task"]))
    out = {}
    for key, _, metrics, higher in TABLES:
        rank = mean_rank(long, metrics[0], higher)
        if key == "gap":  # rank the gap table by |gap|: closest to 0 = most honest surrogate
            sub = long[long.metric == "gap"].assign(mean=lambda d: d["mean"].abs())
            rank = mean_rank(sub, "gap", higher_is_better=False)
        cells: dict[str, dict[str, str]] = {}
        for m in metrics:
            sub = long[long.metric == m]
            for r in sub.itertuples():
                txt = _fmt(r.mean, r.std, pct=m.endswith("_rate"))
                prev = cells.setdefault(r.method, {}).get(r.task)
                cells[r.method][r.task] = txt if prev is None else f"{prev} / {txt}"
        table = pd.DataFrame(cells).T.reindex(columns=tasks).fillna("–")
        table["mean rank"] = rank.reindex(table.index).map(lambda v: f"{v:.2f}")
        table = table.loc[rank.reindex(table.index).sort_values(kind="stable").index]
        table.index.name = "method"
        out[key] = table
    return out


def _fmt(mean: float, std: float, pct: bool = False) -> str:
    if not np.isfinite(mean):
        return "nan"
    if pct:
        return f"{mean:.0%} ± {std:.0%}"
    return f"{mean:.3f} ± {std:.3f}"


def to_markdown(tables: dict[str, pd.DataFrame], runs: pd.DataFrame, header: str = "") -> str:
    """All tables as one Markdown document."""
    seeds = runs.groupby(["task", "method"])["seed"].nunique()
    n_seeds = str(seeds.min()) if seeds.min() == seeds.max() else f"{seeds.min()}–{seeds.max()}"
    lines = [header] if header else []
    lines.append(
        f"{runs['task'].nunique()} tasks x {runs['method'].nunique()} methods, "
        f"{len(runs)} studies, seeds per cell {n_seeds}; scores normalized by "
        "each task's full reference min/max; mean ± std over seeds; mean rank over tasks "
        "(1 = best; the gap table ranks |gap|)."
    )
    for key, title, _, _ in TABLES:
        t = tables[key].reset_index()
        lines += ["", f"## {title}", ""]
        lines.append("| " + " | ".join(t.columns) + " |")
        lines.append("|" + "---|" * len(t.columns))
        lines += ["| " + " | ".join(map(str, row)) + " |" for row in t.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def write_leaderboard(
    runs: pd.DataFrame, out_dir: str | Path, header: str = "", runs_file: str = "runs.csv"
) -> tuple[dict[str, pd.DataFrame], list[Path]]:
    """Write ``leaderboard.md``, ``leaderboard.csv`` (long: method, task, metric, mean, std,
    n) and ``runs_file`` (one row per study, as :func:`collect` gives) into ``out_dir``, each
    atomically (a temporary file renamed into place)."""
    out = Path(out_dir)
    tables = leaderboard(runs)
    paths = [out / "leaderboard.md", out / "leaderboard.csv", out / runs_file]
    texts = [
        to_markdown(tables, runs, header),
        aggregate(runs).to_csv(index=False),
        runs.to_csv(index=False),
    ]
    for path, text in zip(paths, texts, strict=True):
        atomic_write(path, text)
    return tables, paths


def format_tables(tables: dict[str, pd.DataFrame]) -> str:
    """Terminal view of the tables."""
    parts = []
    for key, title, _, _ in TABLES:
        parts.append(f"{title}\n{tables[key].to_string()}")
    return "\n\n".join(parts)
