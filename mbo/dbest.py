"""D(best): answer with the top offline designs themselves (no optimization)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from domains import Space

from .optimizer import Checkpoints, Trajectory


class DBest:
    """Return the start designs (the top ``K`` offline designs) unchanged.

    The trajectory has a single checkpoint, step 0, which is both start and answer; its
    objective is recorded. The reference point every optimizer must beat.
    """

    def run(
        self,
        objective: Callable[[Tensor], Tensor],
        x0: Tensor,
        space: Space,
        loc: Tensor | None = None,
        scale: Tensor | None = None,
        progress: bool = False,
    ) -> Trajectory:
        """The starts ``x0`` ``(K, *shape)`` as a one-checkpoint trajectory."""
        space.check(x0)
        x = space.project(x0.detach().float())
        ckpt = Checkpoints(0)
        with torch.no_grad():
            ckpt.record(0, x, objective(x))
        return ckpt.trajectory()
