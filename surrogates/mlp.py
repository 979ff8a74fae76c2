"""A standardizing multilayer perceptron trained with Adam on MSE."""

from __future__ import annotations

import math
from typing import Self

import torch
from torch import Tensor, nn

from ._base import Surrogate, check_xy, seeded, spread

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}


def make_mlp(d_in: int, width: int, depth: int, activation: str) -> nn.Sequential:
    """``depth`` hidden layers of ``width`` units, scalar output."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    d = d_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), ACTIVATIONS[activation]()]
        d = width
    layers.append(nn.Linear(d, 1))
    return nn.Sequential(*layers)


class MLPSurrogate(Surrogate):
    """MLP on standardized inputs and labels, trained with Adam on MSE.

    Inputs and labels are z-scored with statistics of the training split (zero-spread
    features are left unscaled); predictions are returned in label units. A validation
    split of the *offline* data is held out to report the validation loss and R^2 (no
    oracle is involved); with ``restore_best`` the weights of the best validation epoch
    are kept.

    Args:
        width: hidden units per layer (Design-Bench uses 2048).
        depth: hidden layers (Design-Bench uses 2).
        activation: one of ``ACTIVATIONS``.
        epochs: passes over the training split.
        batch_size: minibatch size.
        lr: Adam learning rate.
        weight_decay: Adam weight decay.
        val_fraction: share of the data held out for validation (0 disables it).
        restore_best: keep the weights of the epoch with the lowest validation loss.
        seed: seed for initialization, the split and shuffling.

    Learned attributes: ``net_``, ``x_mean_``, ``x_std_``, ``y_mean_``, ``y_std_``,
    ``n_features_in_``, ``history_`` (per-epoch train/val MSE on standardized labels),
    ``val_loss_``, ``val_r2_``.
    """

    def __init__(
        self,
        width: int = 256,
        depth: int = 2,
        activation: str = "relu",
        epochs: int = 200,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        val_fraction: float = 0.1,
        restore_best: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.width = width
        self.depth = depth
        self.activation = activation
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.val_fraction = val_fraction
        self.restore_best = restore_best
        self.seed = seed
        self.n_features_in_: int | None = None

    def _validate_params(self) -> None:
        if self.width < 1 or self.depth < 0:
            raise ValueError(f"need width >= 1 and depth >= 0, got {self.width}, {self.depth}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("need epochs >= 1, batch_size >= 1 and lr > 0")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.activation!r}; choose from {sorted(ACTIVATIONS)}"
            )

    def _split(self, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
        perm = torch.randperm(n, device=device)
        n_val = int(math.floor(self.val_fraction * n)) if n >= 10 else 0
        return perm[n_val:], perm[:n_val]

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
            self.net_ = make_mlp(x.shape[1], self.width, self.depth, self.activation).to(device)
            xs = (x - self.x_mean_) / self.x_std_
            ys = (y - self.y_mean_) / self.y_std_
            self.history_ = self._train(xs[tr], ys[tr], xs[va], ys[va], progress)
        self.eval()
        val = [h["val_mse"] for h in self.history_ if h["val_mse"] is not None]
        self.val_loss_ = min(val) if (val and self.restore_best) else (val[-1] if val else None)
        self.val_r2_ = (
            None
            if self.val_loss_ is None or va.numel() < 2
            else 1.0 - self.val_loss_ / float(ys[va].var())
        )
        return self

    def _train(self, xt: Tensor, yt: Tensor, xv: Tensor, yv: Tensor, progress: bool) -> list[dict]:
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        n = xt.shape[0]
        history, best, best_state = [], math.inf, None
        epochs = range(self.epochs)
        if progress:
            from tqdm.auto import tqdm

            epochs = tqdm(epochs, desc=f"fit {type(self).__name__}", leave=False)
        for epoch in epochs:
            self.net_.train()
            perm = torch.randperm(n, device=xt.device)
            total = 0.0
            for i in range(0, n, self.batch_size):
                b = perm[i : i + self.batch_size]
                loss = self.loss(xt[b], yt[b])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * b.numel()
            self.net_.eval()
            val_mse = None
            if xv.shape[0] > 0:
                with torch.no_grad():
                    val_mse = float(((self.net_(xv)[:, 0] - yv) ** 2).mean())
                if self.restore_best and val_mse < best:
                    best = val_mse
                    best_state = {k: v.detach().clone() for k, v in self.net_.state_dict().items()}
            history.append({"epoch": epoch, "train_mse": total / n, "val_mse": val_mse})
        if best_state is not None:
            self.net_.load_state_dict(best_state)
        return history

    def loss(self, xs: Tensor, ys: Tensor) -> Tensor:
        """Training objective on a standardized minibatch (MSE); variants override this."""
        return ((self.net_(xs)[:, 0] - ys) ** 2).mean()

    def forward(self, x: Tensor) -> Tensor:
        self._check_fitted(x)
        z = self.net_((x - self.x_mean_) / self.x_std_)[..., 0]
        return z * self.y_std_ + self.y_mean_
