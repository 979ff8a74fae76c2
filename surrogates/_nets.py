"""Networks with stacked member parameters: M independent nets evaluated as one batched op.

Every layer holds parameters of shape ``(M, ...)`` and maps ``(M, B, d_in) -> (M, B, d_out)``
with one batched matrix product, so a deep ensemble trains and predicts as a single model
(and ``M = 1`` is a plain network). Layers: :class:`StackedLinear` (optionally spectrally
normalized) and :class:`RBFHead` (Gaussian units on squared distances).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}


class StackedLinear(nn.Module):
    """``M`` linear maps ``d_in -> d_out``: weight ``(M, d_in, d_out)``, bias ``(M, 1, d_out)``.

    Initialized per member like ``nn.Linear``. With ``spectral_norm`` the weight is divided
    by its largest singular value and multiplied by ``bound`` (Miyato et al. 2018 use 1): one
    power iteration per training forward pass; :meth:`freeze_spectral_norm` stores the exact
    value for evaluation.
    """

    def __init__(
        self, n_members: int, d_in: int, d_out: int, spectral_norm: bool = False, bound: float = 1.0
    ) -> None:
        super().__init__()
        self.bound = bound
        bound = 1.0 / math.sqrt(d_in)
        self.weight = nn.Parameter(torch.empty(n_members, d_in, d_out).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_members, 1, d_out).uniform_(-bound, bound))
        self.spectral_norm = spectral_norm
        if spectral_norm:
            self.register_buffer("u", F.normalize(torch.randn(n_members, d_out), dim=-1))
            self.register_buffer("v", F.normalize(torch.randn(n_members, d_in), dim=-1))
            self.register_buffer("sigma", torch.ones(n_members))
            self.register_buffer("sigma_frozen", torch.tensor(False))

    def effective_weight(self) -> Tensor:
        """The weight actually applied, ``(M, d_in, d_out)``."""
        w = self.weight
        if not self.spectral_norm:
            return w
        if self.training or not bool(self.sigma_frozen):
            with torch.no_grad():  # one power iteration on W_m^T (d_out x d_in)
                self.v.copy_(F.normalize(torch.einsum("mio,mo->mi", w, self.u), dim=-1))
                self.u.copy_(F.normalize(torch.einsum("mio,mi->mo", w, self.v), dim=-1))
                self.sigma_frozen.fill_(False)
            sigma = torch.einsum("mi,mio,mo->m", self.v, w, self.u)
        else:
            sigma = self.sigma
        return w * (self.bound / sigma.clamp_min(1e-12))[:, None, None]

    @torch.no_grad()
    def freeze_spectral_norm(self) -> None:
        """Store each member's exact largest singular value for use in eval mode."""
        if self.spectral_norm:
            self.sigma.copy_(torch.linalg.matrix_norm(self.weight, ord=2))
            self.sigma_frozen.fill_(True)

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias, x, self.effective_weight())

    def forward_shared(self, x: Tensor) -> Tensor:
        """The same ``(B, d_in)`` input to every member -> ``(M, B, d_out)``.

        Equals ``forward(x.expand(M, B, d_in))`` but runs as one ``(B, d_in) @ (d_in, M *
        d_out)`` product: no ``M`` copies of the input in the forward pass and, for the
        input gradient, one product instead of ``M`` plus a sum over members.
        """
        w = self.effective_weight()
        m, d_in, d_out = w.shape
        if m == 1:
            return torch.addmm(self.bias[0], x, w[0]).unsqueeze(0)
        out = (x @ w.transpose(0, 1).reshape(d_in, m * d_out)).view(x.shape[0], m, d_out)
        return (out + self.bias.transpose(0, 1)).transpose(0, 1)


class RBFHead(nn.Module):
    """Gaussian units on squared distances, then a linear read-out.

    ``phi_c(h) = exp(-||h - c||^2 / (2 s_c^2))`` with learnable centers ``c`` ``(M, C, d)``
    and widths ``s_c`` (no square root of the distance: the gradient is finite at the
    centers, where gradient ascent starts). Centers are set from data by :meth:`init_from`.
    """

    def __init__(self, n_members: int, d_in: int, n_centers: int, d_out: int) -> None:
        super().__init__()
        self.centers = nn.Parameter(torch.randn(n_members, n_centers, d_in))
        self.log_width = nn.Parameter(torch.zeros(n_members, n_centers))
        self.readout = StackedLinear(n_members, n_centers, d_out)

    @torch.no_grad()
    def init_from(self, h: Tensor, generator: torch.Generator | None = None) -> None:
        """Centers from ``C`` random rows of ``h`` ``(M, N, d)`` per member; widths from the
        median distance between centers."""
        m, c = self.centers.shape[:2]
        n = h.shape[1]
        for i in range(m):
            idx = torch.randperm(n, generator=generator)[:c]
            if n < c:
                idx = torch.cat([idx, torch.randint(n, (c - n,), generator=generator)])
            self.centers[i] = h[i, idx.to(h.device)]
        d2 = torch.cdist(self.centers, self.centers).pow(2)
        med = d2.flatten(1).median(dim=1).values.clamp_min(1e-6)
        self.log_width.copy_(0.5 * torch.log(med)[:, None].expand_as(self.log_width))

    def activations(self, h: Tensor) -> Tensor:
        """``(M, B, d) -> (M, B, C)``."""
        d2 = (
            h.pow(2).sum(-1, keepdim=True)
            - 2 * h @ self.centers.transpose(1, 2)
            + self.centers.pow(2).sum(-1)[:, None, :]
        ).clamp_min(0.0)
        return torch.exp(-0.5 * d2 / torch.exp(2 * self.log_width)[:, None, :])

    def forward(self, h: Tensor) -> Tensor:
        return self.readout(self.activations(h))


