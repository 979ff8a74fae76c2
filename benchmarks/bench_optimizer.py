"""Optimizer throughput: design-steps per second of gradient ascent on every surrogate type.

Run: ``python benchmarks/bench_optimizer.py [--device cpu|cuda|auto] [--ks 128,1000,10000,100000]
[--steps 10] [--quick] [--out results.md]``. One run measures, side by side:

1. ``GradientAscent.run`` through ``SurrogateObjective`` exactly as ``run_study`` uses it
   (``checkpoint_every`` past the last step, so it measures the math) for K designs on each
   surrogate, on a 30-D box and on the molecule space's 5640 relaxed one-hot features;
   the same run before this benchmark's changes (``reference_run`` below) and with a
   checkpoint every step, as ratios;
2. batched ascent vs a per-design loop at K=128;
3. ensemble paths (M=5): stacked with the shared input expanded (the plain path), stacked
   with the shared first layer as one product (the default), a member loop and
   ``torch.func.vmap``, forward and forward+input-gradient;
4. ``torch.compile`` of the objective and of a whole step vs eager (compile time included),
   and on CUDA ``mode="reduce-overhead"`` (CUDA graphs).

Surrogates are fit briefly on random data: fit quality does not matter for throughput.
Cells whose memory or time estimate exceeds the budget are skipped with a note. Timings are
medians over repeats that interleave the compared paths, so machine load hits all alike.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import Tensor

from domains import BoxSpace, CategoricalSpace, Space
from mbo import GradientAscent
from mbo.evaluation import SurrogateObjective
from mbo.registry import SURROGATES
from surrogates._nets import StackedNet

BOX_DIM = 30
MOL_SHAPE = (60, 94)  # the molecule domain's CategoricalSpace: 5640 features
BOX_SURROGATES = ("mlp", "mlp-2048", "ensemble", "rbf", "sn-mlp", "gp", "gp-sparse")
MOL_SURROGATES = ("mlp", "ensemble")


# --------------------------------------------------------------------------- helpers


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved(
    fns: dict[str, Callable[[], object]], device: torch.device, repeats: int, warmup: int = 1
) -> dict[str, float]:
    """Median seconds per call of each function, repeats interleaved round-robin."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    sync(device)
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            sync(device)
            t = time.perf_counter()
            f()
            sync(device)
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def fmt_rate(r: float | None) -> str:
    if r is None:
        return "skip"
    return f"{r:,.0f}" if r >= 100 else f"{r:.1f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    out = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def reference_run(ga: GradientAscent, objective, x0: Tensor, space: Space, loc, scale) -> Tensor:
    """``GradientAscent.run`` before this benchmark's changes (gd, no checkpoints): the
    autograd leaf was the standardized ``z``; every step mapped ``x = loc + scale * z`` for the
    objective and again around the projection, ``z = (project(loc + scale * z) - loc) / scale``.
    """
    lr = ga.lr if ga.lr is not None else 0.01 * math.sqrt(space.dim)
    x = space.project(x0.detach().float())
    z = ((x - loc) / scale).requires_grad_(True)
    value = objective(loc + scale * z)
    for _ in range(ga.steps):
        (grad,) = torch.autograd.grad(value.sum(), z)
        with torch.no_grad():
            z += lr * grad
            z.copy_((space.project(loc + scale * z) - loc) / scale)
        value = objective(loc + scale * z)
    return (loc + scale * z).detach()


