"""D(best): answer with the top offline designs themselves (no optimization)."""

from __future__ import annotations

import torch

from ._base import Checkpoints, Optimizer, Problem, Trajectory


class DBest(Optimizer):
    """Return the start designs (the top ``K`` offline designs) unchanged.

    The trajectory has a single checkpoint, step 0, which is both start and answer; its
    objective is recorded. The reference point every optimizer must beat.
    """

    def optimize(self, p: Problem) -> Trajectory:
        """The starts as a one-checkpoint trajectory."""
        ckpt = Checkpoints(0)
        with torch.no_grad():
            ckpt.record(0, p.x0, p.objective(p.x0))
        return ckpt.trajectory()
