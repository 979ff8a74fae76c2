"""Distances in the optimizer's own coordinates: how far designs moved, how far from the data.

Boxes are measured in standardized coordinates ``z = (x - loc) / scale`` (``loc``/``scale``
are the offline designs' per-entry mean and spread, as the optimizer uses them), so a
distance of 1 is one offline standard deviation spread over the entries. Sequences
(categorical spaces) are measured in decoded tokens: the number of positions whose token
differs (Hamming distance). Nothing here calls the oracle.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from domains import CategoricalSpace, Space


class Geometry:
    """Distances for one study's space.

    Args:
        space: the design space.
        loc, scale: the optimizer's standardization, broadcastable to one design.
        offline_x: the offline design tensors ``(M, *shape)``.
    """

    def __init__(self, space: Space, loc: Tensor, scale: Tensor, offline_x: Tensor) -> None:
        self.space = space
        self.loc, self.scale = loc.detach().cpu().float(), scale.detach().cpu().float()
        self.offline_x = offline_x.detach().cpu().float()
        self.categorical = isinstance(space, CategoricalSpace)

    @property
    def unit(self) -> str:
        """What one unit of distance is, for labels."""
        return "changed tokens" if self.categorical else "offline standard deviations"

    def z(self, x: Tensor) -> Tensor:
        """Standardized designs, flattened ``(N, D)`` (float64)."""
        return ((x.detach().cpu().float() - self.loc) / self.scale).flatten(1).double()

    def moved(self, x: Tensor, x0: Tensor) -> np.ndarray:
        """Distance of each design ``x`` ``(N, *shape)`` from its start ``x0`` (same shape):
        standardized Euclidean (boxes) or changed tokens (sequences), ``(N,)``."""
        if self.categorical:
            return (x.argmax(-1) != x0.argmax(-1)).sum(-1).cpu().numpy().astype(np.float64)
        return (self.z(x) - self.z(x0)).norm(dim=1).numpy()

    def offline_distance(self, x: Tensor, chunk: int = 256) -> np.ndarray:
        """Distance from each design ``(N, *shape)`` to its nearest offline design ``(N,)``."""
        out = []
        if self.categorical:
            a_all, b = x.argmax(-1).cpu(), self.offline_x.argmax(-1)
            for i in range(0, len(a_all), chunk):
                a = a_all[i : i + chunk]
                d = torch.cat(
                    [(a[:, None] != b[None, j : j + 2048]).sum(-1) for j in range(0, len(b), 2048)],
                    1,
                )
                out.append(d.min(1).values.double())
        else:
            za, zb = self.z(x), self.z(self.offline_x)
            for i in range(0, len(za), chunk):
                out.append(torch.cdist(za[i : i + chunk], zb).min(1).values)
        return torch.cat(out).numpy() if out else np.zeros(0)

    def offline_spacing(self, n: int = 512, seed: int = 0) -> float:
        """Median distance from an offline design to its nearest *other* offline design (at
        most ``n`` sampled): a design closer to the data than this is among the data."""
        off = self.offline_x
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(off), generator=g)[: min(n, len(off))]
        if self.categorical:
            a, b = off[idx].argmax(-1), off.argmax(-1)
            d = torch.cat(
                [(a[i : i + 64, None] != b[None]).sum(-1).double() for i in range(0, len(a), 64)]
            )
        else:
            z = self.z(off)
            d = torch.cdist(z[idx], z)
        d[torch.arange(len(idx)), idx] = math.inf  # not to itself
        return float(d.min(1).values.median())
