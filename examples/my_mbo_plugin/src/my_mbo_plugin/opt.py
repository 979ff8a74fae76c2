"""An optimizer of the example plug-in: sign-gradient ascent."""

from __future__ import annotations

import torch

from mbo.optimizers import Checkpoints, Optimizer, Problem, Trajectory


class SignAscent(Optimizer):
    """``z <- z + lr * sign(grad_z f)`` on standardized designs, projected after each step.

    Every design moves ``lr`` (in offline standard deviations) along every coordinate per
    step, whatever the gradient's size: steepest ascent under the max-norm, as in FGSM.
    ``scale > 0``, so ``sign(grad_z f) = sign(grad_x f)``.

    Args:
        steps: number of steps (>= 0).
        lr: step per coordinate, in standardized units.
        checkpoint_every: record designs every this many steps (the last step is always kept).
    """

    def __init__(self, steps: int = 50, lr: float = 0.05, checkpoint_every: int = 5) -> None:
        if int(steps) != steps or steps < 0 or int(checkpoint_every) != checkpoint_every:
            raise ValueError("steps and checkpoint_every must be integers (steps >= 0)")
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr}")
        self.steps, self.lr, self.checkpoint_every = int(steps), float(lr), int(checkpoint_every)

    def optimize(self, p: Problem) -> Trajectory:
        ckpt = Checkpoints(self.steps, self.checkpoint_every)
        x = p.x0.requires_grad_(True)
        value = p.objective(x)
        ckpt.record(0, x, value)
        for step in p.steps(self.steps, "sign ascent"):
            (grad,) = torch.autograd.grad(value.sum(), x)
            with torch.no_grad():
                x.copy_(p.space.project(p.from_z(p.to_z(x) + self.lr * grad.sign())))
            value = p.objective(x)
            if ckpt.due(step):
                ckpt.record(step, x, value)
        return ckpt.trajectory()
