"""A study: one (domain, offline dataset, surrogate, optimizer, seed) run, from a declarative spec."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from domains import Domain, ReferenceData, list_domains, make_domain
from surrogates import Surrogate, list_surrogates, make_surrogate
from surrogates._base import spread

from .audit import audit
from .bo_qei import BOqEI
from .cma_es import CMAES
from .dbest import DBest
from .gradient_ascent import GradientAscent, Trajectory, random_direction_control
from .metrics import FOOLED_MARGIN, curves, summarize
from .objective import KINDS, SurrogateObjective, check_objective
from .optimizer import Optimizer
from .precision import check_precision, precision_context
from .random_search import RandomSearch

#: optimizers by name -> (class, description)
OPTIMIZERS: dict[str, tuple[type, str]] = {
    "gradient_ascent": (
        GradientAscent,
        "batched gradient ascent on the design tensor (method=gd|adam, steps, lr, checkpoint_every)",
    ),
    "cma_es": (
        CMAES,
        "one CMA-ES run per start design, batched (generations, popsize, sigma0, diagonal, "
        "checkpoint_every)",
    ),
    "random_search": (
        RandomSearch,
        "top-K of uniform samples of the space (n_samples, batch_size, checkpoint_every)",
    ),
    "bo_qei": (
        BOqEI,
        "BoTorch GP + qLogEI on the surrogate objective (iterations, q, num_restarts, "
        "raw_samples, n_init, max_train, maxiter, checkpoint_every)",
    ),
    "dbest": (DBest, "the top-K offline designs themselves, unchanged (no options)"),
}


class SealedOracleError(RuntimeError):
    """Something that picks designs called the oracle: the study is invalid."""


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is checked and returned."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"bad device {device!r}: {err}") from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here")
    return dev


@dataclass
class StudySpec:
    """Everything that defines a study. Load with :meth:`from_file` / :meth:`from_dict`.

    Attributes:
        domain: registered domain name (``mbo list``).
        domain_options: keyword options of the domain (e.g. ``{"dim": 16}``).
        surrogate: registered surrogate name.
        surrogate_options: hyperparameters of the surrogate (``seed`` defaults to ``seed``).
        optimizer: registered optimizer name.
        optimizer_options: e.g. ``{"steps": 200, "method": "gd", "lr": None}``.
        objective: what the optimizer maximizes: ``"mean"`` prediction, ``"min"`` over
            ensemble members, or ``"lcb"`` (mean - kappa * std).
        kappa: pessimism of ``"lcb"``.
        k: number of designs optimized at once, started from the top-k offline designs.
        offline_fraction: visible share of the reference data; ``None`` = domain default.
        seed: seeds the surrogate, the optimizer and the random-direction control.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``.
        precision: arithmetic of the fit and optimize stages, one of ``mbo.precision.PRECISIONS``:
            ``"fp32"`` (default), ``"tf32"`` (TF32 matmuls on CUDA; on CPU exactly fp32) or
            ``"bf16"`` (bfloat16 autocast, CPU or CUDA). The audit's predictions and all
            reported metrics are computed in fp32 either way (see ``mbo.precision``).
        fooled_margin: δ of the fooled rate (normalized units).
        name: a label for reports (default: derived from the spec).
    """

    domain: str = "branin"
    domain_options: dict[str, Any] = field(default_factory=dict)
    surrogate: str = "mlp"
    surrogate_options: dict[str, Any] = field(default_factory=dict)
    optimizer: str = "gradient_ascent"
    optimizer_options: dict[str, Any] = field(default_factory=dict)
    objective: str = "mean"
    kappa: float = 1.0
    k: int = 128
    offline_fraction: float | None = None
    seed: int = 0
    device: str = "cpu"
    precision: str = "fp32"
    fooled_margin: float = FOOLED_MARGIN
    name: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    @property
    def label(self) -> str:
        return self.name or f"{self.domain}-{self.surrogate}-{self.optimizer}-s{self.seed}"

    def validate(self) -> None:
        """Raise ``ValueError`` with a clear message for a bad spec (cheap checks only)."""
        if self.domain.lower() not in list_domains():
            raise ValueError(
                f"unknown domain {self.domain!r}; choose from {sorted(list_domains())}"
            )
        if self.surrogate.lower() not in list_surrogates():
            raise ValueError(
                f"unknown surrogate {self.surrogate!r}; choose from {sorted(list_surrogates())}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; choose from {sorted(OPTIMIZERS)}"
            )
        for name in ("domain_options", "surrogate_options", "optimizer_options"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{name} must be a mapping, got {getattr(self, name)!r}")
        if self.objective not in KINDS:
            raise ValueError(f"objective must be one of {KINDS}, got {self.objective!r}")
        if int(self.k) != self.k or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k}")
        if self.offline_fraction is not None and not 0 < self.offline_fraction <= 1:
            raise ValueError(f"offline_fraction must be in (0, 1], got {self.offline_fraction}")
        check_precision(self.precision)
        if not self.fooled_margin >= 0:
            raise ValueError(f"fooled_margin must be >= 0, got {self.fooled_margin}")
        self.make_optimizer()  # validates optimizer options (e.g. negative steps)

    def optimizer_kwargs(self, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
        """Optimizer options: a domain's ``defaults`` overridden by the spec's own."""
        return {**(defaults or {}), **self.optimizer_options}

    def make_optimizer(self, defaults: dict[str, Any] | None = None) -> Optimizer:
        cls, _ = OPTIMIZERS[self.optimizer]
        try:
            return cls(**self.optimizer_kwargs(defaults))
        except TypeError as err:
            raise ValueError(f"bad options for optimizer {self.optimizer!r}: {err}") from err

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fit_key(self) -> str:
        """Hash of what the fitted surrogate depends on (domain and its options, offline split,
        surrogate and options, seed, device, precision): studies with equal keys — e.g. the
        same surrogate under several optimizers or objectives — can share one fit."""
        keys = ("domain", "domain_options", "offline_fraction", "surrogate")
        keys += ("surrogate_options", "seed", "device", "precision")
        data = {k: getattr(self, k) for k in keys}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudySpec:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown spec keys {unknown}; valid keys are {sorted(known)}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> StudySpec:
        """Load a spec from YAML (``.yaml``/``.yml``/``.json``) or TOML (``.toml``)."""
        path = Path(path)
        text = path.read_text()
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a spec file must hold a mapping, got {type(data).__name__}")
        return cls.from_dict(data)


@dataclass
class StudyResult:
    """What a study produced; ``run_dir`` is ``None`` when nothing was written."""

    spec: StudySpec
    table: pd.DataFrame
    summary: dict[str, Any]
    curves: pd.DataFrame
    domain: Domain
    surrogate: Surrogate
    offline: ReferenceData
    trajectory: Trajectory
    run_dir: Path | None = None


def run_study(
    spec: StudySpec,
    out_dir: str | Path | None = None,
    progress: bool = False,
    plots: bool = True,
    domain: Domain | None = None,
    fitted: Surrogate | None = None,
) -> StudyResult:
    """Run a study end to end; write its run folder to ``out_dir`` if given.

    ``domain`` reuses an already built domain (its reference data and oracle cache), e.g.
    across the studies of a comparison; it must match ``spec.domain``/``domain_options``.
    ``fitted`` skips the fit stage with the surrogate of an earlier study whose
    :meth:`StudySpec.fit_key` equals this spec's (checked through ``fit_key_`` where the
    surrogate carries one); the summary then says ``fit_shared: true`` and ``fit`` takes 0 s.

    Stages: data (reference set, offline split), fit (surrogate on offline features only),
    optimize (from the top-k offline designs; the oracle is sealed and its call counter is
    checked), audit (oracle on every checkpoint and on the random-direction control),
    report (metrics, curves, files, plots).
    """
    spec.validate()
    device = resolve_device(spec.device)
    timings: dict[str, float] = {}
    t = time.perf_counter()

    if domain is None:
        domain = make_domain(spec.domain, **spec.domain_options)
    offline = domain.offline(spec.offline_fraction)
    space = domain.space
    timings["data"] = time.perf_counter() - t

    t = time.perf_counter()
    calls_before = domain.oracle.counts()  # sealed from here until the audit
    if fitted is not None:
        if getattr(fitted, "fit_key_", spec.fit_key()) != spec.fit_key():
            raise ValueError("fitted surrogate was fit for another spec (fit_key differs)")
        if not fitted.is_fitted:
            raise ValueError("fitted surrogate is not fitted")
        surrogate = fitted
        check_objective(surrogate, spec.objective)
    else:
        opts = {"seed": spec.seed, **spec.surrogate_options}
        surrogate = make_surrogate(spec.surrogate, **opts)
        check_objective(surrogate, spec.objective)  # fail before fitting, not after
        feats = space.features(offline.x, hard=True).to(device)
        y = torch.as_tensor(offline.y, dtype=torch.float32, device=device)
        kwargs = (
            {"progress": progress}
            if "progress" in inspect.signature(surrogate.fit).parameters
            else {}
        )
        with precision_context(spec.precision, device):
            surrogate.fit(feats, y, **kwargs)
        surrogate.fit_key_ = spec.fit_key()
    surrogate.eval()
    timings["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    starts = offline.top(spec.k)
    if space.standardize:
        loc, scale = offline.x.mean(0), spread(offline.x)
    else:
        loc, scale = torch.zeros(space.shape), torch.ones(space.shape)
    objective = SurrogateObjective(
        surrogate,
        space.features,
        kind=spec.objective,
        kappa=spec.kappa,
        loc=float(offline.y.mean()),
        scale=float(offline.y.std() or 1.0),
    )
    with (
        torch.random.fork_rng(devices=[device] if device.type == "cuda" else []),
        precision_context(spec.precision, device),
    ):
        torch.manual_seed(spec.seed)
        trajectory = spec.make_optimizer(domain.optimizer_defaults.get(spec.optimizer)).run(
            objective,
            starts.x.to(device),
            space,
            loc.to(device),
            scale.to(device),
            progress=progress,
        )
    control = random_direction_control(trajectory, space, loc, scale, seed=spec.seed)
    if domain.oracle.counts() != calls_before:
        raise SealedOracleError(
            "the oracle was called while fitting or optimizing; the study is invalid"
        )
    timings["optimize"] = time.perf_counter() - t

    t = time.perf_counter()
    table = audit(domain, surrogate, trajectory, control)
    timings["audit"] = time.perf_counter() - t

    summary = summarize(
        table,
        spec.fooled_margin,
        d_best=float(domain.normalize(offline.y.max())),
        columns=domain.summary_columns,
    )
    summary |= {
        "optimizer_options": spec.optimizer_kwargs(domain.optimizer_defaults.get(spec.optimizer)),
        "name": spec.label,
        "domain": domain.name,
        "surrogate": spec.surrogate,
        "optimizer": spec.optimizer,
        "seed": spec.seed,
        "device": str(device),
        "precision": spec.precision,
        "fit_shared": fitted is not None,
        "n_reference": len(domain.reference_data()),
        "n_offline": len(offline),
        "val_loss": _num(getattr(surrogate, "val_loss_", None)),
        "val_r2": _num(getattr(surrogate, "val_r2_", None)),
        "bound_norm": _num(_finite_first(table["bound_norm"])),
        "oracle_calls_while_optimizing": 0,
        "oracle": domain.oracle.counts(),
        "timings_s": timings,
    }
    result = StudyResult(
        spec, table, summary, curves(table), domain, surrogate, offline, trajectory
    )
    if out_dir is not None:
        t = time.perf_counter()
        result.run_dir = write_run(result, Path(out_dir), plots=plots)
        timings["report"] = time.perf_counter() - t
        (result.run_dir / "summary.json").write_text(json.dumps(_jsonable(summary), indent=2))
    return result


def write_run(result: StudyResult, out: Path, plots: bool = True) -> Path:
    """Write the run folder: spec.yaml, audit.parquet, curves.csv, fit_history.csv,
    surrogate.pt (the fitted module), trajectory.pt, PNGs."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "spec.yaml").write_text(yaml.safe_dump(result.spec.to_dict(), sort_keys=False))
    result.table.to_parquet(out / "audit.parquet", index=False)
    result.curves.to_csv(out / "curves.csv", index=False)
    # the fitted surrogate and the trajectory, so reports can re-open the study
    torch.save(copy.deepcopy(result.surrogate).cpu(), out / "surrogate.pt")
    t = result.trajectory
    torch.save({"steps": t.steps, "x": t.x, "objective": t.objective}, out / "trajectory.pt")
    history = getattr(result.surrogate, "history_", None)
    if history:
        pd.DataFrame(history).to_csv(out / "fit_history.csv", index=False)
    if plots:
        from . import plots as P

        P.plot_trajectory(result.curves, result.summary, out / "trajectory.png")
        if P.can_draw_landscape(result.domain):
            P.plot_landscape(result, out / "landscape.png")
        P.plot_top_designs(result, out / "top_designs.png")
    return out


