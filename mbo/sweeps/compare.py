"""Compare surrogates on one domain: same offline data, seeds and optimizer for every variant."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..evaluation import check_objective
from ..study import StudyResult, StudySpec, atomic_write, make_surrogate
from .ids import parse_variant
from .stats import format_interval, mean_interval, paired
from .sweep import Sweep, run_sweep

#: columns of the comparison table: (summary key, label, with an interval over seeds)
COLUMNS = [
    ("p100", "100th pct", True),
    ("p50", "50th pct", True),
    ("d_best", "D(best)", False),
    ("overestimation", "overest.", True),
    ("gap_start", "gap start", True),
    ("gap", "gap end", True),
    ("fooled_rate", "fooled", True),
    ("true_improvement_rate", "improved", True),
    ("rank_agreement", "rank agr.", True),
    ("impossible_rate", "impossible", True),
    ("gradient_advantage", "grad. adv.", True),
    ("regret_final", "regret", True),
    ("val_r2", "val R^2", True),
    ("fit_s", "fit s", False),
    ("optimize_s", "optimize s", False),
]


def compare(
    base: StudySpec,
    variants: list[str],
    seeds: list[int],
    out_dir: str | Path,
    progress: bool = False,
    workers: int | None = 1,
    executor: str = "local",
    figures: Callable[[StudyResult, Path], Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run every variant x seed on ``base``'s domain and optimizer; write the comparison.

    Built on the sweep machinery: the variants x seeds are a sweep (``base`` plus a grid of
    surrogates and seeds) run by :func:`mbo.sweeps.run_sweep` into ``out_dir/studies/<id>``,
    so a comparison is resumable (finished studies are skipped, damaged ones re-run), runs on
    any executor, and shares fits where it can. ``variants`` are surrogate names, optionally
    with an objective (``"ensemble+min"``, ``"ensemble+lcb"``). Writes ``compare-runs.csv``
    (one row per study), ``compare.csv`` (per variant: mean, bootstrap interval and ``n``
    over seeds), ``compare-paired.csv`` and ``compare.md`` (with paired tests of every variant
    against the baseline: ``mlp`` when compared, else the first variant).

    Returns (per-variant table, per-run table, per-step curves of every run).
    """
    if not variants or not seeds:
        raise ValueError("need at least one variant and one seed")
    for entry in variants:  # fail before running anything
        name, objective = parse_variant(entry)
        spec = replace(base, surrogate=name, objective=objective)
        spec.validate()
        check_objective(make_surrogate(spec), objective)
    out = Path(out_dir)
    data = {k: v for k, v in base.to_dict().items() if k not in ("surrogate", "objective", "seed")}
    data["name"] = None
    sweep = Sweep.from_dict(
        {
            "name": f"compare-{base.domain}",
            "plots": figures is not None,
            "base": data,
            "grid": {
                "surrogate": [{"surrogate": v, "method": v, "task": base.domain} for v in variants],
                "seed": list(seeds),
            },
        }
    )
    status = run_sweep(
        sweep, out, executor=executor, workers=workers, progress=progress, figures=figures
    )
    failed = status[status["status"] == "failed"]
    if len(failed):
        raise RuntimeError(
            f"{len(failed)} of {len(status)} studies failed (errors in {out / 'failed'}); "
            "re-run the same command to retry them"
        )
    rows, curves = [], []
    for study in sweep.studies:
        folder = out / "studies" / study.id
        summary = json.loads((folder / "summary.json").read_text())
        timings = summary.get("timings_s", {})
        rows.append(
            {
                "variant": study.method,
                "seed": study.spec.seed,
                **{k: summary.get(k) for k, _, _ in COLUMNS if k in summary},
                "fit_s": timings.get("fit"),
                "optimize_s": timings.get("optimize"),
                "id": study.id,
            }
        )
        cur = pd.read_csv(folder / "curves.csv")
        curves.append(cur.assign(variant=study.method, seed=study.spec.seed))
    runs = pd.DataFrame(rows)
    runs = runs.astype({k: float for k, _, _ in COLUMNS if k in runs})
    table = aggregate(runs)
    baseline = "mlp" if "mlp" in variants else variants[0]
    pairs = paired_table(runs, baseline)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "compare-runs.csv", runs.to_csv(index=False))
    atomic_write(out / "compare.csv", table.to_csv(index=False))
    atomic_write(out / "compare-paired.csv", pairs.to_csv(index=False))
    atomic_write(out / "compare.md", to_markdown(table, pairs, base, seeds, baseline))
    return table, runs, pd.concat(curves, ignore_index=True)


