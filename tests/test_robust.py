"""Robust surrogate variants: each fits, has finite input gradients, and its mechanism is active."""

import math

import pytest
import torch

from mbo.evaluation.objective import SurrogateObjective
from mbo.registry import SURROGATES
from surrogates._nets import StackedLinear
from surrogates.training import VAT, make_objective


def _data(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g) * 4 - 2
    y = torch.sin(2 * x[:, 0]) + 0.5 * x[:, 1] ** 2
    return x, y


def _fit(name, **kw):
    x, y = _data()
    opts = {"width": 64, "epochs": 60, "seed": 0, **kw}
    return SURROGATES.make(name, **opts).fit(x, y), x, y


# (preset, extra options, validation R^2 it must reach on the smooth 2-D function)
VARIANTS = [
    ("mlp", {}, 0.9),
    ("ensemble", {}, 0.9),
    ("ensemble-nll", {}, 0.8),
    ("fgsm", {}, 0.8),
    ("pgd", {}, 0.8),
    ("mbo-adv", {}, 0.8),
    ("vat", {}, 0.8),
    ("grad-penalty", {"loss_options": {"weight": 0.01}}, 0.8),
    ("sn-mlp", {}, 0.8),
    ("rbf", {}, 0.9),
    ("rbf-mlp", {}, 0.8),
    # conservatism pulls predictions down: a looser bound after a short fit
    ("coms", {"epochs": 8, "batch_size": 128, "lr": 3e-3, "loss_options": {"steps": 20}}, 0.2),
]


