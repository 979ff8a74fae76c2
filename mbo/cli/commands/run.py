"""``mbo run``: one study, its flags derived from StudySpec (see ``mbo.cli.spec_args``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..common import add_quiet_flag, add_threads_flag, folder_name, format_summaries
from ..spec_args import add_spec_arguments

HELP = "run one study"
DESCRIPTION = (
    "Run one study and write its run folder (spec.yaml, audit.parquet, summary.json, "
    "curves.csv, figures). Every StudySpec field has a flag; --config loads a spec file "
    "that the flags override."
)
THREADS = True
PLOTS = True


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_spec_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", help="run folder (default: runs/<label>)")
    out.add_argument(
        "--overwrite", action="store_true", help="replace an earlier run in the run folder"
    )
    add_quiet_flag(out)
    add_threads_flag(out)


def run(args: argparse.Namespace) -> int:
    from ..common import staged_run_folder
    from ..spec_args import check_runnable, spec_from_args

    spec = spec_from_args(args)
    check_runnable(spec)
    out = Path(args.out) if args.out else Path("runs") / folder_name(spec.label)
    with staged_run_folder(out, args.overwrite) as tmp:  # checks `out` before anything runs
        from ...reporting import save_study_figures
        from ...study import run_study

        print(f"running {spec.label} -> {out}")
        t = time.perf_counter()
        result = run_study(spec, tmp, progress=not args.quiet)
        save_study_figures(result, tmp)
    print(format_summaries({spec.label: result.summary}))
    print(
        f"\nwrote {out}/ (spec.yaml, audit.parquet, summary.json, curves.csv, PNGs) "
        f"in {time.perf_counter() - t:.1f} s"
    )
    return 0
