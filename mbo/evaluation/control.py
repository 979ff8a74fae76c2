"""The random-direction control: start designs moved as far as the optimizer moved them."""

from __future__ import annotations

import torch
from torch import Tensor

from domains import Space

from ..optimizers import Trajectory


def random_direction_control(
    trajectory: Trajectory,
    space: Space,
    loc: Tensor | None = None,
    scale: Tensor | None = None,
    seed: int = 0,
) -> Tensor:
    """Move each start design as far as the optimizer moved it, in a random direction.

    Distances are measured on the standardized design tensor (the same ``loc``/``scale``
    as the optimizer); the result is projected into the space, ``(K, *shape)``. It separates
    surrogate skill from drifting away from poor offline data.
    """
    x0, x1 = trajectory.start, trajectory.final
    loc = torch.zeros(()) if loc is None else loc.cpu()
    scale = torch.ones(()) if scale is None else scale.cpu()
    z0, z1 = (x0 - loc) / scale, (x1 - loc) / scale
    dist = (z1 - z0).flatten(1).norm(dim=1)
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(z0.shape, generator=g)
    u = u / u.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (u.ndim - 1))
    return space.project(x0 + scale * dist.view(-1, *[1] * (u.ndim - 1)) * u)
