"""Objectives built from a surrogate: what an optimizer maximizes."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from surrogates import Surrogate

KINDS = ("mean", "min", "lcb")


class SurrogateObjective:
    """A surrogate's score at features ``(K, d) -> (K,)``, standardized: ``(v - loc) / scale``.

    ``kind``: ``"mean"`` (the prediction), ``"min"`` (the lowest ensemble member, Design-
    Bench's Grad. Min; needs ``predict_members``) or ``"lcb"`` (``mean - kappa * std``, a
    pessimistic objective; needs a std). ``loc``/``scale`` (offline label mean and std) make
    step sizes mean the same on every domain. ``features`` maps design tensors to the
    surrogate's input.
    """

    def __init__(
        self,
        surrogate: Surrogate,
        features: Callable[[Tensor], Tensor],
        kind: str = "mean",
        kappa: float = 1.0,
        loc: float = 0.0,
        scale: float = 1.0,
    ) -> None:
        check_objective(surrogate, kind)
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        self.surrogate, self.features, self.kind = surrogate, features, kind
        self.kappa, self.loc, self.scale = float(kappa), float(loc), float(scale)

    def __call__(self, x: Tensor) -> Tensor:
        """Design tensors ``(K, *shape)`` -> objective ``(K,)``, float32."""
        f = self.features(x)
        if self.kind == "lcb":
            mean, std = self.surrogate.predict(f)
            value = mean - self.kappa * std
        elif self.kind == "min":
            value = self.surrogate.predict_members(f).min(0).values
        else:
            value = self.surrogate(f)
        # float32 whatever the arithmetic inside (a bf16-autocast network returns bfloat16)
        return (value.float() - self.loc) / self.scale


def check_objective(surrogate: Surrogate, kind: str) -> None:
    """Raise ``ValueError`` unless ``surrogate`` supports objective ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"objective must be one of {KINDS}, got {kind!r}")
    name = type(surrogate).__name__
    if kind == "lcb" and not surrogate.has_std:
        raise ValueError(f"objective 'lcb' needs a surrogate with a std; this {name} has none")
    if kind == "min" and getattr(surrogate, "n_members", 1) < 2:
        raise ValueError(
            f"objective 'min' needs an ensemble (n_members >= 2); this {name} has none"
        )
