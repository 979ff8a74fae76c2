"""Objectives built from a surrogate: what an optimizer maximizes."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from surrogates import Surrogate


class SurrogateObjective:
    """``(mean - kappa * std - loc) / scale`` of a surrogate at features ``(K, d) -> (K,)``.

    ``loc`` and ``scale`` standardize the score (offline label mean and std) so step sizes
    mean the same on every domain; ``kappa > 0`` gives a pessimistic objective and needs a
    surrogate with a std. ``features`` maps design tensors to the surrogate's input.
    """

    def __init__(
        self,
        surrogate: Surrogate,
        features: Callable[[Tensor], Tensor],
        kappa: float = 0.0,
        loc: float = 0.0,
        scale: float = 1.0,
    ) -> None:
        if kappa and not surrogate.has_std:
            raise ValueError(
                f"kappa={kappa} needs a surrogate with a std; {type(surrogate).__name__} has none"
            )
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.surrogate, self.features = surrogate, features
        self.kappa, self.loc, self.scale = float(kappa), float(loc), float(scale)

    def __call__(self, x: Tensor) -> Tensor:
        """Design tensors ``(K, *shape)`` -> objective ``(K,)``."""
        f = self.features(x)
        if self.kappa:
            mean, std = self.surrogate.predict(f)
            value = mean - self.kappa * std
        else:
            value = self.surrogate(f)
        return (value - self.loc) / self.scale
