"""Sandbox gradient ascent vs BoTorch's optimize_acqf on the same surrogate objective.

Run: ``python benchmarks/bench_acqf.py [--dim 30] [--n-reference 2000] [--k 128]
[--surrogates gp,mlp,ensemble] [--device cpu|cuda] [--threads 1] [--repeats 3]``.

One task (Styblinski-Tang, ``dim``-D, ``n_reference`` uniform points of which the lower half
is the offline data), one fitted surrogate at a time, the same ``K`` starts for every
contender (the top-``K`` offline designs), the same box, the same objective:

- ``optimize_acqf``: BoTorch's multi-start L-BFGS-B (scipy, one problem per restart, batched
  evaluations; BoTorch's defaults, ``maxiter=2000``) with ``batch_initial_conditions`` of
  shape ``(K, 1, d)``, ``q=1``, ``return_best_only=False``, in float64 as BoTorch users do.
  The surrogate is exposed as a BoTorch ``Model`` by ``surrogates.SurrogateModel``
  (``use_std=False`` for the mean: the adapter's fast path); for the GP also BoTorch's own
  ``SingleTaskGP`` (``gp.model_``), what a user would otherwise call.
- ``GradientAscent``: the sandbox's batched ascent, ``steps`` plain (gd) or Adam steps, on
  design tensors standardized by the offline data's mean/spread with the step size
  ``0.01 * sqrt(d)``, clamped into the box after every step, checkpoints every 10 steps (the
  study default). For the GP also the same loop through ``gp.model_.posterior(x).mean``
  (BoTorch's posterior machinery instead of the cached mean weight vector).

Fairness: both sides move the same ``K`` points inside the same box and maximize the same
function. The sandbox's objective is the prediction standardized by the offline labels
(``(f - mean) / std``): a positive affine map, so the maximizers are the same; it only sets
the step scale. Standardizing the *designs* is a change of coordinates for the gradient
steps (L-BFGS-B is invariant to it up to its bounds handling). Every contender's final
designs are re-scored by the same surrogate call afterwards, so values are comparable.
Reported: wall time (median of ``repeats``, contenders interleaved), the objective at the
final designs in standardized label units (mean and max over K), the gain over the start
(mean), and ratios against ``optimize_acqf`` on the same surrogate. ``evals`` counts calls
of the objective (L-BFGS-B: function+gradient evaluations of the batch; ascent: steps + 1).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import torch
from botorch.acquisition import PosteriorMean
from botorch.acquisition.analytic import AnalyticAcquisitionFunction
from botorch.optim import optimize_acqf

from mbo.evaluation import SurrogateObjective
from mbo.optimizers import GradientAscent
from mbo.registry import DOMAINS, SURROGATES
from surrogates import SurrogateModel
from surrogates._base import spread


class LowerConfidenceBound(AnalyticAcquisitionFunction):
    """``mean - kappa * std``: the sandbox's ``lcb`` objective as a BoTorch acquisition."""

    def __init__(self, model, kappa: float = 1.0) -> None:
        super().__init__(model=model)
        self.kappa = kappa

    def forward(self, X):
        mean, sigma = self._mean_and_sigma(X)
        return mean - self.kappa * sigma


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count_calls(module: torch.nn.Module) -> list[int]:
    n = [0]
    module.register_forward_hook(lambda *_: n.__setitem__(0, n[0] + 1))
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dim", type=int, default=30)
    ap.add_argument("--n-reference", type=int, default=2000, help="offline data: the lower half")
    ap.add_argument("--k", type=int, default=128, help="designs / restarts")
    ap.add_argument("--steps", type=int, default=200, help="gradient-ascent steps")
    ap.add_argument("--surrogates", default="gp,mlp,ensemble")
    ap.add_argument("--epochs", type=int, default=200, help="MLP/ensemble training epochs")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch default)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    domain = DOMAINS.make("styblinski_tang", dim=args.dim, n_reference=args.n_reference)
    space = domain.space
    offline = domain.offline()
    x_all = offline.x.to(device)
    y_all = torch.as_tensor(offline.y, dtype=torch.float32, device=device)
    starts = offline.top(args.k).x.to(device)
    loc, scale = offline.x.mean(0).to(device), spread(offline.x).to(device)
    y_loc, y_scale = float(offline.y.mean()), float(offline.y.std())
    bounds = torch.stack([space.lower, space.upper]).to(device, torch.float64)
    print(
        f"styblinski_tang {args.dim}-D, {len(offline)} offline points, K={args.k}, "
        f"{args.steps} ascent steps; device {device}, {torch.get_num_threads()} torch thread(s), "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; torch {torch.__version__}, "
        f"python {platform.python_version()}"
    )
    print(f"command: python {' '.join(sys.argv)}\n")

    rows = []
    for name in args.surrogates.split(","):
        t = time.perf_counter()
        opts = {"seed": args.seed} | ({} if name.startswith("gp") else {"epochs": args.epochs})
        sur = SURROGATES.make(name, **opts).fit(x_all, y_all).eval()
        for p in sur.parameters():
            p.requires_grad_(False)
        print(f"[{name}] fit in {time.perf_counter() - t:.1f} s")
        kinds = ["mean"] + (["lcb"] if sur.has_std else [])
        for kind in kinds:
            rows += compare(
                name, kind, sur, starts, space, loc, scale, y_loc, y_scale, bounds, args
            )
    print()
    print_table(rows)


