"""The ``Surrogate`` interface and shared helpers.

A surrogate is a ``torch.nn.Module`` mapping features ``(..., d)`` to a mean score
``(...)`` in the units of the labels it was fit on. Hyperparameters are stored in
``__init__`` and nothing else happens there (scikit-learn convention); ``fit`` does the
work and sets learned attributes whose names end in ``_``.
"""

from __future__ import annotations

import contextlib
import inspect
from abc import ABC, abstractmethod
from typing import Any, Self

import torch
from torch import Tensor, nn


class NotFittedError(RuntimeError):
    """The surrogate was used before ``fit``."""


def check_xy(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Validate training data: ``x`` ``(n, d)`` and ``y`` ``(n,)``, finite, n >= 2."""
    x = torch.as_tensor(x)
    y = torch.as_tensor(y, device=x.device)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {tuple(x.shape)}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have shape ({x.shape[0]},), got {tuple(y.shape)}")
    if x.shape[0] < 2:
        raise ValueError("need at least 2 training points")
    if not bool(torch.isfinite(y).all()):
        raise ValueError(f"y has {int((~torch.isfinite(y)).sum())} NaN/inf labels; drop them first")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x has NaN/inf entries")
    return x.float(), y.float()


def spread(t: Tensor, dim: int = 0, eps: float = 1e-8) -> Tensor:
    """Standard deviation along ``dim`` with zero spreads replaced by 1 (constant features)."""
    s = t.std(dim=dim) if t.shape[dim] > 1 else torch.ones_like(t.select(dim, 0))
    return torch.where(s > eps, s, torch.ones_like(s))


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device):
    """Fork the global RNG (CPU and, where used, CUDA) and seed it inside the block."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.manual_seed(seed)
        yield


class Surrogate(nn.Module, ABC):
    """Base class: ``fit(x, y) -> self``, ``forward(x) -> mean``, ``predict(x) -> (mean, std)``.

    Shapes: ``x`` is ``(..., d)``; ``forward`` returns ``(...)``; ``predict`` returns the
    mean and a std of the same shape, or ``None`` for models without uncertainty.
    """

    #: whether ``predict`` returns a standard deviation.
    has_std: bool = False

    @abstractmethod
    def fit(self, x: Tensor, y: Tensor, progress: bool = False) -> Self:
        """Fit on features ``x`` ``(n, d)`` and labels ``y`` ``(n,)``; ``progress`` shows a bar."""

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor: ...

    def predict(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        return self(x), None

    @property
    def is_fitted(self) -> bool:
        return getattr(self, "n_features_in_", None) is not None

    def _check_fitted(self, x: Tensor) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(x, y) first")
        if x.shape[-1] != self.n_features_in_:
            raise ValueError(
                f"{type(self).__name__} was fit on {self.n_features_in_} features, got {x.shape[-1]}"
            )

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
