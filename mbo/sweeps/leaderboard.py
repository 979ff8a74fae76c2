"""Design-Bench-style leaderboard over finished studies: rows methods, columns tasks.

Tables (normalized scores; mean with a bootstrap interval over seeds and ``n``): the 100th
percentile, the 50th percentile, and the overestimation with the fooled rate; each with the
mean rank across tasks (rank 1 = best mean in a task; ties share the average rank); then
paired tests of every method against the plain MLP; then per task whether it tells surrogates
apart (:func:`discriminativeness`), whether plain ascent beats its start and D(best)
(:func:`ascent_check`), the invalid-design rate (:func:`invalid_rates`, where any design was
invalid) and the wall time by stage (:func:`stage_times`); and the folders that were skipped.
Any folder holding run folders works: a sweep's ``studies/``, ``mbo compare`` output, single
``mbo run`` folders.
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
    "true_start_mean",
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
#: the surrogates (all under gradient ascent) whose p50 must differ for a task to be
#: discriminative: the spread of their seed means above :data:`DISCRIMINATIVE_FACTOR` times
#: the largest seed standard deviation among them
DISCRIMINATIVE_METHODS = (
    "mlp / gradient_ascent",
    "ensemble+min / gradient_ascent",
    "coms / gradient_ascent",
    "grad-penalty / gradient_ascent",
    "gp / gradient_ascent",
)
DISCRIMINATIVE_FACTOR = 3.0
#: the stages of a study's ``timings_s`` (summary.json), read by :func:`collect` as ``<stage>_s``
STAGES = ("data", "fit", "optimize", "audit")


def collect(paths: list[str | Path]) -> pd.DataFrame:
    """One row per finished study found under ``paths`` (recursively; ``summary.json`` marks a
    finished run folder): ``task, method, seed, id, <metrics>, data_s, fit_s, optimize_s,
    audit_s, path`` (the ``*_s`` columns: the study's ``timings_s`` per stage, ``nan`` where the
    summary lacks it).

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
            timings = summary.get("timings_s")
            timings = timings if isinstance(timings, dict) else {}
            rows.append(
                {
                    "task": task,
                    "method": method,
                    "seed": spec.seed,
                    "id": labels.get("id", f.parent.name),
                    **{m: _num(summary.get(m)) for m in METRICS},
                    **{f"{stage}_s": _num(timings.get(stage)) for stage in STAGES},
                    "path": str(f.parent),
                }
            )
    cols = ["task", "method", "seed", "id", *METRICS, *(f"{s}_s" for s in STAGES), "path"]
    out = pd.DataFrame(rows, columns=cols)
    out.attrs["skipped"] = skipped
    return out


def keep_earlier(runs: pd.DataFrame, earlier: str | Path) -> pd.DataFrame:
    """``runs`` plus the rows of an earlier runs table (a ``leaderboard-runs.csv``) for the
    tasks that ``runs`` does not hold at all.

    A task with any study in ``runs`` is taken from ``runs`` alone, so rows of an older
    definition of that task (other ids for the same task, method and seed) never mix with the
    new ones; the other tasks keep their earlier rows. ``result.attrs["kept"]`` maps each kept
    task to its number of earlier rows. A file that is not such a table gives a one-line
    ``ValueError``."""
    path = Path(earlier)
    try:
        old = pd.read_csv(path)
    except (OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable runs table ({type(err).__name__})") from None
    need = ["task", "method", "seed", "id", *METRICS]
    missing = [c for c in need if c not in old.columns]
    if missing:
        raise ValueError(f"{path}: not a leaderboard runs table, it lacks columns {missing}")
    old = old[~old["task"].isin(set(runs["task"]))]
    cols = list(runs.columns) if len(runs.columns) else list(old.columns)
    merged = pd.concat([runs, old.reindex(columns=cols)], ignore_index=True)
    merged.attrs = dict(runs.attrs)
    merged.attrs["kept"] = old.groupby("task").size().to_dict()
    return merged


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
    return {key: _wide(long, tasks, metrics, higher) for key, _, metrics, higher in TABLES}


def _wide(long: pd.DataFrame, tasks: list[str], metrics: list[str], higher: bool) -> pd.DataFrame:
    """One table of :func:`leaderboard`: methods x ``tasks`` plus ``mean rank`` by metrics[0]."""
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
    return table


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "no")


