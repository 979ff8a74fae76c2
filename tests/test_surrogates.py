import numpy as np
import pytest
import torch

from mbo.registry import SURROGATES
from surrogates import MLPSurrogate, NotFittedError


def _data(n=200, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=g) * 10 - 5
    y = (x**2).sum(1) * -1.0 + 3 * x[:, 0]
    return x, y


def test_hyperparameters_are_only_stored_in_init():
    m = MLPSurrogate(width=17, depth=3, activation="tanh", epochs=3, seed=5)
    assert m.get_params()["width"] == 17 and m.get_params()["seed"] == 5
    assert not m.is_fitted and not hasattr(m, "net_")
    with pytest.raises(NotFittedError):
        m(torch.zeros(2, 3))


def test_mlp_fits_a_smooth_function_and_reports_validation():
    x, y = _data()
    m = MLPSurrogate(width=64, epochs=150, seed=0).fit(x, y)
    assert m.val_r2_ > 0.9
    assert len(m.history_) == 150 and m.history_[-1]["val_mse"] is not None
    mean, std = m.predict(x[:5])
    assert mean.shape == (5,) and std is None
    # predictions come back in label units, not standardized ones
    assert torch.allclose(mean, y[:5], atol=0.25 * float(y.std()))


def test_fit_is_reproducible_with_a_seed_and_changes_with_another():
    x, y = _data()
    a = MLPSurrogate(width=16, epochs=5, seed=1).fit(x, y)(x)
    b = MLPSurrogate(width=16, epochs=5, seed=1).fit(x, y)(x)
    c = MLPSurrogate(width=16, epochs=5, seed=2).fit(x, y)(x)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_constant_features_are_not_divided_by_zero():
    x, y = _data()
    x[:, 1] = 4.0  # a feature that never varies
    m = MLPSurrogate(width=16, epochs=5).fit(x, y)
    assert torch.isfinite(m(x)).all()
    assert float(m.x_std_[1]) == 1.0


@pytest.mark.parametrize(
    "x, y, match",
    [
        (torch.zeros(5, 2), torch.tensor([1.0, float("nan"), 0, 0, 0]), "NaN/inf labels"),
        (torch.zeros(5, 2), torch.zeros(4), "y must have shape"),
        (torch.zeros(5), torch.zeros(5), "x must have shape"),
        (torch.zeros(1, 2), torch.zeros(1), "at least 2"),
    ],
)
def test_bad_training_data_gets_a_clear_error(x, y, match):
    with pytest.raises(ValueError, match=match):
        MLPSurrogate(epochs=1).fit(x, y)


def test_wrong_feature_count_at_prediction_is_an_error():
    x, y = _data()
    m = MLPSurrogate(width=8, epochs=1).fit(x, y)
    with pytest.raises(ValueError, match="fit on 3 features, got 4"):
        m(torch.zeros(2, 4))


def test_registry_presets():
    assert {"mlp", "mlp-2048", "linear"} <= set(SURROGATES.names())
    big = SURROGATES.make("mlp-2048")
    assert (big.width, big.depth) == (2048, 2)
    lin = SURROGATES.make("linear", epochs=200, lr=1e-2).fit(*_data())
    assert len(lin.net_.hidden) == 0  # a single linear map
    with pytest.raises(ValueError, match="unknown surrogate"):
        SURROGATES.make("nope")
    with pytest.raises(ValueError, match="unknown option"):
        SURROGATES.make("mlp", colour=1)


def test_input_gradients_flow_through_standardization():
    x, y = _data()
    m = MLPSurrogate(width=16, epochs=20).fit(x, y)
    xq = x[:4].clone().requires_grad_(True)
    (g,) = torch.autograd.grad(m(xq).sum(), xq)
    assert g.shape == xq.shape and torch.isfinite(g).all() and g.abs().sum() > 0
    assert np.isfinite(m.val_loss_)
