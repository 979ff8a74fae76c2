"""Draw the top designs of finished sweep studies, for reading a suite's results by eye.

For every study folder under ``RUNS`` whose surrogate, optimizer and seed match, writes
``OUT/<study id>.png``: the domain's own drawing (RDKit grid, car blueprints, sequence grid)
of the 8 designs the surrogate rates highest at the final step, labelled with predicted and
true scores, followed by the 8 best offline designs. The designs are picked by prediction
(what a user without the oracle would pick); the oracle's values are only printed under them.

    python benchmarks/draw_suite_designs.py runs/suite-medium/studies benchmarks/results/designs \\
        --domains molecules molecules-control car car-control --surrogates mlp coms --seed 0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mbo.reporting.artifacts import save_top_designs
from mbo.runtime import set_threads
from mbo.study import StudySpec
from mbo.study.folder import load_run


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", type=Path, help="folder holding run folders (a sweep's studies/)")
    p.add_argument("out", type=Path, help="where the PNGs go")
    p.add_argument("--domains", nargs="+", required=True, help="registered domain names")
    p.add_argument("--surrogates", nargs="+", default=["mlp"])
    p.add_argument("--optimizer", default="gradient_ascent")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-n", type=int, default=8, help="designs of each kind drawn")
    args = p.parse_args(argv)
    set_threads(1)
    if not args.runs.is_dir():
        print(f"{args.runs} is not a folder", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    written = 0
    for spec_file in sorted(args.runs.glob("*/spec.yaml")):
        spec = StudySpec.from_file(spec_file)
        if (
            spec.domain not in args.domains
            or spec.surrogate not in args.surrogates
            or spec.optimizer != args.optimizer
            or spec.seed != args.seed
            or spec.objective != "mean"
        ):
            continue
        result = load_run(spec_file.parent)
        path = args.out / f"{spec.domain}-{spec.surrogate}-s{spec.seed}.png"
        if save_top_designs(result, path, n=args.n):
            written += 1
            print(f"wrote {path}")
    if not written:
        print("no matching finished study", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