class Problem:
    """A fitted surrogate, its objective and the design space, as ``run_study`` sets them up."""

    def __init__(self, name: str, space_name: str, device: torch.device, n_fit: int) -> None:
        g = torch.Generator().manual_seed(0)
        self.name, self.space_name, self.device = name, space_name, device
        if space_name == "box30":
            self.space: Space = BoxSpace(torch.full((BOX_DIM,), -5.0), torch.full((BOX_DIM,), 5.0))
            x = self.space.sample(n_fit, generator=g)
            feats = x
            self.loc, self.scale = x.mean(0), x.std(0)
        else:
            self.space = CategoricalSpace(*MOL_SHAPE)
            x = torch.randn(n_fit, *MOL_SHAPE, generator=g)
            feats = self.space.features(x, hard=True)
            # run_study passes zeros/ones for spaces that are not standardized
            self.loc, self.scale = torch.zeros(MOL_SHAPE), torch.ones(MOL_SHAPE)
        # a smooth label keeps the GP's hyperparameter fit short (seconds, not minutes)
        y = feats[:, :5].sum(1) + 0.1 * torch.randn(n_fit, generator=g)
        opts = {"gp": {"n_hyper": 200}, "gp-sparse": {"epochs": 2}}.get(name, {"epochs": 1})
        t = time.perf_counter()
        self.surrogate = SURROGATES.make(name, seed=0, **opts).to(device)
        self.surrogate.fit(feats.to(device), y.to(device))
        self.surrogate.eval()
        self.fit_s = time.perf_counter() - t
        self.objective = SurrogateObjective(
            self.surrogate,
            self.space.features,
            loc=float(y.mean()),
            scale=float(y.std()),
        )
        self.loc, self.scale = self.loc.to(device), self.scale.to(device)

    @property
    def label(self) -> str:
        return f"{self.name} / {self.space_name}"

    def starts(self, k: int) -> Tensor:
        g = torch.Generator().manual_seed(1)
        if isinstance(self.space, BoxSpace):
            return self.space.sample(k, generator=g).to(self.device)
        return torch.randn(k, *MOL_SHAPE, generator=g).to(self.device)

    def bytes_per_design(self) -> float:
        """A rough peak-memory estimate per design for one ascent step (float32 activations,
        float64 kernel rows for GPs, a few copies of the design tensor and its features)."""
        s = self.surrogate
        d = self.space.dim
        if self.name.startswith("gp"):
            n = s.zs_.shape[0]
            return 8 * 6 * n + 4 * 10 * d
        m = getattr(s, "n_members", 1)
        width = s.width if s.depth > 0 else getattr(s, "n_centers", 64)
        return 4 * (12 * d + 6 * m * width * max(s.depth, 1) + (m * d if m > 1 else 0))


# --------------------------------------------------------------------------- sections


def section_throughput(args, device, lines: list[str]) -> None:
    problems = [(n, "box30") for n in BOX_SURROGATES] + [(n, "mol5640") for n in MOL_SURROGATES]
    ga = GradientAscent(steps=args.steps, checkpoint_every=10**9)
    ga_ckpt = GradientAscent(steps=args.steps, checkpoint_every=1)
    rows, ratio_rows, notes = [], [], []
    for name, space_name in problems:
        t = time.perf_counter()
        p = Problem(name, space_name, device, args.n_fit)
        print(
            f"[{p.label}] fit {p.fit_s:.1f} s (set-up {time.perf_counter() - t:.1f} s)", flush=True
        )
        rates: list[float | None] = []
        last_rate = None
        for k in args.ks:
            need = k * p.bytes_per_design()
            est = None if last_rate is None else 3 * k * args.steps / last_rate
            if need > args.mem_budget * 2**30:
                rates.append(None)
                notes.append(f"{p.label}, K={k:,}: skipped, ~{need / 2**30:.0f} GiB estimated")
                continue
            if est is not None and est > args.time_budget:
                rates.append(None)
                notes.append(f"{p.label}, K={k:,}: skipped, ~{est:.0f} s estimated")
                continue
            x0 = p.starts(k)
            call = (p.objective, x0, p.space, p.loc, p.scale)
            final: dict[str, Tensor] = {}

            def new(call=call, final=final):
                final["new"] = ga.run(*call).final

            def before(call=call, final=final):
                final["before"] = reference_run(ga, *call).cpu()

            fns = {"new": new}
            check = k in args.ratio_ks
            if check:
                fns["reference"] = before
                fns["ckpt"] = lambda call=call: ga_ckpt.run(*call)
            one = time.perf_counter()
            fns["new"]()
            sync(device)
            one = time.perf_counter() - one
            reps = max(1, min(args.repeats, int(args.time_budget / (len(fns) * one + 1e-9))))
            ts = interleaved(fns, device, reps, warmup=0)
            rate = k * args.steps / ts["new"]
            rates.append(rate)
            last_rate = rate
            print(f"  K={k:>7,}: {fmt_rate(rate):>12} design-steps/s ({reps} reps)", flush=True)
            if check:
                diff = float((final["new"] - final["before"]).abs().max())
                ratio_rows.append(
                    [
                        p.label,
                        f"{k:,}",
                        f"{ts['reference'] / ts['new']:.2f}x",
                        f"{ts['ckpt'] / ts['new']:.2f}x",
                        f"{diff:.1e}",
                    ]
                )
                print(
                    f"    vs before: {ts['reference'] / ts['new']:.2f}x faster; checkpoint every "
                    f"step costs {ts['ckpt'] / ts['new']:.2f}x; max |x - x_before| {diff:.1e}",
                    flush=True,
                )
            del x0
        rows.append([p.label, f"{p.fit_s:.1f}"] + [fmt_rate(r) for r in rates])
        del p
    lines += [
        "### GradientAscent throughput (design-steps/s)",
        "",
        f"{args.steps} plain steps, `checkpoint_every` past the last step, median of up to "
        f"{args.repeats} runs; surrogates fit briefly on {args.n_fit} random points (fit s).",
        "",
        table(["surrogate / space", "fit s"] + [f"K={k:,}" for k in args.ks], rows),
        "",
    ]
    if notes:
        lines += ["Skipped: " + "; ".join(notes) + ".", ""]
    lines += [
        "### This change vs before, and the checkpoint overhead",
        "",
        "`before/now`: the previous loop (leaf `z`, round trip around the projection) over the "
        "current `GradientAscent.run`, same run; `ckpt every step`: time with "
        "`checkpoint_every=1` over none (the default 10 costs a tenth of that excess). "
        "`max |dx|`: largest difference of the final designs.",
        "",
        table(
            ["surrogate / space", "K", "before/now", "ckpt every step", "max abs dx"], ratio_rows
        ),
        "",
    ]


