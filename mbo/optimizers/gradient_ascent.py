"""Batched gradient ascent on design tensors."""

from __future__ import annotations

import math

import torch

from ._base import Checkpoints, Optimizer, Problem, Trajectory, check_int

__all__ = ["GradientAscent"]


class GradientAscent(Optimizer):
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

    def optimize(self, p: Problem) -> Trajectory:
        """Climb from ``p.x0``.

        The designs ``x = loc + scale * z`` themselves are the autograd leaf: a plain step
        ``z += lr * grad_z f`` is ``x += lr * scale**2 * grad_x f`` (``grad_z = scale *
        grad_x``), so no step maps between ``x`` and ``z`` and back around the projection.
        Adam keeps its state on ``z``; with the identity ``loc = 0, scale = 1`` (e.g.
        logits) ``z`` is ``x`` itself.
        """
        space, scale, identity = p.space, p.scale, p.identity
        lr = self.lr if self.lr is not None else 0.01 * math.sqrt(space.dim)
        x = p.x0.requires_grad_(True)
        opt = z = None
        if self.method == "adam":
            z = x if identity else p.to_z(x.detach()).requires_grad_(True)
            opt = torch.optim.Adam([z], lr=lr, maximize=True)
        step_x = lr * scale * scale  # per-entry step on x
        ckpt = Checkpoints(self.steps, self.checkpoint_every)

        value = p.objective(x)
        ckpt.record(0, x, value)
        ones = torch.ones_like(value)
        for step in p.steps(self.steps, "gradient ascent"):
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
                        x.copy_(space.project(p.from_z(z)))
                        z.copy_(p.to_z(x))
            value = p.objective(x)
            if ckpt.due(step):
                ckpt.record(step, x, value)
        return ckpt.trajectory()
