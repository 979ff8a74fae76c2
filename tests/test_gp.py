import math

import pytest
import torch

from surrogates import NotFittedError
from surrogates.gp import GPSurrogate


def _f(x):
    return torch.sin(3 * x[:, 0]) + torch.cos(2 * x[:, 1]) + 0.5 * x[:, 0] * x[:, 1]


def _data(n, seed=0, noise=0.0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=g) * 2 - 1
    return x, _f(x) + noise * torch.randn(n, generator=g)


def _r2(pred, y):
    return float(1 - ((pred - y) ** 2).mean() / y.var())


@pytest.fixture(scope="module")
def gp():
    x, y = _data(100)
    return GPSurrogate(seed=0).fit(x, y), x, y


def test_hyperparameters_are_only_stored_in_init():
    m = GPSurrogate(kernel="rbf", approximation="inducing", n_inducing=7, seed=3)
    assert m.get_params()["n_inducing"] == 7 and m.get_params()["kernel"] == "rbf"
    assert not m.is_fitted and not hasattr(m, "model_")
    with pytest.raises(NotFittedError):
        m(torch.zeros(2, 2))


def test_exact_gp_fits_a_smooth_function_on_held_out_points(gp):
    m, _, _ = gp
    xt, yt = _data(400, seed=1)
    mean, std = m.predict(xt)
    assert mean.shape == (400,) and std.shape == (400,) and mean.dtype == torch.float32
    assert _r2(mean, yt) > 0.9
    assert m.approximation_ == "exact" and m.n_train_ == 100 and m.val_r2_ > 0.9
    assert m.train_time_s_ > 0 and m.noise_ > 0


def test_forward_keeps_batch_shape_and_dtype(gp):
    m, x, _ = gp
    assert m(x[:12].reshape(3, 4, 2)).shape == (3, 4)
    out = m(x[:5].double())
    assert out.dtype == torch.float64 and torch.allclose(out.float(), m(x[:5]), atol=1e-5)


def test_gradient_wrt_input_exists_and_is_finite_even_at_training_points(gp):
    m, x, _ = gp
    for pts in (x[:8], torch.rand(8, 2) * 2 - 1):  # starts of gradient ascent are data points
        z = pts.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(m(z).sum(), z)
        assert torch.isfinite(g).all() and g.abs().sum() > 0


def test_std_grows_away_from_the_data(gp):
    m, x, _ = gp
    _, std_train = m.predict(x[:20])
    _, std_far = m.predict(torch.full((5, 2), 4.0))
    assert std_far.min() > 5 * std_train.max()
    _, std_noisy = m.predict(x[:20], observation_noise=True)
    assert (std_noisy > std_train).all()


@pytest.mark.parametrize("kernel", ["matern52", "rbf"])
def test_cached_mean_and_std_equal_botorch_posterior(kernel):
    x, y = _data(60, noise=0.05)
    m = GPSurrogate(kernel=kernel, seed=0).fit(x, y)
    xt = torch.rand(50, 2, dtype=torch.float64) * 3 - 1.5
    with torch.no_grad():
        post = m.model_.posterior(xt)
    mean, std = m.predict(xt)
    scale = float(y.std())
    assert torch.allclose(mean, post.mean[:, 0], atol=1e-6 * scale)
    assert torch.allclose(std, post.variance[:, 0].sqrt(), atol=1e-6 * scale)
    assert torch.allclose(m(xt), post.mean[:, 0], atol=1e-6 * scale)


def test_subsample_keeps_the_top_points_and_fits_a_large_set():
    x, y = _data(3000, noise=0.02)
    m = GPSurrogate(max_exact=300, keep_top=0.1, seed=0).fit(x, y)  # auto -> subsample
    assert m.approximation_ == "subsample" and m.n_train_ == 300
    top = torch.argsort(y, descending=True)[:30]
    assert set(top.tolist()) <= set(m.train_index_.tolist())
    xt, yt = _data(400, seed=1)
    assert _r2(m(xt), yt) > 0.9 and m.val_r2_ > 0.9  # val: the 2700 points it did not see
    with torch.no_grad():
        post = m.model_.posterior(xt.double())
    assert torch.allclose(m(xt).double(), post.mean[:, 0], atol=1e-4)


def test_hyperparameters_from_a_subset_then_conditioning_on_all_points():
    x, y = _data(600, noise=0.02)
    m = GPSurrogate(n_hyper=100, seed=0).fit(x, y)
    assert m.approximation_ == "exact" and m.n_train_ == 600 and m.n_hyper_ == 100
    assert m.model_.train_inputs[0].shape == (600, 2)
    xt, yt = _data(400, seed=1)
    assert _r2(m(xt), yt) > 0.9
    with torch.no_grad():
        post = m.model_.posterior(xt.double())
    assert torch.allclose(m(xt).double(), post.mean[:, 0], atol=1e-4)


