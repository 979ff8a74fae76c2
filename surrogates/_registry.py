"""Surrogates by name, with presets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._base import Surrogate
from .gp import GPSurrogate
from .mlp import MLPSurrogate

# name -> (class, preset options, description)
_REGISTRY: dict[str, tuple[Callable[..., Surrogate], dict[str, Any], str]] = {
    "mlp": (MLPSurrogate, {}, "MLP 2x256 ReLU, Adam on MSE (standardized x and y)"),
    "mlp-2048": (MLPSurrogate, {"width": 2048, "depth": 2}, "Design-Bench-like MLP 2x2048 ReLU"),
    "linear": (MLPSurrogate, {"depth": 0}, "linear regression (an MLP with no hidden layer)"),
    "ensemble": (MLPSurrogate, {"n_members": 5}, "deep ensemble of 5 MLPs, one stacked model"),
    "ensemble-nll": (
        MLPSurrogate,
        {"n_members": 5, "nll": True},
        "deep ensemble of 5 MLPs with Gaussian NLL heads (Lakshminarayanan et al.)",
    ),
    "fgsm": (
        MLPSurrogate,
        {"training": "fgsm"},
        "MLP, FGSM adversarial training (eps 5% of range)",
    ),
    "pgd": (
        MLPSurrogate,
        {"training": "pgd"},
        "MLP, PGD adversarial training (5 steps, random start)",
    ),
    "mbo-adv": (
        MLPSurrogate,
        {"training": "mbo_adv"},
        "MLP trained toward the clean label where its prediction rises",
    ),
    "vat": (MLPSurrogate, {"training": "vat"}, "MLP, virtual adversarial training"),
    "grad-penalty": (
        MLPSurrogate,
        {"training": "grad_penalty"},
        "MLP, input-gradient-norm penalty",
    ),
    "sn-mlp": (
        MLPSurrogate,
        {"spectral_norm": True, "lipschitz": 4.0},
        "spectrally normalized MLP, 4-Lipschitz in standardized units",
    ),
    "rbf": (
        MLPSurrogate,
        {"depth": 0, "head": "rbf", "n_centers": 128, "lr": 1e-2},
        "RBF network: 128 Gaussian units on the standardized input",
    ),
    "rbf-mlp": (MLPSurrogate, {"head": "rbf"}, "MLP feature extractor with an RBF head (64 units)"),
    "gp": (
        GPSurrogate,
        {},
        "Gaussian process (BoTorch SingleTaskGP, Matern-5/2 ARD): exact up to 2000 points, "
        "else exact on a subsample keeping the top 10%",
    ),
    "gp-sparse": (
        GPSurrogate,
        {"approximation": "inducing"},
        "sparse variational GP, 256 k-means inducing points, Adam on the ELBO",
    ),
    "coms": (
        MLPSurrogate,
        {"training": "coms", "lr": 3e-4, "batch_size": 32, "epochs": 50},
        "conservative objective model (design-baselines coms_cleaned defaults)",
    ),
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