class StackedNet(nn.Module):
    """``M`` networks: ``depth`` hidden layers of ``width`` units, then a linear or RBF head.

    ``forward`` maps ``(B, d)`` (shared by all members) or ``(M, B, d)`` to ``(M, B, n_out)``.
    A shared input enters the first linear layer of an ensemble either expanded to
    ``(M, B, d)`` (one batched product) or through :meth:`StackedLinear.forward_shared` (one
    plain product): ``shared_gemm`` ``True``/``False`` forces one, ``None`` picks the shared
    product when the input is wider than the layer's output (``benchmarks/bench_optimizer.py``
    on 2 CPU cores, M=5, 2x256: forward + input gradient 1.3x faster at d=5640, no gain at
    d=30).
    """

    #: first layer on a shared ``(B, d)`` input as one product; ``None``: when ``d > d_out``
    shared_gemm: bool | None = None

    def _use_shared(self, x: Tensor, layer: StackedLinear) -> bool:
        if x.ndim != 2 or self.shared_gemm is False:
            return False
        m, d_in, d_out = layer.weight.shape
        return bool(self.shared_gemm) or (m > 1 and d_in > d_out)

    def __init__(
        self,
        n_members: int,
        d_in: int,
        width: int,
        depth: int,
        activation: str = "relu",
        spectral_norm: bool = False,
        head: str = "linear",
        n_centers: int = 64,
        n_out: int = 1,
        lipschitz: float = 1.0,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}"
            )
        if head not in ("linear", "rbf"):
            raise ValueError(f"head must be 'linear' or 'rbf', got {head!r}")
        self.n_members = n_members
        dims = [d_in] + [width] * depth
        # with spectral norm, each of the depth + 1 layers gets an equal share of the bound
        per_layer = lipschitz ** (1.0 / (depth + 1))
        self.hidden = nn.ModuleList(
            StackedLinear(n_members, a, b, spectral_norm, per_layer)
            for a, b in zip(dims[:-1], dims[1:], strict=True)
        )
        self.act = ACTIVATIONS[activation]()
        if head == "rbf":
            self.head: nn.Module = RBFHead(n_members, dims[-1], n_centers, n_out)
        else:
            self.head = StackedLinear(n_members, dims[-1], n_out, spectral_norm, per_layer)

    def features(self, x: Tensor) -> Tensor:
        """Input to the head: ``(B, d)`` or ``(M, B, d)`` -> ``(M, B, width)``."""
        layers = list(self.hidden)
        if layers and self._use_shared(x, layers[0]):
            h = self.act(layers.pop(0).forward_shared(x))
        else:
            h = x.expand(self.n_members, *x.shape) if x.ndim == 2 else x
        for layer in layers:
            h = self.act(layer(h))
        return h

    def forward(self, x: Tensor) -> Tensor:
        if not self.hidden and isinstance(self.head, StackedLinear):  # a linear model
            if self._use_shared(x, self.head):
                return self.head.forward_shared(x)
        return self.head(self.features(x))

    def stacked_linears(self) -> list[StackedLinear]:
        return [m for m in self.modules() if isinstance(m, StackedLinear)]

    def freeze_spectral_norm(self) -> None:
        for layer in self.stacked_linears():
            layer.freeze_spectral_norm()

    def member(self, i: int) -> nn.Sequential:
        """Member ``i`` as a plain ``nn.Sequential`` (linear head only): the loop reference."""
        if isinstance(self.head, RBFHead):
            raise NotImplementedError("member() supports linear heads")
        mods: list[nn.Module] = []
        for layer in [*self.hidden, self.head]:
            w = layer.effective_weight()[i].detach()
            lin = nn.Linear(w.shape[0], w.shape[1]).to(w)
            lin.weight.data.copy_(w.T)
            lin.bias.data.copy_(layer.bias[i, 0].detach())
            mods += [lin, type(self.act)()]
        return nn.Sequential(*mods[:-1])
