"""A surrogate of the example plug-in: kernel ridge regression with an RBF kernel."""

from __future__ import annotations

from typing import Self

import torch
from torch import Tensor

from surrogates import Surrogate
from surrogates._base import check_xy, spread


class Ridge(Surrogate):
    """Kernel ridge regression, ``f(x) = k(x, X) alpha``, ``alpha = (K + l I)^-1 y``.

    Inputs and labels are z-scored on the training data; the kernel is
    ``exp(-|x - x'|^2 / (2 lengthscale^2))`` in standardized units. Differentiable in ``x``,
    so gradient-based optimizers climb it. The study passes ``seed`` to every surrogate; here
    it picks the subsample when there are more than ``max_points`` training points.

    Args:
        lengthscale: kernel lengthscale (standardized input units).
        alpha: ridge penalty ``l`` (standardized label units).
        max_points: at most this many training points (a seeded random subset).
        seed: seed of the subsample.
    """

    def __init__(
        self,
        lengthscale: float = 1.0,
        alpha: float = 1e-2,
        max_points: int = 2000,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if not lengthscale > 0 or not alpha > 0:
            raise ValueError(f"lengthscale and alpha must be positive, got {lengthscale}, {alpha}")
        self.lengthscale, self.alpha = float(lengthscale), float(alpha)
        self.max_points, self.seed = int(max_points), int(seed)

    def fit(self, x: Tensor, y: Tensor, progress: bool = False) -> Self:
        x, y = check_xy(x, y)
        if len(x) > self.max_points:
            g = torch.Generator().manual_seed(self.seed)
            idx = torch.randperm(len(x), generator=g)[: self.max_points].to(x.device)
            x, y = x[idx], y[idx]
        x_mean, x_std = x.mean(0), spread(x)
        y_mean, y_std = y.mean(), y.std().clamp_min(1e-8)
        z = ((x - x_mean) / x_std).double()
        k = self._kernel(z, z)
        k.diagonal().add_(self.alpha)
        coef = torch.linalg.solve(k, ((y - y_mean) / y_std).double())
        for name, value in (
            ("x_mean_", x_mean),
            ("x_std_", x_std),
            ("y_mean_", y_mean),
            ("y_std_", y_std),
            ("z_train_", z.float()),
            ("coef_", coef.float()),
        ):
            self.register_buffer(name, value.detach().float())
        self.n_features_in_ = x.shape[1]
        return self

    def _kernel(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.exp(-torch.cdist(a, b).pow(2) / (2 * self.lengthscale**2))

    def forward(self, x: Tensor) -> Tensor:
        self._check_fitted(x)
        shape = x.shape[:-1]
        z = (x.reshape(-1, x.shape[-1]) - self.x_mean_) / self.x_std_
        pred = self._kernel(z, self.z_train_) @ self.coef_
        return (self.y_mean_ + self.y_std_ * pred).reshape(shape)
