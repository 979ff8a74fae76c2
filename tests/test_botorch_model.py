import pytest
import torch
from botorch.acquisition import PosteriorMean, UpperConfidenceBound, qLogExpectedImprovement
from botorch.optim import optimize_acqf
from botorch.posteriors.gpytorch import GPyTorchPosterior
from botorch.sampling import SobolQMCNormalSampler

from surrogates import Surrogate
from surrogates.botorch_model import SurrogateModel
from surrogates.gp import GPSurrogate

CENTER = [0.3, -0.2]


class QuadraticSurrogate(Surrogate):
    """``-(x - c)^2`` summed: maximum 0 at ``c``; no std."""

    def __init__(self, center=None) -> None:
        super().__init__()
        self.center = CENTER if center is None else center

    def fit(self, x, y, progress=False):
        self.register_buffer("c_", torch.tensor(self.center, dtype=torch.float32))
        self.n_features_in_ = x.shape[1]
        return self

    def forward(self, x):
        self._check_fitted(x)
        return -((x - self.c_.to(x)) ** 2).sum(-1)


BOUNDS = torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=torch.float64)


@pytest.fixture(scope="module")
def quad():
    return QuadraticSurrogate().fit(torch.zeros(2, 2), torch.zeros(2))


@pytest.fixture(scope="module")
def gp():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(40, 2, generator=g) * 2 - 1
    y = -((x - torch.tensor(CENTER)) ** 2).sum(-1)
    return GPSurrogate(seed=0).fit(x, y)


def test_posterior_shapes_follow_botorch_conventions(quad, gp):
    for s in (quad, gp):
        model = SurrogateModel(s)
        assert model.num_outputs == 1 and model.batch_shape == torch.Size([])
        X = torch.rand(5, 3, 2, dtype=torch.float64)
        post = model.posterior(X)
        assert isinstance(post, GPyTorchPosterior)
        assert post.mean.shape == (5, 3, 1) and post.variance.shape == (5, 3, 1)
        assert post.mean.dtype == torch.float64
        assert torch.allclose(post.mean[..., 0], s(X).double(), atol=1e-5)
        samples = post.rsample(torch.Size([4]))
        assert samples.shape == (4, 5, 3, 1)
    # no std: variance is only the jitter
    assert SurrogateModel(quad).posterior(X).variance.max() <= 1e-8
    # with std: the GP's own variance; observation noise adds to it
    _, std = gp.predict(X)
    post = SurrogateModel(gp).posterior(X)
    assert torch.allclose(post.variance[..., 0], std.double() ** 2, atol=1e-8)
    assert (SurrogateModel(gp).posterior(X, observation_noise=True).variance > post.variance).all()


def test_mean_only_mode_skips_the_std(gp):
    X = torch.rand(4, 1, 2, dtype=torch.float64)
    post = SurrogateModel(gp, use_std=False).posterior(X)
    assert torch.allclose(post.mean[..., 0], gp(X), atol=1e-9)
    assert post.variance.max() <= 1e-8


def test_scalarized_posterior_transform(gp):
    from botorch.acquisition.objective import ScalarizedPosteriorTransform

    X = torch.rand(3, 1, 2, dtype=torch.float64)
    t = ScalarizedPosteriorTransform(weights=torch.tensor([-2.0], dtype=torch.float64))
    post = SurrogateModel(gp).posterior(X, posterior_transform=t)
    assert torch.allclose(post.mean[..., 0], -2 * gp(X), atol=1e-8)


def test_unfitted_surrogate_and_bad_outputs_are_rejected(quad):
    with pytest.raises(ValueError, match="fitted"):
        SurrogateModel(QuadraticSurrogate())
    with pytest.raises(ValueError, match="single output"):
        SurrogateModel(quad).posterior(torch.rand(2, 1, 2), output_indices=[1])


def test_optimize_acqf_on_posterior_mean_finds_the_quadratic_maximum(quad):
    acq = PosteriorMean(SurrogateModel(quad))
    x, value = optimize_acqf(acq, BOUNDS, q=1, num_restarts=4, raw_samples=64)
    assert x.shape == (1, 2)
    assert torch.allclose(x[0], torch.tensor(CENTER, dtype=x.dtype), atol=1e-3)
    assert float(value) > -1e-5


def test_optimize_acqf_respects_bounds(quad):
    far = QuadraticSurrogate(center=[3.0, 0.0]).fit(torch.zeros(2, 2), torch.zeros(2))
    x, _ = optimize_acqf(
        PosteriorMean(SurrogateModel(far)), BOUNDS, q=1, num_restarts=4, raw_samples=32
    )
    assert torch.allclose(x[0], torch.tensor([1.0, 0.0], dtype=x.dtype), atol=1e-3)


def test_ucb_and_qlogei_on_a_gp(gp):
    model = SurrogateModel(gp)
    x, _ = optimize_acqf(
        UpperConfidenceBound(model, beta=0.1), BOUNDS, q=1, num_restarts=4, raw_samples=64
    )
    assert ((x >= BOUNDS[0]) & (x <= BOUNDS[1])).all()
    assert torch.allclose(x[0].float(), torch.tensor(CENTER), atol=0.15)
    best = float(gp(torch.rand(50, 2) * 2 - 1).max())
    acq = qLogExpectedImprovement(
        model, best_f=best, sampler=SobolQMCNormalSampler(torch.Size([64]), seed=0)
    )
    xq, val = optimize_acqf(acq, BOUNDS, q=2, num_restarts=2, raw_samples=32)
    assert xq.shape == (2, 2) and torch.isfinite(val)
