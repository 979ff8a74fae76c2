"""Design-Bench-style leaderboard over finished studies: rows methods, columns tasks.

Tables (normalized scores; mean with a bootstrap interval over seeds and ``n``): the 100th
percentile, the 50th percentile, and the overestimation with the fooled rate; each with the
mean rank across tasks (rank 1 = best mean in a task; ties share the average rank); then
paired tests of every method against the plain MLP, and the folders that were skipped. Any folder holding run folders works: a
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
from .stats import format_interval, mean_interval, paired

#: per-study columns of :func:`collect` besides the labels
METRICS = [
    "p100",
    "p50",
    "overestimation",
    "gap_start",
    "gap",
    "fooled_rate",
    "true_improvement_rate",
    "d_best",
    "rank_agreement",
    "impossible_rate",
    "invalid_rate",
    "oracle_errors",
    "regret_final",
    "gradient_advantage",
    "val_r2",
]
#: the tables: (key, title, metrics shown, higher is better for the rank)
TABLES = [
    ("p100", "100th percentile (normalized true score)", ["p100"], True),
    ("p50", "50th percentile (normalized true score)", ["p50"], True),
    (
        "overestimation",
        "overestimation (rise of predicted - true) / fooled rate",
        ["overestimation", "fooled_rate"],
        False,
    ),
]
#: the baseline of the paired tests and the metrics tested
BASELINE = "mlp / gradient_ascent"
PAIRED = (("p100", True), ("p50", True), ("overestimation", False))


def collect(paths: list[str | Path]) -> pd.DataFrame:
    """One row per finished study found under ``paths`` (recursively; ``summary.json`` marks a
    finished run folder): ``task, method, seed, id, <metrics>, fit_s, optimize_s, path``.

    A folder that cannot be read (a truncated ``summary.json``, a broken or unknown
    ``spec.yaml``, a plug-in that no longer imports) is skipped and listed, with its path and
    the reason, in ``result.attrs["skipped"]``."""
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
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
            if "damaged" in f.relative_to(root).parts or "views" in f.relative_to(root).parts:
                continue
            seen.add(run)
            try:
                summary = json.loads(f.read_text())
                if not isinstance(summary, dict):
                    raise ValueError("summary.json does not hold a mapping")
                spec = StudySpec.from_dict(yaml.safe_load((f.parent / "spec.yaml").read_text()))
                labels = {}
                if (f.parent / "sweep.json").exists():
                    labels = json.loads((f.parent / "sweep.json").read_text())
                task = labels.get("task") or task_label(spec)
                method = labels.get("method") or method_label(spec)
            except (OSError, ValueError, TypeError, yaml.YAMLError) as err:
                why = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
                skipped.append({"path": str(f.parent), "reason": why})
                continue
            timings = summary.get("timings_s", {})
            rows.append(
                {
                    "task": task,
                    "method": method,
                    "seed": spec.seed,
                    "id": labels.get("id", f.parent.name),
                    **{m: _num(summary.get(m)) for m in METRICS},
                    "fit_s": _num(timings.get("fit")),
                    "optimize_s": _num(timings.get("optimize")),
                    "path": str(f.parent),
                }
            )
    cols = ["task", "method", "seed", "id", *METRICS, "fit_s", "optimize_s", "path"]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs["skipped"] = skipped
    return out


def _num(v: Any) -> float:
    try:
        return math.nan if v is None else float(v)
    except (TypeError, ValueError):
        return math.nan


def per_seed(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, method, seed): studies sharing them (D(best) under several
    surrogates, which all return the same designs) are averaged first, so a seed counts once."""
    metrics = [m for m in METRICS if m in runs]
    return runs.groupby(["task", "method", "seed"], sort=False)[metrics].mean().reset_index()


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Long table: ``method, task, metric, mean, low, high, std, n`` over seeds (``low``,
    ``high``: 95 % bootstrap interval of the mean, ``nan`` for one seed)."""
    if runs.empty:
        raise ValueError("no finished studies to aggregate")
    seeds = per_seed(runs)
    rows = []
    for (method, task), g in seeds.groupby(["method", "task"], sort=False):
        for m in (m for m in METRICS if m in seeds):
            mean, low, high, n = mean_interval(g[m])
            std = float(g[m].std(ddof=1)) if n > 1 else math.nan
            rows.append(
                {
                    "method": method,
                    "task": task,
                    "metric": m,
                    "mean": mean,
                    "low": low,
                    "high": high,
                    "std": std,
                    "n": n,
                }
            )
    return pd.DataFrame(
        rows, columns=["method", "task", "metric", "mean", "low", "high", "std", "n"]
    )


def mean_rank(long: pd.DataFrame, metric: str, higher_is_better: bool = True) -> pd.Series:
    """Mean over tasks of each method's rank by ``metric``'s seed mean (1 = best).

    A method missing from a task is left out of that task's ranking (its mean rank is over the
    tasks it ran)."""
    wide = long[long.metric == metric].pivot(index="method", columns="task", values="mean")
    ranks = wide.rank(axis=0, ascending=not higher_is_better, method="average")
    return ranks.mean(axis=1)


def leaderboard(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The tables as wide frames of strings (rows methods sorted by mean rank, columns tasks
    plus ``mean rank``), keyed by :data:`TABLES`; cells are ``mean [low, high]`` or
    ``mean (n=1)``."""
    long = aggregate(runs)
    tasks = list(dict.fromkeys(runs["task"]))
    out = {}
    for key, _, metrics, higher in TABLES:
        rank = mean_rank(long, metrics[0], higher)
        cells: dict[str, dict[str, str]] = {}
        for m in metrics:
            sub = long[long.metric == m]
            for r in sub.itertuples():
                txt = format_interval(r.mean, r.low, r.high, int(r.n), pct=m.endswith("_rate"))
                prev = cells.setdefault(r.method, {}).get(r.task)
                cells[r.method][r.task] = txt if prev is None else f"{prev} / {txt}"
        table = pd.DataFrame(cells).T.reindex(columns=tasks).fillna("–")
        table["mean rank"] = rank.reindex(table.index).map(
            lambda v: f"{v:.2f}" if np.isfinite(v) else "n/a"
        )
        table = table.loc[rank.reindex(table.index).sort_values(kind="stable").index]
        table.index.name = "method"
        out[key] = table
    return out


