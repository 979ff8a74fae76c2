"""Domains of the example plug-in.

``Bowl`` implements the :class:`domains.Domain` interface directly: a design space, a sealed
oracle (a picklable, module-level evaluation function, so oracle and sweep workers can run
it) and seeded reference data. ``ripple`` is a plain function for the built-in ``function``
domain (``--domain function -D function=my_mbo_plugin.tasks:ripple -D lower=[-2,-2,-2]
-D upper=[2,2,2]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from domains import BoxSpace, Domain, Oracle, ReferenceData

#: the bowl's center.
CENTER = np.array([0.6, -0.4, 0.2])


def bowl(x: np.ndarray) -> np.ndarray:
    """``-|x - c|^2 - 0.2 sum sin^2(4 x_i)`` for points ``(n, 3)``: at most 0 everywhere."""
    x = np.asarray(x, dtype=np.float64)
    return -((x - CENTER) ** 2).sum(1) - 0.2 * (np.sin(4.0 * x) ** 2).sum(1)


def ripple(x: np.ndarray) -> np.ndarray:
    """A rippled landscape over any box, ``(n, d) -> (n,)``; its maximum is not known."""
    x = np.asarray(x, dtype=np.float64)
    return np.cos(3.0 * x).sum(1) - 0.3 * (x**2).sum(1) + 0.5 * np.sin(x[:, 0] * x[:, -1])


def _row_key(design: np.ndarray) -> bytes:
    return np.asarray(design, dtype=np.float64).tobytes()


class Bowl(Domain):
    """Maximize a rippled 3-D bowl over ``[-2, 2]^3`` (designs: float64 points ``(n, 3)``).

    Args:
        n_reference: size of the reference set, uniform in the box.
        seed: seed of the reference sample.
        offline_fraction: share of the reference data visible offline (lowest scores).
    """

    default_offline_fraction = 0.5
    score_unit = ""

    def __init__(self, n_reference: int = 500, seed: int = 0, offline_fraction: float = 0.5):
        super().__init__()
        if n_reference < 10:
            raise ValueError(f"n_reference must be >= 10, got {n_reference}")
        self.n_reference, self.seed = int(n_reference), int(seed)
        self.default_offline_fraction = float(offline_fraction)
        self.name = "bowl"
        self.space = BoxSpace(torch.full((3,), -2.0), torch.full((3,), 2.0))

    def encode(self, designs: Any) -> Tensor:
        arr = np.asarray(designs, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 3:
            raise ValueError(f"bowl: expected designs of shape (n, 3), got {arr.shape}")
        return torch.as_tensor(arr, dtype=torch.float32)

    def decode(self, x: Tensor) -> np.ndarray:
        self.space.check(x)
        return self.space.project(x.detach().to("cpu", torch.float32)).numpy().astype(np.float64)

    def upper_bound(self, designs: Any) -> np.ndarray:
        return np.zeros(len(designs))  # the bowl is <= 0 everywhere

    def design_columns(self, designs: Any) -> dict[str, Any]:
        arr = np.asarray(designs)
        return {f"x{i}": arr[:, i] for i in range(3)}

    def _make_oracle(self) -> Oracle:
        return Oracle(bowl, key=_row_key)

    def _make_reference(self) -> ReferenceData:
        g = torch.Generator().manual_seed(self.seed)
        x = self.space.sample(self.n_reference, generator=g)
        designs = x.numpy().astype(np.float64)
        return ReferenceData(designs, x, self.oracle(designs))
