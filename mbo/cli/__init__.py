"""Command line: ``mbo list``, ``mbo run``, ``mbo demo``."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import yaml

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


def _kv(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key.strip(), yaml.safe_load(value)


def format_summaries(summaries: dict[str, dict[str, Any]]) -> str:
    """A small text table: metrics as rows, studies as columns (normalized units)."""
    names = list(summaries)
    width = max(12, *(len(n) for n in names))
    lines = [f"{'metric (normalized)':36s}" + "".join(f"{n:>{width + 2}s}" for n in names)]
    from ..evaluation import summary_rows

    rows = summary_rows(summaries)
    for key, label in rows:
        cells = []
        for n in names:
            v = summaries[n].get(key, math.nan)
            v = math.nan if v is None else v
            fmt = f"{v:.0%}" if key.endswith("_rate") and math.isfinite(v) else f"{v:.3f}"
            cells.append(f"{fmt:>{width + 2}s}")
        lines.append(f"{label:36s}" + "".join(cells))
    return "\n".join(lines)


def _spec_from_args(args: argparse.Namespace):
    from ..study import StudySpec

    data: dict[str, Any] = StudySpec.from_file(args.config).to_dict() if args.config else {}
    for key in (
        "domain",
        "surrogate",
        "optimizer",
        "k",
        "offline_fraction",
        "seed",
        "device",
        "precision",
        "name",
    ):
        value = getattr(args, key)
        if value is not None:
            data[key] = value
    for key, pairs in (
        ("domain_options", args.D),
        ("surrogate_options", args.S),
        ("optimizer_options", args.O),
    ):
        data[key] = {**data.get(key, {}), **dict(pairs or [])}
    if args.objective is not None:
        data["domain_options"]["objective"] = args.objective
    opt = data["optimizer_options"]
    if data.get("optimizer", "gradient_ascent") != "gradient_ascent" and (
        args.steps is not None or args.lr is not None or args.adam
    ):
        raise ValueError(
            "--steps, --lr and --adam are gradient-ascent options; give other optimizers' "
            "options with -O KEY=VALUE (see `mbo list`)"
        )
    if args.steps is not None:
        opt["steps"] = args.steps
    if args.lr is not None:
        opt["lr"] = args.lr
    if args.adam:
        opt["method"] = "adam"
    return StudySpec.from_dict(data)


def cmd_list(args: argparse.Namespace) -> int:
    from ..registry import DOMAINS, OPTIMIZERS, SURROGATES

    for title, items in (
        ("domains", DOMAINS.names()),
        ("surrogates", SURROGATES.names()),
        ("optimizers", OPTIMIZERS.names()),
    ):
        print(f"{title}:")
        for name, desc in items.items():
            print(f"  {name:18s} {desc}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from ..reporting import save_study_figures
    from ..study import run_study

    spec = _spec_from_args(args)
    out = Path(args.out) if args.out else Path("runs") / spec.label.replace(" ", "_")
    print(f"running {spec.label} -> {out}")
    t = time.perf_counter()
    result = run_study(spec, out, progress=not args.quiet)
    save_study_figures(result, out)
    print(format_summaries({spec.label: result.summary}))
    print(
        f"\nwrote {out}/ (audit.parquet, summary.json, curves.csv, PNGs) in {time.perf_counter() - t:.1f} s"
    )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ..reporting import plot_comparison
    from ..sweeps.compare import compare, format_table

    args.surrogate = args.surrogate or args.surrogates.split(",")[0].split("+")[0]
    base = _spec_from_args(args)
    variants = [v.strip() for v in args.surrogates.split(",") if v.strip()]
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError as err:
        raise ValueError(f"--seeds must be comma-separated integers, got {args.seeds!r}") from err
    out = Path(args.out) if args.out else Path("runs") / f"compare-{base.domain}"
    print(f"comparing {variants} on {base.domain} over seeds {seeds} -> {out}")
    t = time.perf_counter()
    table, _, curves = compare(base, variants, seeds, out, progress=not args.quiet)
    plot_comparison(curves, out / "compare.png", title=f"{base.domain}: {len(seeds)} seeds")
    print(format_table(table))
    print(
        f"\nwrote {out}/compare.csv, compare.md, compare.png, runs.csv in {time.perf_counter() - t:.1f} s"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from ..reporting import save_study_figures
    from ..study import StudySpec, run_study

    out = Path(args.out)
    t0 = time.perf_counter()
    summaries = {}
    for key, study in DEMO_STUDIES.items():
        spec = StudySpec.from_dict({**study, "seed": args.seed, "device": args.device})
        print(f"[{key}] {spec.label}")
        result = run_study(spec, out / key, progress=not args.quiet)
        save_study_figures(result, out / key)
        summaries[key] = result.summary
    print()
    print(format_summaries(summaries))
    f, c = summaries["fooled"], summaries["control"]
    print(
        f"\nfooled : predicted rose {f['predicted_mean'] - f['predicted_start_mean']:+.2f} while the true "
        f"score moved {f['true_mean'] - f['true_start_mean']:+.2f}; {f['fooled_rate']:.0%} of designs fooled the surrogate."
        f"\ncontrol: predicted rose {c['predicted_mean'] - c['predicted_start_mean']:+.2f} and the true "
        f"score moved {c['true_mean'] - c['true_start_mean']:+.2f} (dense 2-D data: ascent really works)."
        f"\nfooled margin δ = {f['fooled_margin']}; scores normalized by the full reference data's min/max."
    )
    print(
        f"\nplots: {out}/fooled/trajectory.png, {out}/control/trajectory.png, {out}/control/landscape.png"
    )
    print(
        f"done in {time.perf_counter() - t0:.1f} s; next: `mbo report {out}` writes one HTML page"
    )
    return 0


def _add_spec_args(r: argparse.ArgumentParser) -> None:
    """The study-spec flags shared by `run` and `compare`."""
    r.add_argument("--config", help="spec file (YAML or TOML); flags override it")
    r.add_argument("--domain", help="domain name (see `mbo list`)")
    r.add_argument(
        "--objective", help="domain objective, e.g. qed for molecules (same as -D objective=...)"
    )
    r.add_argument("--surrogate", help="surrogate name (see `mbo list`)")
    r.add_argument("--optimizer", help="optimizer name (see `mbo list`)")
    r.add_argument(
        "-D", action="append", type=_kv, metavar="KEY=VALUE", help="domain option, e.g. -D dim=8"
    )
    r.add_argument(
        "-S",
        action="append",
        type=_kv,
        metavar="KEY=VALUE",
        help="surrogate option, e.g. -S width=512",
    )
    r.add_argument(
        "-O",
        action="append",
        type=_kv,
        metavar="KEY=VALUE",
        help="optimizer option, e.g. -O checkpoint_every=5",
    )
    r.add_argument(
        "--objective-kind",
        dest="objective_kind",
        choices=["mean", "min", "lcb"],
        help="what ascent maximizes: mean, min over ensemble members, lcb = mean - kappa*std",
    )
    r.add_argument("--kappa", type=float, help="pessimism of lcb (default 1)")
    r.add_argument("--steps", type=int, help="optimizer steps (default 200)")
    r.add_argument("--lr", type=float, help="step size (default 0.01*sqrt(d))")
    r.add_argument("--adam", action="store_true", help="use Adam instead of plain gradient steps")
    r.add_argument("--k", type=int, help="designs optimized at once (default 128)")
    r.add_argument(
        "--offline-fraction", type=float, dest="offline_fraction", help="visible share of the data"
    )
    r.add_argument("--seed", type=int, help="seed (default 0)")
    r.add_argument("--device", help="cpu, cuda, cuda:N or auto (default cpu)")
    r.add_argument(
        "--precision",
        choices=["fp32", "tf32", "bf16"],
        help="fit/optimize arithmetic: fp32 (default), tf32 (CUDA only) or bf16 autocast",
    )
    r.add_argument("--name", help="label for the study")
    r.add_argument("--out", help="run folder (default runs/<label>)")
    r.add_argument("--quiet", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mbo", description="Model-based optimization sandbox.")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="list domains, surrogates and optimizers").set_defaults(
        func=cmd_list
    )

    r = sub.add_parser(
        "run", help="run one study", description="Run one study and write its run folder."
    )
    _add_spec_args(r)
    r.set_defaults(func=cmd_run)

    d = sub.add_parser(
        "demo",
        help="the embedded default: a fooled study and a control study",
        description="Two studies: a plain MLP fooled by gradient ascent (Styblinski-Tang 16-D, sparse "
        "data) and a control where ascent really improves the true score (Branin 2-D, dense data).",
    )
    d.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=cmd_demo)

    c = sub.add_parser(
        "compare",
        help="compare surrogates on one domain over seeds",
        description="Run several surrogates (same domain, offline data, optimizer) over seeds and "
        "write one table (compare.csv/.md) and one figure of predicted-vs-true curves.",
    )
    _add_spec_args(c)
    c.add_argument(
        "--surrogates",
        required=True,
        help="comma-separated variants; NAME+min / NAME+lcb pick the objective, e.g. "
        "mlp,ensemble,ensemble+min,coms",
    )
    c.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    c.set_defaults(func=cmd_compare)
    # --- subcommands defined in their own modules register below ---
    _add_report(sub)
    _add_sweep(sub)
    _add_leaderboard(sub)
    return p


# --- report ----------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace) -> int:
    from ..reporting.report import ReportOptions, build_report

    step: str | int = args.step
    if isinstance(step, str) and step.lstrip("-").isdigit():
        step = int(step)
    opts = ReportOptions(
        design_id=args.design,
        step=step,  # type: ignore[arg-type]
        grid=args.grid,
        sweep_points=args.sweep_points,
        seed=args.seed,
    )
    t = time.perf_counter()
    out = build_report(args.path, args.out, opts, progress=None if args.quiet else print)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.1f} s")
    return 0


def _add_report(sub: Any) -> argparse.ArgumentParser:
    """Register ``mbo report`` on the CLI's subparsers."""
    r = sub.add_parser(
        "report",
        help="one self-contained HTML report of a run folder or a folder of runs",
        description="Write ONE self-contained HTML file (images embedded, no network) with "
        "each study's spec, summary table and teaching views (trajectory, 1-D sweep along the "
        "gradient, 2-D cross-section, top designs), plus a transfer matrix for studies that "
        "share a domain. The data of every view is saved beside its PNG in <run>/views/.",
    )
    r.add_argument("path", help="a run folder, or a folder holding run folders (e.g. runs/demo)")
    r.add_argument("--out", help="HTML file to write (default <path>/report.html)")
    r.add_argument(
        "--design", type=int, default=0, help="design id the sweep and cross-section start from"
    )
    r.add_argument(
        "--step",
        default="start",
        help="'start', 'final' or a checkpoint step: where that design is taken (default start)",
    )
    r.add_argument("--grid", type=int, default=31, help="cross-section grid points per side")
    r.add_argument("--sweep-points", type=int, default=81, dest="sweep_points")
    r.add_argument("--seed", type=int, default=0, help="seed of the random directions")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.set_defaults(func=cmd_report)
    return r