def paired_tests(runs: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Per task, every method against ``baseline`` on :data:`PAIRED`, paired on seeds:
    ``task, method, metric, n, diff, low, high, p`` (empty where the task has no baseline)."""
    seeds = per_seed(runs)
    parts = []
    for task, g in seeds.groupby("task", sort=False):
        for metric, _ in PAIRED:
            if metric in g:
                parts.append(paired(g, metric, baseline).assign(task=task, metric=metric))
    cols = ["task", "method", "metric", "n", "diff", "low", "high", "p"]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def to_markdown(tables: dict[str, pd.DataFrame], runs: pd.DataFrame, header: str = "") -> str:
    """All tables as one Markdown document, with the paired tests against the plain MLP and
    the folders that were skipped."""
    seeds = runs.groupby(["task", "method"])["seed"].nunique()
    n_seeds = str(seeds.min()) if seeds.min() == seeds.max() else f"{seeds.min()}–{seeds.max()}"
    lines = [header] if header else []
    lines.append(
        f"{runs['task'].nunique()} tasks x {runs['method'].nunique()} methods, "
        f"{len(runs)} studies, seeds per cell n = {n_seeds}; scores normalized by each task's "
        "full reference min/max; cells: mean [95 % percentile-bootstrap interval over seeds], "
        "or mean (n=1) where one seed gives no interval; mean rank over tasks (1 = best; the "
        "overestimation table ranks lower as better). Overestimation is the mean rise of "
        "predicted - true from a design's start to its end (a constant bias reads 0); a design "
        "is fooled when it rose by more than the stated margin (in offline label sd) while its "
        "true score did not."
    )
    for key, title, _, _ in TABLES:
        t = tables[key].reset_index()
        lines += ["", f"## {title}", ""]
        lines.append("| " + " | ".join(t.columns) + " |")
        lines.append("|" + "---|" * len(t.columns))
        lines += ["| " + " | ".join(map(str, row)) + " |" for row in t.itertuples(index=False)]
    pairs = paired_tests(runs)
    if len(pairs):
        lines += [
            "",
            f"## Paired against `{BASELINE}` (same task, same seeds)",
            "",
            "Mean difference (method - baseline) [95 % bootstrap interval], paired t-test p; "
            "higher p100/p50 and lower overestimation are better; n/a with one seed.",
        ]
        tasks = list(dict.fromkeys(pairs["task"]))
        for metric, _ in PAIRED:
            sub = pairs[pairs.metric == metric]
            if sub.empty:
                continue
            lines += ["", f"### {metric}", "", "| method | " + " | ".join(tasks) + " |"]
            lines.append("|" + "---|" * (len(tasks) + 1))
            for method, g in sub.groupby("method", sort=False):
                cells = []
                for task in tasks:
                    r = g[g.task == task]
                    if r.empty:
                        cells.append("–")
                        continue
                    r = r.iloc[0]
                    p = f"p={r.p:.3f}" if np.isfinite(r.p) else "p n/a"
                    cells.append(f"{format_interval(r['diff'], r.low, r.high, int(r.n))} {p}")
                lines.append(f"| {method} | " + " | ".join(cells) + " |")
    skipped = runs.attrs.get("skipped") or []
    if skipped:
        lines += ["", f"## Skipped folders ({len(skipped)})", ""]
        lines += [f"- `{s['path']}`: {s['reason']}" for s in skipped]
    return "\n".join(lines) + "\n"


#: what :func:`write_leaderboard` writes besides ``runs_file``
LEADERBOARD_FILES = ("leaderboard.md", "leaderboard.csv")


def write_leaderboard(
    runs: pd.DataFrame,
    out_dir: str | Path,
    header: str = "",
    runs_file: str = "leaderboard-runs.csv",
) -> tuple[dict[str, pd.DataFrame], list[Path]]:
    """Write ``leaderboard.md``, ``leaderboard.csv`` (long: method, task, metric, mean, low,
    high, std, n) and ``runs_file`` (one row per study, as :func:`collect` gives) into ``out_dir``, each
    atomically (a temporary file renamed into place). The names are the leaderboard's own
    (``mbo compare`` writes ``runs.csv``, a sweep passes ``runs_file="results.csv"``), so
    writing a leaderboard beside another command's outputs replaces none of them."""
    out = Path(out_dir)
    tables = leaderboard(runs)
    paths = [out / name for name in (*LEADERBOARD_FILES, runs_file)]
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
