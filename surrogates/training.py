"""Training objectives for network surrogates: MSE and its robust variants.

Each objective computes the loss of a minibatch from two callables of the network being
fit, on standardized inputs ``x`` ``(M, B, d)`` and labels ``y`` ``(M, B)`` (``M`` stacked
members, each with its own batch):

- ``pred(x) -> (M, B)``: the prediction (mean);
- ``point_loss(x, y) -> (M, B)``: the per-sample data loss (squared error, or Gaussian
  NLL for networks with a variance head).

Losses are summed over members (each member's gradient is its own) and averaged over the
batch. Perturbation sizes ``eps`` are relative to each input dimension's range in the
training data (``setup`` measures it), so one setting means the same on every domain.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

Pred = Callable[[Tensor], Tensor]
PointLoss = Callable[[Tensor, Tensor], Tensor]


def _grad(out: Tensor, x: Tensor, create_graph: bool = False) -> Tensor:
    (g,) = torch.autograd.grad(out, x, create_graph=create_graph)
    return g


class TrainingObjective:
    """Plain data loss (MSE, or NLL with a variance head). Base class of the variants."""

    name = "mse"

    def setup(self, x: Tensor, n_members: int) -> None:
        """Called once by ``fit`` with the standardized training inputs ``(n, d)``."""
        self.range_ = (x.max(0).values - x.min(0).values).clamp_min(1e-6)

    def loss(self, pred: Pred, point_loss: PointLoss, x: Tensor, y: Tensor) -> Tensor:
        return point_loss(x, y).mean(1).sum()

    def after_step(self) -> None:
        """Hook after each optimizer step (e.g. a dual update)."""

    def state(self) -> dict[str, float]:
        """Diagnostics recorded in the fit history."""
        return {}

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if not k.endswith("_")}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class FGSM(TrainingObjective):
    """Goodfellow et al. (2015) adversarial training adapted to regression.

    ``alpha * J(x) + (1 - alpha) * J(x + eps * sign(grad_x J))`` with ``J`` the data loss,
    so the attack follows the sign of the residual (it makes the fit worse in either
    direction). Goodfellow's mix ``alpha = 0.5``; ``eps`` is a share of each dimension's range
    (their 0.25 of the [0, 1] pixel range is too coarse for designs; default 0.05).
    """

    name = "fgsm"

    def __init__(self, eps: float = 0.05, alpha: float = 0.5) -> None:
        self.eps, self.alpha = eps, alpha

    def attack(self, point_loss: PointLoss, x: Tensor, y: Tensor) -> Tensor:
        x0 = x.detach().requires_grad_(True)
        g = _grad(point_loss(x0, y).sum(), x0)
        return (x + self.eps * self.range_ * g.sign()).detach()

    def loss(self, pred: Pred, point_loss: PointLoss, x: Tensor, y: Tensor) -> Tensor:
        x_adv = self.attack(point_loss, x, y)
        clean = point_loss(x, y).mean(1).sum()
        adv = point_loss(x_adv, y).mean(1).sum()
        self.last_adv_ = float(adv.detach())
        return self.alpha * clean + (1 - self.alpha) * adv

    def state(self) -> dict[str, float]:
        return {"adv_loss": getattr(self, "last_adv_", math.nan)}


class PGD(FGSM):
    """Madry et al. (2018) projected gradient descent attack, for regression.

    Random start in the ``eps`` box, ``steps`` signed steps of ``step_size`` (Madry's
    ``2.5 * eps / steps`` by default), projected back into the box; trained on the mix
    ``alpha * J(x) + (1 - alpha) * J(x_adv)`` (Madry: ``alpha = 0``).
    """

    name = "pgd"

    def __init__(
        self, eps: float = 0.05, steps: int = 5, step_size: float | None = None, alpha: float = 0.5
    ) -> None:
        super().__init__(eps, alpha)
        self.steps, self.step_size = steps, step_size

    def attack(self, point_loss: PointLoss, x: Tensor, y: Tensor) -> Tensor:
        box = self.eps * self.range_
        step = (self.step_size or 2.5 * self.eps / self.steps) * self.range_
        x = x.detach()
        x_adv = x + (torch.rand_like(x) * 2 - 1) * box
        for _ in range(self.steps):
            x_adv.requires_grad_(True)
            g = _grad(point_loss(x_adv, y).sum(), x_adv)
            x_adv = torch.minimum(torch.maximum(x_adv.detach() + step * g.sign(), x - box), x + box)
        return x_adv.detach()


class MBOAdversarial(PGD):
    """The MBO-aware attack: perturb where the *prediction rises* (the optimizer's direction)
    and train the prediction there toward the clean label.

    ``x_adv`` climbs ``pred`` by ``steps`` signed steps inside the ``eps`` box (no random
    start); loss ``alpha * J(x, y) + (1 - alpha) * J(x_adv, y)``.
    """

    name = "mbo_adv"

    def __init__(
        self, eps: float = 0.05, steps: int = 1, step_size: float | None = None, alpha: float = 0.5
    ) -> None:
        super().__init__(eps, steps, step_size, alpha)
        self._pred: Pred | None = None

    def loss(self, pred: Pred, point_loss: PointLoss, x: Tensor, y: Tensor) -> Tensor:
        self._pred = pred
        return super().loss(pred, point_loss, x, y)

    def attack(self, point_loss: PointLoss, x: Tensor, y: Tensor) -> Tensor:
        assert self._pred is not None
        box = self.eps * self.range_
        step = (self.step_size or self.eps / self.steps) * self.range_
        x = x.detach()
        x_adv = x.clone()
        for _ in range(self.steps):
            x_adv.requires_grad_(True)
            g = _grad(self._pred(x_adv).sum(), x_adv)
            x_adv = torch.minimum(torch.maximum(x_adv.detach() + step * g.sign(), x - box), x + box)
        return x_adv.detach()

    def get_params(self) -> dict[str, Any]:
        return {k: v for k, v in super().get_params().items() if k != "_pred"}


class VAT(TrainingObjective):
    """Virtual adversarial training (Miyato et al. 2019) for a scalar output.

    Divergence ``D(x, x + r) = (f(x + r) - f(x))^2`` with ``f(x)`` held fixed; the direction
    comes from ``n_power`` power iterations started at a random unit vector scaled by ``xi``
    (``xi = 1e-2`` in standardized units: the 1e-6 of the paper vanishes in float32 for a
    scalar output); ``r_adv`` has length ``eps`` times the L2 norm of the per-dimension
    ranges. Loss ``J(x) + weight * D(x, x + r_adv)``. For a scalar output the direction is
    the input gradient, so the term is ``weight * eps_l2^2 * ||grad_x f||^2`` to first order:
    an input-gradient penalty (``tests/test_robust.py`` checks this).
    """

    name = "vat"

    def __init__(
        self, eps: float = 0.05, xi: float = 1e-2, n_power: int = 1, weight: float = 1.0
    ) -> None:
        self.eps, self.xi, self.n_power, self.weight = eps, xi, n_power, weight

    def direction(self, pred: Pred, x: Tensor) -> Tensor:
        with torch.no_grad():
            f0 = pred(x)
        d = torch.nn.functional.normalize(torch.randn_like(x), dim=-1)
        for _ in range(self.n_power):
            r = (self.xi * d).requires_grad_(True)
            g = _grad(((pred(x.detach() + r) - f0) ** 2).sum(), r)
            d = torch.nn.functional.normalize(g, dim=-1)
        return d.detach()

    def vat_term(self, pred: Pred, x: Tensor) -> Tensor:
        r_adv = self.eps * float(self.range_.norm()) * self.direction(pred, x)
        return ((pred(x + r_adv) - pred(x).detach()) ** 2).mean(1).sum()

    def loss(self, pred: Pred, point_loss: PointLoss, x: Tensor, y: Tensor) -> Tensor:
        term = self.vat_term(pred, x)
        self.last_vat_ = float(term.detach())
        return point_loss(x, y).mean(1).sum() + self.weight * term

    def state(self) -> dict[str, float]:
        return {"vat": getattr(self, "last_vat_", math.nan)}


class GradientPenalty(TrainingObjective):
    """Input-gradient-norm penalty (Lipschitz control): ``J(x) + weight * ||grad_x f(x)||^2``."""

    name = "grad_penalty"

    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    def loss(self, pred: Pred, point_loss: PointLoss, x: Tensor, y: Tensor) -> Tensor:
        x = x.detach().requires_grad_(True)
        g = _grad(pred(x).sum(), x, create_graph=True)
        pen = g.pow(2).sum(-1).mean(1).sum()
        self.last_penalty_ = float(pen.detach())
        return point_loss(x, y).mean(1).sum() + self.weight * pen

    def state(self) -> dict[str, float]:
        return {"grad_penalty": getattr(self, "last_penalty_", math.nan)}


class COMs(TrainingObjective):
    """Conservative objective models (Trabucco et al. 2021), as design-baselines'
    ``coms_cleaned`` runs them (its README command and every ``scripts/coms-*.sh``).

    On standardized inputs and labels: negatives ``x_neg`` are ``steps`` (50) gradient-ascent
    steps on the model's prediction from each batch design, step ``particle_lr * sqrt(d)``
    (0.05 sqrt(d), as for every continuous task there; no entropy bonus, no input noise);
    they carry no gradient to the model. Loss ``J(x) + alpha * (f(x_neg) - f(x))``, batch
    means. ``alpha = exp(log alpha)`` (one per member, starting at ``alpha``: 0.1, the value
    of every script; 1.0 is only the command line's unused default) follows the Lagrangian
    dual rule: Adam (``alpha_lr`` 0.01) on ``log alpha`` with loss ``alpha *
    (overestimation_limit - (f(x_neg) - f(x)))``, so alpha grows while the model overestimates
    its negatives by more than the limit ``tau`` (0.5 standardized label units, the README's
    value; the scripts sweep 0.4-1.0 on continuous tasks and use 2.0 with particle_lr 2.0 on
    the raw logits of discrete ones, a setting that has no counterpart here because the
    surrogate sees relaxed one-hot features, not logits). ``state`` records the mean alpha and
    the last batch's overestimation ``f(x_neg) - f(x)``.
    """

    name = "coms"

    def __init__(
        self,
        alpha: float = 0.1,
        alpha_lr: float = 0.01,
        overestimation_limit: float = 0.5,
        particle_lr: float = 0.05,
        steps: int = 50,
    ) -> None:
        if not alpha > 0 or not math.isfinite(alpha):
            raise ValueError(f"coms: alpha must be a finite number > 0, got {alpha!r}")
        self.alpha, self.alpha_lr, self.overestimation_limit = alpha, alpha_lr, overestimation_limit
        self.particle_lr, self.steps = particle_lr, steps

    def setup(self, x: Tensor, n_members: int) -> None:
        super().setup(x, n_members)
        self.log_alpha_ = torch.full(
            (n_members,), math.log(self.alpha), device=x.device, requires_grad=True
        )
        self.alpha_opt_ = torch.optim.Adam([self.log_alpha_], lr=self.alpha_lr)
        self.lr_ = self.particle_lr * math.sqrt(x.shape[1])
        self.alpha_history_: list[float] = []

    def negatives(self, pred: Pred, x: Tensor) -> Tensor:
        x_neg = x.detach()
        for _ in range(self.steps):
            x_neg.requires_grad_(True)
            x_neg = (x_neg + self.lr_ * _grad(pred(x_neg).sum(), x_neg)).detach()
        return x_neg

    def loss(self, pred: Pred, point_loss: PointLoss, x: Tensor, y: Tensor) -> Tensor:
        x_neg = self.negatives(pred, x)
        over = (pred(x_neg) - pred(x)).mean(1)  # (M,)
        alpha = self.log_alpha_.exp()
        alpha_loss = (alpha * (self.overestimation_limit - over.detach())).sum()
        self.alpha_opt_.zero_grad(set_to_none=True)
        alpha_loss.backward()
        self.last_over_ = float(over.detach().mean())
        return point_loss(x, y).mean(1).sum() + (alpha.detach() * over).sum()

    def after_step(self) -> None:
        self.alpha_opt_.step()

    def state(self) -> dict[str, float]:
        a = float(self.log_alpha_.detach().exp().mean())
        return {"alpha": a, "overestimation": getattr(self, "last_over_", math.nan)}


OBJECTIVES: dict[str, type[TrainingObjective]] = {
    cls.name: cls
    for cls in (TrainingObjective, FGSM, PGD, MBOAdversarial, VAT, GradientPenalty, COMs)
}


def make_objective(name: str | TrainingObjective, **options: Any) -> TrainingObjective:
    """An objective by name (``mse``, ``fgsm``, ``pgd``, ``mbo_adv``, ``vat``,
    ``grad_penalty``, ``coms``) with its options, or an instance as is."""
    if isinstance(name, TrainingObjective):
        return name
    if name not in OBJECTIVES:
        raise ValueError(f"unknown training objective {name!r}; choose from {sorted(OBJECTIVES)}")
    try:
        return OBJECTIVES[name](**options)
    except TypeError as err:
        raise ValueError(f"bad options for training objective {name!r}: {err}") from err
