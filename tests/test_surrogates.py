import functools
import inspect
import io
import json
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from mbo.registry import SURROGATES
from surrogates import GPSurrogate, MLPSurrogate, NotFittedError, Surrogate
from surrogates._base import resolve_surrogate_class


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


def test_max_steps_caps_the_epochs_of_a_large_training_set_only():
    x, y = _data()  # 200 rows: 180 train in batches of 32 -> 6 steps per epoch
    capped = MLPSurrogate(width=8, epochs=50, batch_size=32, max_steps=20, seed=0).fit(x, y)
    assert capped.epochs_ == 3 and len(capped.history_) == 3
    free = MLPSurrogate(width=8, epochs=5, batch_size=32, max_steps=None, seed=0).fit(x, y)
    assert free.epochs_ == 5 and len(free.history_) == 5
    # a cap above the epochs' steps changes nothing: the fit is bit-identical
    a = MLPSurrogate(width=8, epochs=5, batch_size=32, max_steps=1000, seed=0).fit(x, y)
    assert torch.equal(a(x), free(x))
    tiny = MLPSurrogate(width=8, epochs=5, batch_size=32, max_steps=1, seed=0).fit(x, y)
    assert tiny.epochs_ == 1  # at least one epoch
    for bad in (0, -3, 2.5, True, "100"):
        with pytest.raises(ValueError, match="max_steps must be an integer >= 1 or None"):
            MLPSurrogate(max_steps=bad).fit(x, y)


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


# --- the surrogate contract, for every registered surrogate -------------------------------
NAMES = sorted(SURROGATES.names())
#: small and fast, whatever the preset
FAST_OPTIONS = {
    MLPSurrogate: {"width": 8, "epochs": 2, "n_centers": 8},
    GPSurrogate: {"n_inducing": 8, "epochs": 2, "n_hyper": 20},
}


def _fast(name):
    factory, preset = SURROGATES.resolve(name)
    opts = next((o for cls, o in FAST_OPTIONS.items() if factory is cls), {})
    if factory is MLPSurrogate and preset.get("loss") == "coms":
        opts = {**opts, "loss_options": {"steps": 3}}
    return SURROGATES.make(name, seed=0, **opts)


@functools.cache
def _fitted(name):
    x, y = _data(40)
    return _fast(name).fit(x, y, progress=False)


def test_every_fit_takes_progress():
    for cls in {type(_fast(n)) for n in NAMES}:
        sig = inspect.signature(cls.fit)
        assert list(sig.parameters)[:3] == ["self", "x", "y"], cls
        assert sig.parameters["progress"].default is False, cls


@pytest.mark.parametrize("name", NAMES)
def test_get_params_round_trips_after_fit(name):
    s = _fitted(name)
    params = s.get_params()
    again = type(s)(**params)
    assert again.get_params() == params
    assert not again.is_fitted
    x, y = _data(40, seed=1)
    assert again.fit(x, y).get_params() == params
    assert torch.isfinite(again(x)).all()


@pytest.mark.parametrize("name", NAMES)
def test_no_hyperparameter_or_learned_attribute_shadows_nn_module(name):
    s = _fitted(name)
    module_names = set(dir(nn.Module)) | set(vars(nn.Module()))
    assert not set(s.get_params()) & module_names
    learned = {k for k in vars(s) if k.endswith("_") and not k.startswith("_")}
    assert not learned & module_names
    assert s.training is False  # eval() after fit, and nothing stored over it


def test_a_hyperparameter_named_like_a_module_attribute_is_refused_at_class_definition():
    with pytest.raises(TypeError, match=r"\['training'\] collide with torch.nn.Module"):

        class Bad(Surrogate):
            def __init__(self, training: str = "mse") -> None:
                super().__init__()
                self.training = training


