"""Car oracle speed: simulations per second, serial vs a worker pool, cold vs cached.

Run: ``PYTHONPATH=. python benchmarks/bench_car_oracle.py [--n 400] [--workers N]``.
Designs come from the reference prior; every design is driven on each track seed, so a
design costs ``len(track_seeds)`` simulations.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter

import numpy as np

from domains.car import CarDomain, sample_prior
from domains.car._sim import Evaluate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="designs per measurement")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--sim-time", type=float, default=15.0)
    ap.add_argument("--tracks", type=int, default=2, help="track seeds 0..tracks-1")
    ap.add_argument("--seed", type=int, default=123)
    args = ap.parse_args()
    seeds = tuple(range(args.tracks))
    xs = sample_prior(args.n, seed=args.seed)
    opts = {"n_reference": 10, "track_seeds": seeds, "sim_time": args.sim_time, "cache_dir": False}
    sims = args.n * len(seeds)
    print(
        f"{args.n} designs x {len(seeds)} tracks = {sims} sims of {args.sim_time:g} s "
        f"(dt 0.01, stall 3 s); {os.cpu_count()} CPU cores, load average "
        f"{os.getloadavg()[0]:.2f} (other jobs on the machine skew the numbers)"
    )

    serial = CarDomain(workers=0, **opts)
    serial.oracle(sample_prior(8, seed=args.seed + 2))  # warm up (imports, track geometry)
    t = time.perf_counter()
    y = serial.oracle(xs)
    t_serial = time.perf_counter() - t
    print(
        f"serial, cold      : {sims / t_serial:8.1f} sims/s  ({1000 * t_serial / sims:.2f} ms/sim)"
    )

    t = time.perf_counter()
    serial.oracle(xs)
    t_cached = time.perf_counter() - t
    print(
        f"serial, cached    : {sims / t_cached:8.0f} sims/s  (all {args.n} designs from the oracle cache)"
    )

    par = CarDomain(workers=args.workers, chunk_size=16, **opts)
    par.oracle(sample_prior(2 * 16 * args.workers, seed=args.seed + 1))  # start the pool
    t = time.perf_counter()
    yp = par.oracle(xs)
    t_par = time.perf_counter() - t
    speedup = t_serial / t_par
    print(
        f"{args.workers} workers, cold   : {sims / t_par:8.1f} sims/s  speed-up {speedup:.2f}x, "
        f"parallel efficiency {speedup / args.workers:.0%}"
    )
    print(f"workers == serial : {bool(np.array_equal(y, yp, equal_nan=True))}")
    par.close()

    res = [r for rs in Evaluate(seeds, args.sim_time).details(xs[:200]) for r in rs]
    out = Counter(r.outcome for r in res)
    print("outcomes (first 200 designs):", dict(out))
    q = np.nanquantile(y, [0, 0.1, 0.25, 0.4, 0.5, 0.75, 0.9, 0.99, 1])
    print("score quantiles 0/10/25/40/50/75/90/99/100 %:", np.round(q, 2).tolist())
    print(f"share > 1 m: {np.mean(y > 1):.2f}; nan: {int(np.isnan(y).sum())}")


if __name__ == "__main__":
    main()
