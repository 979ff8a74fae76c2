import numpy as np
import pytest
import torch

from domains import BoxSpace, CategoricalSpace
from mbo.registry import DOMAINS


def test_registry_lists_analytic_functions():
    names = DOMAINS.names()
    for name in ("branin", "hartmann", "ackley", "rosenbrock"):
        assert name in names


@pytest.mark.parametrize(
    "name, dim, optimum_at, optimum",
    [
        ("branin", None, [np.pi, 2.275], -0.397887),
        ("hartmann", 6, [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573], 3.32237),
        ("ackley", 5, [0.0] * 5, 0.0),
        ("rosenbrock", 7, [1.0] * 7, 0.0),
    ],
)
def test_analytic_oracle_is_negated_botorch_function(name, dim, optimum_at, optimum):
    d = DOMAINS.make(name, dim=dim, n_reference=50)
    y = d.oracle(np.array([optimum_at]))
    assert y.dtype == np.float64
    assert y[0] == pytest.approx(optimum, abs=1e-4)
    assert d.optimal_value == pytest.approx(optimum, abs=1e-4)
    # every reference design scores at most the known maximum: the exact upper bound holds
    ref = d.reference_data()
    assert (ref.y <= d.upper_bound(ref.designs) + 1e-9).all()


def test_analytic_rejects_wrong_dimension_and_unknown_names():
    with pytest.raises(ValueError, match="branin is defined for dim in"):
        DOMAINS.make("branin", dim=3)
    with pytest.raises(ValueError, match="hartmann is defined for dim"):
        DOMAINS.make("hartmann", dim=5)
    with pytest.raises(ValueError, match="unknown domain"):
        DOMAINS.make("no-such-domain")
    with pytest.raises(ValueError, match="unknown option"):
        DOMAINS.make("ackley", colour="red")


def test_oracle_clamps_out_of_bound_points_instead_of_raising():
    d = DOMAINS.make("branin", n_reference=20)
    inside = d.oracle(np.array([[10.0, 15.0]]))
    outside = d.oracle(np.array([[50.0, 99.0]]))
    assert outside[0] == pytest.approx(inside[0])


def test_reference_data_is_seeded_and_in_bounds():
    a = DOMAINS.make("ackley", dim=3, n_reference=100, seed=1).reference_data()
    b = DOMAINS.make("ackley", dim=3, n_reference=100, seed=1).reference_data()
    c = DOMAINS.make("ackley", dim=3, n_reference=100, seed=2).reference_data()
    assert np.array_equal(a.y, b.y) and not np.array_equal(a.y, c.y)
    assert torch.all(a.x >= -32.768) and torch.all(a.x <= 32.768)
    assert a.x.shape == (100, 3) and a.x.dtype == torch.float32


@pytest.mark.parametrize("fraction", [0.5, 0.2, 0.9])
def test_offline_split_hides_the_top(fraction):
    d = DOMAINS.make("hartmann", n_reference=400)
    ref, off = d.reference_data(), d.offline(fraction)
    assert len(off) == int(np.floor(fraction * len(ref)))
    hidden = np.setdiff1d(ref.y, off.y)
    assert off.y.max() <= hidden.min()
    assert ref.y.max() in hidden


def test_offline_fraction_is_validated():
    d = DOMAINS.make("branin", n_reference=20)
    with pytest.raises(ValueError, match="offline fraction"):
        d.offline(0.0)
    with pytest.raises(ValueError, match="offline fraction"):
        d.offline(1.5)


def test_normalization_uses_full_reference_min_max():
    d = DOMAINS.make("rosenbrock", dim=3, n_reference=200)
    ref, off = d.reference_data(), d.offline()
    assert d.y_min == ref.y.min() and d.y_max == ref.y.max()
    assert d.normalize(ref.y).min() == pytest.approx(0.0)
    assert d.normalize(ref.y).max() == pytest.approx(1.0)
    y = off.y[:5]
    np.testing.assert_allclose(d.normalize(y), (y - ref.y.min()) / (ref.y.max() - ref.y.min()))
    assert d.normalize(off.y).max() < 1.0  # the visible best is below the hidden best


def test_encode_decode_round_trip_and_shape_errors():
    d = DOMAINS.make("hartmann", n_reference=20)
    pts = d.reference_data().designs[:4]
    x = d.encode(pts)
    np.testing.assert_allclose(d.decode(x), pts, atol=1e-6)
    with pytest.raises(ValueError, match="expected designs of shape"):
        d.encode(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="expected design tensors of shape"):
        d.decode(torch.zeros(3, 2))


def test_box_space_projects_and_rejects_bad_bounds():
    s = BoxSpace(torch.tensor([0.0, -1.0]), torch.tensor([1.0, 1.0]))
    x = s.project(torch.tensor([[2.0, -3.0], [0.5, 0.5]]))
    assert torch.equal(x, torch.tensor([[1.0, -1.0], [0.5, 0.5]]))
    with pytest.raises(ValueError):
        BoxSpace(torch.tensor([1.0]), torch.tensor([0.0]))


def test_categorical_space_relaxed_and_hard_features():
    s = CategoricalSpace(length=3, vocab_size=4)
    logits = torch.randn(5, 3, 4)
    soft, hard = s.features(logits), s.features(logits, hard=True)
    assert soft.shape == hard.shape == (5, 12)
    assert torch.allclose(soft.view(5, 3, 4).sum(-1), torch.ones(5, 3))
    assert torch.equal(hard.view(5, 3, 4).argmax(-1), logits.argmax(-1))
    assert torch.equal(hard.view(5, 3, 4).sum(-1), torch.ones(5, 3))
