"""Network surrogates: MLPs, deep ensembles, spectral-norm and RBF networks, any training objective.

One class covers the network family because architecture and training objective compose:
``n_members`` stacks independent networks into one vectorized model (a deep ensemble),
``spectral_norm`` and ``head="rbf"`` change the architecture, and ``loss`` picks the training
objective (MSE, FGSM/PGD/MBO-aware adversarial training, VAT, input-gradient penalty, COMs).
An ensemble of adversarially trained MLPs is ``MLPSurrogate(n_members=5, loss="fgsm")``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Self

import torch
from torch import Tensor

from ._base import Surrogate, check_xy, seeded, spread
from ._nets import ACTIVATIONS, RBFHead, StackedNet
from .training import OBJECTIVES, TrainingObjective, make_objective

__all__ = ["ACTIVATIONS", "MLPSurrogate"]


class MLPSurrogate(Surrogate):
    """Standardizing network surrogate trained with Adam.

    Inputs and labels are z-scored with statistics of the training split (zero-spread
    features are left unscaled); predictions come back in label units. A validation split
    of the *offline* data reports validation MSE and R^2 of the (ensemble) mean; no oracle is
    involved. With ``restore_best`` the weights of the best validation epoch are kept.

    Args:
        width: hidden units per layer (Design-Bench: 2048).
        depth: hidden layers (Design-Bench: 2; 0 gives a linear model or a pure RBF network).
        activation: one of ``ACTIVATIONS``.
        n_members: independent networks trained and evaluated as one stacked model; each
            member has its own initialization and minibatch order (deep ensemble, M=5 in
            Lakshminarayanan et al. 2017). ``predict`` returns their mean and spread.
        nll: give each member a variance head trained with the Gaussian NLL (Lakshminarayanan
            et al.); the std then adds the members' mean variance to their spread.
        spectral_norm: divide every weight by its spectral norm, so the network is
            ``lipschitz``-Lipschitz from standardized inputs to standardized labels (with
            1-Lipschitz activations; each layer gets ``lipschitz ** (1 / (depth + 1))``).
        lipschitz: the network's Lipschitz bound under ``spectral_norm`` (Miyato et al.: 1).
        head: ``"linear"`` or ``"rbf"`` (Gaussian units on the last hidden layer, or on the
            standardized input when ``depth=0``).
        n_centers: RBF units (centers start at random training points).
        loss: training objective name (see ``surrogates.training``) or instance.
        loss_options: options of the training objective (e.g. ``{"eps": 0.1}``).
        epochs, batch_size, lr, weight_decay: Adam training settings.
        max_steps: the most optimizer steps of a fit: ``epochs`` is cut to
            ``max(1, max_steps // batches_per_epoch)`` on large training sets (``None``: no
            cap). At 2,000 the analytic tasks (<= 1,000 points, <= 1,600 steps) train exactly
            as before, while the car (8,000 offline designs, 11,400 steps) and the molecule
            set (7,150, 10,200 steps) stop after 35 and 39 epochs, where their validation
            loss has long flattened: 5x faster fits, with metrics inside their seed spread
            (``benchmarks/results/perf-fit.md``).
        val_fraction: share held out for validation (0 disables it).
        restore_best: keep the weights of the epoch with the lowest validation loss. Off by
            default, as in Design-Bench (fixed epochs): early stopping on a poor fit leaves a
            nearly flat model whose gradients hide the extrapolation the sandbox studies.
        seed: seed for initialization, the split and shuffling.
        training, training_options: deprecated names of ``loss`` and ``loss_options`` (they
            shadowed ``nn.Module.training``); accepted with a ``DeprecationWarning``.

    Learned attributes: ``net_``, ``objective_``, ``x_mean_``, ``x_std_``, ``y_mean_``,
    ``y_std_``, ``n_features_in_``, ``epochs_`` (epochs run, after ``max_steps``), ``history_`` (per epoch: train loss, validation MSE on
    standardized labels, objective diagnostics), ``val_loss_``, ``val_r2_``. ``objective_``
    is training state: :meth:`save_state` leaves it out (prediction does not use it), and a
    surrogate rebuilt by :meth:`from_state` has none.
    """

    _renamed: ClassVar[dict[str, str]] = {"training": "loss", "training_options": "loss_options"}
    _unsaved: ClassVar[tuple[str, ...]] = ("objective_",)

    def __init__(
        self,
        width: int = 256,
        depth: int = 2,
        activation: str = "relu",
        n_members: int = 1,
        nll: bool = False,
        spectral_norm: bool = False,
        lipschitz: float = 1.0,
        head: str = "linear",
        n_centers: int = 64,
        loss: str | TrainingObjective = "mse",
        loss_options: dict[str, Any] | None = None,
        epochs: int = 200,
        batch_size: int = 128,
        max_steps: int | None = 2000,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        val_fraction: float = 0.1,
        restore_best: bool = False,
        seed: int = 0,
        *,
        training: str | TrainingObjective | None = None,
        training_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        loss = self._renamed_keyword("training", training, loss, "mse")
        loss_options = self._renamed_keyword(
            "training_options", training_options, loss_options, None
        )
        self.width = width
        self.depth = depth
        self.activation = activation
        self.n_members = n_members
        self.nll = nll
        self.spectral_norm = spectral_norm
        self.lipschitz = lipschitz
        self.head = head
        self.n_centers = n_centers
        self.loss = loss
        self.loss_options = loss_options
        self.epochs = epochs
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.lr = lr
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.restore_best = restore_best
        self.seed = seed
        self.n_features_in_: int | None = None

    @property
    def has_std(self) -> bool:  # type: ignore[override]
        return self.n_members > 1 or self.nll

    def _validate_params(self) -> None:
        if self.width < 1 or self.depth < 0 or self.n_members < 1:
            raise ValueError(
                f"need width >= 1, depth >= 0, n_members >= 1; got {self.width}, {self.depth}, {self.n_members}"
            )
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("need epochs >= 1, batch_size >= 1 and lr > 0")
        if self.max_steps is not None and (
            isinstance(self.max_steps, bool)
            or not isinstance(self.max_steps, int)
            or self.max_steps < 1
        ):
            raise ValueError(f"max_steps must be an integer >= 1 or None, got {self.max_steps!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; choose from {sorted(ACTIVATIONS)}"
            )
        if self.head not in ("linear", "rbf"):
            raise ValueError(f"head must be 'linear' or 'rbf', got {self.head!r}")

    def _make_net(self, d: int) -> StackedNet:
        return StackedNet(
            self.n_members,
            d,
            self.width,
            self.depth,
            self.activation,
            self.spectral_norm,
            self.head,
            self.n_centers,
            n_out=2 if self.nll else 1,
            lipschitz=self.lipschitz,
        )

    def _split(self, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
        perm = torch.randperm(n, device=device)
        n_val = int(math.floor(self.val_fraction * n)) if n >= 10 else 0
        return perm[n_val:], perm[:n_val]

    # --- fitting ------------------------------------------------------------------------
    def fit(self, x: Tensor, y: Tensor, progress: bool = False) -> Self:
        """Fit on features ``x`` ``(n, d)`` and labels ``y`` ``(n,)``."""
        self._validate_params()
        x, y = check_xy(x, y)
        device = x.device
        with seeded(self.seed, device):
            tr, va = self._split(x.shape[0], device)
            self.register_buffer("x_mean_", x[tr].mean(0))
            self.register_buffer("x_std_", spread(x[tr]))
            self.register_buffer("y_mean_", y[tr].mean())
            self.register_buffer("y_std_", spread(y[tr][:, None])[0])
            self.n_features_in_ = x.shape[1]
            xs = (x - self.x_mean_) / self.x_std_
            ys = (y - self.y_mean_) / self.y_std_
            self.net_ = self._make_net(x.shape[1]).to(device)
            if isinstance(self.net_.head, RBFHead):
                with torch.no_grad():
                    self.net_.head.init_from(self.net_.features(xs[tr]))
            self.objective_ = make_objective(self.loss, **(self.loss_options or {}))
            self.objective_.setup(xs[tr], self.n_members)
            self.history_ = self._train(xs[tr], ys[tr], xs[va], ys[va], progress)
        self.net_.freeze_spectral_norm()
        self.eval()
        val = [h["val_mse"] for h in self.history_ if h["val_mse"] is not None]
        self.val_loss_ = min(val) if (val and self.restore_best) else (val[-1] if val else None)
        val_var = float(ys[va].var()) if va.numel() >= 2 else 0.0
        self.val_r2_ = (
            None if self.val_loss_ is None or val_var == 0 else 1.0 - self.val_loss_ / val_var
        )
        return self

    def _outputs(self, xs: Tensor) -> tuple[Tensor, Tensor | None]:
        """Standardized member means ``(M, B)`` and log-variances (or ``None``)."""
        out = self.net_(xs)
        logvar = out[..., 1].clamp(-12.0, 8.0) if self.nll else None
        return out[..., 0], logvar

    def _pred(self, xs: Tensor) -> Tensor:
        return self._outputs(xs)[0]

    def _point_loss(self, xs: Tensor, ys: Tensor) -> Tensor:
        mean, logvar = self._outputs(xs)
        if logvar is None:
            return (mean - ys) ** 2
        return 0.5 * (logvar + (mean - ys) ** 2 / logvar.exp())

    def _train(self, xt: Tensor, yt: Tensor, xv: Tensor, yv: Tensor, progress: bool) -> list[dict]:
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        n, m = xt.shape[0], self.n_members
        history, best, best_state = [], math.inf, None
        self.epochs_ = self.epochs
        if self.max_steps is not None:
            per_epoch = math.ceil(n / self.batch_size)
            self.epochs_ = min(self.epochs, max(1, self.max_steps // per_epoch))
        epochs = range(self.epochs_)
        if progress:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc=f"fit {type(self).__name__}", leave=False)
        for epoch in epochs:
            self.net_.train()
            perm = torch.rand(m, n, device=xt.device).argsort(1)  # each member its own order
            total = 0.0
            for i in range(0, n, self.batch_size):
                idx = perm[:, i : i + self.batch_size]
                loss = self.objective_.loss(self._pred, self._point_loss, xt[idx], yt[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                self.objective_.after_step()
                total += float(loss.detach()) * idx.shape[1] / m
            self.net_.eval()
            val_mse = None
            if xv.shape[0] > 0:
                with torch.no_grad():
                    val_mse = float(((self._pred(xv).mean(0) - yv) ** 2).mean())
                if self.restore_best and val_mse < best:
                    best = val_mse
                    best_state = {k: v.detach().clone() for k, v in self.net_.state_dict().items()}
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": total / n,
                    "val_mse": val_mse,
                    **self.objective_.state(),
                }
            )
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        return history

    # --- saving as data -----------------------------------------------------------------
    def _state_params(self) -> dict[str, Any]:
        """A built-in objective instance is saved by name and options."""
        params = self.get_params()
        obj = params["loss"]
        if isinstance(obj, TrainingObjective):
            if OBJECTIVES.get(obj.name) is not type(obj):
                raise TypeError(
                    f"cannot save a {type(obj).__name__} objective instance; give loss= by name"
                )
            if params["loss_options"]:
                raise TypeError("cannot save loss_options beside an objective instance")
            params |= {"loss": obj.name, "loss_options": obj.get_params() or None}
        return params

    def _rebuild(self, extra: dict[str, Tensor], state: dict[str, Tensor]) -> None:
        self._validate_params()
        self.net_ = self._make_net(int(self.n_features_in_))

    # --- prediction ---------------------------------------------------------------------
    def _members(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Member means and variances in label units, ``(M, ...)`` each."""
        self._check_fitted(x)
        lead = x.shape[:-1]
        xs = ((x - self.x_mean_) / self.x_std_).reshape(-1, x.shape[-1])
        mean, logvar = self._outputs(xs)
        mean = (mean * self.y_std_ + self.y_mean_).reshape(-1, *lead)
        var = None if logvar is None else (logvar.exp() * self.y_std_**2).reshape(-1, *lead)
        return mean, var

    def predict_members(self, x: Tensor) -> Tensor:
        """Each member's prediction, ``(M, ...)`` for ``x`` ``(..., d)``."""
        return self._members(x)[0]

    def forward(self, x: Tensor) -> Tensor:
        return self._members(x)[0].mean(0)

    def predict(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Mean and std: the members' spread, plus their mean variance with ``nll``."""
        mean, var = self._members(x)
        if not self.has_std:
            return mean[0], None
        total = mean.var(0, unbiased=False) if self.n_members > 1 else torch.zeros_like(mean[0])
        if var is not None:
            total = total + var.mean(0)
        return mean.mean(0), total.clamp_min(0).sqrt()
