"""``mbo demo``: the embedded default, a fooled study beside a control where ascent works."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from ..common import add_quiet_flag, add_threads_flag, format_summaries

HELP = "the embedded default: a fooled study and a control study"
DESCRIPTION = (
    "Two studies: a plain MLP fooled by gradient ascent (Styblinski-Tang 16-D, sparse data) "
    "and a control where ascent really improves the true score (Branin 2-D, dense data)."
)
THREADS = True
PLOTS = True

#: the default output folder; the demo replaces its own earlier runs there (`make demo`)
DEFAULT_OUT = Path("runs/demo")

#: the demo's two studies: one where the surrogate is fooled, one control where ascent works.
DEMO_STUDIES: dict[str, dict[str, Any]] = {
    "fooled": {
        "domain": "styblinski_tang",
        "domain_options": {"dim": 16, "n_reference": 300},
        "surrogate": "mlp",
        "name": "fooled: Styblinski-Tang 16-D, 150 offline points",
    },
    "control": {
        "domain": "branin",
        "domain_options": {"n_reference": 2000},
        "surrogate": "mlp",
        "name": "control: Branin 2-D, 1000 offline points",
    },
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        metavar="DIR",
        help=f"output folder (default: {DEFAULT_OUT}, whose earlier demo runs are replaced)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace earlier runs in an --out folder (implied for the default folder)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of both studies (default: 0)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    add_quiet_flag(parser)
    add_threads_flag(parser)


def run(args: argparse.Namespace) -> int:
    from ...study import StudySpec
    from ..common import check_run_folder, staged_run_folder
    from ..spec_args import check_runnable

    out = Path(args.out) if args.out else DEFAULT_OUT
    overwrite = args.overwrite or args.out is None
    specs = {}
    for key, study in DEMO_STUDIES.items():
        specs[key] = StudySpec.from_dict({**study, "seed": args.seed, "device": args.device})
        check_runnable(specs[key])
        check_run_folder(out / key, overwrite)  # both checked before either runs
    from ...reporting import save_study_figures
    from ...study import run_study

    t0 = time.perf_counter()
    summaries = {}
    for key, spec in specs.items():
        print(f"[{key}] {spec.label}")
        with staged_run_folder(out / key, overwrite) as tmp:
            result = run_study(spec, tmp, progress=not args.quiet)
            save_study_figures(result, tmp)
        summaries[key] = result.summary
    print()
    print(format_summaries(summaries))
    f, c = summaries["fooled"], summaries["control"]
    print(
        f"\nfooled : predicted rose {f['predicted_mean'] - f['predicted_start_mean']:+.2f} while "
        f"the true score moved {f['true_mean'] - f['true_start_mean']:+.2f}; "
        f"{f['fooled_rate']:.0%} of designs fooled the surrogate."
        f"\ncontrol: predicted rose {c['predicted_mean'] - c['predicted_start_mean']:+.2f} and "
        f"the true score moved {c['true_mean'] - c['true_start_mean']:+.2f} "
        "(dense 2-D data: ascent really works)."
        f"\nfooled: the rise of (predicted - true) exceeded {f['fooled_margin']} offline label sd "
        f"(δ = {f['fooled_delta']:.3f}) while the true score did not rise; scores normalized by "
        "the full reference data's min/max."
    )
    for key, s in summaries.items():
        rules = [
            (r, s.get(f"stop_{r}_step"), s.get(f"stop_{r}_regret"))
            for r in ("distance", "disagreement", "plateau", "beyond_data")
        ]
        told = ", ".join(
            f"{r} step {int(step)} (regret {reg:.3f})"
            for r, step, reg in rules
            if step is not None and math.isfinite(step)
        )
        print(
            f"{key}: true score peaked at step {s['peak_step']} (final regret "
            f"{s['regret_final']:.3f}); offline stopping rules: {told}"
        )
    print(
        f"\nplots: {out}/fooled/trajectory.png, {out}/control/trajectory.png, "
        f"{out}/control/landscape.png"
    )
    print(
        f"done in {time.perf_counter() - t0:.1f} s; next: `mbo report {out}` writes one HTML page"
    )
    return 0
