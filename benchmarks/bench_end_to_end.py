"""End-to-end wall time of `mbo demo` and of a sweep suite, broken down by stage.

    python benchmarks/bench_end_to_end.py                       # demo + small suite
    python benchmarks/bench_end_to_end.py --results runs/suite-small   # suite already run
    python benchmarks/bench_end_to_end.py --skip-suite --out benchmarks/results/perf-end-to-end.md

Stages come from each study's ``summary.json`` (``timings_s``: data, fit, optimize, audit,
report) and are compared with the command's wall time; the rest is start-up (imports,
worker processes) and the sweep's own work (packing, leaderboard).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

STAGES = ["data", "fit", "optimize", "audit", "report"]
ROOT = Path(__file__).resolve().parents[1]


def _mbo() -> list[str]:
    return [sys.executable, "-m", "mbo.cli"]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def stage_table(summaries: dict[str, dict], wall: float) -> pd.DataFrame:
    rows = {}
    for name, s in summaries.items():
        rows[name] = {k: s.get("timings_s", {}).get(k, 0.0) for k in STAGES}
    df = pd.DataFrame(rows).T
    total = df.sum()
    out = pd.DataFrame({"seconds": total, "share of wall": total / wall})
    out.loc["start-up and other"] = [wall - total.sum(), (wall - total.sum()) / wall]
    out.loc["wall"] = [wall, 1.0]
    return out


def bench_demo() -> tuple[pd.DataFrame, float]:
    import_s = timed([sys.executable, "-c", "import mbo.cli, mbo.study"])
    with tempfile.TemporaryDirectory() as tmp:
        wall = timed([*_mbo(), "demo", "--out", tmp, "--quiet"])
        summaries = {
            k: json.loads((Path(tmp) / k / "summary.json").read_text())
            for k in ("fooled", "control")
        }
    per = pd.DataFrame(
        {k: {st: s["timings_s"].get(st, 0.0) for st in STAGES} for k, s in summaries.items()}
    ).T
    print(f"\n`mbo demo`: wall {wall:.1f} s (python + imports alone: {import_s:.1f} s)")
    print(per.round(2).to_string())
    table = stage_table(summaries, wall)
    print(table.round(3).to_string())
    return table, import_s


def bench_suite(suite: str, results: str | None, workers: int | None) -> tuple[pd.DataFrame, dict]:
    from mbo.sweeps.leaderboard import collect

    info: dict = {}
    if results is None:
        out = tempfile.mkdtemp(prefix="mbo-suite-")
        cmd = [*_mbo(), "sweep", suite, "--out", out, "--quiet"]
        if workers:
            cmd += ["--workers", str(workers)]
        info["wall"] = timed(cmd)
        results = out
    runs = collect([Path(results) / "studies"])
    summaries = {
        r.id: json.loads((Path(r.path) / "summary.json").read_text()) for r in runs.itertuples()
    }
    stage = pd.DataFrame(
        {k: {st: s["timings_s"].get(st, 0.0) for st in STAGES} for k, s in summaries.items()}
    ).T
    stage["method"] = runs.set_index("id").loc[stage.index, "method"]
    stage["task"] = runs.set_index("id").loc[stage.index, "task"]
    info["studies"] = len(stage)
    info["study_seconds"] = float(stage[STAGES].to_numpy().sum())
    by_method = stage.groupby("method")[STAGES].sum()
    by_method["total"] = by_method.sum(axis=1)
    by_method = by_method.sort_values("total", ascending=False)
    print(f"\nsuite {suite}: {info['studies']} studies in {results}")
    if "wall" in info:
        print(f"wall {info['wall']:.1f} s; summed study stages {info['study_seconds']:.1f} s")
    print("summed stage seconds per method:")
    print(by_method.round(1).to_string())
    totals = stage[STAGES].sum()
    print("summed seconds per stage:")
    print((totals / totals.sum()).map("{:.0%}".format).to_string())
    return by_method, info


def to_markdown(demo: pd.DataFrame | None, import_s: float, suite, info, args) -> str:
    lines = [
        "# End-to-end wall time by stage",
        "",
        f"Date: {time.strftime('%Y-%m-%d')}. Machine: {platform.node() or 'this machine'}, "
        f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"torch {__import__('torch').__version__}. Command: `python benchmarks/bench_end_to_end.py "
        f"{' '.join(sys.argv[1:])}`.",
    ]
    if demo is not None:
        lines += [
            "",
            "## `mbo demo` (two studies)",
            "",
            f"Python start + imports: {import_s:.1f} s.",
            "",
        ]
        lines += ["| stage | seconds | share of wall |", "|---|---:|---:|"]
        for name, r in demo.iterrows():
            lines.append(f"| {name} | {r['seconds']:.2f} | {r['share of wall']:.0%} |")
    if suite is not None:
        lines += ["", f"## Suite `{args.suite}` ({info['studies']} studies)", ""]
        if "wall" in info:
            lines.append(
                f"Wall {info['wall']:.1f} s; the studies' stages sum to "
                f"{info['study_seconds']:.1f} s of worker time."
            )
            lines.append("")
        lines += ["| method | " + " | ".join(STAGES) + " | total |", "|---|" + "---:|" * 6]
        for name, r in suite.iterrows():
            lines.append(
                f"| {name} | "
                + " | ".join(f"{r[s]:.1f}" for s in STAGES)
                + f" | {r['total']:.1f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--suite", default="benchmarks/suites/small.yaml")
    p.add_argument("--results", help="a finished sweep folder to read instead of running it")
    p.add_argument("--workers", type=int, help="sweep workers (default: one per core)")
    p.add_argument("--skip-demo", action="store_true")
    p.add_argument("--skip-suite", action="store_true")
    p.add_argument("--out", help="write the tables as Markdown here")
    args = p.parse_args()
    demo, import_s = (None, 0.0) if args.skip_demo else bench_demo()
    suite, info = (
        (None, {}) if args.skip_suite else bench_suite(args.suite, args.results, args.workers)
    )
    if args.out:
        Path(args.out).write_text(to_markdown(demo, import_s, suite, info, args))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
