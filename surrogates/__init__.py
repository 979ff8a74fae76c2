"""Models that map a design's features to a score (knows nothing of domains)."""

from ._base import NotFittedError, Surrogate
from .gp import GPSurrogate
from .mlp import MLPSurrogate

__all__ = [
    "GPSurrogate",
    "MLPSurrogate",
    "NotFittedError",
    "Surrogate",
    "SurrogateModel",
]


def __getattr__(name: str):
    # the BoTorch adapter loads BoTorch: import it only when asked for
    if name == "SurrogateModel":
        from .botorch_model import SurrogateModel

        return SurrogateModel
    raise AttributeError(f"module 'surrogates' has no attribute {name!r}")
