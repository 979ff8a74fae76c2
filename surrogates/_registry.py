"""Surrogates by name, with presets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._base import Surrogate
from .mlp import MLPSurrogate

# name -> (class, preset options, description)
_REGISTRY: dict[str, tuple[Callable[..., Surrogate], dict[str, Any], str]] = {
    "mlp": (MLPSurrogate, {}, "MLP 2x256 ReLU, Adam on MSE (standardized x and y)"),
    "mlp-2048": (
        MLPSurrogate,
        {"width": 2048, "depth": 2},
        "Design-Bench-like MLP 2x2048 ReLU, Adam on MSE",
    ),
    "linear": (MLPSurrogate, {"depth": 0}, "linear regression (an MLP with no hidden layer)"),
}


def register_surrogate(
    name: str, factory: Callable[..., Surrogate], description: str, **preset: Any
) -> None:
    """Register ``name`` -> ``factory(**preset, **options)``."""
    _REGISTRY[name.lower()] = (factory, preset, description)


def list_surrogates() -> dict[str, str]:
    return {name: desc for name, (_, _, desc) in sorted(_REGISTRY.items())}


def make_surrogate(name: str, **options: Any) -> Surrogate:
    """Build an unfitted surrogate by registered name, e.g. ``make_surrogate("mlp", width=64)``."""
    key = name.lower()
    if key not in _REGISTRY:
        raise ValueError(f"unknown surrogate {name!r}; choose from {sorted(_REGISTRY)}")
    factory, preset, _ = _REGISTRY[key]
    try:
        return factory(**{**preset, **options})
    except TypeError as err:
        raise ValueError(f"bad options for surrogate {name!r}: {err}") from err
