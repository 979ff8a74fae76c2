"""Shared fixtures: tiny domains and surrogates that keep the suite fast."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import Tensor

from domains.analytic import _make_function
from surrogates import Surrogate


class TrueFunctionSurrogate(Surrogate):
    """A 'surrogate' that *is* the negated BoTorch test function (differentiable)."""

    def __init__(self, function: str = "branin", dim: int = 2) -> None:
        super().__init__()
        self.function, self.dim = function, dim

    def fit(self, x: Tensor, y: Tensor):
        self._f = _make_function(self.function, self.dim)
        self.n_features_in_ = x.shape[1]
        return self

    def forward(self, x: Tensor) -> Tensor:
        b = self._f.bounds.to(torch.float64)
        xd = torch.minimum(torch.maximum(x.double(), b[0]), b[1])
        return (-self._f.evaluate_true(xd)).to(x.dtype)


class LinearSurrogate(Surrogate):
    """A fixed linear model ``w . x + b`` (for pushing designs far in one direction)."""

    def __init__(self, w: list[float], b: float = 0.0) -> None:
        super().__init__()
        self.w, self.b = w, b

    def fit(self, x: Tensor, y: Tensor):
        self.register_buffer("w_", torch.as_tensor(self.w, dtype=torch.float32))
        self.n_features_in_ = x.shape[1]
        return self

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.w_.to(x) + self.b


@pytest.fixture
def tiny_mlp_options() -> dict:
    return {"width": 32, "depth": 2, "epochs": 30}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)