def _finite_first(s: pd.Series) -> float | None:
    s = s.dropna()
    return float(s.iloc[0]) if len(s) else None


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def load_run(run_dir: str | Path) -> StudyResult:
    """Re-open a run folder written by :func:`run_study` (the domain is rebuilt from its spec;
    its reference data comes from the domain's own cache or is regenerated, seeded)."""
    run_dir = Path(run_dir)
    if not (run_dir / "summary.json").exists():
        raise FileNotFoundError(f"{run_dir} is not a finished run folder (no summary.json)")
    spec = StudySpec.from_file(run_dir / "spec.yaml")
    domain = make_domain(spec.domain, **spec.domain_options)
    try:
        surrogate = torch.load(run_dir / "surrogate.pt", weights_only=False)
        surrogate.get_params()  # fails on a module pickled by an incompatible version
    except (AttributeError, ModuleNotFoundError, ImportError, TypeError) as err:
        raise RuntimeError(
            f"{run_dir / 'surrogate.pt'} was written by another version of the surrogate code "
            f"({err}); re-run the study (`mbo run --config {run_dir / 'spec.yaml'}`)"
        ) from err
    surrogate.eval()
    t = torch.load(run_dir / "trajectory.pt", weights_only=False)
    table = pd.read_parquet(run_dir / "audit.parquet")
    summary = json.loads((run_dir / "summary.json").read_text())
    return StudyResult(
        spec=spec,
        table=table,
        summary=summary,
        curves=pd.read_csv(run_dir / "curves.csv"),
        domain=domain,
        surrogate=surrogate,
        offline=domain.offline(spec.offline_fraction),
        trajectory=Trajectory(list(t["steps"]), t["x"], t["objective"]),
        run_dir=run_dir,
    )
