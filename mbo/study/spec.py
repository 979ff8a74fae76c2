"""The study spec: everything that defines one study, declarative, loadable from files."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..evaluation import FOOLED_MARGIN, KINDS
from ..optimizers import Optimizer
from ..registry import DOMAINS, OPTIMIZERS, SURROGATES
from .precision import PRECISIONS, check_precision


@dataclass
class StudySpec:
    """Everything that defines a study. Load with :meth:`from_file` / :meth:`from_dict`.

    Every field is also a flag of ``mbo run`` (``--domain``, ``--domain-options``, ...; see
    ``mbo.cli.spec_args``): the one-line descriptions below are the flags' help, and a
    field's ``metadata`` may give the flag another name (``flag``), a ``metavar``, allowed
    ``choices`` (checked by :meth:`validate` too) and a ``KEY=VALUE`` ``shortcut``.

    Attributes:
        domain: registered domain name, or an import path ``package.module:Class``
            (``mbo list``).
        domain_options: keyword options of the domain, e.g. ``{dim: 16, n_reference: 300}``.
        surrogate: registered surrogate name, or an import path (``mbo list``).
        surrogate_options: hyperparameters of the surrogate, e.g. ``{width: 64, epochs: 50}``
            (its ``seed`` defaults to the study's).
        optimizer: registered optimizer name, or an import path (``mbo list``).
        optimizer_options: options of the optimizer, e.g. ``{steps: 200, method: gd}``.
        objective: what the optimizer maximizes: ``mean`` prediction, ``min`` over ensemble
            members, or ``lcb`` = mean - kappa * std (``min``/``lcb`` need an ensemble).
        kappa: pessimism of the ``lcb`` objective.
        k: number of designs optimized at once, started from the top-k offline designs.
        offline_fraction: visible share of the reference data, in (0, 1]; ``none`` = the
            domain's default.
        seed: seeds the surrogate, the optimizer and the random-direction control.
        device: ``cpu``, ``cuda``, ``cuda:N`` or ``auto`` (CUDA when available).
        precision: arithmetic of the fit and optimize stages (``mbo.study.precision``):
            ``fp32``, ``tf32`` (TF32 matmuls, CUDA only; the ``mbo`` commands refuse it on CPU,
            where a library call runs exactly fp32) or ``bf16`` (bfloat16 autocast, CPU or
            CUDA). Audited predictions and all metrics are computed in fp32 either way.
        fooled_margin: the fooled rule's margin, in standard deviations of the offline labels
            (the absolute δ is stated in every summary as ``fooled_delta``).
        audit_subsample: designs the oracle audits at each intermediate checkpoint: a
            subsample drawn with the seed, the same design ids at every one (every design is
            audited at the start, at the final checkpoint and in the control); ``none`` = the
            domain's default (every design; the car: 32); a value >= k audits every design.
        name: a label for reports (``none`` = derived from the spec).
    """

    domain: str = field(default="branin", metadata={"metavar": "NAME"})
    domain_options: dict[str, Any] = field(default_factory=dict, metadata={"shortcut": "-D"})
    surrogate: str = field(default="mlp", metadata={"metavar": "NAME"})
    surrogate_options: dict[str, Any] = field(default_factory=dict, metadata={"shortcut": "-S"})
    optimizer: str = field(default="gradient_ascent", metadata={"metavar": "NAME"})
    optimizer_options: dict[str, Any] = field(default_factory=dict, metadata={"shortcut": "-O"})
    # ``--objective`` is the domain's objective (molecules: qed, logp...), so this is
    # ``--objective-kind`` on the command line
    objective: str = field(default="mean", metadata={"flag": "--objective-kind", "choices": KINDS})
    kappa: float = 1.0
    k: int = 128
    offline_fraction: float | None = None
    seed: int = 0
    device: str = "cpu"
    precision: str = field(default="fp32", metadata={"choices": PRECISIONS})
    fooled_margin: float = FOOLED_MARGIN
    audit_subsample: int | None = field(default=None, metadata={"metavar": "N"})
    name: str | None = None

    def __post_init__(self) -> None:
        self.validate()

    @property
    def label(self) -> str:
        return self.name or f"{self.domain}-{self.surrogate}-{self.optimizer}-s{self.seed}"

    def validate(self) -> None:
        """Raise ``ValueError`` with a clear message for a bad spec (cheap checks only): the
        names resolve, every field has its declared type, choices and ranges hold, and the
        optimizer accepts its options."""
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), _hints(type(self))[f.name])
            choices = f.metadata.get("choices")
            if choices is not None and getattr(self, f.name) not in choices:
                raise ValueError(
                    f"{f.name} must be one of {tuple(choices)}, got {getattr(self, f.name)!r}"
                )
        DOMAINS.check(self.domain)
        SURROGATES.check(self.surrogate)
        OPTIMIZERS.check(self.optimizer)
        if self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k}")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed}")
        if not (self.kappa >= 0 and math.isfinite(self.kappa)):
            raise ValueError(f"kappa must be a finite number >= 0, got {self.kappa}")
        if self.offline_fraction is not None and not 0 < self.offline_fraction <= 1:
            raise ValueError(f"offline_fraction must be in (0, 1], got {self.offline_fraction}")
        check_precision(self.precision)
        if not self.fooled_margin >= 0:
            raise ValueError(f"fooled_margin must be >= 0, got {self.fooled_margin}")
        if self.audit_subsample is not None and self.audit_subsample < 1:
            raise ValueError(
                f"audit_subsample must be a positive integer or none, got {self.audit_subsample}"
            )
        if not self.device:
            raise ValueError("device must be a non-empty string (cpu, cuda, cuda:N or auto)")
        self.make_optimizer()  # validates optimizer options (e.g. negative steps)

    @classmethod
    def field_help(cls) -> dict[str, str]:
        """Each field's one-paragraph description from the class docstring's ``Attributes``
        section (the ``mbo run`` flags' help), markup stripped."""
        return _attribute_docs(cls.__doc__ or "")

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
        return cls.from_dict(cls.read_file(path))

    @staticmethod
    def read_file(path: str | Path) -> dict[str, Any]:
        """The mapping a spec file holds, not yet checked (``mbo run --config`` merges its
        flags into it first). ``FileNotFoundError`` if absent, ``ValueError`` if unreadable."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"spec file {path} does not exist")
        text = path.read_text()
        try:
            data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
        except (tomllib.TOMLDecodeError, yaml.YAMLError) as err:
            raise ValueError(f"{path}: not a valid spec file: {err}") from err
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a spec file must hold a mapping, got {type(data).__name__}")
        return data


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", dict: "a mapping"}


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _check_type(name: str, value: Any, hint: Any) -> None:
    """``ValueError`` unless ``value`` fits ``hint`` (``int``, ``float``, ``str``, ``dict[...]``,
    optionally ``| None``); ints are accepted as floats, bools as neither."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    ok = False
    for t in options:
        base = typing.get_origin(t) or t
        if t is type(None):
            ok |= value is None
        elif base is float:
            ok |= isinstance(value, int | float) and not isinstance(value, bool)
        elif base is int:
            ok |= isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(base, type):
            ok |= isinstance(value, base)
        else:
            ok = True  # a type this check does not know: leave it to the code using it
    if not ok:
        want = " or ".join(
            "none" if t is type(None) else _TYPE_NAMES.get(typing.get_origin(t) or t, str(t))
            for t in options
        )
        raise ValueError(f"{name} must be {want}, got {value!r}")


def _attribute_docs(doc: str) -> dict[str, str]:
    """``{name: description}`` from a Google-style ``Attributes:`` section."""
    out: dict[str, str] = {}
    lines = inspect.cleandoc(doc).splitlines()
    try:
        start = lines.index("Attributes:") + 1
    except ValueError:
        return out
    name = None
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break  # the next section
        text = line.strip()
        if not text:
            continue
        indent = len(line) - len(line.lstrip())
        head, sep, rest = text.partition(":")
        if indent <= 4 and sep and head.isidentifier():
            name = head
            out[name] = rest.strip()
        elif name is not None:
            out[name] += " " + text
    return {k: v.replace("``", "") for k, v in out.items()}