def compare(name, kind, sur, starts, space, loc, scale, y_loc, y_scale, bounds, args):
    device = starts.device
    obj = SurrogateObjective(sur, space.features, kind=kind, loc=y_loc, scale=y_scale)

    def score(x: torch.Tensor) -> torch.Tensor:  # the same scorer for every contender
        with torch.no_grad():
            return obj(x.to(device, torch.float32)).double().cpu()

    def ascent(method, objective=obj):
        ga = GradientAscent(steps=args.steps, method=method)
        return lambda: (ga.run(objective, starts, space, loc, scale).final, args.steps + 1)

    def acqf_run(model):
        acqf = PosteriorMean(model) if kind == "mean" else LowerConfidenceBound(model)
        calls = count_calls(acqf)

        def go():
            calls[0] = 0
            x, _ = optimize_acqf(
                acqf,
                bounds=bounds,
                q=1,
                num_restarts=args.k,
                batch_initial_conditions=starts.double().unsqueeze(1),
                return_best_only=False,
            )
            return x.squeeze(1), calls[0]

        return go

    contenders = {
        "optimize_acqf (L-BFGS-B), SurrogateModel": acqf_run(
            SurrogateModel(sur, use_std=kind != "mean")
        ),
        "sandbox GradientAscent gd": ascent("gd"),
        "sandbox GradientAscent adam": ascent("adam"),
    }
    if hasattr(sur, "model_") and kind == "mean":
        model = sur.model_

        def botorch_mean(x):
            return (
                model.posterior(x.double().unsqueeze(-2)).mean[..., 0, 0].float() - y_loc
            ) / y_scale

        contenders["optimize_acqf (L-BFGS-B), BoTorch SingleTaskGP"] = acqf_run(model)
        contenders["GradientAscent gd via BoTorch posterior"] = ascent("gd", botorch_mean)
        contenders["GradientAscent adam via BoTorch posterior"] = ascent("adam", botorch_mean)

    times = {c: [] for c in contenders}
    out = {}
    for _ in range(args.repeats):  # interleaved, so load drifts hit every contender alike
        for c, fn in contenders.items():
            sync(device)
            t = time.perf_counter()
            x, evals = fn()
            sync(device)
            times[c].append(time.perf_counter() - t)
            out[c] = (x, evals)
    f0 = score(starts)
    ref = "optimize_acqf (L-BFGS-B), SurrogateModel"
    rows = []
    for c in contenders:
        x, evals = out[c]
        lo, hi = bounds[0].to(x), bounds[1].to(x)
        assert bool(((x >= lo - 1e-5) & (x <= hi + 1e-5)).all()), c
        f = score(x)
        rows.append(
            {
                "surrogate": name,
                "objective": kind,
                "contender": c,
                "time": statistics.median(times[c]),
                "evals": evals,
                "mean": float(f.mean()),
                "max": float(f.max()),
                "gain": float((f - f0).mean()),
                "start": float(f0.mean()),
                "ref": c == ref,
            }
        )
    base = next(r for r in rows if r["ref"])
    for r in rows:
        r["speedup"] = base["time"] / r["time"]
        r["gain_ratio"] = r["gain"] / base["gain"] if base["gain"] else float("nan")
        print(
            f"  {name:8s} {kind:4s} {r['contender']:48s} {r['time']:7.2f} s  "
            f"evals {r['evals']:5d}  mean {r['mean']:8.3f}  max {r['max']:8.3f}  "
            f"speed-up {r['speedup']:5.2f}x  gain ratio {r['gain_ratio']:5.2f}"
        )
    return rows


def print_table(rows) -> None:
    print(
        "| surrogate | objective | contender | wall s | evals | objective mean | objective max "
        "| gain over start | speed-up vs optimize_acqf | gain ratio vs optimize_acqf |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['surrogate']} | {r['objective']} | {r['contender']} | {r['time']:.2f} | "
            f"{r['evals']} | {r['mean']:.3f} | {r['max']:.3f} | {r['gain']:+.3f} | "
            f"{r['speedup']:.2f}x | {r['gain_ratio']:.2f} |"
        )


if __name__ == "__main__":
    main()
