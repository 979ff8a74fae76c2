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

    def fit(self, x: Tensor, y: Tensor, progress: bool = False):
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

    def fit(self, x: Tensor, y: Tensor, progress: bool = False):
        self.register_buffer("w_", torch.as_tensor(self.w, dtype=torch.float32))
        self.n_features_in_ = x.shape[1]
        return self

    def forward(self, x: Tensor) -> Tensor:
        return x @ self.w_.to(x) + self.b


#: a study small enough for unit tests (Branin, 200 reference points, 20 steps, K=16).
FAST = {
    "domain": "branin",
    "domain_options": {"n_reference": 200},
    "surrogate": "mlp",
    "surrogate_options": {"width": 32, "epochs": 20},
    "optimizer_options": {"steps": 20, "checkpoint_every": 5},
    "k": 16,
}


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models: torch's threads only contend with each other on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)