@pytest.mark.parametrize("name, kw, r2", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_variant_fits_and_has_finite_input_gradients(name, kw, r2):
    m, x, _ = _fit(name, **kw)
    assert m.val_r2_ > r2, f"{name}: validation R^2 {m.val_r2_:.3f} <= {r2}"
    xq = (x[:16] * 1.5).clone().requires_grad_(True)  # also a little off the data
    (g,) = torch.autograd.grad(m(xq).sum(), xq)
    assert torch.isfinite(g).all() and g.abs().sum() > 0


@pytest.mark.parametrize("name", ["fgsm", "pgd", "mbo-adv"])
def test_adversarial_term_is_active_and_changes_the_model(name):
    adv, x, _ = _fit(name, epochs=20)
    plain, _, _ = _fit("mlp", epochs=20)
    assert all(h["adv_loss"] > 0 for h in adv.history_)
    assert not torch.allclose(adv(x), plain(x), atol=1e-3)


def test_fgsm_perturbs_by_eps_of_each_range_along_the_residual_sign():
    obj = make_objective("fgsm", eps=0.1)
    x = torch.tensor([[[0.0, 0.0], [1.0, 2.0]]])  # (M=1, B=2, d=2); ranges 1 and 2
    obj.setup(x[0], 1)
    w = torch.tensor([1.0, -1.0])

    def point_loss(xx, yy):
        return (xx @ w - yy) ** 2

    x_adv = obj.attack(point_loss, x, torch.tensor([[5.0, 5.0]]))
    # residual x.w - y < 0, so the loss grows by moving against w: -sign(w) * eps * range
    assert torch.allclose(x_adv - x, torch.tensor([-0.1, 0.2]).expand(1, 2, 2))


def test_mbo_adversarial_attack_raises_the_prediction():
    obj = make_objective("mbo_adv", eps=0.1)
    x = torch.randn(1, 32, 2)
    obj.setup(x[0], 1)
    w = torch.tensor([2.0, -3.0])

    def pred(xx):
        return xx @ w

    obj._pred = pred
    x_adv = obj.attack(None, x, None)
    assert (pred(x_adv) > pred(x)).all()


def test_vat_equals_an_input_gradient_penalty_for_small_eps():
    m, x, _ = _fit("mlp", epochs=30, activation="tanh")
    xs = ((x[:64] - m.x_mean_) / m.x_std_)[None]
    vat = VAT(eps=1e-3, xi=1e-3, n_power=3)
    vat.setup(xs[0], 1)
    torch.manual_seed(0)
    term = float(vat.vat_term(m._pred, xs).detach())
    xg = xs.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(m._pred(xg).sum(), xg)
    eps_l2 = 1e-3 * float(vat.range_.norm())
    penalty = float((eps_l2**2 * g.pow(2).sum(-1)).mean())
    assert term == pytest.approx(penalty, rel=0.05)


def test_gradient_penalty_flattens_the_model():
    plain, x, _ = _fit("mlp", epochs=40)
    pen, _, _ = _fit("grad-penalty", epochs=40, loss_options={"weight": 1.0})

    def grad_norm(m):
        xq = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(m(xq).sum(), xq)
        return float(g.norm(dim=1).mean())

    assert grad_norm(pen) < 0.7 * grad_norm(plain)
    assert all(h["grad_penalty"] > 0 for h in pen.history_)


@pytest.mark.parametrize("lipschitz", [1.0, 4.0])
def test_spectral_norm_of_every_layer_is_bounded(lipschitz):
    m, x, _ = _fit("sn-mlp", epochs=30, lipschitz=lipschitz)
    layers = [mod for mod in m.net_.modules() if isinstance(mod, StackedLinear)]
    assert len(layers) == 3
    per_layer = lipschitz ** (1 / 3)
    for layer in layers:
        norms = torch.linalg.matrix_norm(layer.effective_weight().detach(), ord=2)
        assert torch.allclose(norms, torch.full_like(norms, per_layer), rtol=1e-4)
    # so the whole network is lipschitz-Lipschitz in standardized units
    xs = (x - m.x_mean_) / m.x_std_
    a, b = xs[:100], xs[100:200]
    ratio = (m._pred(a) - m._pred(b)).abs()[0] / (a - b).norm(dim=1)
    assert ratio.max() <= lipschitz + 1e-4


def test_coms_alpha_moves_and_its_model_is_more_conservative():
    coms, x, _ = _fit("coms", epochs=6, batch_size=64, lr=1e-3, width=32)
    alphas = [h["alpha"] for h in coms.history_]
    assert alphas[0] != alphas[-1] and not math.isclose(alphas[-1], 0.1, rel_tol=1e-3)
    assert all(math.isfinite(h["overestimation"]) for h in coms.history_)
    plain, _, _ = _fit("mlp", epochs=6, batch_size=64, lr=1e-3, width=32)

    def climb(m):  # what the model predicts after gradient ascent from the data
        z = x[:64].clone()
        for _ in range(30):
            z.requires_grad_(True)
            (g,) = torch.autograd.grad(m(z).sum(), z)
            z = (z + 0.05 * g).detach()
        return float((m(z) - m(x[:64])).mean().detach())

    assert climb(coms) < climb(plain)


def test_rbf_centers_start_on_data_and_gradient_is_finite_at_a_center():
    m, x, _ = _fit("rbf", epochs=1, lr=1e-12)
    head = m.net_.head
    xs = (x - m.x_mean_) / m.x_std_
    c = head.centers.detach()[0]
    dist = torch.cdist(c, xs).min(1).values
    assert (dist < 1e-3).all()  # every center is (still, after a negligible step) a data point
    at_center = (c[:1] * m.x_std_ + m.x_mean_).clone().requires_grad_(True)
    (g,) = torch.autograd.grad(m(at_center).sum(), at_center)
    assert torch.isfinite(g).all()


def test_vectorized_ensemble_equals_the_member_loop():
    m, x, _ = _fit("ensemble", epochs=10)
    xs = (x - m.x_mean_) / m.x_std_
    loop = torch.stack([m.net_.member(i)(xs)[:, 0] for i in range(5)]) * m.y_std_ + m.y_mean_
    stacked = m.predict_members(x)
    assert torch.allclose(stacked, loop, atol=1e-5)
    assert stacked.std(0).mean() > 1e-3  # members really differ
    mean, std = m.predict(x)
    assert torch.allclose(mean, loop.mean(0), atol=1e-5) and (std > 0).all()


def test_ensemble_std_grows_away_from_the_data():
    m, x, _ = _fit("ensemble", epochs=60)
    _, near = m.predict(x)
    _, far = m.predict(x * 6)
    assert far.mean() > 3 * near.mean()


def test_nll_heads_add_aleatoric_variance():
    m, x, _ = _fit("ensemble-nll", epochs=30)
    mean, std = m.predict(x)
    members = m.predict_members(x)
    assert (std > members.std(0, unbiased=False) - 1e-6).all()


def test_min_and_lcb_objectives_need_the_right_surrogate():
    ens, x, _ = _fit("ensemble", epochs=5)
    plain, _, _ = _fit("mlp", epochs=5)
    feats = lambda z: z  # noqa: E731
    mn = SurrogateObjective(ens, feats, kind="min")(x[:8])
    mean = SurrogateObjective(ens, feats, kind="mean")(x[:8])
    lcb = SurrogateObjective(ens, feats, kind="lcb", kappa=2.0)(x[:8])
    assert (mn <= mean + 1e-6).all() and (lcb <= mean + 1e-6).all()
    with pytest.raises(ValueError, match="needs a surrogate with a std"):
        SurrogateObjective(plain, feats, kind="lcb")
    with pytest.raises(ValueError, match="needs an ensemble"):
        SurrogateObjective(plain, feats, kind="min")


def test_ensemble_of_adversarially_trained_members_composes():
    m, x, _ = _fit("ensemble", epochs=10, loss="fgsm")
    assert m.predict_members(x).shape == (5, len(x))
    assert all(h["adv_loss"] > 0 for h in m.history_)


def test_unknown_training_objective_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown training objective"):
        _fit("mlp", loss="nope", epochs=1)
    with pytest.raises(ValueError, match="bad options for training objective"):
        _fit("mlp", loss="fgsm", loss_options={"epz": 1}, epochs=1)
