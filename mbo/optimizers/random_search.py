"""Random search: the top ``K`` under the objective of designs sampled uniformly in the space."""

from __future__ import annotations

import math

import torch

from ._base import Checkpoints, Optimizer, Problem, Trajectory, check_int, merge_top_k

#: gradient ascent's default step count: one batch of ``K`` samples stands for one step.
DEFAULT_STEPS = 200


class RandomSearch(Optimizer):
    """Sample designs uniformly in the space and keep the best ``K`` seen, starts included.

    Samples come from ``space.sample`` (uniform in a box; uniform tokens, encoded as
    ``+-logit_bound / 2`` logits, in a categorical space), drawn from torch's global RNG in
    batches, each scored by one objective call. After each batch the current ``K`` designs
    and the batch are merged into the top ``K`` under the objective (slot-stably: a design
    that stays keeps its ``design_id``, newcomers take the slots of those they push out).
    Step ``s`` is the ``s``-th batch.

    Args:
        n_samples: designs sampled in all; ``None`` for ``200 * K``, the evaluations of 200
            gradient-ascent steps.
        batch_size: designs per objective call; ``None`` for ``K`` (one batch per "step",
            as gradient ascent evaluates ``K`` designs per step).
        checkpoint_every: record the top ``K`` every this many batches (the last is kept).
    """

    def __init__(
        self,
        n_samples: int | None = None,
        batch_size: int | None = None,
        checkpoint_every: int = 10,
    ) -> None:
        self.n_samples = None if n_samples is None else check_int("n_samples", n_samples, 0)
        self.batch_size = None if batch_size is None else check_int("batch_size", batch_size, 1)
        self.checkpoint_every = check_int("checkpoint_every", checkpoint_every, 1)

    def optimize(self, p: Problem) -> Trajectory:
        """Search from the starts (the standardization is unused)."""
        space, objective, k, device = p.space, p.objective, p.k, p.device
        if not hasattr(space, "sample"):
            raise ValueError(f"random search needs a space with sample(); {space!r} has none")
        n_samples = DEFAULT_STEPS * k if self.n_samples is None else self.n_samples
        batch_size = k if self.batch_size is None else self.batch_size
        n_batches = math.ceil(n_samples / batch_size)

        with torch.no_grad():
            x = p.x0
            value = objective(x).float()
            ckpt = Checkpoints(n_batches, self.checkpoint_every)
            ckpt.record(0, x, value)
            for step in p.steps(n_batches, "random search"):
                n = min(batch_size, n_samples - (step - 1) * batch_size)
                new = space.project(space.sample(n).to(device))
                x, value = merge_top_k(x, value, new, objective(new).float())
                if ckpt.due(step):
                    ckpt.record(step, x, value)
        return ckpt.trajectory()
