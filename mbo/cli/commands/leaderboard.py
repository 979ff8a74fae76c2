"""``mbo leaderboard``: Design-Bench-style tables over finished studies anywhere."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..common import add_threads_flag

HELP = "Design-Bench-style tables (p100, p50, gap/fooled, mean rank) over finished studies"
DESCRIPTION = (
    "Aggregate every finished study (folders with summary.json) under RESULTS into tables "
    "with methods as rows and tasks as columns; print them and write leaderboard.md (the "
    "tables, paired tests, and per task: does it tell surrogates apart, does plain ascent beat "
    "its start and D(best), invalid rates, wall time by stage), leaderboard.csv, "
    "leaderboard-discriminative.csv, leaderboard-ascent.csv, leaderboard-stages.csv and "
    "leaderboard-runs.csv into their own folder (default: <first RESULTS>/leaderboard/), so "
    "the files of a sweep or a comparison stay untouched."
)
THREADS = True  # reading run folders imports the spec, hence torch
PLOTS = False
#: the default output folder, inside the first RESULTS folder
SUBFOLDER = "leaderboard"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results", nargs="+", help="sweep output folders, compare folders, run folders"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help=f"where to write the files (default: <first RESULTS>/{SUBFOLDER}/)",
    )
    parser.add_argument(
        "--keep",
        metavar="RUNS_CSV",
        help="an earlier leaderboard-runs.csv whose rows stay for the tasks that have no "
        "study under RESULTS (a task with any study there is taken from the studies alone, "
        "so rows of an older definition of a task never mix with new ones)",
    )
    add_threads_flag(parser)


def run(args: argparse.Namespace) -> int:
    from ...sweeps.leaderboard import collect, format_tables, keep_earlier, write_leaderboard

    runs = collect(args.results)
    for s in runs.attrs.get("skipped", []):
        print(f"skipped {s['path']}: {s['reason']}", file=sys.stderr)
    if args.keep:
        runs = keep_earlier(runs, args.keep)
        for task, n in runs.attrs["kept"].items():
            print(f"kept {n} earlier rows of task {task!r} from {args.keep}", file=sys.stderr)
    if runs.empty:
        raise ValueError(
            f"no readable finished studies (summary.json) under {', '.join(args.results)}"
        )
    out = Path(args.out) if args.out else Path(args.results[0]) / SUBFOLDER
    tables, paths = write_leaderboard(runs, out)
    print(format_tables(tables))
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0
