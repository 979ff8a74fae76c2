"""The study spec: everything that defines one study, declarative, loadable from files."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..evaluation import FOOLED_MARGIN, KINDS
from ..optimizers import Optimizer
from ..registry import DOMAINS, OPTIMIZERS, SURROGATES
from .precision import check_precision


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
        DOMAINS.check(self.domain)
        SURROGATES.check(self.surrogate)
        OPTIMIZERS.check(self.optimizer)
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
        """The optimizer with the domain's ``defaults`` overridden by the spec's options."""
        return OPTIMIZERS.make(self.optimizer, **self.optimizer_kwargs(defaults))

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
            data = tomllib.loads(text)
        else:
            data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a spec file must hold a mapping, got {type(data).__name__}")
        return cls.from_dict(data)