# --- sweep -------------------------------------------------------------------------


def cmd_sweep(args: Any) -> int:
    import pandas as pd

    from ..reporting import save_study_figures
    from ..sweeps.leaderboard import format_tables, leaderboard
    from ..sweeps.sweep import Sweep, is_finished, run_sweep

    sweep = Sweep.from_file(args.spec)
    out = Path(args.out or sweep.out or Path("runs") / f"sweep-{sweep.name}")
    if args.dry_run:
        for s in sweep.studies:
            state = "done" if is_finished(out, s.id) else "todo"
            print(f"{state:5s} {s.id}  [{s.task} | {s.method}]")
        return 0
    status = run_sweep(
        sweep,
        out,
        executor=args.executor,
        workers=args.workers,
        address=args.address,
        threads=args.threads,
        progress=not args.quiet,
        figures=save_study_figures,
    )
    if (out / "results.csv").exists():
        print(format_tables(leaderboard(pd.read_csv(out / "results.csv"))))
        names = ("results.csv", "leaderboard.md", "leaderboard.csv")
        print(f"\nwrote {', '.join(str(out / n) for n in names)}")
    failed = status[status.status == "failed"]
    if len(failed):
        print(f"{len(failed)} studies failed (errors in {out}/failed/); re-run to retry them")
        return 1
    return 0