def test_inducing_point_gp_fits_a_large_set_and_matches_its_botorch_model():
    x, y = _data(3000, noise=0.02)
    m = GPSurrogate(approximation="inducing", n_inducing=64, epochs=2, seed=0).fit(x, y)
    assert m.approximation_ == "inducing" and m.n_train_ == 3000 and len(m.history_) == 2
    assert m.z_.shape == (64, 2)
    xt, yt = _data(400, seed=1)
    mean, std = m.predict(xt)
    assert _r2(mean, yt) > 0.9
    with torch.no_grad():
        post = m.model_.posterior(xt.double())
    assert torch.allclose(mean.double(), post.mean[:, 0], atol=1e-4)
    assert torch.allclose(std.double(), post.variance[:, 0].sqrt(), atol=1e-4)
    _, std_far = m.predict(torch.full((3, 2), 4.0))
    assert std_far.min() > std.max()


def test_fit_is_reproducible_with_a_seed():
    x, y = _data(800, noise=0.05)
    xt, _ = _data(50, seed=2)
    opts = {"approximation": "inducing", "n_inducing": 32, "epochs": 1}
    a = GPSurrogate(seed=1, **opts).fit(x, y)(xt)
    b = GPSurrogate(seed=1, **opts).fit(x, y)(xt)
    c = GPSurrogate(seed=2, **opts).fit(x, y)(xt)
    assert torch.equal(a, b) and not torch.equal(a, c)
    s1 = GPSurrogate(max_exact=100, seed=1).fit(x, y)
    s2 = GPSurrogate(max_exact=100, seed=1).fit(x, y)
    assert torch.equal(s1.train_index_, s2.train_index_) and torch.equal(s1(xt), s2(xt))


def test_bad_input_gives_clear_errors(gp):
    x, y = _data(20)
    y[3] = math.nan
    with pytest.raises(ValueError, match="NaN"):
        GPSurrogate().fit(x, y)
    with pytest.raises(ValueError, match="shape"):
        GPSurrogate().fit(x[:, 0], y)
    with pytest.raises(ValueError, match="approximation"):
        GPSurrogate(approximation="magic").fit(*_data(20))
    with pytest.raises(ValueError, match="kernel"):
        GPSurrogate(kernel="cosine").fit(*_data(20))
    m, _, _ = gp
    with pytest.raises(ValueError, match="features"):
        m(torch.zeros(3, 5))


def test_constant_feature_is_harmless():
    x, y = _data(50)
    x = torch.cat([x, torch.ones(50, 1)], 1)  # e.g. a one-hot token that never varies
    m = GPSurrogate(seed=0).fit(x, y)
    assert torch.isfinite(m(x)).all() and _r2(m(x), y) > 0.9


def test_gp_runs_in_a_study_and_its_run_folder_reopens(tmp_path):
    from mbo import StudySpec, run_study
    from mbo.study import load_run

    result = run_study(
        StudySpec(
            domain="branin",
            domain_options={"n_reference": 200},
            surrogate="gp",
            optimizer_options={"steps": 20},
            k=16,
        ),
        out_dir=tmp_path / "run",
    )
    reopened = load_run(tmp_path / "run")
    assert math.isfinite(result.summary["gap"])
    assert math.isfinite(result.summary["val_r2"])
    x = result.domain.space.features(result.trajectory.final, hard=True)
    assert torch.equal(reopened.surrogate(x), result.surrogate(x))


def test_a_subsample_gp_saves_and_loads_as_data():
    from surrogates import Surrogate

    x, y = _data(60)
    m = GPSurrogate(max_exact=30, n_hyper=20, seed=0).fit(x, y)
    assert m.approximation_ == "subsample"
    meta, tensors = m.save_state()
    assert meta["class"] == "surrogates.gp:GPSurrogate" and "attr.train_index_" in tensors
    assert tensors["extra.train_x"].shape == (30, 2)  # what the GP conditions on
    loaded = Surrogate.from_state(meta, tensors)
    assert torch.equal(loaded.train_index_, m.train_index_)
    assert torch.equal(loaded.lengthscale_, m.lengthscale_)
    assert (loaded.noise_, loaded.val_r2_) == (m.noise_, m.val_r2_)
    xt, _ = _data(50, seed=3)
    for noise in (False, True):
        (ma, sa), (mb, sb) = m.predict(xt, noise), loaded.predict(xt, noise)
        assert torch.equal(ma, mb) and torch.equal(sa, sb)
    assert torch.equal(
        m.model_.posterior(xt.double()).mean, loaded.model_.posterior(xt.double()).mean
    )