def discriminativeness(
    runs: pd.DataFrame,
    methods: tuple[str, ...] | list[str] = DISCRIMINATIVE_METHODS,
    metric: str = "p50",
    factor: float = DISCRIMINATIVE_FACTOR,
) -> pd.DataFrame:
    """Does each task tell the surrogates apart? One row per task: ``task, n_methods`` (of
    ``methods`` with a finite ``metric``), ``n_seeds`` (the fewest seeds among them),
    ``spread`` (max - min of their seed means), ``max_std`` (the largest sample std over
    seeds), ``ratio`` (spread / max_std), ``discriminative`` (``yes`` when spread > ``factor``
    x max_std, ``no``, or ``n/a`` with fewer than 2 such methods or fewer than 2 seeds), then
    ``<method> mean`` and ``<method> std`` for each of ``methods`` (``nan`` where absent)."""
    cols = ["task", "n_methods", "n_seeds", "spread", "max_std", "ratio", "discriminative"]
    cols += [f"{m} {stat}" for m in methods for stat in ("mean", "std")]
    rows = []
    if metric in runs:
        seeds = per_seed(runs)
        for task, g in seeds.groupby("task", sort=False):
            row: dict[str, Any] = {"task": task}
            means, stds, ns = [], [], []
            for m in methods:
                v = g.loc[g.method == m, metric].to_numpy(dtype=float)
                v = v[np.isfinite(v)]
                mean = float(v.mean()) if len(v) else math.nan
                std = float(v.std(ddof=1)) if len(v) > 1 else math.nan
                row[f"{m} mean"], row[f"{m} std"] = mean, std
                if len(v):
                    means.append(mean)
                    stds.append(std)
                    ns.append(len(v))
            n_seeds = min(ns) if ns else 0
            spread = max(means) - min(means) if len(means) >= 2 else math.nan
            max_std = max(stds) if ns and n_seeds >= 2 else math.nan
            ok = None
            if len(means) >= 2 and n_seeds >= 2:
                ok = bool(spread > factor * max_std)
            ratio = math.nan
            if math.isfinite(spread) and math.isfinite(max_std):
                ratio = spread / max_std if max_std > 0 else (math.inf if spread > 0 else math.nan)
            row |= {
                "n_methods": len(means),
                "n_seeds": n_seeds,
                "spread": spread,
                "max_std": max_std,
                "ratio": ratio,
                "discriminative": _verdict(ok),
            }
            rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def _seed_mean(v: pd.Series) -> float:
    v = v.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else math.nan


def ascent_check(runs: pd.DataFrame, method: str = BASELINE) -> pd.DataFrame:
    """Does plain ascent truly improve? Per task (every task; the controls are those named
    ``*-control``): ``task, method, n`` (seeds), ``p50, p50_low, p50_high`` (mean and bootstrap
    interval over seeds), ``start`` (``true_start_mean``: the designs' mean true score before
    ascent) and ``d_best`` (the best offline score) as means over the same seeds, and
    ``above_d_best``, ``above_start``: ``yes`` when the p50 mean exceeds them, ``no``, or
    ``n/a`` where a value is missing (e.g. the task has no ``method`` runs)."""
    cols = ["task", "method", "n", "p50", "p50_low", "p50_high", "start", "d_best"]
    cols += ["above_d_best", "above_start"]
    seeds = per_seed(runs)
    rows = []
    for task, g in seeds.groupby("task", sort=False):
        b = g[g.method == method]
        p50, low, high, n = mean_interval(b["p50"]) if "p50" in b else (math.nan,) * 3 + (0,)
        ref = {
            key: _seed_mean(b[col]) if col in b else math.nan
            for key, col in (("start", "true_start_mean"), ("d_best", "d_best"))
        }
        verdicts = {
            f"above_{key}": _verdict(
                bool(p50 > v) if math.isfinite(p50) and math.isfinite(v) else None
            )
            for key, v in ref.items()
        }
        rows.append(
            {"task": task, "method": method, "n": n, "p50": p50, "p50_low": low}
            | {"p50_high": high, **ref, **verdicts}
        )
    return pd.DataFrame(rows, columns=cols)


