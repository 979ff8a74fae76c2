"""Analytic test functions from BoTorch, negated so that larger is better.

Designs are points ``(n, d)`` (float64 arrays) in the function's usual box; the design
tensor is the point itself (float32). The oracle clamps into the box and casts to float64
before calling BoTorch (its test functions reject out-of-bound points and default to
float64). Reference data is uniform in the box from a seeded generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from botorch.test_functions import synthetic as _syn
from torch import Tensor

from ._base import Domain, ReferenceData
from ._oracle import Oracle
from ._space import BoxSpace

# name -> (BoTorch class, allowed dims or None for any, default dim)
FUNCTIONS: dict[str, tuple[type, tuple[int, ...] | None, int]] = {
    "branin": (_syn.Branin, (2,), 2),
    "hartmann": (_syn.Hartmann, (3, 4, 6), 6),
    "ackley": (_syn.Ackley, None, 10),
    "rosenbrock": (_syn.Rosenbrock, None, 4),
    "levy": (_syn.Levy, None, 4),
    "styblinski_tang": (_syn.StyblinskiTang, None, 4),
    "rastrigin": (_syn.Rastrigin, None, 4),
}


def _make_function(name: str, dim: int) -> Any:
    cls, dims, _ = FUNCTIONS[name]
    return cls() if dims == (2,) else cls(dim=dim)


class _Evaluate:
    """Picklable batch evaluation ``(n, d) -> (n,)`` of the negated test function."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim
        self._f = _make_function(name, dim)

    def __call__(self, designs: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(np.asarray(designs, dtype=np.float64))
        b = self._f.bounds.to(x)
        x = torch.minimum(torch.maximum(x, b[0]), b[1])
        with torch.no_grad():
            y = -self._f.evaluate_true(x)
        return y.numpy().astype(np.float64)


def _row_key(design: np.ndarray) -> bytes:
    return np.asarray(design, dtype=np.float64).tobytes()


class AnalyticDomain(Domain):
    """A BoTorch test function as a domain (maximize the negated function).

    Args:
        function: one of ``FUNCTIONS`` (branin, hartmann, ackley, rosenbrock, ...).
        dim: input dimension (fixed for Branin; 3, 4 or 6 for Hartmann; any >= 2 otherwise).
        n_reference: size of the reference set sampled uniformly in the box.
        seed: seed of the reference sample.
        offline_fraction: share of the reference data visible offline (lowest scores).
    """

    def __init__(
        self,
        function: str = "branin",
        dim: int | None = None,
        n_reference: int = 2000,
        seed: int = 0,
        offline_fraction: float = 0.5,
    ) -> None:
        super().__init__()
        function = function.lower()
        if function not in FUNCTIONS:
            raise ValueError(
                f"unknown analytic function {function!r}; choose from {sorted(FUNCTIONS)}"
            )
        _, dims, default_dim = FUNCTIONS[function]
        dim = default_dim if dim is None else int(dim)
        if dims is not None and dim not in dims:
            raise ValueError(f"{function} is defined for dim in {dims}, got dim={dim}")
        if dim < 2:
            raise ValueError(f"{function} needs dim >= 2, got dim={dim}")
        if n_reference < 10:
            raise ValueError(f"n_reference must be >= 10, got {n_reference}")
        self.function, self.dim, self.n_reference, self.seed = (
            function,
            dim,
            int(n_reference),
            int(seed),
        )
        self.default_offline_fraction = float(offline_fraction)
        self.name = function if dims == (2,) or dim == default_dim else f"{function}{dim}"
        f = _make_function(function, dim)
        self._bounds = f.bounds.to(torch.float32)
        self.space = BoxSpace(self._bounds[0], self._bounds[1])
        #: the known global maximum of the negated function (an exact bound on any design).
        self.optimal_value = -float(f.optimal_value)

    def encode(self, designs: Any) -> Tensor:
        arr = np.asarray(designs, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != self.dim:
            raise ValueError(
                f"{self.name}: expected designs of shape (n, {self.dim}), got {arr.shape}"
            )
        return torch.as_tensor(arr, dtype=torch.float32)

    def decode(self, x: Tensor) -> np.ndarray:
        self.space.check(x)
        x = self.space.project(x.detach().to("cpu", torch.float32))
        return x.numpy().astype(np.float64)

    def upper_bound(self, designs: Any) -> np.ndarray:
        return np.full(len(designs), self.optimal_value)

    def design_columns(self, designs: Any) -> dict[str, Any]:
        arr = np.asarray(designs)
        return {f"x{i}": arr[:, i] for i in range(min(self.dim, 16))}

    def _make_oracle(self) -> Oracle:
        return Oracle(_Evaluate(self.function, self.dim), key=_row_key)

    def _make_reference(self) -> ReferenceData:
        g = torch.Generator().manual_seed(self.seed)
        x = self.space.sample(self.n_reference, generator=g)
        designs = x.numpy().astype(np.float64)
        return ReferenceData(designs, x, self.oracle(designs))

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "function": self.function,
            "optimal_value": self.optimal_value,
            "n_reference": self.n_reference,
            "offline_fraction": self.default_offline_fraction,
        }
