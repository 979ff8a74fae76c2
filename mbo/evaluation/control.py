"""The random-direction control: each start design moved exactly as far as the optimizer moved
it, in a random direction, so "gradient advantage" compares moves of equal length.

- **Box**: the same standardized Euclidean distance *after* projection into the box. A random
  unit direction (components that would leave the box at a start sitting on a face are
  flipped inward) is followed until the projected point is at exactly that distance
  (bisection on the ray; the projected distance grows monotonically along it). Where the
  ray cannot reach the distance (a start in a corner, a long move) up to ``tries`` further
  directions are drawn and the farthest reach is kept; :func:`distance_ratio` reports what
  was achieved.
- **Sequences** (categorical logits): the same number of changed tokens. At that many
  random positions the start's token is swapped for a random other token (the logit values
  of the two tokens are exchanged, so the encoding's scale is kept).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from domains import BoxSpace, CategoricalSpace, Space

from ..optimizers import Trajectory
from .geometry import Geometry


def random_direction_control(
    trajectory: Trajectory,
    space: Space,
    loc: Tensor | None = None,
    scale: Tensor | None = None,
    seed: int = 0,
    tries: int = 20,
) -> Tensor:
    """Control designs ``(K, *shape)`` for the trajectory's start and final designs.

    ``loc``/``scale`` are the optimizer's standardization (broadcastable to one design).
    """
    x0 = trajectory.start.detach().cpu().float()
    x1 = trajectory.final.detach().cpu().float()
    g = torch.Generator().manual_seed(seed)
    if isinstance(space, CategoricalSpace):
        return _token_control(x0, x1, g)
    loc = torch.zeros(()) if loc is None else loc.detach().cpu().float()
    scale = torch.ones(()) if scale is None else scale.detach().cpu().float()
    loc, scale = loc.expand(x0.shape[1:]), scale.expand(x0.shape[1:])
    if isinstance(space, BoxSpace):
        return _box_control(x0, x1, space, loc, scale, g, tries)
    # a space without a known box: scale a random direction, then project
    dist = ((x1 - x0) / scale).flatten(1).norm(dim=1)
    u = torch.randn(x0.shape, generator=g)
    u = u / u.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (u.ndim - 1))
    return space.project(x0 + scale * dist.view(-1, *[1] * (u.ndim - 1)) * u)


def distance_ratio(
    trajectory: Trajectory,
    control: Tensor,
    space: Space,
    loc: Tensor | None = None,
    scale: Tensor | None = None,
) -> np.ndarray:
    """Per design, the control's distance from the start over the optimizer's ``(K,)``
    (``nan`` where the optimizer did not move the design)."""
    loc = torch.zeros(()) if loc is None else loc
    scale = torch.ones(()) if scale is None else scale
    geo = Geometry(space, loc, scale, trajectory.start)
    moved = geo.moved(trajectory.final, trajectory.start)
    ctrl = geo.moved(control.detach().cpu().float(), trajectory.start.detach().cpu().float())
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(moved > 0, ctrl / moved, np.nan)


def _box_control(
    x0: Tensor,
    x1: Tensor,
    space: BoxSpace,
    loc: Tensor,
    scale: Tensor,
    g: torch.Generator,
    tries: int,
) -> Tensor:
    k = x0.shape[0]
    z0 = ((x0 - loc) / scale).double()
    lo = ((space.lower - loc) / scale).double().expand_as(z0)
    hi = ((space.upper - loc) / scale).double().expand_as(z0)
    target = (((x1 - loc) / scale).double() - z0).norm(dim=1)
    best = z0.clone()
    reach = torch.zeros(k, dtype=torch.float64)
    todo = torch.ones(k, dtype=torch.bool)
    for _ in range(tries + 1):
        idx = todo.nonzero().flatten()
        if not len(idx):
            break
        z, zl, zh, d = z0[idx], lo[idx], hi[idx], target[idx]
        u = torch.randn(z.shape, generator=g, dtype=torch.float64)
        eps = 1e-9 * (zh - zl)
        u = torch.where(((z >= zh - eps) & (u > 0)) | ((z <= zl + eps) & (u < 0)), -u, u)
        u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-300)
        corner = torch.where(u > 0, zh, torch.where(u < 0, zl, z))
        far = (corner - z).norm(dim=1)
        ok = far >= d
        # t at which every coordinate has hit its bound: the projected ray ends there
        with torch.no_grad():
            gap = torch.where(u != 0, (corner - z) / u, torch.zeros_like(u))
        t_hi = gap.amax(dim=1).clamp_min(0)
        t_lo = torch.zeros_like(t_hi)
        for _ in range(80):  # bisection to float64 precision
            t = (t_lo + t_hi) / 2
            dist = (torch.minimum(torch.maximum(z + t[:, None] * u, zl), zh) - z).norm(dim=1)
            below = dist < d
            t_lo = torch.where(below, t, t_lo)
            t_hi = torch.where(below, t_hi, t)
        point = torch.minimum(torch.maximum(z + t_hi[:, None] * u, zl), zh)
        got = (point - z).norm(dim=1).clamp_max(far)
        better = got > reach[idx]
        best[idx[better]] = point[better]
        reach[idx[better]] = got[better]
        todo[idx[ok]] = False
    # add the displacement to the start itself: a design that did not move stays bit-equal
    return space.project((x0.double() + scale.double() * (best - z0)).float())


def _token_control(x0: Tensor, x1: Tensor, g: torch.Generator) -> Tensor:
    k, length, vocab = x0.shape
    tokens = x0.argmax(-1)
    n_changed = (x1.argmax(-1) != tokens).sum(-1)  # (K,)
    order = torch.rand(k, length, generator=g).argsort(1)
    rank = order.argsort(1)  # each position's place in a random order
    change = rank < n_changed[:, None]  # the first n positions of that order
    offset = torch.randint(1, vocab, (k, length), generator=g)
    new = (tokens + offset) % vocab  # a uniformly random other token
    out = x0.clone()
    b, p = change.nonzero(as_tuple=True)
    old_t, new_t = tokens[b, p], new[b, p]
    old_v, new_v = out[b, p, old_t].clone(), out[b, p, new_t].clone()
    out[b, p, old_t], out[b, p, new_t] = new_v, old_v
    return out