def stage_times(runs: pd.DataFrame) -> pd.DataFrame:
    """Wall time by stage, in minutes: one row per task and, with several tasks, a last
    ``all tasks`` row, with
    ``studies`` (how many), ``<stage>_min`` for each of :data:`STAGES` (summed over the
    studies that recorded it; ``nan`` where none did) and ``total_min`` (the sum of the stage
    sums). Studies sharing one fit in a sweep record their fit once and 0 s elsewhere, so the
    sums count each stage's work once."""
    stage_cols = [f"{s}_min" for s in STAGES]
    cols = ["task", "studies", *stage_cols, "total_min"]

    def row(task: str, g: pd.DataFrame) -> dict[str, Any]:
        out: dict[str, Any] = {"task": task, "studies": len(g)}
        for stage in STAGES:
            col = f"{stage}_s"
            v = pd.to_numeric(g[col], errors="coerce") if col in g else pd.Series(dtype=float)
            out[f"{stage}_min"] = float(v.sum(min_count=1)) / 60.0
        out["total_min"] = float(pd.Series([out[c] for c in stage_cols]).sum(min_count=1))
        return out

    rows = [row(task, g) for task, g in runs.groupby("task", sort=False)]
    if len(rows) > 1:
        rows.append(row("all tasks", runs))
    return pd.DataFrame(rows, columns=cols)


def invalid_rates(runs: pd.DataFrame) -> pd.DataFrame:
    """The mean invalid rate (``invalid_rate``; lower is better) as a leaderboard table,
    methods x tasks with the mean rank, over the tasks where some study had an invalid design
    (an empty frame where none had: analytic tasks never reject a design)."""
    if "invalid_rate" not in runs:
        return pd.DataFrame()
    rate = pd.to_numeric(runs["invalid_rate"], errors="coerce")
    tasks = list(dict.fromkeys(runs.loc[rate > 0, "task"]))
    if not tasks:
        return pd.DataFrame()
    sub = runs[runs["task"].isin(tasks)]
    return _wide(aggregate(sub), tasks, ["invalid_rate"], higher=False)


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


#: the frames behind the sections after the paired tests, keyed as :func:`sections` returns
#: them, and the files :func:`write_leaderboard` writes them to
SECTION_FILES = {
    "discriminative": "leaderboard-discriminative.csv",
    "ascent": "leaderboard-ascent.csv",
    "stages": "leaderboard-stages.csv",
}


