"""Throughput of the molecule oracles (molecules/s): serial vs worker pool, cold vs cached.

Molecules are RDKit's bundled NCI/WEHI sets (canonical, unique). Every cold measurement
uses SMILES strings the oracle has not seen, so RDKit parses fresh molecule objects (RDKit
caches descriptors on a molecule object, which would flatter repeated timings), and the
canonical-SMILES key cache is cleared first. The pool is started and warmed on a disjoint
set before it is timed; its start-up time is printed separately.

    PYTHONPATH=. python benchmarks/bench_molecule_oracle.py [--n 3000] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import time

from rdkit import Chem

from domains import Oracle
from domains.molecules import MoleculeObjective, canonical_smiles
from domains.molecules._data import load_source
from domains.molecules._oracles import _sascorer


def molecules(n: int) -> list[str]:
    rows, _ = load_source("rdkit")
    seen: dict[str, None] = {}
    for r in rows:
        mol = Chem.MolFromSmiles(r) if r else None
        if mol is not None and mol.GetNumAtoms():
            seen.setdefault(Chem.MolToSmiles(mol), None)
    out = list(seen)
    if len(out) < n:
        raise SystemExit(f"only {len(out)} molecules available, asked for {n}")
    return out[:n]


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def bench(objective: str, smiles: list[str], warm: list[str], workers: int, chunk: int) -> dict:
    n = len(smiles)
    out: dict[str, float] = {}

    # serial, cold then cached
    canonical_smiles.cache_clear()
    serial = Oracle(MoleculeObjective(objective), key=canonical_smiles, workers=0)
    serial(warm[:8])  # load lazy tables (SA fragment scores) outside the timing
    t = time.perf_counter()
    y_serial = serial(smiles)
    out["serial_cold"] = rate(n, time.perf_counter() - t)
    t = time.perf_counter()
    serial(smiles)
    out["cached"] = rate(n, time.perf_counter() - t)
    assert serial.counts()["evaluations"] == n + 8

    # pool: start-up, then cold on unseen molecules
    canonical_smiles.cache_clear()
    pool = Oracle(
        MoleculeObjective(objective), key=canonical_smiles, workers=workers, chunk_size=chunk
    )
    t = time.perf_counter()
    pool(warm)
    out["pool_warmup_s"] = time.perf_counter() - t
    t = time.perf_counter()
    y_pool = pool(smiles)
    out["pool_cold"] = rate(n, time.perf_counter() - t)
    pool.close()
    same = ((y_serial == y_pool) | (y_serial != y_serial) & (y_pool != y_pool)).all()
    assert same, "pool and serial disagree"
    out["efficiency"] = out["pool_cold"] / (workers * out["serial_cold"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="molecules per timed batch")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--chunk", type=int, default=128, help="molecules per worker task")
    ap.add_argument("--objectives", default="qed,plogp")
    args = ap.parse_args()
    mols = molecules(args.n + 4 * args.chunk * args.workers)
    smiles, warm = mols[: args.n], mols[args.n :]
    _sascorer()
    print(
        f"cpu cores: {os.cpu_count()}, workers: {args.workers}, chunk: {args.chunk}, "
        f"molecules per batch: {args.n}"
    )
    header = f"{'objective':<12}{'serial cold':>13}{'pool cold':>11}{'efficiency':>12}{'cached':>12}{'pool start s':>14}"
    print(header)
    print("-" * len(header))
    for obj in args.objectives.split(","):
        r = bench(obj, smiles, warm, args.workers, args.chunk)
        print(
            f"{obj:<12}{r['serial_cold']:>13,.0f}{r['pool_cold']:>11,.0f}"
            f"{r['efficiency']:>11.0%} {r['cached']:>12,.0f}{r['pool_warmup_s']:>14.2f}"
        )
    print(
        "(molecules/s; efficiency = pool rate / (workers x serial rate); "
        "pool start = first call on a warm-up batch, including process start)"
    )


if __name__ == "__main__":
    main()
