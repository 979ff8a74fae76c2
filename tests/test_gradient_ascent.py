import math

import pytest
import torch

from domains import BoxSpace
from mbo import GradientAscent


def quad(x):  # maximum at (1, -2), separable
    return -((x[:, 0] - 1.0) ** 2) - (x[:, 1] + 2.0) ** 2


SPACE = BoxSpace(torch.tensor([-5.0, -5.0]), torch.tensor([5.0, 5.0]))


def test_plain_steps_follow_the_rule_lr_001_sqrt_d():
    x0 = torch.zeros(1, 2)
    traj = GradientAscent(steps=1).run(quad, x0, SPACE)
    grad = torch.tensor([[2.0, -4.0]])  # d quad / dx at 0
    assert torch.allclose(traj.final, 0.01 * math.sqrt(2) * grad)


def test_standardized_coordinates_scale_steps_by_scale_squared():
    x0 = torch.zeros(1, 2)
    scale = torch.tensor([2.0, 0.5])
    traj = GradientAscent(steps=1, lr=0.1).run(quad, x0, SPACE, loc=torch.zeros(2), scale=scale)
    assert torch.allclose(traj.final, 0.1 * scale**2 * torch.tensor([[2.0, -4.0]]))


@pytest.mark.parametrize("method, lr", [("gd", 0.2), ("adam", 0.05)])
def test_both_methods_reach_the_maximum(method, lr):
    x0 = torch.randn(64, 2) * 2
    traj = GradientAscent(steps=400, lr=lr, method=method).run(quad, x0, SPACE)
    assert torch.allclose(traj.final, torch.tensor([1.0, -2.0]).expand(64, 2), atol=0.05)


def test_projection_keeps_designs_in_the_box():
    def up(x):
        return x.sum(1) * 100

    traj = GradientAscent(steps=5, lr=1.0).run(up, torch.zeros(3, 2), SPACE)
    assert torch.equal(traj.final, torch.full((3, 2), 5.0))
    assert (traj.x <= 5.0).all()


def test_batched_equals_one_design_at_a_time():
    x0 = torch.randn(8, 2)
    batched = GradientAscent(steps=30, lr=0.1).run(quad, x0, SPACE).final
    single = torch.cat(
        [GradientAscent(steps=30, lr=0.1).run(quad, x0[i : i + 1], SPACE).final for i in range(8)]
    )
    assert torch.allclose(batched, single, atol=1e-6)


def test_checkpoints_and_objective_record():
    traj = GradientAscent(steps=25, checkpoint_every=10).run(quad, torch.zeros(4, 2), SPACE)
    assert traj.steps == [0, 10, 20, 25]
    assert traj.x.shape == (4, 4, 2) and traj.objective.shape == (4, 4)
    assert (traj.objective[-1] > traj.objective[0]).all()
    assert torch.equal(traj.start, torch.zeros(4, 2))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"steps": -1}, "non-negative"),
        ({"lr": 0.0}, "positive"),
        ({"method": "sgd2"}, "method"),
        ({"checkpoint_every": 0}, "checkpoint_every"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GradientAscent(**kwargs)


def test_wrong_design_shape_is_an_error():
    with pytest.raises(ValueError, match="expected design tensors"):
        GradientAscent(steps=1).run(quad, torch.zeros(3, 5), SPACE)
