"""``mbo compare``: several surrogates on one domain over seeds, one table and one figure."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..common import add_quiet_flag, add_threads_flag
from ..spec_args import add_spec_arguments

HELP = "compare surrogates on one domain over seeds"
DESCRIPTION = (
    "Run several surrogates (same domain, offline data, optimizer) over seeds and write one "
    "table (compare.md, compare.csv: mean and bootstrap interval over seeds, n, and paired "
    "tests against mlp), the predicted-vs-true curves (compare.png) and the over-optimization "
    "picture (overoptimization.png). The studies are a sweep under OUT/studies/: finished "
    "ones are read back, damaged ones re-run. "
    "The spec flags are those of `mbo run` but --surrogate, --objective-kind, --seed and "
    "--name, which --surrogates and --seeds set for each study."
)
THREADS = True
PLOTS = True
#: spec fields set per study by --surrogates / --seeds, so they have no flag here
PER_STUDY = ("surrogate", "objective", "seed", "name")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--surrogates",
        required=True,
        metavar="LIST",
        help="comma-separated variants; NAME+min / NAME+lcb pick the objective, e.g. "
        "mlp,ensemble,ensemble+min,coms",
    )
    parser.add_argument(
        "--seeds", default="0,1,2", metavar="LIST", help="comma-separated seeds (default: 0,1,2)"
    )
    add_spec_arguments(parser, exclude=PER_STUDY)
    out = parser.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", help="output folder (default: runs/compare-<domain>)")
    out.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="studies run in parallel (a local process pool; default 1: in this process)",
    )
    add_quiet_flag(out)
    add_threads_flag(out)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from ...sweeps.ids import parse_variant
    from ..spec_args import check_runnable, spec_from_args

    variants = [v.strip() for v in args.surrogates.split(",") if v.strip()]
    if not variants:
        raise ValueError(f"--surrogates lists no surrogate: {args.surrogates!r}")
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError as err:
        raise ValueError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from err
    if not seeds:
        raise ValueError(f"--seeds lists no seed: {args.seeds!r}")
    base = spec_from_args(args, surrogate=parse_variant(variants[0])[0])
    for entry in variants:  # every variant is checked before any runs
        name, objective = parse_variant(entry)
        variant = replace(base, surrogate=name, objective=objective)
        variant.validate()
        check_runnable(variant)
    from ...reporting import plot_comparison, plot_overoptimization
    from ...sweeps.compare import compare, format_table

    out = Path(args.out) if args.out else Path("runs") / f"compare-{base.domain}"
    print(f"comparing {variants} on {base.domain} over seeds {seeds} -> {out}")
    t = time.perf_counter()
    table, runs, curves = compare(
        base, variants, seeds, out, progress=not args.quiet, workers=args.workers
    )
    title = f"{base.domain}: {len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
    plot_comparison(curves, out / "compare.png", title=title)
    plot_overoptimization(
        curves, out / "overoptimization.png", title=title, d_best=float(runs["d_best"].iloc[0])
    )
    print(format_table(table))
    print(
        f"\nwrote {out}/ (compare.md, compare.csv, compare-paired.csv, compare-runs.csv, "
        f"compare.png, overoptimization.png) in {time.perf_counter() - t:.1f} s"
    )
    return 0