def test_the_old_loss_keywords_still_work_with_a_deprecation_warning():
    with pytest.warns(DeprecationWarning, match="use loss=") as record:
        m = MLPSurrogate(training="fgsm", training_options={"eps": 0.1}, width=8, epochs=1)
    assert any("use loss_options=" in str(w.message) for w in record)
    assert (m.loss, m.loss_options) == ("fgsm", {"eps": 0.1})
    m.fit(*_data(40))
    params = m.get_params()
    assert "training" not in params and "training_options" not in params
    assert params["loss"] == "fgsm" and MLPSurrogate(**params).get_params() == params
    with pytest.warns(DeprecationWarning):
        assert SURROGATES.make("mlp", training="vat").loss == "vat"
    with pytest.raises(ValueError, match="give loss= only"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        MLPSurrogate(training="fgsm", loss="pgd")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        MLPSurrogate(loss="fgsm", loss_options={"eps": 0.1})  # the new names warn of nothing


def _through_files(meta, tensors):
    """What a run folder does: JSON for meta, weights_only torch.load for tensors."""
    buf = io.BytesIO()
    torch.save(tensors, buf)
    buf.seek(0)
    return json.loads(json.dumps(meta)), torch.load(buf, weights_only=True)


@pytest.mark.parametrize("name", NAMES)
def test_saved_state_predicts_bit_identically(name):
    s = _fitted(name)
    rng = torch.get_rng_state()
    loaded = Surrogate.from_state(*_through_files(*s.save_state()))
    assert torch.equal(torch.get_rng_state(), rng)  # rebuilding drew no random numbers
    assert type(loaded) is type(s) and loaded.get_params() == s.get_params()
    assert not loaded.training and loaded.n_features_in_ == s.n_features_in_
    assert loaded.val_loss_ == s.val_loss_ and loaded.history_ == s.history_
    x = (torch.rand(9, 3, generator=torch.Generator().manual_seed(5)) * 12 - 6).requires_grad_()
    a, b = s(x), loaded(x)
    assert torch.equal(a, b)
    (ga,) = torch.autograd.grad(a.sum(), x)
    (gb,) = torch.autograd.grad(b.sum(), x)
    assert torch.equal(ga, gb)
    (ma, sa), (mb, sb) = s.predict(x), loaded.predict(x)
    assert torch.equal(ma, mb)
    assert (sa is None and sb is None) or torch.equal(sa, sb)


@pytest.mark.parametrize("name", ["gp", "gp-sparse"])
def test_a_loaded_gp_rebuilds_its_botorch_model(name):
    s = _fitted(name)
    loaded = Surrogate.from_state(*_through_files(*s.save_state()))
    x = torch.rand(6, 3, dtype=torch.float64)
    pa, pb = s.model_.posterior(x), loaded.model_.posterior(x)
    assert torch.equal(pa.mean, pb.mean) and torch.equal(pa.variance, pb.variance)
    assert not any(p.requires_grad for p in loaded.model_.parameters())


def test_an_unfitted_or_unsaveable_surrogate_is_not_saved():
    with pytest.raises(NotFittedError):
        MLPSurrogate().save_state()

    class Local(MLPSurrogate):  # not importable by its path
        pass

    with pytest.raises(ValueError, match="not importable"):
        Local(width=8, epochs=1).fit(*_data(20)).save_state()


@pytest.mark.parametrize(
    "path, match",
    [
        ("collections:OrderedDict", "not a surrogates.Surrogate subclass"),
        ("builtins:eval", "not a surrogates.Surrogate subclass"),
        ("surrogates:NotFittedError", "not a surrogates.Surrogate subclass"),
        ("no_such_module_xyz:Thing", "cannot import"),
        ("os.system", "package.module:Class"),
        ("a:b;c", "package.module:Class"),
    ],
)
def test_only_surrogate_classes_are_loaded(path, match):
    with pytest.raises(ValueError, match=match):
        resolve_surrogate_class(path)
    meta, tensors = _fitted("mlp").save_state()
    with pytest.raises(ValueError, match=match):
        Surrogate.from_state({**meta, "class": path}, tensors)


def test_from_state_refuses_a_class_outside_the_one_asked_for_and_bad_tensors():
    meta, tensors = _fitted("mlp").save_state()
    with pytest.raises(ValueError, match="is not a GPSurrogate"):
        GPSurrogate.from_state(meta, tensors)
    assert isinstance(MLPSurrogate.from_state(meta, tensors), MLPSurrogate)
    with pytest.raises(ValueError, match="do not fit MLPSurrogate"):
        Surrogate.from_state({**meta, "params": {**meta["params"], "width": 9}}, tensors)
    with pytest.raises(ValueError, match="learned attribute"):
        Surrogate.from_state({**meta, "attrs": {"forward": 1}}, tensors)
