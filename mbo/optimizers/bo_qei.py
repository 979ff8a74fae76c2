"""BO-qEI (Design-Bench's baseline): Bayesian optimization of the surrogate objective."""

from __future__ import annotations

import copy
import warnings

import torch
from botorch.acquisition.logei import qLogExpectedImprovement
from botorch.exceptions.errors import ModelFittingError
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.transforms import Normalize, Standardize
from botorch.optim import optimize_acqf
from gpytorch.mlls import ExactMarginalLogLikelihood
from torch import Tensor

from ._base import Checkpoints, Optimizer, Problem, Trajectory, box_bounds, check_int, merge_top_k


class BOqEI(Optimizer):
    """Batch Bayesian optimization with q-(log-)expected improvement, run on the objective.

    As in Design-Bench's BO-qEI, the black box is the *surrogate* objective (the oracle stays
    sealed). A BoTorch ``SingleTaskGP`` (inputs normalized to the box, outcomes
    standardized; float64) is fitted to every design evaluated so far, in standardized
    coordinates ``z = (x - loc) / scale``: at first the ``K`` starts (and ``n_init`` uniform
    samples of the space). Each iteration ``qLogExpectedImprovement`` (incumbent: the best
    value seen) is maximized by ``botorch.optim.optimize_acqf`` over the space's box, the
    ``q`` proposals are projected, scored by one objective call and added, and the GP is
    refitted (warm-started from the last fit's hyperparameters). The answer is the top
    ``K`` of everything evaluated under the objective, merged slot-stably (a start that
    stays in the top ``K`` keeps its ``design_id``); step ``s`` is the ``s``-th iteration.

    Cost: GP fits are cubic in the training set (capped by ``max_train``) and the
    acquisition optimization works on ``q * d`` variables. Measured with ``K = 128`` on one
    busy CPU core: about 3.5 s per iteration on a 16-D box (the defaults: under 30 s), about
    100 s per iteration on 60x94 molecule logits (``d = 5640``, an ARD lengthscale per
    logit). There, lower ``q``/``raw_samples``/``maxiter`` or use a GPU.

    Args:
        iterations: BO iterations (>= 0).
        q: proposals per iteration (one objective call each iteration).
        num_restarts: restarts of the acquisition optimizer.
        raw_samples: random points scored to choose the restarts' starting points.
        n_init: uniform samples of the space (``space.sample``) added to the starts before
            the first fit.
        max_train: at most this many training points per fit, the best under the objective.
        maxiter: L-BFGS-B iterations per acquisition optimization (BoTorch's default is 200).
        fit_maxiter: L-BFGS-B iterations per GP fit; each fit after the first starts from the
            previous fit's hyperparameters.
        checkpoint_every: record the top ``K`` every this many iterations (the last is kept).
    """

    def __init__(
        self,
        iterations: int = 8,
        q: int = 16,
        num_restarts: int = 4,
        raw_samples: int = 128,
        n_init: int = 0,
        max_train: int = 256,
        maxiter: int = 100,
        fit_maxiter: int = 100,
        checkpoint_every: int = 1,
    ) -> None:
        for name, value, low in (
            ("iterations", iterations, 0),
            ("q", q, 1),
            ("num_restarts", num_restarts, 1),
            ("raw_samples", raw_samples, 1),
            ("n_init", n_init, 0),
            ("max_train", max_train, 2),
            ("maxiter", maxiter, 1),
            ("fit_maxiter", fit_maxiter, 1),
            ("checkpoint_every", checkpoint_every, 1),
        ):
            check_int(name, value, low)
        if raw_samples < num_restarts:
            raise ValueError(
                f"raw_samples ({raw_samples}) must be at least num_restarts ({num_restarts})"
            )
        self.iterations, self.q = int(iterations), int(q)
        self.num_restarts, self.raw_samples = int(num_restarts), int(raw_samples)
        self.n_init, self.max_train, self.maxiter = int(n_init), int(max_train), int(maxiter)
        self.fit_maxiter, self.checkpoint_every = int(fit_maxiter), int(checkpoint_every)

    def optimize(self, p: Problem) -> Trajectory:
        """Run BO from the starts."""
        space, objective, loc, scale = p.space, p.objective, p.loc, p.scale
        box = box_bounds(space)
        if box is None:
            raise ValueError(f"BO-qEI needs a space with a box (bounds); {space!r} has none")
        if self.n_init and not hasattr(space, "sample"):
            raise ValueError(f"n_init > 0 needs a space with sample(); {space!r} has none")
        shape, device = p.shape, p.device
        lo, hi = ((b.to(device) - loc) / scale for b in box)
        bounds = torch.stack([lo.flatten(), hi.flatten()]).double()  # (2, d)

        def to_z(x: Tensor) -> Tensor:
            return ((x - loc) / scale).flatten(1).double()

        with torch.no_grad():
            x = p.x0
            value = objective(x).float()
        ckpt = Checkpoints(self.iterations, self.checkpoint_every)
        ckpt.record(0, x, value)
        hyper: dict[str, dict] | None = None  # the last fit's GP hyperparameters
        train_z, train_y = to_z(x), value.double()
        if self.n_init:
            new = space.project(space.sample(self.n_init).to(device))
            with torch.no_grad():
                new_v = objective(new).float()
            x, value = merge_top_k(x, value, new, new_v)
            train_z = torch.cat([train_z, to_z(new)])
            train_y = torch.cat([train_y, new_v.double()])

        for step in p.steps(self.iterations, "BO-qEI"):
            z, hyper = self._propose(train_z, train_y, bounds, hyper)
            new = space.project(loc + scale * z.float().view(-1, *shape))
            with torch.no_grad():
                new_v = objective(new).float()
            x, value = merge_top_k(x, value, new, new_v)
            train_z = torch.cat([train_z, to_z(new)])
            train_y = torch.cat([train_y, new_v.double()])
            if ckpt.due(step):
                ckpt.record(step, x, value)
        return ckpt.trajectory()

    def _propose(
        self, train_z: Tensor, train_y: Tensor, bounds: Tensor, hyper: dict[str, dict] | None
    ) -> tuple[Tensor, dict[str, dict]]:
        """Fit the GP to the best ``max_train`` of ``train_z (N, d)``, ``train_y (N,)``
        (starting from hyperparameters ``hyper`` if given) and maximize qLogEI over
        ``bounds (2, d)``: the proposals ``(q, d)`` and the fitted hyperparameters."""
        # the GP works in float64: never under a caller's reduced-precision autocast
        with torch.autocast(device_type=train_z.device.type, enabled=False):
            return self._fit_and_maximize(train_z, train_y, bounds, hyper)

    def _fit_and_maximize(
        self, train_z: Tensor, train_y: Tensor, bounds: Tensor, hyper: dict[str, dict] | None
    ) -> tuple[Tensor, dict[str, dict]]:
        ok = torch.isfinite(train_y)
        train_z, train_y = train_z[ok], train_y[ok]
        if len(train_y) > self.max_train:
            keep = torch.topk(train_y, self.max_train).indices
            train_z, train_y = train_z[keep], train_y[keep]
        d = train_z.shape[1]
        gp = SingleTaskGP(
            train_z,
            train_y.unsqueeze(-1),
            input_transform=Normalize(d, bounds=bounds),
            outcome_transform=Standardize(1),
        )
        if hyper is not None:  # warm start from the previous fit
            for name, state in hyper.items():
                getattr(gp, name).load_state_dict(state)
        try:
            fit_gpytorch_mll(
                ExactMarginalLogLikelihood(gp.likelihood, gp),
                optimizer_kwargs={"options": {"maxiter": self.fit_maxiter}},
            )
        except ModelFittingError as err:  # keep the prior hyperparameters, but say so
            warnings.warn(
                f"BO-qEI: GP fit failed ({err}); using its initial hyperparameters", stacklevel=3
            )
        hyper = {
            name: copy.deepcopy(getattr(gp, name).state_dict())
            for name in ("mean_module", "covar_module", "likelihood")
        }
        gp.eval()
        acqf = qLogExpectedImprovement(gp, best_f=train_y.max())
        cand, _ = optimize_acqf(
            acqf,
            bounds=bounds,
            q=self.q,
            num_restarts=self.num_restarts,
            raw_samples=self.raw_samples,
            options={"maxiter": self.maxiter},
        )
        return cand.detach(), hyper

    @property
    def n_evaluations(self) -> int:
        """Objective evaluations beyond the ``K`` starts: ``n_init + iterations * q``."""
        return self.n_init + self.iterations * self.q
