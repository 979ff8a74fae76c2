"""fp32 vs bf16 (and TF32 on CUDA): fit/optimize time and the study's metrics, same seeds.

Run: ``python benchmarks/bench_precision.py [--device cpu|cuda] [--seeds 0,1,2]
[--studies fooled,control,ensemble] [--threads 1]``.

Each study runs at every precision with the same spec and seed (``StudySpec.precision``;
``"tf32"`` only on CUDA, where it differs from fp32). Reported per study and precision: the
median fit and optimize wall time over seeds, the metrics (normalized p100, p50, gap, fooled
rate, gradient advantage; mean over seeds), the largest per-seed difference from fp32, and
whether the *conclusions* change: the same verdict on "fooled" (fooled rate >= 50 %), on
the sign of the gap and of the gradient advantage for every seed, and a metric shift smaller
than the spread between seeds at fp32.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys

import torch

from mbo import StudySpec, run_study

STUDIES = {
    "fooled": {
        "domain": "styblinski_tang",
        "domain_options": {"dim": 16, "n_reference": 300},
        "surrogate": "mlp",
    },
    "control": {"domain": "branin", "domain_options": {"n_reference": 2000}, "surrogate": "mlp"},
    "ensemble": {
        "domain": "styblinski_tang",
        "domain_options": {"dim": 16, "n_reference": 300},
        "surrogate": "ensemble",
    },
}
LABELS = {
    "fooled": "Styblinski-Tang 16-D, 150 offline points, mlp (the demo's fooled study)",
    "control": "Branin, 1000 offline points, mlp (the demo's control)",
    "ensemble": "Styblinski-Tang 16-D, 150 offline points, 5-member ensemble",
}
METRICS = ("p100", "p50", "gap", "fooled_rate", "gradient_advantage")


def verdicts(s: dict) -> tuple:
    return (s["fooled_rate"] >= 0.5, s["gap"] > 0, s["gradient_advantage"] > 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--studies", default=",".join(STUDIES))
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch default)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    precisions = ["fp32", "bf16"] + (["tf32"] if device.type == "cuda" else [])
    seeds = [int(s) for s in args.seeds.split(",")]
    print(
        f"device {device}, {torch.get_num_threads()} torch thread(s), {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}; torch {torch.__version__}, python "
        f"{platform.python_version()}; seeds {seeds}"
    )
    print(f"command: python {' '.join(sys.argv)}\n")
    table = []
    for key in args.studies.split(","):
        res = {p: [] for p in precisions}
        for seed in seeds:  # precisions interleaved per seed: load drifts hit both alike
            for p in precisions:
                spec = StudySpec.from_dict(
                    {**STUDIES[key], "seed": seed, "device": args.device, "precision": p}
                )
                s = run_study(spec).summary
                res[p].append(s)
                print(
                    f"  {key:8s} seed {seed} {p}: fit {s['timings_s']['fit']:6.2f} s, optimize "
                    f"{s['timings_s']['optimize']:5.2f} s, "
                    + ", ".join(f"{m} {s[m]:+.3f}" for m in METRICS)
                )
        ref = res["fp32"]
        spread = {m: statistics.pstdev([s[m] for s in ref]) for m in METRICS}
        for p in precisions:
            runs = res[p]
            diff = {
                m: max(abs(a[m] - b[m]) for a, b in zip(runs, ref, strict=True)) for m in METRICS
            }
            same = all(verdicts(a) == verdicts(b) for a, b in zip(runs, ref, strict=True))
            within = all(diff[m] <= max(spread[m], 0.01) for m in METRICS)
            table.append(
                {
                    "study": key,
                    "precision": p,
                    "fit": statistics.median(s["timings_s"]["fit"] for s in runs),
                    "opt": statistics.median(s["timings_s"]["optimize"] for s in runs),
                    "fit_ratio": statistics.median(
                        a["timings_s"]["fit"] / b["timings_s"]["fit"]
                        for a, b in zip(runs, ref, strict=True)
                    ),
                    "opt_ratio": statistics.median(
                        a["timings_s"]["optimize"] / b["timings_s"]["optimize"]
                        for a, b in zip(runs, ref, strict=True)
                    ),
                    **{m: statistics.mean(s[m] for s in runs) for m in METRICS},
                    "maxdiff": max(diff[m] for m in ("p100", "p50", "gap")),
                    "same": same,
                    "within": within,
                    "spread": max(spread[m] for m in ("p100", "p50", "gap")),
                }
            )
    print()
    print(
        "| study | precision | fit s | optimize s | fit time vs fp32 | optimize time vs fp32 "
        "| p100 | p50 | gap | fooled | grad. adv. | max per-seed shift of p100/p50/gap "
        "(seed spread at fp32) | verdicts as fp32 |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in table:
        print(
            f"| {r['study']} | {r['precision']} | {r['fit']:.2f} | {r['opt']:.2f} | "
            f"{r['fit_ratio']:.2f}x | {r['opt_ratio']:.2f}x | {r['p100']:.3f} | {r['p50']:.3f} | "
            f"{r['gap']:+.3f} | {r['fooled_rate']:.0%} | {r['gradient_advantage']:+.3f} | "
            f"{r['maxdiff']:.3f} ({r['spread']:.3f}) | "
            f"{'yes' if r['same'] else 'NO'}{'' if r['within'] else ', shift > seed spread'} |"
        )
    print()
    for k in args.studies.split(","):
        print(f"- {k}: {LABELS[k]}")


if __name__ == "__main__":
    main()
