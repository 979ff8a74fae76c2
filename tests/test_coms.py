"""COMs against its reference (design-baselines ``coms_cleaned``, Trabucco et al. 2021) on a
small car-like box problem: the toy car's 19-D blueprint box with MuJoCo labels (200 cars,
4 s on one track: about 2 s to label)."""

from __future__ import annotations

import math

import pytest
import torch

from mbo.evaluation.objective import SurrogateObjective
from mbo.registry import SURROGATES
from surrogates.training import COMs, make_objective

pytest.importorskip("mujoco")

from domains.car import CarDomain  # noqa: E402

# small and quick, the reference's rules otherwise (50 inner steps of 0.05 sqrt(d))
FAST = {"width": 64, "epochs": 8, "batch_size": 64, "lr": 1e-3, "seed": 0}


@pytest.fixture(scope="module")
def car_data():
    dom = CarDomain(
        n_reference=200, seed=0, workers=0, cache_dir=False, sim_time=4.0, track_seeds=(0,)
    )
    off = dom.offline()
    return off.x.float(), torch.as_tensor(off.y, dtype=torch.float32)


@pytest.fixture(scope="module")
def fits(car_data):
    x, y = car_data
    coms = SURROGATES.make("coms", **FAST).fit(x, y)
    plain = SURROGATES.make("mlp", **FAST).fit(x, y)
    return coms, plain


def test_defaults_are_the_reference_runs():
    """design-baselines' README command and every scripts/coms-*.sh: alpha starts at 0.1
    (the CLI's 1.0 is never used), alpha lr 0.01, tau 0.5, 50 inner steps of 0.05 sqrt(d)."""
    c = make_objective("coms")
    assert c.get_params() == {
        "alpha": 0.1,
        "alpha_lr": 0.01,
        "overestimation_limit": 0.5,
        "particle_lr": 0.05,
        "steps": 50,
    }
    c.setup(torch.randn(100, 19), n_members=1)
    assert c.lr_ == pytest.approx(0.05 * math.sqrt(19))
    assert float(c.log_alpha_.detach().exp()) == pytest.approx(0.1)
    preset = SURROGATES.options("coms")
    assert preset["lr"] == 3e-4 and preset["epochs"] == 50
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        COMs(alpha=0.0)


def test_negatives_are_plain_gradient_ascent_on_standardized_inputs():
    """x_neg = x + steps * lr * grad f for a linear model: the inner loop is exactly the
    reference's (no entropy bonus, no noise), and carries no gradient to the model."""
    w = torch.tensor([1.0, -2.0, 0.5])
    c = COMs(steps=7)
    c.setup(torch.randn(50, 3), n_members=1)
    x = torch.randn(1, 16, 3)
    x_neg = c.negatives(lambda z: (z * w).sum(-1), x)
    torch.testing.assert_close(x_neg, x + 7 * c.lr_ * w)
    assert not x_neg.requires_grad


@pytest.mark.parametrize("scale, direction", [(1.0, 1), (1e-3, -1)])
def test_the_dual_rule_moves_alpha_toward_the_overestimation_limit(scale, direction):
    """alpha grows while the model overestimates its negatives by more than tau (a steep
    linear model), and shrinks while it does not (a nearly flat one)."""
    c = COMs(steps=5)
    x = torch.randn(1, 32, 4)
    c.setup(x[0], n_members=1)
    w = torch.full((4,), scale, requires_grad=True)

    def pred(z):
        return (z * w).sum(-1)

    def point_loss(z, y):
        return (pred(z) - y) ** 2

    for _ in range(20):
        c.loss(pred, point_loss, x, torch.zeros(1, 32))
        c.after_step()
    over = c.state()["overestimation"]
    assert (over > c.overestimation_limit) == (direction > 0)
    alpha = c.state()["alpha"]
    assert (alpha - 0.1) * direction > 0
    # Adam on log alpha with lr 0.01: about 0.01 per step
    assert abs(math.log(alpha / 0.1)) == pytest.approx(0.2, rel=0.1)


def test_alpha_moves_during_training_on_the_car(fits):
    coms, _ = fits
    alphas = [h["alpha"] for h in coms.history_]
    assert len(set(alphas)) == len(alphas)  # it moves every epoch
    assert not math.isclose(alphas[-1], 0.1, rel_tol=0.05)
    overs = [h["overestimation"] for h in coms.history_]
    assert all(math.isfinite(o) and o != 0.0 for o in overs)


def test_the_conservative_term_is_active_and_changes_the_fit(car_data, fits):
    x, y = car_data
    coms, plain = fits
    assert not torch.allclose(coms(x), plain(x), atol=1e-2 * float(y.std()))
    # the same fit with the term switched off (alpha ~ 0, frozen) is plain MSE: same batches,
    # same initialization, so the difference above is the conservative term's
    off = SURROGATES.make(
        "coms", **FAST, loss_options={"alpha": 1e-12, "alpha_lr": 0.0, "steps": 2}
    ).fit(x, y)
    torch.testing.assert_close(off(x), plain(x), atol=1e-3 * float(y.std()), rtol=0)

    def climb(m):  # what the model promises after gradient ascent from the data
        xs = ((x[:64] - m.x_mean_) / m.x_std_).clone()
        lr = 0.05 * math.sqrt(x.shape[1])
        z = xs
        for _ in range(50):
            z.requires_grad_(True)
            (g,) = torch.autograd.grad(m._pred(z).sum(), z)
            z = (z + lr * g).detach()
        return float((m._pred(z) - m._pred(xs)).mean().detach())  # standardized labels

    assert climb(coms) < climb(plain)


def test_min_objective_is_design_bench_grad_min(car_data):
    """Grad. Min ascends the lowest member's prediction (design-baselines'
    gradient_ascent with aggregation 'min'), on standardized labels."""
    x, y = car_data
    ens = SURROGATES.make("ensemble", width=32, epochs=3, seed=0).fit(x, y)
    obj = SurrogateObjective(
        ens, lambda z: z, kind="min", loc=float(y.mean()), scale=float(y.std())
    )
    members = ens.predict_members(x[:16])
    expected = (members.min(0).values - y.mean()) / y.std()
    torch.testing.assert_close(obj(x[:16]), expected)
    assert members.shape[0] == 5
