"""``mbo report``: one self-contained HTML page of a run folder or a folder of runs."""

from __future__ import annotations

import argparse
import time

from ..common import add_quiet_flag, add_threads_flag

HELP = "one self-contained HTML report of a run folder or a folder of runs"
DESCRIPTION = (
    "Write ONE self-contained HTML file (images embedded, no network) with each study's "
    "spec, summary table and teaching views (trajectory, 1-D sweep along the gradient, 2-D "
    "cross-section, top designs), plus a transfer matrix for studies that share a domain. "
    "The data of every view is saved beside its PNG in <run>/views/."
)
THREADS = True
PLOTS = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path", help="a run folder, or a folder holding run folders (e.g. runs/demo)"
    )
    parser.add_argument("--out", help="HTML file to write (default: <path>/report.html)")
    parser.add_argument(
        "--design", type=int, default=0, help="design id the sweep and cross-section start from"
    )
    parser.add_argument(
        "--step",
        default="start",
        help="'start', 'final' or a checkpoint step: where that design is taken (default: start)",
    )
    parser.add_argument("--grid", type=int, default=31, help="cross-section grid points per side")
    parser.add_argument(
        "--sweep-points", type=int, default=81, dest="sweep_points", help="1-D sweep points"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random directions")
    add_quiet_flag(parser, "no progress lines")
    add_threads_flag(parser)


def run(args: argparse.Namespace) -> int:
    from ...reporting.report import ReportOptions, build_report

    step: str | int = args.step
    if isinstance(step, str) and step.lstrip("-").isdigit():
        step = int(step)
    opts = ReportOptions(
        design_id=args.design,
        step=step,  # type: ignore[arg-type]
        grid=args.grid,
        sweep_points=args.sweep_points,
        seed=args.seed,
    )
    t = time.perf_counter()
    out = build_report(args.path, args.out, opts, progress=None if args.quiet else print)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
    return 0