def section_loop(args, device, lines: list[str]) -> None:
    rows = []
    k = 128
    ga = GradientAscent(steps=args.steps, checkpoint_every=10**9)
    for name in ("mlp", "mlp-2048"):
        p = Problem(name, "box30", device, args.n_fit)
        x0 = p.starts(k)

        def loop(p=p, x0=x0):
            for i in range(k):
                ga.run(p.objective, x0[i : i + 1], p.space, p.loc, p.scale)

        ts = interleaved(
            {
                "batched": lambda p=p, x0=x0: ga.run(p.objective, x0, p.space, p.loc, p.scale),
                "loop": loop,
            },
            device,
            args.loop_repeats,
        )
        rows.append(
            [
                p.label,
                fmt_rate(k * args.steps / ts["batched"]),
                fmt_rate(k * args.steps / ts["loop"]),
                f"{ts['loop'] / ts['batched']:.1f}x",
            ]
        )
        print(f"[{p.label}] K=128 batched vs per-design loop: {rows[-1][-1]}", flush=True)
    lines += [
        "### Batched vs per-design loop (K=128)",
        "",
        f"{args.steps} steps; the loop runs `GradientAscent.run` on one design at a time.",
        "",
        table(
            ["surrogate / space", "batched, design-steps/s", "loop, design-steps/s", "ratio"], rows
        ),
        "",
    ]


def ensemble_paths(net: StackedNet) -> dict[str, Callable[[Tensor], Tensor]]:
    """Ensemble-mean output ``(B,)`` of ``net`` computed four ways."""
    from torch.func import functional_call, stack_module_state, vmap

    members = [net.member(i) for i in range(net.n_members)]
    for m in members:
        m.requires_grad_(False)
    params, buffers = stack_module_state(members)
    base = copy.deepcopy(members[0]).to("meta")

    def one(p, b, x):
        return functional_call(base, (p, b), (x,))

    vmapped = vmap(one, in_dims=(0, 0, None))

    def stacked(x, shared):
        old = net.shared_gemm
        net.shared_gemm = shared
        try:
            return net(x)[..., 0].mean(0)
        finally:
            net.shared_gemm = old

    return {
        "stacked, expanded input": lambda x: stacked(x, False),
        "stacked, shared first-layer GEMM": lambda x: stacked(x, True),
        "member loop": lambda x: torch.stack([m(x)[:, 0] for m in members]).mean(0),
        "vmap": lambda x: vmapped(params, buffers, x)[..., 0].mean(0),
    }


