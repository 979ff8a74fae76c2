"""Compare surrogates on one domain: same offline data, seeds and optimizer for every variant."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..study import StudySpec, make_domain, run_study
from .ids import parse_variant

#: columns of the comparison table: (summary key, label, aggregate as mean +/- std)
COLUMNS = [
    ("p100", "100th pct", True),
    ("p50", "50th pct", True),
    ("d_best", "D(best)", False),
    ("gap", "gap", True),
    ("fooled_rate", "fooled", True),
    ("true_improvement_rate", "improved", True),
    ("rank_agreement", "rank agr.", True),
    ("impossible_rate", "impossible", True),
    ("gradient_advantage", "grad. adv.", True),
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
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Run every variant x seed on ``base``'s domain and optimizer; write the comparison.

    ``variants`` are surrogate names, optionally with an objective (``"ensemble+min"``,
    ``"ensemble+lcb"``). Each study lands in ``out_dir/<variant>/seed<k>``; a study whose
    ``summary.json`` already exists is read back instead of re-run. Writes ``runs.csv`` (one
    row per study), ``compare.csv`` and ``compare.md`` (one row per variant, mean and std over
    seeds). The figure is drawn by ``mbo.reporting.plot_comparison`` from the curves.

    Returns (per-variant table, per-run table, per-step curves of every run).
    """
    if not variants or not seeds:
        raise ValueError("need at least one variant and one seed")
    out = Path(out_dir)
    domain = None
    rows, curves = [], []
    for entry in variants:
        name, objective = parse_variant(entry)
        for seed in seeds:
            spec = replace(
                base, surrogate=name, objective=objective, seed=seed, name=f"{entry} s{seed}"
            )
            spec.validate()
            run_dir = out / entry / f"seed{seed}"
            if (run_dir / "summary.json").exists():
                summary = json.loads((run_dir / "summary.json").read_text())
                cur = pd.read_csv(run_dir / "curves.csv")
            else:
                if domain is None:
                    domain = make_domain(base)
                res = run_study(spec, run_dir, progress=progress, domain=domain)
                summary, cur = res.summary, res.curves
            timings = summary.get("timings_s", {})
            rows.append(
                {
                    "variant": entry,
                    "seed": seed,
                    **{k: summary.get(k) for k, _, _ in COLUMNS if k in summary},
                    "fit_s": timings.get("fit"),
                    "optimize_s": timings.get("optimize"),
                }
            )
            curves.append(cur.assign(variant=entry, seed=seed))
    runs = pd.DataFrame(rows).astype({k: float for k, _, _ in COLUMNS if k in rows[0]})
    table = aggregate(runs)
    out.mkdir(parents=True, exist_ok=True)
    runs.to_csv(out / "runs.csv", index=False)
    table.to_csv(out / "compare.csv", index=False)
    (out / "compare.md").write_text(to_markdown(table, base, seeds))
    return table, runs, pd.concat(curves)


def aggregate(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds per variant (columns ``<key>_mean``, ``<key>_std``)."""
    order = list(dict.fromkeys(runs["variant"]))
    g = runs.groupby("variant", sort=False)
    out = pd.DataFrame({"variant": order, "seeds": g.size().loc[order].to_numpy()})
    for key, _, _ in COLUMNS:
        if key in runs:
            out[f"{key}_mean"] = g[key].mean().loc[order].to_numpy()
            out[f"{key}_std"] = g[key].std(ddof=0).loc[order].to_numpy()
    return out


def to_markdown(table: pd.DataFrame, base: StudySpec, seeds: list[int]) -> str:
    """The comparison as a Markdown table (mean ± std over seeds, normalized scores)."""
    head = ["variant"] + [label for _, label, _ in COLUMNS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, r in table.iterrows():
        cells = [str(r["variant"])]
        for key, _, pm in COLUMNS:
            m, s = r.get(f"{key}_mean", np.nan), r.get(f"{key}_std", np.nan)
            fmt = "{:.1f}" if key.endswith("_s") else "{:.3f}"
            cells.append(f"{fmt.format(m)} ± {fmt.format(s)}" if pm else fmt.format(m))
        lines.append("| " + " | ".join(cells) + " |")
    opts = base.optimizer_options or {}
    return (
        f"Domain `{base.domain}` {base.domain_options or ''}, optimizer `{base.optimizer}` {opts}, "
        f"K={base.k}, seeds {seeds}; scores normalized by the full reference min/max; "
        f"mean ± std over seeds.\n\n" + "\n".join(lines) + "\n"
    )


def format_table(table: pd.DataFrame) -> str:
    """A terminal view of the comparison table."""
    cols: dict[str, Any] = {"variant": table["variant"]}
    for key, label, pm in COLUMNS:
        if f"{key}_mean" not in table:
            continue
        m, s = table[f"{key}_mean"], table[f"{key}_std"]
        fmt = "{:.1f}" if key.endswith("_s") else "{:.2f}"
        cols[label] = [
            f"{fmt.format(a)}±{fmt.format(b)}" if pm else fmt.format(a)
            for a, b in zip(m, s, strict=True)
        ]
    return pd.DataFrame(cols).to_string(index=False)
