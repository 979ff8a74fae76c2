"""``mbo sweep``: a grid of studies from a YAML sweep file, resumable, local or on Ray."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..common import add_quiet_flag, add_threads_flag

HELP = "run a grid of studies from a YAML sweep file (resumable; local or Ray)"
DESCRIPTION = (
    "Expand a sweep file (base spec x grid axes) into studies with stable ids and run those "
    "not finished yet under OUT/studies/<id>; failed studies are recorded in OUT/failed/ and "
    "retried on the next run. Ends with the leaderboard (OUT/results.csv, OUT/leaderboard.md, "
    "OUT/leaderboard.csv)."
)
THREADS = True
PLOTS = True
EXECUTORS = ("local", "ray")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="sweep file (YAML), e.g. benchmarks/suites/small.yaml")
    parser.add_argument(
        "--out", help="output folder (default: the file's `out`, else runs/sweep-NAME)"
    )
    parser.add_argument("--executor", choices=EXECUTORS, default="local")
    parser.add_argument("--workers", type=int, help="parallel studies (default: one per CPU core)")
    parser.add_argument("--address", help="Ray cluster address (default: start a local instance)")
    add_threads_flag(parser, "torch threads of each study, in every worker")
    parser.add_argument(
        "--dry-run", action="store_true", help="list studies and their state, run none"
    )
    add_quiet_flag(parser)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from ...reporting import save_study_figures
    from ...runtime import resolve_threads
    from ...sweeps.leaderboard import format_tables, leaderboard
    from ...sweeps.sweep import Sweep, run_sweep, study_state

    sweep = Sweep.from_file(args.spec)
    out = Path(args.out or sweep.out or Path("runs") / f"sweep-{sweep.name}")
    if args.dry_run:
        for s in sweep.studies:
            state, why = study_state(out, s.id)
            state = f"damaged ({why})" if state == "damaged" else state
            print(f"{state:5s} {s.id}  [{s.task} | {s.method}]")
        return 0
    status = run_sweep(
        sweep,
        out,
        executor=args.executor,
        workers=args.workers,
        address=args.address,
        threads=resolve_threads(args.threads),
        progress=not args.quiet,
        figures=save_study_figures,
    )
    if (out / "results.csv").exists():
        print(format_tables(leaderboard(pd.read_csv(out / "results.csv"))))
        names = ("results.csv", "leaderboard.md", "leaderboard.csv")
        print(f"\nwrote {', '.join(str(out / n) for n in names)}")
    failed = status[status.status == "failed"]
    if len(failed):
        print(f"{len(failed)} studies failed (errors in {out}/failed/); re-run to retry them")
        return 1
    return 0