def section_ensemble(args, device, lines: list[str]) -> None:
    rows = []
    torch.manual_seed(0)
    for d in (BOX_DIM, MOL_SHAPE[0] * MOL_SHAPE[1]):
        net = StackedNet(5, d, 256, 2).to(device).eval().requires_grad_(False)
        paths = ensemble_paths(net)
        for k in args.ens_ks:
            x = torch.rand(k, d, device=device)
            ref = paths["stacked, expanded input"](x)
            for name, f in paths.items():
                err = float((f(x) - ref).abs().max())
                if err > 1e-4 * (1 + float(ref.abs().max())):
                    raise AssertionError(f"ensemble path {name!r} differs by {err}")
            xg = x.clone().requires_grad_(True)

            def fwd(f, x=x):
                def run():
                    with torch.no_grad():
                        f(x)

                return run

            def fwd_bwd(f, xg=xg):
                return lambda: torch.autograd.grad(f(xg).sum(), xg)

            tf = interleaved({n: fwd(f) for n, f in paths.items()}, device, args.ens_repeats)
            tb = interleaved({n: fwd_bwd(f) for n, f in paths.items()}, device, args.ens_repeats)
            base = "stacked, expanded input"
            for name in paths:
                rows.append(
                    [
                        f"{d}",
                        f"{k:,}",
                        name,
                        f"{1e3 * tf[name]:.2f}",
                        f"{tf[base] / tf[name]:.2f}x",
                        f"{1e3 * tb[name]:.2f}",
                        f"{tb[base] / tb[name]:.2f}x",
                    ]
                )
                print("  ensemble " + " | ".join(rows[-1]), flush=True)
    lines += [
        "### Ensemble paths (M=5, 2x256 ReLU)",
        "",
        "Forward (no grad) and forward + gradient w.r.t. the input, ms per call and speed "
        "relative to the stacked net with the input expanded to `(M, K, d)` (the path before "
        "this change); all paths agree to 1e-4.",
        "",
        table(["d", "K", "path", "fwd ms", "fwd speed", "fwd+grad ms", "fwd+grad speed"], rows),
        "",
    ]


def section_compile(args, device, lines: list[str]) -> None:
    rows = []
    modes = ["default"] + (["reduce-overhead"] if device.type == "cuda" else [])
    for name, space_name, k in args.compile_cases:
        p = Problem(name, space_name, device, args.n_fit)
        x0 = p.starts(k)
        lr = 0.01 * math.sqrt(p.space.dim)
        step_x = lr * p.scale * p.scale
        obj, space = p.objective, p.space

        def make_eager_obj(fobj, space=space, step_x=step_x):
            def one_step(x):
                x = x.detach().requires_grad_(True)
                v = fobj(x)
                (g,) = torch.autograd.grad(v, x, grad_outputs=torch.ones_like(v))
                return space.project(x.detach() + step_x * g), v.detach()

            return one_step

        def whole(x, obj=obj, space=space, step_x=step_x):
            def f(x):
                v = obj(x)
                return v.sum(), v

            g, v = torch.func.grad(f, has_aux=True)(x)
            return space.project(x + step_x * g), v

        variants: dict[str, Callable] = {"eager": make_eager_obj(obj)}
        for mode in modes:
            variants[f"compile(objective), {mode}"] = make_eager_obj(torch.compile(obj, mode=mode))
            variants[f"compile(step), {mode}"] = torch.compile(whole, mode=mode)

        def run(step, n=args.steps, x0=x0):
            x = x0.clone()
            for _ in range(n):
                x, _ = step(x)
            return x

        compile_s = {}
        for vname, step in variants.items():
            t = time.perf_counter()
            try:
                run(step, 3)
                sync(device)
            except Exception as err:  # noqa: BLE001 - report and go on
                compile_s[vname] = None
                print(f"  {vname}: failed ({type(err).__name__}: {err})"[:300], flush=True)
                continue
            compile_s[vname] = time.perf_counter() - t
        ok = {v: s for v, s in variants.items() if compile_s[v] is not None}
        ref = run(ok["eager"])
        errs = {v: float((run(s) - ref).detach().abs().max()) for v, s in ok.items()}
        ts = interleaved({v: (lambda s=s: run(s)) for v, s in ok.items()}, device, args.repeats, 0)
        for vname in variants:
            if compile_s[vname] is None:
                rows.append([p.label, f"{k:,}", vname, "failed", "", "", ""])
                continue
            # steps after which compiling has paid for itself (never if it is not faster)
            saved = (ts["eager"] - ts[vname]) / args.steps
            extra = compile_s[vname] - compile_s["eager"]
            even = f"{extra / saved:,.0f}" if saved > 0 else "never"
            rows.append(
                [
                    p.label,
                    f"{k:,}",
                    vname,
                    f"{compile_s[vname]:.1f}",
                    fmt_rate(k * args.steps / ts[vname]),
                    f"{ts['eager'] / ts[vname]:.2f}x",
                    "" if vname == "eager" else even,
                    f"{errs[vname]:.1e}",
                ]
            )
            print("  compile " + " | ".join(rows[-1]), flush=True)
        torch._dynamo.reset()
    lines += [
        "### torch.compile vs eager (one plain step: objective, input gradient, projection)",
        "",
        "`compile(objective)`: the objective compiled (AOTAutograd compiles its backward), "
        "`torch.autograd.grad` outside; `compile(step)`: the whole step through "
        "`torch.func.grad`. First-3-steps s includes compilation; speed is steady state "
        f"over {args.steps} steps relative to eager; break-even: steps of one run after which "
        "the compile time is paid back; max abs dx against eager."
        + (" `reduce-overhead` is CUDA graphs." if device.type == "cuda" else ""),
        "",
        table(
            [
                "surrogate / space",
                "K",
                "variant",
                "first 3 steps s",
                "design-steps/s",
                "speed",
                "break-even steps",
                "max abs dx",
            ],
            rows,
        ),
        "",
    ]


