"""Batched gradient ascent on design tensors, and the random-direction control."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from domains import Space

from .optimizer import Checkpoints, Trajectory, check_int

__all__ = ["GradientAscent", "Trajectory", "random_direction_control"]


class GradientAscent:
    """``K`` designs climb the objective at once: ``z <- z + lr * grad_z f``.

    ``z`` are design tensors standardized per entry by ``loc`` and ``scale`` (the offline
    data's mean and spread, as design-baselines does); after every step the designs are
    projected into the space. The default step size is design-baselines' rule
    ``lr = 0.01 * sqrt(d)``. ``method="adam"`` uses Adam on ``z`` instead of plain steps.

    Args:
        steps: number of ascent steps (>= 0).
        lr: step size; ``None`` for ``0.01 * sqrt(space.dim)``.
        method: ``"gd"`` (plain gradient ascent) or ``"adam"``.
        checkpoint_every: record designs every this many steps (the last step is always kept).
    """

    def __init__(
        self,
        steps: int = 200,
        lr: float | None = None,
        method: str = "gd",
        checkpoint_every: int = 10,
    ) -> None:
        if lr is not None and not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        if method not in ("gd", "adam"):
            raise ValueError(f"method must be 'gd' or 'adam', got {method!r}")
        self.steps = check_int("steps", steps, 0)
        self.checkpoint_every = check_int("checkpoint_every", checkpoint_every, 1)
        self.lr, self.method = lr, method

    def run(
        self,
        objective: Callable[[Tensor], Tensor],
        x0: Tensor,
        space: Space,
        loc: Tensor | None = None,
        scale: Tensor | None = None,
        progress: bool = False,
    ) -> Trajectory:
        """Climb from ``x0`` ``(K, *shape)``; ``loc``/``scale`` broadcast to ``x0``'s shape.

        The designs ``x = loc + scale * z`` themselves are the autograd leaf: a plain step
        ``z += lr * grad_z f`` is ``x += lr * scale**2 * grad_x f`` (``grad_z = scale *
        grad_x``), so no step maps between ``x`` and ``z`` and back around the projection.
        Adam keeps its state on ``z``; with the identity ``loc = 0, scale = 1`` (e.g.
        logits) ``z`` is ``x`` itself.
        """
        space.check(x0)
        device = x0.device
        identity = (loc is None or not bool((loc != 0).any())) and (
            scale is None or not bool((scale != 1).any())
        )
        loc = torch.zeros((), device=device) if loc is None else loc.to(device)
        scale = torch.ones((), device=device) if scale is None else scale.to(device)
        lr = self.lr if self.lr is not None else 0.01 * math.sqrt(space.dim)
        x = space.project(x0.detach().float()).clone().requires_grad_(True)  # never x0 itself
        opt = z = None
        if self.method == "adam":
            z = x if identity else ((x.detach() - loc) / scale).requires_grad_(True)
            opt = torch.optim.Adam([z], lr=lr, maximize=True)
        step_x = lr * scale * scale  # per-entry step on x (broadcasts)
        ckpt = Checkpoints(self.steps, self.checkpoint_every)

        it = range(1, self.steps + 1)
        if progress:
            from tqdm.auto import tqdm

            it = tqdm(it, desc="gradient ascent", leave=False)
        value = objective(x)
        ckpt.record(0, x, value)
        ones = torch.ones_like(value)
        for step in it:
            (grad,) = torch.autograd.grad(value, x, grad_outputs=ones)
            with torch.no_grad():
                if opt is None:
                    if identity:
                        x.add_(grad, alpha=lr)
                    else:
                        x.addcmul_(grad, step_x)
                    x.copy_(space.project(x))
                else:
                    z.grad = grad if identity else grad * scale
                    opt.step()
                    z.grad = None
                    if identity:
                        x.copy_(space.project(x))
                    else:
                        x.copy_(space.project(loc + scale * z))
                        z.copy_((x - loc) / scale)
            value = objective(x)
            if ckpt.due(step):
                ckpt.record(step, x, value)
        return ckpt.trajectory()


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
