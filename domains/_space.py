"""Design spaces: the continuous tensors that optimizers move.

A space maps a batch of *design tensors* (what the optimizer moves, shape ``(K, *shape)``)
to the *features* a surrogate sees (shape ``(K, dim)``), and projects design tensors back
into the feasible set after each step.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch
from torch import Tensor

#: how far outside a box (a share of the box's width, per coordinate) a design may lie and
#: still count as inside it (it is then clamped onto the bound): room for float32 rounding of
#: designs projected onto the bounds. Anything further out, or not finite, is invalid.
BOX_RTOL = 1e-6


def box_tolerance(lower: np.ndarray, upper: np.ndarray, rtol: float = BOX_RTOL) -> np.ndarray:
    """Per-coordinate slack of :func:`in_box`: ``rtol`` of the width plus the float32
    rounding of the larger bound (a float32 bound may differ from its float64 value)."""
    lower = np.asarray(lower, dtype=np.float64)
    upper = np.asarray(upper, dtype=np.float64)
    scale = np.maximum(np.abs(lower), np.abs(upper))
    return rtol * (upper - lower) + np.finfo(np.float32).eps * scale


def in_box(
    x: np.ndarray, lower: np.ndarray, upper: np.ndarray, rtol: float = BOX_RTOL
) -> np.ndarray:
    """Rows of ``x`` ``(n, d)`` that are finite and inside ``[lower, upper]`` up to
    :func:`box_tolerance`, as a bool array ``(n,)``."""
    x = np.asarray(x, dtype=np.float64)
    tol = box_tolerance(lower, upper, rtol)
    with np.errstate(invalid="ignore"):
        inside = ((x >= lower - tol) & (x <= upper + tol)).all(axis=-1)
    return np.isfinite(x).all(axis=-1) & inside


def check_box_designs(designs: object, dim: int, name: str = "") -> None:
    """``ValueError`` (one line) unless ``designs`` is a batch ``(n, dim)`` of numbers.

    An empty batch passes. Values are not judged here (``nan`` or out of the box is an
    *invalid* design, scored ``nan`` by the oracle), only the shape.
    """
    prefix = f"{name}: " if name else ""
    try:
        n = len(designs)  # type: ignore[arg-type]
        arr = np.asarray(designs, dtype=np.float64)
    except (TypeError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(
            f"{prefix}expected a batch of designs, numbers of shape (n, {dim}) ({first})"
        ) from None
    if n == 0:
        return
    if arr.ndim != 2 or arr.shape[1] != dim:
        hint = f"; one design is a batch of one, shape (1, {dim})" if arr.shape == (dim,) else ""
        raise ValueError(f"{prefix}expected designs of shape (n, {dim}), got {arr.shape}{hint}")


class Space(ABC):
    """A continuous design space.

    Attributes:
        shape: shape of one design tensor (``(d,)`` for a box, ``(L, V)`` for sequences).
        dim: number of features the surrogate sees per design.
    """

    shape: tuple[int, ...]
    dim: int
    #: whether optimizers should step on design tensors standardized by the offline data's
    #: per-entry mean and spread (True for boxes; logits are already a normalized scale).
    standardize: bool = True

    @abstractmethod
    def features(self, x: Tensor, hard: bool = False) -> Tensor:
        """Differentiable map from design tensors ``(K, *shape)`` to features ``(K, dim)``.

        ``hard=True`` gives the features of the *decoded* design (e.g. the one-hot at the
        argmax for sequences); for a box both are the identity.
        """

    @abstractmethod
    def project(self, x: Tensor) -> Tensor:
        """Map design tensors ``(K, *shape)`` back into the space (no gradient needed)."""

    def check(self, x: Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is a batch of design tensors of this space."""
        if x.ndim != len(self.shape) + 1 or tuple(x.shape[1:]) != tuple(self.shape):
            raise ValueError(
                f"expected design tensors of shape (K, {', '.join(map(str, self.shape))}), "
                f"got {tuple(x.shape)}"
            )


class BoxSpace(Space):
    """A box ``lower <= x <= upper`` in ``R^d``; ``project`` clamps into it.

    Args:
        lower: ``(d,)`` lower bounds.
        upper: ``(d,)`` upper bounds.
    """

    def __init__(self, lower: Tensor, upper: Tensor) -> None:
        lower = torch.as_tensor(lower, dtype=torch.float32).flatten()
        upper = torch.as_tensor(upper, dtype=torch.float32).flatten()
        if lower.shape != upper.shape:
            raise ValueError(
                f"bounds differ in shape: {tuple(lower.shape)} vs {tuple(upper.shape)}"
            )
        if not bool((upper > lower).all()):
            raise ValueError("every upper bound must exceed its lower bound")
        self.lower, self.upper = lower, upper
        self.shape = (lower.numel(),)
        self.dim = lower.numel()

    def features(self, x: Tensor, hard: bool = False) -> Tensor:
        return x

    def project(self, x: Tensor) -> Tensor:
        return torch.clamp(x, self.lower.to(x), self.upper.to(x))

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` points uniform in the box, ``(n, d)``."""
        u = torch.rand(n, self.dim, generator=generator)
        return self.lower + u * (self.upper - self.lower)

    def __repr__(self) -> str:
        return f"BoxSpace(d={self.dim})"


class CategoricalSpace(Space):
    """Sequences of length ``L`` over ``V`` tokens, moved as logits ``(K, L, V)``.

    The surrogate sees the softmax of the logits (relaxed one-hot), flattened to
    ``L * V`` features; ``hard=True`` gives the one-hot at the per-position argmax.
    Logits are clamped to ``[-logit_bound, logit_bound]`` by ``project``. Optimizers step on
    the logits as they are (``standardize = False``): per-entry standardization by offline
    data would freeze rare tokens (tiny spread) and is meaningless for absent ones.
    """

    standardize = False

    def __init__(self, length: int, vocab_size: int, logit_bound: float = 10.0) -> None:
        if length < 1 or vocab_size < 2:
            raise ValueError("need length >= 1 and vocab_size >= 2")
        self.length, self.vocab_size, self.logit_bound = length, vocab_size, logit_bound
        self.shape = (length, vocab_size)
        self.dim = length * vocab_size

    def features(self, x: Tensor, hard: bool = False) -> Tensor:
        if hard:
            p = torch.nn.functional.one_hot(x.argmax(-1), self.vocab_size).to(x.dtype)
        else:
            p = torch.softmax(x, dim=-1)
        return p.flatten(1)

    def project(self, x: Tensor) -> Tensor:
        return torch.clamp(x, -self.logit_bound, self.logit_bound)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` sequences of tokens uniform at every position, as logits ``(n, L, V)``.

        Encoded like the molecule domain's designs: ``+logit_bound / 2`` at each position's
        token, ``-logit_bound / 2`` elsewhere.
        """
        tokens = torch.randint(self.vocab_size, (n, self.length), generator=generator)
        one_hot = torch.nn.functional.one_hot(tokens, self.vocab_size).bool()
        half = self.logit_bound / 2
        return torch.where(one_hot, half, -half).to(torch.float32)

    def __repr__(self) -> str:
        return f"CategoricalSpace(L={self.length}, V={self.vocab_size})"
