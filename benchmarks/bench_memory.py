"""Peak memory per design of the gradient-ascent optimize stage, and the largest K that fits.

Run: ``python benchmarks/bench_memory.py [--device cpu|cuda] [--budget-gib G]
[--domains st30,car,molecules] [--surrogates mlp,ensemble] [--steps 200] [--no-verify]``.

Every measurement is a fresh subprocess (``--child``): build the domain's space (Styblinski-
Tang 30-D box, the car's 19-D box, the molecules' categorical space L=60 x V=94 = 5,640
features), fit the surrogate preset on 64 random designs for one epoch (its weights do not
matter for memory; the tiny fit keeps the process's high-water mark below the optimize
stage), draw ``K`` start designs, then run ``GradientAscent`` (the domain's default method:
gd for boxes, Adam for molecules). Memory on CPU: the process's peak RSS (``ru_maxrss``) and
its RSS just before the ascent; on CUDA: ``torch.cuda.max_memory_allocated`` over the ascent,
plus the CPU RSS growth (checkpoints are copied to CPU).

Peak memory depends on the number of checkpoints kept, not on the number of steps between
them (each step frees its graph). With ``--steps S`` the default mode keeps
``S / checkpoint_every + 1`` checkpoints; ``--equivalent-steps 20`` runs 20 steps with a
checkpoint every step: the same 21 checkpoints as 200 steps every 10, at a tenth of the
time (the script checks the equivalence on one configuration). Modes: ``every10`` (the
study default, 21 checkpoints for 200 steps) and ``final`` (``checkpoint_every = steps``:
the start and the final designs only).

Bytes per design: the slope of peak memory against K (least squares over the measured K);
the largest K under the budget: ``(budget - intercept) / slope``, verified by one run at
that K (``--no-verify`` skips it). The default budget is 80 % of available RAM (CPU) or of
the GPU's memory; on a machine shared with other jobs pass a smaller ``--budget-gib`` to
verify, and read the 80 % figure as an extrapolation.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

DOMAINS = {
    "st30": "Styblinski-Tang 30-D (box)",
    "car": "car 19-D (box)",
    "molecules": "molecules 60x94 logits (5,640 features)",
}
#: K measured per (domain, surrogate): large enough that every K-sized tensor exceeds glibc's
#: mmap threshold (32 MiB at most), below which freed blocks stay in the heap and fragment
#: it, inflating peak RSS (at K <= 1024 molecules read ~1.5 MiB/design instead of ~0.8)
DEFAULT_K = {
    ("st30", "mlp"): (32768, 131072),
    ("st30", "ensemble"): (8192, 32768),
    ("car", "mlp"): (32768, 131072),
    ("car", "ensemble"): (8192, 32768),
    ("molecules", "mlp"): (2048, 4096),
    ("molecules", "ensemble"): (2048, 4096),
}
GIB = 2**30


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def available_bytes() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no MemAvailable in /proc/meminfo")


# ----------------------------------------------------------------------------- child


def child(a: argparse.Namespace) -> None:
    import gc

    import torch

    from mbo.evaluation import SurrogateObjective
    from mbo.optimizers import GradientAscent
    from mbo.registry import SURROGATES

    torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    g = torch.Generator().manual_seed(0)
    if a.domain == "molecules":
        from domains._space import CategoricalSpace

        space, method = CategoricalSpace(60, 94, logit_bound=10.0), "adam"

        def draw(n: int) -> torch.Tensor:  # as MoleculeDomain.encode: +-logit_bound / 2
            tok = torch.randint(0, 94, (n, 60), generator=g)
            return torch.nn.functional.one_hot(tok, 94).float() * 10.0 - 5.0

        loc = scale = None
    else:
        from domains._space import BoxSpace

        if a.domain == "car":
            from domains.car import _blueprint as bp

            space = BoxSpace(torch.as_tensor(bp.LOWER), torch.as_tensor(bp.UPPER))
        else:
            from mbo.registry import DOMAINS

            space = DOMAINS.make("styblinski_tang", dim=30, n_reference=10).space
        method = "gd"

        def draw(n: int) -> torch.Tensor:
            return space.sample(n, generator=g)

        ref = draw(256)
        loc, scale = ref.mean(0).to(device), ref.std(0).to(device)
    x = draw(64)
    feats = space.features(x, hard=True).to(device)
    y = torch.randn(64, generator=g).to(device)
    opts = {"epochs": 1, "batch_size": 64, "val_fraction": 0.0, "seed": 0}
    sur = SURROGATES.make(a.surrogate, **opts).fit(feats, y).eval()
    for p in sur.parameters():
        p.requires_grad_(False)
    x0 = draw(int(a.k)).to(device)
    objective = SurrogateObjective(sur, space.features)
    every = a.steps if a.mode == "final" else a.checkpoint_every
    ga = GradientAscent(steps=a.steps, method=method, checkpoint_every=max(every, 1))
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    gpu_before = torch.cuda.memory_allocated() if device.type == "cuda" else 0
    rss_before = rss_bytes()
    t = time.perf_counter()
    traj = ga.run(objective, x0, space, loc, scale)
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    out = {
        "rss_before": rss_before,
        "peak_rss": peak,
        "checkpoints": len(traj.steps),
        "trajectory_bytes": traj.x.numel() * traj.x.element_size(),
        "seconds": seconds,
    }
    if device.type == "cuda":
        out |= {"gpu_before": gpu_before, "gpu_peak": torch.cuda.max_memory_allocated()}
    print("RESULT " + json.dumps(out))


# ---------------------------------------------------------------------------- parent


def measure(a: argparse.Namespace, domain: str, surrogate: str, mode: str, k: int, steps: int):
    every = max(steps // 20, 1)  # 21 checkpoints, as 200 steps every 10
    cmd = [sys.executable, __file__, "--child", "--domain", domain, "--surrogate", surrogate]
    cmd += ["--mode", mode, "--k", str(k), "--steps", str(steps), "--checkpoint-every", str(every)]
    cmd += ["--device", a.device, "--threads", str(a.threads)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return {"error": (p.stderr or p.stdout).strip().splitlines()[-1:] or [f"rc {p.returncode}"]}
    line = next(x for x in p.stdout.splitlines() if x.startswith("RESULT "))
    r = json.loads(line[7:])
    if a.device.startswith("cuda"):
        r["total"], r["delta"] = r["gpu_peak"], r["gpu_peak"] - r["gpu_before"]
    else:
        r["total"], r["delta"] = r["peak_rss"], r["peak_rss"] - r["rss_before"]
    return r


def linfit(ks, ys) -> tuple[float, float]:
    n = len(ks)
    mk, my = sum(ks) / n, sum(ys) / n
    slope = sum((k - mk) * (y - my) for k, y in zip(ks, ys, strict=True)) / sum(
        (k - mk) ** 2 for k in ks
    )
    return my - slope * mk, slope


def parent(a: argparse.Namespace) -> None:
    cuda = a.device.startswith("cuda")
    if a.budget_gib is not None:
        budget, how = a.budget_gib * GIB, f"--budget-gib {a.budget_gib:g}"
    elif cuda:
        import torch

        budget = 0.8 * torch.cuda.get_device_properties(torch.device(a.device)).total_memory
        how = "80 % of the GPU's memory"
    else:
        budget, how = 0.8 * available_bytes(), "80 % of available RAM"
    avail = 0.8 * available_bytes()
    print(
        f"device {a.device}; {os.cpu_count()} cores, {a.threads} torch thread(s); available RAM "
        f"{available_bytes() / GIB:.1f} GiB; budget {budget / GIB:.2f} GiB ({how}); "
        f"{a.equivalent_steps} steps per run standing for {a.steps} (same checkpoints)"
    )
    print(f"command: python {' '.join(sys.argv)}\n")
    rows = []
    equiv = a.equivalent_steps
    if a.check_equivalence:
        d = a.domains.split(",")[0]
        s = a.surrogates.split(",")[0]
        k = DEFAULT_K[d, s][0] // 4
        r200 = measure(a, d, s, "every10", k, a.steps)
        r20 = measure(a, d, s, "every10", k, equiv)
        print(
            f"equivalence check ({d}, {s}, K={k}): peak above baseline {r200['delta'] / 2**20:.0f} "
            f"MiB with {a.steps} steps ({r200['checkpoints']} checkpoints, {r200['seconds']:.1f} s) "
            f"vs {r20['delta'] / 2**20:.0f} MiB with {equiv} steps ({r20['checkpoints']} "
            f"checkpoints, {r20['seconds']:.1f} s)\n"
        )
    for d in a.domains.split(","):
        for s in a.surrogates.split(","):
            ks = [int(k) for k in a.k.split(",")] if a.k else list(DEFAULT_K[d, s])
            for mode in ("every10", "final"):
                res = [measure(a, d, s, mode, k, equiv) for k in ks]
                bad = [r for r in res if "error" in r]
                if bad:
                    print(f"{d} {s} {mode}: failed: {bad[0]['error']}")
                    continue
                c0, slope = linfit(ks, [r["total"] for r in res])
                _, slope_d = linfit(ks, [r["delta"] for r in res])
                traj = res[-1]["trajectory_bytes"] / ks[-1]
                k_max = int((budget - c0) / slope)
                k_avail = int((avail - c0) / slope) if not cuda else None
                row = {
                    "domain": d,
                    "surrogate": s,
                    "mode": mode,
                    "checkpoints": res[-1]["checkpoints"],
                    "ks": ks,
                    "per_design": slope,
                    "per_design_delta": slope_d,
                    "traj_per_design": traj,
                    "fixed": c0,
                    "k_max": k_max,
                    "k_avail": k_avail,
                    "s_per_kdesign_step": res[-1]["seconds"] / equiv / (ks[-1] / 1000),
                }
                verify_here = a.verify_domains is None or d in a.verify_domains.split(",")
                if a.verify and verify_here and mode == "every10":
                    v = measure(a, d, s, mode, k_max, equiv)
                    row["verify"] = v
                print(
                    f"{d:9s} {s:8s} {mode:7s} {row['checkpoints']:2d} ckpt  "
                    f"{slope / 1024:8.1f} KiB/design (trajectory {traj / 1024:6.1f} KiB)  "
                    f"fixed {c0 / 2**20:6.0f} MiB  K_max {k_max:>9,d}"
                    + (
                        f"  verified: peak {v['total'] / GIB:.2f} GiB at K={k_max:,d}"
                        if "verify" in row and "error" not in row["verify"]
                        else ""
                    )
                )
                rows.append(row)
    print()
    print_table(rows, budget, cuda)


def print_table(rows, budget, cuda) -> None:
    mem = "GPU" if cuda else "RSS"
    print(
        f"| domain | surrogate | checkpoints | K measured | peak {mem} per design | of which "
        f"trajectory | fixed | largest K under {budget / GIB:.1f} GiB | verified peak at that K "
        + ("|" if cuda else "| largest K under 80 % of available RAM (extrapolated) |")
    )
    print("|---|---|---:|---|---:|---:|---:|---:|---:|" + ("" if cuda else "---:|"))
    for r in rows:
        v = r.get("verify")
        vs = "-" if v is None else ("failed" if "error" in v else f"{v['total'] / GIB:.2f} GiB")
        print(
            f"| {DOMAINS[r['domain']]} | {r['surrogate']} | {r['checkpoints']} "
            f"({r['mode']}) | {', '.join(f'{k:,d}' for k in r['ks'])} | "
            f"{r['per_design'] / 1024:.1f} KiB | {r['traj_per_design'] / 1024:.1f} KiB "
            f"({r['traj_per_design'] / r['per_design']:.0%}) | {r['fixed'] / 2**20:.0f} MiB | "
            f"{r['k_max']:,d} | {vs} |" + ("" if cuda else f" {r['k_avail']:,d} |")
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--budget-gib", type=float, default=None)
    ap.add_argument("--domains", default="st30,car,molecules")
    ap.add_argument("--surrogates", default="mlp,ensemble")
    ap.add_argument("--k", default=None, help="comma-separated K (default: per domain)")
    ap.add_argument("--steps", type=int, default=200, help="steps the measurement stands for")
    ap.add_argument("--equivalent-steps", type=int, default=20, help="steps actually run")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-verify", dest="verify", action="store_false")
    ap.add_argument(
        "--verify-domains", default=None, help="verify only these domains (default: all)"
    )
    ap.add_argument("--no-check", dest="check_equivalence", action="store_false")
    # child options
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--domain", help=argparse.SUPPRESS)
    ap.add_argument("--surrogate", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="every10", help=argparse.SUPPRESS)
    ap.add_argument("--checkpoint-every", type=int, default=10, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a)
    else:
        parent(a)


if __name__ == "__main__":
    main()