def sections(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The frames behind the per-task sections: :func:`discriminativeness`,
    :func:`ascent_check` and :func:`stage_times` (keys of :data:`SECTION_FILES`), and
    :func:`invalid_rates` (``invalid``; in the long ``leaderboard.csv`` already)."""
    return {
        "discriminative": discriminativeness(runs),
        "ascent": ascent_check(runs),
        "stages": stage_times(runs),
        "invalid": invalid_rates(runs),
    }


def _md_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows]


def _fmt(v: float, digits: int = 3) -> str:
    return f"{v:.{digits}f}" if math.isfinite(v) else "n/a"


def _sections_markdown(runs: pd.DataFrame, parts: dict[str, pd.DataFrame]) -> list[str]:
    lines: list[str] = []
    disc = parts["discriminative"]
    if len(disc):
        present = [
            m
            for m in DISCRIMINATIVE_METHODS
            if f"{m} mean" in disc and disc[f"{m} mean"].notna().any()
        ]
        missing = [m for m in DISCRIMINATIVE_METHODS if m not in present]
        k = f"{DISCRIMINATIVE_FACTOR:g}"
        lines += [
            "",
            "## Does each task tell surrogates apart?",
            "",
            "p50 of each surrogate under gradient ascent: mean ± sample std over seeds (or mean "
            "(n=1)); spread = largest - smallest of these means; the task tells surrogates "
            f"apart when spread > {k} x the largest seed std (n/a with fewer than 2 of these "
            "methods or fewer than 2 seeds)."
            + (f" Not run: {', '.join(f'`{m}`' for m in missing)}." if missing else ""),
            "",
        ]
        rows = []
        for r in disc.to_dict("records"):
            cells = [r["task"]]
            for m in present:
                mean, std = r[f"{m} mean"], r[f"{m} std"]
                if not math.isfinite(mean):
                    cells.append("–")
                else:
                    cells.append(
                        f"{mean:.3f} ± {std:.3f}" if math.isfinite(std) else f"{mean:.3f} (n=1)"
                    )
            ratio = r["ratio"]
            ratio_txt = "∞" if ratio == math.inf else _fmt(ratio, 1)
            cells += [_fmt(r["spread"]), _fmt(r["max_std"]), ratio_txt, r["discriminative"]]
            rows.append(cells)
        head = ["task", *present, "spread", "max seed std", "spread / max std"]
        lines += _md_table([*head, f"spread > {k} x max std"], rows)
    asc = parts["ascent"]
    if len(asc):
        lines += [
            "",
            "## Does ascent truly improve on the control tasks?",
            "",
            f"`{BASELINE}` on every task (controls are named `*-control`): p50 mean [95 % "
            "bootstrap interval over seeds]; start = mean true score of the designs before "
            "ascent (`true_start_mean`), D(best) = best offline score, both means over the same "
            "seeds; yes when the p50 mean is above it (n/a where the task has no such runs).",
            "",
        ]
        rows = [
            [
                r["task"],
                r["n"],
                format_interval(r["p50"], r["p50_low"], r["p50_high"], int(r["n"]))
                if r["n"]
                else "–",
                _fmt(r["start"]),
                _fmt(r["d_best"]),
                r["above_d_best"],
                r["above_start"],
            ]
            for r in asc.to_dict("records")
        ]
        lines += _md_table(
            ["task", "n", "p50", "start", "D(best)", "p50 > D(best)", "p50 > start"], rows
        )
    inv = parts["invalid"]
    if len(inv):
        t = inv.reset_index()
        lines += [
            "",
            "## Invalid designs (mean invalid rate; lower is better)",
            "",
            "Share of the final designs the domain rejected (invalid molecules, infeasible "
            "sequences), per method and task, over the tasks where any design was invalid; "
            "invalid designs count as the worst score in p100/p50.",
            "",
        ]
        lines += _md_table(list(t.columns), [list(row) for row in t.itertuples(index=False)])
    elif (
        "invalid_rate" in runs
        and pd.to_numeric(runs["invalid_rate"], errors="coerce").notna().any()
    ):
        lines += ["", "## Invalid designs", "", "No study produced an invalid design."]
    st = parts["stages"]
    if len(st):
        lines += [
            "",
            "## Wall time by stage",
            "",
            "Minutes summed over each task's studies (`timings_s` of summary.json); studies "
            "that share one fit in a sweep record it once (fit 0 s in the others), so each "
            "stage's work counts once; n/a where no study recorded the stage.",
            "",
        ]
        rows = [
            [r["task"], r["studies"], *(_fmt(r[f"{s}_min"], 2) for s in STAGES)]
            + [_fmt(r["total_min"], 2)]
            for r in st.to_dict("records")
        ]
        lines += _md_table(["task", "studies", *STAGES, "total"], rows)
    return lines


def to_markdown(
    tables: dict[str, pd.DataFrame],
    runs: pd.DataFrame,
    header: str = "",
    parts: dict[str, pd.DataFrame] | None = None,
) -> str:
    """All tables as one Markdown document, with the paired tests against the plain MLP, the
    per-task sections (``parts``: :func:`sections`, computed from ``runs`` when not given) and
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
    lines += _sections_markdown(runs, sections(runs) if parts is None else parts)
    skipped = runs.attrs.get("skipped") or []
    if skipped:
        lines += ["", f"## Skipped folders ({len(skipped)})", ""]
        lines += [f"- `{s['path']}`: {s['reason']}" for s in skipped]
    return "\n".join(lines) + "\n"


#: what :func:`write_leaderboard` writes besides ``runs_file``
LEADERBOARD_FILES = ("leaderboard.md", "leaderboard.csv", *SECTION_FILES.values())


def write_leaderboard(
    runs: pd.DataFrame,
    out_dir: str | Path,
    header: str = "",
    runs_file: str = "leaderboard-runs.csv",
) -> tuple[dict[str, pd.DataFrame], list[Path]]:
    """Write ``leaderboard.md``, ``leaderboard.csv`` (long: method, task, metric, mean, low,
    high, std, n), the frames of :func:`sections` (:data:`SECTION_FILES`) and ``runs_file``
    (one row per study, as :func:`collect` gives) into ``out_dir``, each atomically (a temporary file renamed into place). The names are the leaderboard's own
    (``mbo compare`` writes ``runs.csv``, a sweep passes ``runs_file="results.csv"``), so
    writing a leaderboard beside another command's outputs replaces none of them."""
    out = Path(out_dir)
    tables = leaderboard(runs)
    parts = sections(runs)
    paths = [out / name for name in (*LEADERBOARD_FILES, runs_file)]
    texts = [
        to_markdown(tables, runs, header, parts),
        aggregate(runs).to_csv(index=False),
        *(parts[key].to_csv(index=False) for key in SECTION_FILES),
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
