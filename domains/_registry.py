"""Domains by name. Entries are imported lazily so heavy packages load only when used."""

from __future__ import annotations

import importlib
from typing import Any

from ._base import Domain

# name -> (module:attribute of a factory, fixed keyword options, one-line description)
_REGISTRY: dict[str, tuple[str, dict[str, Any], str]] = {}


def register_domain(name: str, target: str, description: str, **fixed: Any) -> None:
    """Register ``name`` -> factory ``"package.module:callable"`` called with ``fixed`` + options."""
    _REGISTRY[name.lower()] = (target, fixed, description)


def list_domains() -> dict[str, str]:
    """Registered domain names with one-line descriptions."""
    return {name: desc for name, (_, _, desc) in sorted(_REGISTRY.items())}


def make_domain(name: str, **options: Any) -> Domain:
    """Build a domain by registered name, e.g. ``make_domain("ackley", dim=8)``."""
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown domain {name!r}; choose from {sorted(_REGISTRY)}")
    target, fixed, _ = _REGISTRY[key]
    module, attr = target.split(":")
    factory = getattr(importlib.import_module(module), attr)
    try:
        return factory(**fixed, **options)
    except TypeError as err:
        raise ValueError(f"bad options for domain {name!r}: {err}") from err


for _fn, _desc in {
    "branin": "Branin 2-D (negated, maximize); drawable whole",
    "hartmann": "Hartmann 3/4/6-D (negated), dim=6 default",
    "ackley": "Ackley n-D (negated), dim=10 default",
    "rosenbrock": "Rosenbrock n-D (negated), dim=4 default",
    "levy": "Levy n-D (negated), dim=4 default",
    "styblinski_tang": "Styblinski-Tang n-D (negated), dim=4 default",
    "rastrigin": "Rastrigin n-D (negated), dim=4 default",
}.items():
    register_domain(_fn, "domains.analytic:AnalyticDomain", _desc, function=_fn)

register_domain(
    "molecules",
    "domains.molecules:MoleculeDomain",
    "SELFIES token sequences (categorical), RDKit oracles (objective=qed, logp, sa, plogp, mpo...)",
)
register_domain(
    "car",
    "domains.car:CarDomain",
    "toy car blueprint (19-D box), MuJoCo oracle: distance on a seeded rough track; bottom 80 % visible",
)
register_domain(
    "car-control",
    "domains.car:CarDomain",
    "the car with Design-Bench Ant's bottom-40 % split: visible cars barely move, ascent beats D(best)",
    offline_fraction=0.4,
)