def _add_sweep(sub: Any) -> Any:
    """Register ``mbo sweep`` on the CLI's subparsers."""
    EXECUTORS = ("local", "ray")

    r = sub.add_parser(
        "sweep",
        help="run a grid of studies from a YAML sweep file (resumable; local or Ray)",
        description="Expand a sweep file (base spec x grid axes) into studies with stable ids "
        "and run those not finished yet under OUT/studies/<id>; failed studies are recorded in "
        "OUT/failed/ and retried on the next run. Ends with the leaderboard (OUT/leaderboard.md).",
    )
    r.add_argument("spec", help="sweep file (YAML), e.g. benchmarks/suites/small.yaml")
    r.add_argument("--out", help="output folder (default: the file's `out`, else runs/sweep-NAME)")
    r.add_argument("--executor", choices=EXECUTORS, default="local")
    r.add_argument("--workers", type=int, help="parallel studies (default: one per CPU core)")
    r.add_argument("--address", help="Ray cluster address (default: start a local instance)")
    r.add_argument("--threads", type=int, default=1, help="torch threads per study (default 1)")
    r.add_argument("--dry-run", action="store_true", help="list studies and their state, run none")
    r.add_argument("--quiet", action="store_true")
    r.set_defaults(func=cmd_sweep)
    return r


# --- leaderboard ---
def cmd_leaderboard(args: Any) -> int:
    from ..sweeps.leaderboard import collect, format_tables, write_leaderboard

    runs = collect(args.results)
    if runs.empty:
        raise ValueError(f"no finished studies (summary.json) under {args.results}")
    out = Path(args.out) if args.out else Path(args.results[0])
    tables, paths = write_leaderboard(runs, out)
    print(format_tables(tables))
    print(f"\nwrote {', '.join(str(p) for p in paths)}")
    return 0


def _add_leaderboard(sub: Any) -> Any:
    """Register ``mbo leaderboard`` on the CLI's subparsers."""
    r = sub.add_parser(
        "leaderboard",
        help="Design-Bench-style tables (p100, p50, gap/fooled, mean rank) over finished studies",
        description="Aggregate every finished study (folders with summary.json) under RESULTS "
        "into tables with methods as rows and tasks as columns; print them and write "
        "leaderboard.md, leaderboard.csv and runs.csv.",
    )
    r.add_argument("results", nargs="+", help="sweep output folders, compare folders, run folders")
    r.add_argument("--out", help="where to write the files (default: the first RESULTS folder)")
    r.set_defaults(func=cmd_leaderboard)
    return r


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")  # the command line draws into files, never on a screen
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as err:
        print(f"mbo: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
