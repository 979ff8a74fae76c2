"""What every optimizer shares: the protocol, and helpers for the derivative-free baselines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from torch import Tensor

from domains import BoxSpace, CategoricalSpace, Space

from .gradient_ascent import Trajectory


class Optimizer(Protocol):
    """Moves ``K`` designs to maximize an objective; hyperparameters go to ``__init__``."""

    def run(
        self,
        objective: Callable[[Tensor], Tensor],
        x0: Tensor,
        space: Space,
        loc: Tensor | None = None,
        scale: Tensor | None = None,
        progress: bool = False,
    ) -> Trajectory:
        """Optimize from start designs ``x0`` ``(K, *shape)``; step 0 holds ``x0`` exactly."""
        ...


def box_bounds(space: Space) -> tuple[Tensor, Tensor] | None:
    """The space's box ``(lower, upper)``, each ``space.shape`` (CPU float32), or ``None``.

    A :class:`~domains.BoxSpace` gives its bounds, a :class:`~domains.CategoricalSpace` its
    logit clamp ``[-logit_bound, logit_bound]``; other spaces have no known box.
    """
    if isinstance(space, BoxSpace):
        return space.lower.clone(), space.upper.clone()
    if isinstance(space, CategoricalSpace):
        b = torch.full(space.shape, float(space.logit_bound))
        return -b, b
    return None


def standardizers(x0: Tensor, loc: Tensor | None, scale: Tensor | None) -> tuple[Tensor, Tensor]:
    """``loc``/``scale`` on ``x0``'s device, broadcast to one design ``x0.shape[1:]``."""
    shape, device = x0.shape[1:], x0.device
    loc = torch.zeros((), device=device) if loc is None else loc.to(device)
    scale = torch.ones((), device=device) if scale is None else scale.to(device)
    return loc.float().expand(shape), scale.float().expand(shape)


def draw_seed() -> int:
    """A positive 31-bit integer from torch's global RNG (seeds numpy-based libraries)."""
    return int(torch.randint(1, 2**31 - 1, (1,)).item())


class Checkpoints:
    """Collects ``(step, x (K, *shape), objective (K,))`` and builds the :class:`Trajectory`."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.xs: list[Tensor] = []
        self.objs: list[Tensor] = []

    def record(self, step: int, x: Tensor, value: Tensor) -> None:
        self.steps.append(int(step))
        self.xs.append(x.detach().to("cpu", torch.float32).clone())
        self.objs.append(value.detach().to("cpu", torch.float32).clone())

    def trajectory(self) -> Trajectory:
        return Trajectory(self.steps, torch.stack(self.xs), torch.stack(self.objs))


def merge_top_k(
    x: Tensor, value: Tensor, new_x: Tensor, new_value: Tensor
) -> tuple[Tensor, Tensor]:
    """Keep the best ``K`` of ``K`` current and ``N`` new designs, slot-stably.

    A current design that stays in the top ``K`` keeps its slot (its ``design_id`` in the
    audit); new entrants fill the slots of the designs they push out, best entrant into the
    lowest freed slot. Non-finite new values never enter. Shapes: ``x (K, *shape)``,
    ``value (K,)``, ``new_x (N, *shape)``, ``new_value (N,)``; returns the new ``(x, value)``.
    """
    k = x.shape[0]
    new_value = torch.where(torch.isfinite(new_value), new_value, -torch.inf)
    both = torch.cat([value, new_value])
    top = torch.sort(both, descending=True, stable=True).indices[:k]  # ties: current first
    keep = torch.zeros(k, dtype=torch.bool, device=x.device)
    keep[top[top < k]] = True
    entrants = top[top >= k] - k
    freed = (~keep).nonzero().flatten()
    x, value = x.clone(), value.clone()
    x[freed], value[freed] = new_x[entrants].to(x), new_value[entrants].to(value)
    return x, value