#: metrics of the paired tests against the baseline
PAIRED = ("p100", "p50", "overestimation")


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant: ``seeds`` and, per metric, ``<key>_mean``, ``<key>_low``, ``<key>_high``
    (bootstrap interval over seeds, ``nan`` for one seed), ``<key>_std`` and ``<key>_n``
    (seeds with a finite value)."""
    order = list(dict.fromkeys(runs["variant"]))
    g = runs.groupby("variant", sort=False)
    out = pd.DataFrame({"variant": order, "seeds": g.size().loc[order].to_numpy()})
    for key, _, _ in COLUMNS:
        if key not in runs:
            continue
        cols = {"mean": [], "low": [], "high": [], "std": [], "n": []}
        for v in order:
            values = g.get_group(v)[key]
            mean, low, high, n = mean_interval(values)
            cols["mean"].append(mean)
            cols["low"].append(low)
            cols["high"].append(high)
            cols["n"].append(n)
            cols["std"].append(float(values.std(ddof=1)) if values.count() > 1 else np.nan)
        for stat, values in cols.items():
            out[f"{key}_{stat}"] = values
    return out


def paired_table(runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Every variant against ``baseline`` on :data:`PAIRED`, paired on seeds."""
    parts = [paired(runs, m, baseline, by="variant").assign(metric=m) for m in PAIRED if m in runs]
    cols = ["variant", "metric", "n", "diff", "low", "high", "p"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def _cell(r: pd.Series, key: str, pm: bool) -> str:
    m = r.get(f"{key}_mean", np.nan)
    if key.endswith("_s"):
        return f"{m:.1f}"
    if not pm:
        return f"{m:.3f}" if np.isfinite(m) else "n/a"
    low, high = r.get(f"{key}_low", np.nan), r.get(f"{key}_high", np.nan)
    n = int(r.get(f"{key}_n", r["seeds"]))
    return format_interval(m, low, high, n, pct=key.endswith("_rate"))


def to_markdown(
    table: pd.DataFrame,
    pairs: pd.DataFrame,
    base: StudySpec,
    seeds: list[int],
    baseline: str,
) -> str:
    """The comparison as Markdown: mean [95 % bootstrap interval over seeds] per variant,
    ``n`` seeds, and the paired tests against ``baseline``."""
    head = ["variant", "n"] + [label for _, label, _ in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [str(r["variant"]), str(int(r["seeds"]))]
        cells += [_cell(r, key, pm) for key, _, pm in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    opts = base.optimizer_options or {}
    n = len(seeds)
    spread = (
        "mean [95 % percentile-bootstrap interval over seeds]"
        if n >= 2
        else "one seed: means only, no interval (n = 1)"
    )
    text = (
        f"Domain `{base.domain}` {base.domain_options or ''}, optimizer `{base.optimizer}` "
        f"{opts}, K={base.k}, seeds {seeds} (n = {n}); scores normalized by the full reference "
        f"min/max; {spread}. Fooled: overestimation (rise of predicted - true) above "
        f"{base.fooled_margin} offline label sd while the true score did not rise.\n\n"
        + "\n".join(lines)
        + "\n"
    )
    if len(pairs):
        text += (
            f"\n## Paired against `{baseline}` (same seeds)\n\n"
            "Mean difference (variant - baseline) [95 % bootstrap interval], paired t-test p; "
            "higher p100/p50 and lower overestimation are better.\n\n"
            "| variant | metric | n | difference | p |\n|---|---|---|---|---|\n"
        )
        for r in pairs.itertuples():
            diff = format_interval(r.diff, r.low, r.high, int(r.n))
            p = f"{r.p:.3f}" if np.isfinite(r.p) else "n/a"
            text += f"| {r.variant} | {r.metric} | {r.n} | {diff} | {p} |\n"
    return text


def format_table(table: pd.DataFrame) -> str:
    """A terminal view of the comparison table."""
    cols: dict[str, Any] = {}
    for key, label, pm in COLUMNS:
        if f"{key}_mean" not in table:
            continue
        cols[label] = [_cell(r, key, pm) for _, r in table.iterrows()]
    cols = {"variant": table["variant"], "n": table["seeds"], **cols}
    return pd.DataFrame(cols).to_string(index=False)
