"""Wall time of ``MLPSurrogate.fit`` on the car and molecule offline sets, per training variant.

Run: ``python benchmarks/bench_fit.py [--device cpu|cuda] [--domains car,molecules]
[--epochs N] [--repeats 3] [--threads 1] [--no-compile] [--quick] [--out FILE.md]``.

Features are the real offline sets as ``run_study`` builds them (``domain.offline(None)``,
``space.features(x, hard=True)``): the car, 8,000 x 19, and the molecules (QED), 7,150 x 1,980
one-hot features; 10 % is held out for validation, as in every fit. Variants, all the 2x256
ReLU MLP (the ``mlp`` surrogate) unless named:

1. old default: 200 epochs of batch 128 (``max_steps=None``). Too slow to run whole: its
   time is *extrapolated* from ``--epochs`` epochs of batch 128 (ms/step x its steps);
2. new default: ``MLPSurrogate()`` (``max_steps=2000`` cuts the epochs), fitted whole when
   the estimate is below ``--full-limit`` seconds, else extrapolated (said in the table);
3. batch 512 and full batch (one step per epoch) at equal epochs: time per epoch;
4. ``n_members=5`` as one stacked model vs 5 separate single fits (seeds 0-4), per epoch;
5. ``torch.compile``: the network compiled in place (``net.compile()``) and, in addition,
   ``Adam.step`` compiled; the first fit of each compiles (cold inductor cache: a fresh
   ``TORCHINDUCTOR_CACHE_DIR``), its excess over an eager 1-epoch fit is the compile time,
   and the steady per-step time is measured with the other variants;
6. bf16 autocast (``precision_context("bf16", device)`` around ``fit``), single and stacked.

Variants of 3-6 and the batch-128 reference are fitted for the same ``--epochs`` with
``max_steps=None``, interleaved round-robin over ``--repeats`` (median), so load drifts hit all
alike. "Ratio to the new default" compares time per epoch with the batch-128 fit beside it
(the new default's per-epoch cost); "whole fit" is that ratio times the new default's fit
time (equal epochs); for the compiled variants it is the compile time plus the new default's
time scaled by the steady per-step speed (from fits of ``--epochs`` minus 1-epoch fits, so
per-fit costs such as recompiles cancel). On the car the large-batch variants
are also fitted as configured (``max_steps=2000``: more epochs) to show their validation R^2.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

# cold compile: a fresh inductor cache (set before torch reads it), removed at exit; a
# TORCHINDUCTOR_CACHE_DIR given by the user is kept and used
if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="bench_fit_inductor_")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import datetime  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402

import torch  # noqa: E402
from torch import Tensor  # noqa: E402

from mbo.registry import DOMAINS  # noqa: E402
from mbo.study.precision import precision_context  # noqa: E402
from surrogates.mlp import MLPSurrogate  # noqa: E402

DEFAULT_EPOCHS = {"car": 5, "molecules": 2}  # epochs per timed fit (molecules: ~17 ms/step)
LABELS = {"car": "car (8,000 x 19)", "molecules": "molecules QED (7,150 x 1,980)"}


# --------------------------------------------------------------------------- helpers


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class CompiledNetMLP(MLPSurrogate):
    """``MLPSurrogate`` whose network is compiled in place (``nn.Module.compile``)."""

    def _make_net(self, d: int):
        net = super()._make_net(d)
        net.compile()
        return net


@contextlib.contextmanager
def compiled_adam() -> Iterator[None]:
    """``torch.optim.Adam`` built inside the block runs a compiled ``step`` (the PyTorch
    recipe "compiling the optimizer"); ``MLPSurrogate._train`` looks it up at call time."""
    orig = torch.optim.Adam

    class CompiledStepAdam(orig):  # type: ignore[misc, valid-type]
        def __init__(self, *a, **kw) -> None:
            super().__init__(*a, **kw)
            eager_step = self.step

            @torch.compile(fullgraph=False)
            def step() -> None:
                eager_step()

            self.step = step  # type: ignore[method-assign]

    torch.optim.Adam = CompiledStepAdam  # type: ignore[misc]
    try:
        yield
    finally:
        torch.optim.Adam = orig  # type: ignore[misc]


class Fit:
    """One timed variant: ``run(epochs)`` fits and returns (seconds, optimizer steps, model)."""

    def __init__(
        self,
        label: str,
        x: Tensor,
        y: Tensor,
        device: torch.device,
        n_fits: int = 1,
        cls: type[MLPSurrogate] = MLPSurrogate,
        context: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
        **params,
    ) -> None:
        self.label, self.x, self.y, self.device = label, x, y, device
        self.n_fits, self.cls, self.context, self.params = n_fits, cls, context, params
        self.times: list[float] = []
        self.times1: list[float] = []  # 1-epoch fits (compiled variants: the marginal cost)
        self.steps = 0
        self.steps1 = 0
        self.epochs = 0
        self.model: MLPSurrogate | None = None

    def steps_of(self, model: MLPSurrogate) -> int:
        n = self.x.shape[0]
        n_train = n - (int(math.floor(model.val_fraction * n)) if n >= 10 else 0)
        return len(model.history_) * math.ceil(n_train / model.batch_size)

    def run(self, **override) -> tuple[float, int, MLPSurrogate]:
        params = {**self.params, **override}
        sync(self.device)
        t = time.perf_counter()
        steps = 0
        with self.context():
            for seed in range(self.n_fits):
                model = self.cls(**{"seed": seed, **params}).fit(self.x, self.y)
                steps += self.steps_of(model)
        sync(self.device)
        return time.perf_counter() - t, steps, model

    def timed(self, **override) -> None:
        s, self.steps, self.model = self.run(**override)
        self.epochs = len(self.model.history_)
        self.times.append(s)

    def timed1(self) -> None:
        s, self.steps1, _ = self.run(epochs=1, max_steps=None)
        self.times1.append(s)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def marginal_ms_step(self) -> float | None:
        """ms per step past the first epoch: per-fit costs ((re)compiles, set-up) cancel."""
        if not self.times1 or self.steps <= self.steps1:
            return None
        d = [a - b for a, b in zip(self.times, self.times1, strict=True)]
        return 1e3 * statistics.median(d) / (self.steps - self.steps1)


def load(name: str, device: torch.device) -> tuple[Tensor, Tensor]:
    domain = DOMAINS.make(name)
    offline = domain.offline(None)
    x = domain.space.features(offline.x, hard=True).to(device)
    y = torch.as_tensor(offline.y, dtype=torch.float32, device=device)
    return x, y


def fmt_s(s: float | None, approx: bool = False) -> str:
    if s is None:
        return "-"
    return ("~" if approx else "") + (f"{s:.2f}" if s < 100 else f"{s:.0f}")


def r2(model: MLPSurrogate | None) -> str:
    return "-" if model is None or model.val_r2_ is None else f"{model.val_r2_:.3f}"


# --------------------------------------------------------------------------- one domain


def bench_domain(name: str, args, device: torch.device) -> tuple[list[list[str]], list[str]]:
    x, y = load(name, device)
    n = x.shape[0]
    epochs = args.epochs or DEFAULT_EPOCHS[name]
    notes: list[str] = []
    print(f"\n== {LABELS[name]}: x {tuple(x.shape)}, {epochs} epochs per timed fit", flush=True)

    def bf16() -> contextlib.AbstractContextManager:
        return precision_context("bf16", device)

    fits: dict[str, Fit] = {
        "b128": Fit("batch 128 (old/new default per epoch)", x, y, device),
        "b512": Fit("batch 512", x, y, device, batch_size=512),
        "full": Fit(f"full batch ({n})", x, y, device, batch_size=n),
        "ens5": Fit("5 members, one stacked model", x, y, device, n_members=5),
        "sep5": Fit("5 separate single fits", x, y, device, n_fits=5),
        "bf16": Fit("bf16 autocast", x, y, device, context=bf16),
        "bf16ens": Fit("bf16 autocast, 5 members stacked", x, y, device, n_members=5, context=bf16),
    }
    compile_s: dict[str, float | str] = {}
    if args.compile:
        fits["cnet"] = Fit("torch.compile(net)", x, y, device, cls=CompiledNetMLP)
        fits["cstep"] = Fit(
            "torch.compile(net) + compiled Adam.step",
            x,
            y,
            device,
            cls=CompiledNetMLP,
            context=compiled_adam,
        )

    # warm-up (first-call costs of the process), then eager 1-epoch fits as the reference
    # for the compile time; the compiled Adam step builds on the compiled net, so its compile
    # time is both first fits' excess together. dynamo is reset per task: the compiled Adam
    # step recompiles for every new optimizer (a guard on its id), and 8 entries per code
    # object are the default limit before dynamo silently falls back to eager.
    torch._dynamo.reset()
    fits["b128"].run(epochs=1, max_steps=None)
    eager1 = statistics.median(fits["b128"].run(epochs=1, max_steps=None)[0] for _ in range(2))
    total = 0.0
    for key in ("cnet", "cstep"):
        if key not in fits:
            continue
        try:
            s = fits[key].run(epochs=1, max_steps=None)[0]
            total += s - eager1
            compile_s[key] = total
            print(f"  {fits[key].label}: first 1-epoch fit {s:.1f} s (eager {eager1:.2f} s)")
        except Exception as err:  # noqa: BLE001 - report and go on
            compile_s[key] = f"failed: {type(err).__name__}: {err}"[:200]
            print(f"  {fits[key].label}: {compile_s[key]}", flush=True)
            del fits[key]
    marginal = [k for k in ("b128", "cnet", "cstep") if k in fits] if len(fits) > 7 else []

    # the per-epoch variants, interleaved; eager and compiled batch 128 also for 1 epoch
    for r in range(args.repeats):
        for key, f in fits.items():
            f.timed(epochs=epochs, max_steps=None)
            print(
                f"  repeat {r} {f.label:42s} {f.times[-1]:7.2f} s, {f.steps} steps, "
                f"{1e3 * f.times[-1] / f.steps:6.2f} ms/step",
                flush=True,
            )
            if key in marginal and epochs > 1:
                f.timed1()
    ref = fits["b128"]
    per_epoch = {k: f.median / f.epochs for k, f in fits.items()}
    ms_step = {k: 1e3 * f.median / f.steps for k, f in fits.items()}

    # the new default, whole, when cheap enough
    new = Fit("new default (max_steps=2000)", x, y, device)
    probe = MLPSurrogate()
    n_train = n - int(math.floor(probe.val_fraction * n))
    per = math.ceil(n_train / probe.batch_size)
    new_epochs = min(probe.epochs, max(1, probe.max_steps // per))
    new_steps = new_epochs * per
    old_steps = probe.epochs * per
    estimate = per_epoch["b128"] * new_epochs
    new_measured = estimate <= args.full_limit
    if new_measured:
        reps = args.repeats if estimate * args.repeats <= args.full_limit else 1
        for _ in range(reps):
            new.timed()
            print(f"  {new.label}: {new.times[-1]:.2f} s, {new.steps} steps", flush=True)
        new_s = new.median
    else:
        new_s = estimate
        notes.append(
            f"new default not fitted whole (estimate {estimate:.0f} s > --full-limit "
            f"{args.full_limit:.0f} s): extrapolated from batch 128"
        )
    old_s = per_epoch["b128"] * probe.epochs

    # as configured on the car: large batches under the step cap run more epochs
    configured: dict[str, Fit] = {}
    if name == "car" and not args.quick:
        for key, bs in (("b512", 512), ("full", n)):
            f = Fit(fits[key].label + ", as configured", x, y, device, batch_size=bs)
            f.timed()
            configured[key] = f
            print(
                f"  {f.label}: {f.median:.2f} s, {f.epochs} epochs, {f.steps} steps, R2 {r2(f.model)}"
            )

    rows: list[list[str]] = []

    def row(label, secs, steps, ms, ep_ratio, whole_s, whole_approx, note) -> None:
        rows.append(
            [
                LABELS[name].split(" (")[0],
                label,
                secs,
                steps,
                ms,
                ep_ratio,
                fmt_s(whole_s, whole_approx),
                f"{whole_s / new_s:.2f}x" if whole_s is not None else "-",
                note,
            ]
        )

    row(
        "old default: 200 ep x batch 128 (`max_steps=None`)",
        f"{ref.median:.2f} ({ref.epochs} ep)",
        f"{ref.steps:,}",
        f"{ms_step['b128']:.2f}",
        "1.00x",
        old_s,
        True,
        f"extrapolated: {probe.epochs} epochs = {old_steps:,} steps",
    )
    row(
        "new default: `max_steps=2000`",
        f"{new.median:.2f}" if new_measured else "-",
        f"{(new.steps if new_measured else new_steps):,}",
        f"{1e3 * new.median / new.steps:.2f}" if new_measured else f"{ms_step['b128']:.2f}",
        "1.00x",
        new_s,
        not new_measured,
        f"{new_epochs} epochs, val R2 {r2(new.model)}"
        + (f", median of {len(new.times)}" if len(new.times) > 1 else "")
        + ("" if new_measured else "; extrapolated"),
    )
    for key, f in fits.items():
        if key == "b128":
            continue
        ratio = per_epoch[key] / per_epoch["b128"]
        whole = ratio * new_s  # equal epochs, scaled by the batch-128 fit beside it
        note = f"per epoch: {1e3 * per_epoch[key]:.0f} ms"
        if key == "sep5":
            note += f"; stacked/separate {per_epoch['ens5'] / per_epoch['sep5']:.2f}x"
        if key == "bf16":
            note += f"; vs fp32 per step {ms_step['bf16'] / ms_step['b128']:.2f}x"
        if key == "bf16ens":
            note += f"; vs fp32 stacked {per_epoch['bf16ens'] / per_epoch['ens5']:.2f}x"
        if key in ("cnet", "cstep"):
            cs = compile_s[key]
            steady, eager = fits[key].marginal_ms_step(), fits["b128"].marginal_ms_step()
            if steady is None or eager is None:  # one epoch per fit: no marginal cost
                steady, eager = ms_step[key], ms_step["b128"]
            per_fit = fits[key].median - steady / 1e3 * fits[key].steps
            per_fit_eager = ref.median - eager / 1e3 * ref.steps
            whole = cs + new_s * steady / eager
            saved = (eager - steady) / 1e3
            even = f"{cs / saved:,.0f} steps" if saved > 0 else "never"
            note += (
                f"; compile {cs:.1f} s (cold cache, first fit), steady {steady:.2f} vs eager "
                f"{eager:.2f} ms/step ({eager / steady:.2f}x speed), per-fit cost after the "
                f"first {per_fit:.2f} s (eager {per_fit_eager:.2f} s), break-even {even}"
            )
        if key in configured:
            c = configured[key]
            note += (
                f"; as configured {c.epochs} ep / {c.steps:,} steps: {c.median:.2f} s "
                f"({c.median / new_s:.2f}x), val R2 {r2(c.model)}"
            )
        row(
            f.label,
            f"{f.median:.2f}",
            f"{f.steps:,}",
            f"{ms_step[key]:.2f}",
            f"{ratio:.2f}x",
            whole,
            True,
            note,
        )
    for key, cs in compile_s.items():
        if isinstance(cs, str):
            notes.append(f"{key}: {cs}")
    return rows, notes


# --------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--domains", default="car,molecules")
    ap.add_argument("--epochs", type=int, default=None, help="epochs per timed fit")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats (median)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: default)")
    ap.add_argument("--full-limit", type=float, default=40.0, help="s: fit the new default whole")
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    ap.add_argument("--quick", action="store_true", help="smoke run: car, 1 epoch, 1 repeat")
    ap.add_argument("--note", default="", help="added to the machine line (e.g. other load)")
    ap.add_argument("--out", default=None, help="write the Markdown table here")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.domains, args.epochs, args.repeats = "car", 1, 1
    device = torch.device(args.device)
    load0, t0 = os.getloadavg(), time.perf_counter()
    cpu = platform.processor() or platform.machine()
    machine = (
        f"date {datetime.date.today()}, {os.cpu_count()} CPU cores ({cpu}), "
        f"{torch.get_num_threads()} torch thread(s), OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, torch {torch.__version__}, python "
        f"{platform.python_version()}, device {device}" + (f"; {args.note}" if args.note else "")
    )
    print(machine)
    print(f"load average at start (1/5/15 min): {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f}")
    command = "python " + shlex.join(sys.argv)
    print(f"command: {command}", flush=True)

    rows, notes = [], []
    for name in args.domains.split(","):
        r, nt = bench_domain(name, args, device)
        rows += r
        notes += [f"{name}: {s}" for s in nt]
    load1 = os.getloadavg()
    took = time.perf_counter() - t0
    header = [
        "task",
        "variant",
        "s timed",
        "steps timed",
        "ms/step",
        "per epoch vs new default",
        "whole fit s",
        "whole fit vs new default",
        "notes",
    ]
    lines = [
        f"Machine: {machine}.",
        f"Load average (1/5/15 min) at start {load0[0]:.2f} / {load0[1]:.2f} / {load0[2]:.2f}, "
        f"at end {load1[0]:.2f} / {load1[1]:.2f} / {load1[2]:.2f}; benchmark wall time "
        f"{took:.0f} s.",
        "",
        f"`{command}`",
        "",
        "| " + " | ".join(header) + " |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        *(f"- {s}" for s in notes),
    ]
    text = "\n".join(lines)
    print("\n" + text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
