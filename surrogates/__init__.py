"""Models that map a design's features to a score (knows nothing of domains)."""

from ._base import NotFittedError, Surrogate
from ._registry import list_surrogates, make_surrogate, register_surrogate
from .mlp import MLPSurrogate

__all__ = [
    "MLPSurrogate",
    "NotFittedError",
    "Surrogate",
    "list_surrogates",
    "make_surrogate",
    "register_surrogate",
]
