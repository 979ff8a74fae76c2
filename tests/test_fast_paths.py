"""Fast paths equal the plain paths: GradientAscent's x-space loop against the previous
z-space loop, and the shared first-layer product of stacked networks against the expanded
input (values and input gradients)."""

from __future__ import annotations

import math

import pytest
import torch

from domains import BoxSpace, CategoricalSpace
from mbo import GradientAscent
from mbo.evaluation.objective import SurrogateObjective
from surrogates import MLPSurrogate
from surrogates._nets import StackedNet


def reference_run(ga: GradientAscent, objective, x0, space, loc=None, scale=None):
    """``GradientAscent.run`` as it was before the x-space loop (leaf ``z``, projection
    round trip every step): the plain path the fast one must reproduce."""
    loc = torch.zeros(()) if loc is None else loc
    scale = torch.ones(()) if scale is None else scale
    lr = ga.lr if ga.lr is not None else 0.01 * math.sqrt(space.dim)
    x = space.project(x0.detach().float())
    z = ((x - loc) / scale).requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr, maximize=True) if ga.method == "adam" else None
    xs, objs, steps = [], [], []

    def record(step, value):
        steps.append(step)
        xs.append((x if step == 0 else loc + scale * z).detach().clone())
        objs.append(value.detach().clone())

    value = objective(loc + scale * z)
    record(0, value)
    for step in range(1, ga.steps + 1):
        (grad,) = torch.autograd.grad(value.sum(), z)
        with torch.no_grad():
            if opt is None:
                z += lr * grad
            else:
                z.grad = grad
                opt.step()
            z.copy_((space.project(loc + scale * z) - loc) / scale)
        value = objective(loc + scale * z)
        if step % ga.checkpoint_every == 0 or step == ga.steps:
            record(step, value)
    return steps, torch.stack(xs), torch.stack(objs)


def _mlp(d, n_members=1, **kw):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, d, generator=g) * 4 - 2
    y = torch.sin(x).sum(1)
    return MLPSurrogate(width=32, epochs=3, n_members=n_members, seed=0, **kw).fit(x, y).eval()


BOX = BoxSpace(torch.full((6,), -2.0), torch.full((6,), 2.0))


@pytest.mark.parametrize("method, lr", [("gd", None), ("gd", 0.3), ("adam", 0.05)])
@pytest.mark.parametrize("standardized", [False, True])
def test_gradient_ascent_equals_the_previous_loop_on_a_box(method, lr, standardized):
    surrogate = _mlp(6)
    objective = SurrogateObjective(surrogate, BOX.features, loc=0.3, scale=1.7)
    g = torch.Generator().manual_seed(1)
    x0 = torch.rand(16, 6, generator=g) * 4 - 2
    loc = scale = None
    if standardized:
        loc, scale = torch.linspace(-0.5, 0.5, 6), torch.linspace(0.5, 2.0, 6)
    ga = GradientAscent(steps=25, lr=lr, method=method, checkpoint_every=7)
    traj = ga.run(objective, x0, BOX, loc, scale)
    steps, xs, objs = reference_run(ga, objective, x0, BOX, loc, scale)
    assert traj.steps == steps == [0, 7, 14, 21, 25]
    torch.testing.assert_close(traj.x, xs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(traj.objective, objs, atol=1e-5, rtol=1e-5)
    assert torch.equal(traj.start, BOX.project(x0))
    assert (traj.x >= -2).all() and (traj.x <= 2).all()  # clamped, no round-trip error


@pytest.mark.parametrize("method", ["gd", "adam"])
def test_gradient_ascent_equals_the_previous_loop_on_logits(method):
    space = CategoricalSpace(4, 5, logit_bound=3.0)
    surrogate = _mlp(20, n_members=3)
    objective = SurrogateObjective(surrogate, space.features)
    x0 = torch.randn(8, 4, 5, generator=torch.Generator().manual_seed(2)) * 2
    ga = GradientAscent(steps=12, lr=0.5, method=method, checkpoint_every=4)
    # run_study passes zeros/ones for a space that is not standardized: the identity path
    traj = ga.run(objective, x0, space, torch.zeros(4, 5), torch.ones(4, 5))
    _, xs, objs = reference_run(ga, objective, x0, space, torch.zeros(4, 5), torch.ones(4, 5))
    torch.testing.assert_close(traj.x, xs, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(traj.objective, objs, atol=1e-5, rtol=1e-5)


def test_gradient_ascent_leaves_the_start_designs_alone():
    x0 = torch.zeros(4, 6)
    GradientAscent(steps=3, lr=0.5).run(lambda x: x.sum(1), x0, BOX)
    GradientAscent(steps=3, lr=0.5, method="adam").run(lambda x: x.sum(1), x0, BOX)
    assert torch.equal(x0, torch.zeros(4, 6))


def _compare_shared(net: StackedNet, d: int) -> None:
    x = torch.randn(33, d, generator=torch.Generator().manual_seed(3))
    outs, grads = [], []
    for shared in (False, True):
        net.shared_gemm = shared
        xg = x.clone().requires_grad_(True)
        out = net(xg)
        (g,) = torch.autograd.grad((out * torch.linspace(-1, 1, out.shape[-1])).sum(), xg)
        outs.append(out.detach())
        grads.append(g)
    net.shared_gemm = None
    assert outs[0].shape == outs[1].shape == (net.n_members, 33, outs[0].shape[-1])
    torch.testing.assert_close(outs[1], outs[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(grads[1], grads[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("n_members", [1, 4])
@pytest.mark.parametrize(
    "kwargs",
    [
        {"depth": 2},
        {"depth": 0},
        {"depth": 1, "spectral_norm": True, "lipschitz": 2.0},
        {"depth": 1, "head": "rbf", "n_centers": 8},
        {"depth": 2, "n_out": 2},
    ],
)
def test_shared_first_layer_equals_the_expanded_input(n_members, kwargs):
    torch.manual_seed(0)
    kwargs = dict(kwargs)
    net = StackedNet(n_members, 40, 16, kwargs.pop("depth"), **kwargs).eval()
    net.freeze_spectral_norm()
    _compare_shared(net, 40)


def test_shared_first_layer_is_chosen_for_wide_inputs_of_ensembles():
    wide, narrow, single = (
        StackedNet(3, 64, 16, 2),
        StackedNet(3, 8, 16, 2),
        StackedNet(1, 64, 16, 2),
    )
    x64, x8 = torch.zeros(2, 64), torch.zeros(2, 8)
    assert wide._use_shared(x64, wide.hidden[0])
    assert not narrow._use_shared(x8, narrow.hidden[0])
    assert not single._use_shared(x64, single.hidden[0])
    assert not wide._use_shared(torch.zeros(3, 2, 64), wide.hidden[0])  # per-member inputs


def test_ensemble_surrogate_gradients_agree_on_both_paths():
    surrogate = _mlp(50, n_members=3)
    x = torch.rand(10, 50, generator=torch.Generator().manual_seed(4)).requires_grad_(True)
    res = []
    for shared in (False, True):
        surrogate.net_.shared_gemm = shared
        mean, std = surrogate.predict(x)
        (g,) = torch.autograd.grad((mean - std).sum(), x)
        res.append((mean.detach(), std.detach(), g))
    surrogate.net_.shared_gemm = None
    for a, b in zip(res[0], res[1], strict=True):
        torch.testing.assert_close(b, a, atol=1e-5, rtol=1e-5)
