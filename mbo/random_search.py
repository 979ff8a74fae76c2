"""Random search: the top ``K`` under the objective of designs sampled uniformly in the space."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from domains import Space

from .optimizer import Checkpoints, Trajectory, check_int, merge_top_k

#: gradient ascent's default step count: one batch of ``K`` samples stands for one step.
DEFAULT_STEPS = 200


class RandomSearch:
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

    def run(
        self,
        objective: Callable[[Tensor], Tensor],
        x0: Tensor,
        space: Space,
        loc: Tensor | None = None,
        scale: Tensor | None = None,
        progress: bool = False,
    ) -> Trajectory:
        """Search from the starts ``x0`` ``(K, *shape)`` (``loc``/``scale`` are unused)."""
        space.check(x0)
        if not hasattr(space, "sample"):
            raise ValueError(f"random search needs a space with sample(); {space!r} has none")
        k, device = x0.shape[0], x0.device
        n_samples = DEFAULT_STEPS * k if self.n_samples is None else self.n_samples
        batch_size = k if self.batch_size is None else self.batch_size
        n_batches = math.ceil(n_samples / batch_size)

        with torch.no_grad():
            x = space.project(x0.detach().float())
            value = objective(x).float()
            ckpt = Checkpoints(n_batches, self.checkpoint_every)
            ckpt.record(0, x, value)
            it = range(1, n_batches + 1)
            if progress:
                from tqdm.auto import tqdm

                it = tqdm(it, desc="random search", leave=False)
            for step in it:
                n = min(batch_size, n_samples - (step - 1) * batch_size)
                new = space.project(space.sample(n).to(device))
                x, value = merge_top_k(x, value, new, objective(new).float())
                if ckpt.due(step):
                    ckpt.record(step, x, value)
        return ckpt.trajectory()
