"""Any ``Surrogate`` as a BoTorch ``Model``, so acquisition functions and ``optimize_acqf`` work
on every surrogate, not only on GPs."""

from __future__ import annotations

import inspect

import torch
from botorch.acquisition.objective import PosteriorTransform
from botorch.models.model import Model
from botorch.posteriors.gpytorch import GPyTorchPosterior
from gpytorch.distributions import MultivariateNormal
from linear_operator.operators import DiagLinearOperator
from torch import Tensor

from ._base import Surrogate


class SurrogateModel(Model):
    """A single-output BoTorch ``Model`` whose posterior at ``X`` ``(batch, q, d)`` is a
    ``MultivariateNormal`` with the surrogate's mean and *diagonal* covariance ``std**2``
    (the points of a q-batch are treated as independent: no surrogate here has a joint
    covariance to offer, GPs aside).

    Surrogates without a std (``has_std = False``) get variance 0 plus ``jitter``: only
    mean-based acquisitions (``PosteriorMean``, or UCB/EI that then reduce to the mean) are
    meaningful for them. ``observation_noise=True`` adds the surrogate's noise where its
    ``predict`` takes an ``observation_noise`` flag (``GPSurrogate``), and is ignored otherwise.

    ``X`` is cast to ``dtype`` before it reaches the surrogate (default: the dtype of the
    surrogate's first floating parameter or buffer, so a float32 MLP works under BoTorch's
    float64 optimizers); the posterior comes back in ``X``'s dtype.

    Args:
        surrogate: a fitted surrogate (it is not refit; BoTorch only evaluates it).
        jitter: variance floor, keeping the covariance positive definite for MC sampling.
        dtype: dtype the surrogate is evaluated in; ``None`` to infer it.
        use_std: ``False`` skips the surrogate's std (variance = ``jitter``) and calls only
            its ``forward``: the fast path for ``PosteriorMean`` (a GP's variance costs
            O(n^2) per point, its mean O(n d)).
    """

    _num_outputs = 1

    def __init__(
        self,
        surrogate: Surrogate,
        jitter: float = 1e-9,
        dtype: torch.dtype | None = None,
        use_std: bool = True,
    ) -> None:
        super().__init__()
        if not surrogate.is_fitted:
            raise ValueError(f"{type(surrogate).__name__} must be fitted before wrapping it")
        if not jitter > 0:
            raise ValueError(f"jitter must be positive, got {jitter}")
        self.surrogate = surrogate
        self.jitter = float(jitter)
        self.use_std = bool(use_std)
        self.eval_dtype = dtype if dtype is not None else _infer_dtype(surrogate)
        self._takes_noise = "observation_noise" in inspect.signature(surrogate.predict).parameters

    @property
    def num_outputs(self) -> int:
        return 1

    @property
    def batch_shape(self) -> torch.Size:
        """The model itself has no batch dimensions (one surrogate, one output)."""
        return torch.Size([])

    def posterior(
        self,
        X: Tensor,
        output_indices: list[int] | None = None,
        observation_noise: bool | Tensor = False,
        posterior_transform: PosteriorTransform | None = None,
    ) -> GPyTorchPosterior:
        """Posterior at ``X`` ``(..., q, d)``: mean ``(..., q, 1)``, diagonal covariance."""
        if output_indices is not None and list(output_indices) != [0]:
            raise ValueError(f"the model has a single output, got output_indices={output_indices}")
        if X.ndim < 2:
            raise ValueError(f"X must have shape (..., q, d), got {tuple(X.shape)}")
        xs = X if self.eval_dtype is None else X.to(self.eval_dtype)
        if not self.use_std:
            mean, std = self.surrogate(xs), None
        elif isinstance(observation_noise, bool) and observation_noise and self._takes_noise:
            mean, std = self.surrogate.predict(xs, observation_noise=True)
        else:
            mean, std = self.surrogate.predict(xs)
        var = torch.zeros_like(mean) if std is None else std**2
        if isinstance(observation_noise, Tensor):  # explicit noise levels (..., q, 1)
            var = var + observation_noise.to(var).squeeze(-1)
        mean, var = mean.to(X.dtype), var.to(X.dtype).clamp_min(self.jitter)
        posterior = GPyTorchPosterior(MultivariateNormal(mean, DiagLinearOperator(var)))
        if posterior_transform is not None:
            posterior = posterior_transform(posterior=posterior, X=X)
        return posterior


def _infer_dtype(module: torch.nn.Module) -> torch.dtype | None:
    for t in (*module.parameters(), *module.buffers()):
        if t.is_floating_point():
            return t.dtype
    return None