# --------------------------------------------------------------------------- main


def machine(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    return f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} torch threads, torch {torch.__version__}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    ap.add_argument("--ks", default="128,1000,10000,100000", help="design counts K")
    ap.add_argument("--steps", type=int, default=10, help="ascent steps per measurement")
    ap.add_argument("--repeats", type=int, default=3, help="max repeats per cell (median)")
    ap.add_argument("--quick", action="store_true", help="fast smoke run (small K, 2 steps)")
    ap.add_argument("--sections", default="throughput,loop,ensemble,compile")
    ap.add_argument("--time-budget", type=float, default=None, help="s per cell (estimate)")
    ap.add_argument("--mem-budget", type=float, default=None, help="GiB per cell (estimate)")
    ap.add_argument("--n-fit", type=int, default=1000, help="random points to fit on")
    ap.add_argument("--out", default=None, help="write the Markdown tables here")
    args = ap.parse_args()

    dev = args.device
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(dev)
    args.ks = [int(k) for k in args.ks.split(",")]
    args.ratio_ks = {1000, 10000}
    args.ens_ks = [1024, 10000]
    args.ens_repeats = 5
    args.loop_repeats = 3
    args.compile_cases = [("mlp", "box30", 128), ("mlp", "box30", 1000), ("mlp", "mol5640", 1000)]
    if device.type == "cuda":
        args.compile_cases += [("mlp", "box30", 100000), ("ensemble", "box30", 10000)]
    gpu = device.type == "cuda"
    if args.time_budget is None:
        args.time_budget = 30.0 if gpu else 40.0
    if args.mem_budget is None:
        args.mem_budget = (
            0.5 * torch.cuda.get_device_properties(device).total_memory / 2**30 if gpu else 6.0
        )
    if args.quick:
        args.ks = [k for k in args.ks if k <= 1000][:2] or [128]
        args.steps, args.repeats, args.n_fit = 2, 1, 200
        args.ratio_ks = {args.ks[-1]}
        args.ens_ks, args.ens_repeats, args.loop_repeats = [256], 1, 1
        args.compile_cases = [("mlp", "box30", 128)]
        args.time_budget = 10.0

    command = "python " + " ".join(sys.argv)
    head = [
        f"date {datetime.date.today()}, {machine(device)}, {platform.machine()}, "
        f"device {device}, load average {os.getloadavg()[0]:.2f}",
        "",
        f"`{command}`",
        "",
    ]
    print("\n".join(head), flush=True)
    lines: list[str] = []
    sections = {
        "throughput": section_throughput,
        "loop": section_loop,
        "ensemble": section_ensemble,
        "compile": section_compile,
    }
    for s in args.sections.split(","):
        t, load = time.perf_counter(), os.getloadavg()[0]
        sections[s](args, device, lines)
        took, load = time.perf_counter() - t, f"{load:.1f} -> {os.getloadavg()[0]:.1f}"
        lines += [f"({s}: {took:.0f} s, 1-min load average {load})", ""]
        print(f"--- {s}: {took:.0f} s, load average {load}", flush=True)
    text = "\n".join(head + lines)
    print("\n" + text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
