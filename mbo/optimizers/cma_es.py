"""CMA-ES from every start design (Design-Bench's CMA-ES baseline), batched over designs."""

from __future__ import annotations

import math

import cma
import numpy as np
import torch

from ._base import Checkpoints, Optimizer, Problem, Trajectory, box_bounds, check_int, draw_seed

#: objective evaluations per design that one gradient-ascent run of 200 steps spends.
EVALS_PER_DESIGN = 200


class CMAES(Optimizer):
    """One CMA-ES run per start design, all ``K`` runs evaluated in one batch per generation.

    As in design-baselines, run ``i`` starts at design ``x0[i]`` in the standardized design
    space ``z = (x - loc) / scale`` with step size ``sigma0`` and answers with its best design
    so far. Every generation the ``K`` populations (``popsize`` candidates each) are asked,
    stacked into one ``(K * popsize, *shape)`` batch, projected into the space and scored by
    **one** objective call; each run is told the objective of its projected candidates (the
    space's box is also given to ``cma`` as bounds, so candidates are feasible already and
    projection only guards rounding). A run that meets one of ``cma``'s termination criteria
    stops (its rows leave the batch). ``cma`` is silent, and each run draws its normal
    samples from its own ``numpy`` stream seeded from torch's global RNG, so a seeded study
    is reproducible (and run ``i`` equals a plain ``cma`` run with ``seed=<its seed>``).

    Cost: ``cma`` itself runs in Python, one ``ask``/``tell`` per run and generation: with
    ``K = 128`` about 0.25 s per generation on a 16-D box and 3-5 s on 60x94 molecule logits
    (sep-CMA; ``cma``'s per-coordinate bound handling dominates), on one CPU core.

    Checkpoints hold each run's best-so-far design under the objective (the start counts),
    so the objective never falls along the trajectory; ``Trajectory.objective`` is its value.

    Args:
        generations: generations per run; ``None`` for a budget of about 200 objective
            evaluations per design, gradient ascent's default (``ceil(200 / popsize)``).
        popsize: candidates per run and generation; ``None`` for ``cma``'s default
            ``4 + floor(3 ln d)`` (12 in 16-D, 29 for 60x94 molecule logits).
        sigma0: initial step size in standardized units (the offline data's spread is 1);
            ``None`` for 0.5 on standardized spaces (design-baselines' value) and a tenth
            of the box's mean width otherwise (2.0 on logits clamped to +-10, about the
            size that flips a token's argmax from the +-5 encoding).
        diagonal: ``True`` for separable CMA-ES (diagonal covariance, ``cma``'s
            ``CMA_diagonal``; linear cost in ``d``), ``False`` for full covariance, ``"auto"``
            for diagonal when ``d > 100``.
        checkpoint_every: record designs every this many generations (the last is kept).
    """

    def __init__(
        self,
        generations: int | None = None,
        popsize: int | None = None,
        sigma0: float | None = None,
        diagonal: bool | str = "auto",
        checkpoint_every: int = 1,
    ) -> None:
        self.generations = None if generations is None else check_int("generations", generations, 0)
        self.popsize = None if popsize is None else check_int("popsize", popsize, 2)
        if sigma0 is not None and not (math.isfinite(sigma0) and sigma0 > 0):
            raise ValueError(f"sigma0 must be positive, got {sigma0}")
        if diagonal not in (True, False, "auto"):
            raise ValueError(f"diagonal must be True, False or 'auto', got {diagonal!r}")
        self.sigma0, self.diagonal = sigma0, diagonal
        self.checkpoint_every = check_int("checkpoint_every", checkpoint_every, 1)

    def optimize(self, p: Problem) -> Trajectory:
        """Run CMA-ES from each start design."""
        space, loc, scale, x = p.space, p.loc, p.scale, p.x0
        objective = p.objective
        k, shape, device = p.k, p.shape, p.device
        d = math.prod(shape)
        box = box_bounds(space)
        bounds = [None, None]
        if box is not None:
            lo, hi = ((b.to(device) - loc) / scale for b in box)
            bounds = [lo.flatten().double().cpu().numpy(), hi.flatten().double().cpu().numpy()]
        sigma0 = self.sigma0
        if sigma0 is None:
            sigma0 = 0.5
            if not space.standardize and box is not None:
                sigma0 = 0.1 * float((box[1] - box[0]).mean())
        diagonal = d > 100 if self.diagonal == "auto" else bool(self.diagonal)

        z0 = ((x - loc) / scale).flatten(1).double().cpu().numpy()
        seeds = [draw_seed() for _ in range(k)]
        runs = []
        for i in range(k):
            opts = {
                "seed": np.nan,  # leave numpy's global RNG alone ...
                "randn": np.random.RandomState(seeds[i]).randn,  # ... and sample from our own
                "bounds": bounds,
                "CMA_diagonal": diagonal,
                "verbose": -9,
                "verb_log": 0,
                "verb_disp": 0,
            }
            if self.popsize is not None:
                opts["popsize"] = self.popsize
            runs.append(cma.CMAEvolutionStrategy(z0[i], sigma0, opts))
        popsize = runs[0].popsize
        generations = self.generations
        if generations is None:
            generations = math.ceil(EVALS_PER_DESIGN / popsize)

        with torch.no_grad():
            best_x, best_v = x.clone(), objective(x).float()
        ckpt = Checkpoints(generations, self.checkpoint_every)
        ckpt.record(0, best_x, best_v)
        for gen in p.steps(generations, "CMA-ES"):
            active = [i for i in range(k) if not runs[i].stop()]
            if active:
                asked = [runs[i].ask() for i in active]
                z = torch.as_tensor(np.stack(asked), dtype=torch.float32, device=device)
                cand = space.project(loc + scale * z.view(len(active), popsize, *shape))
                with torch.no_grad():
                    value = objective(cand.view(-1, *shape)).float().view(len(active), popsize)
                v = value.double().cpu().numpy()
                for j, i in enumerate(active):
                    runs[i].tell(asked[j], [-f if math.isfinite(f) else math.inf for f in v[j]])
                # best-so-far of every active run (a non-finite value never wins)
                gen_v, gen_j = torch.where(value.isfinite(), value, -torch.inf).max(1)
                idx = torch.as_tensor(active, device=device)
                better = gen_v > best_v[idx]
                rows = idx[better]
                best_x[rows] = cand[better, gen_j[better]]
                best_v[rows] = gen_v[better]
            if ckpt.due(gen):
                ckpt.record(gen, best_x, best_v)
        return ckpt.trajectory()
