"""Ehrlich functions (Stanton et al. 2024): seeded construction and batched evaluation.

An Ehrlich function scores sequences ``x`` of length ``L`` over ``v`` states:

* **feasibility**: a discrete Markov process (DMP) with a sparse, banded, ergodic transition
  matrix ``A`` over the states. ``x`` is infeasible when some transition ``x[t] -> x[t+1]``
  has ``A = 0`` (a *banned* transition); every state may repeat (``A[s, s] > 0``).
* **motifs**: ``c`` motifs ``a(i)`` of ``k`` states, each with offsets ``s(i)``
  (``s(i)_0 = 0 < s(i)_1 < ...``). For one motif,
  ``h_q(x, a, s) = max_l floor(q * #{j : x[l + s_j] = a_j} / k) / q``, the best
  ``q``-quantized share of the motif present at its spacing anywhere in ``x``.
* **value**: ``f(x) = prod_i r(h_q(x, a(i), s(i)))`` for feasible ``x``, with the epistatic
  response ``r(h) = h * (1 + e * h * (h - 1))`` (``e = 0``: ``r(h) = h``); the reference
  code returns ``-inf`` for infeasible ``x``, here ``nan`` (the sandbox's invalid outcome).

For ``0 <= e <= 4``, ``0 <= r(h) <= h <= 1``, so ``f`` lies in ``[0, 1]`` and reaches 1
exactly where every motif is fully present; ``e`` penalises partly present motifs (a motif
counts for little until it is nearly complete).

Construction, from one seed (the definitions of pytorch-holo's ``Ehrlich`` and
``holo.test_functions.elemental``, re-implemented with numpy):

1. ``A``: rows ``softmax(N(0, 1) / 0.5)``, masked by a banded circulant 0/1 matrix of
   half-bandwidth ``int(0.4 v)`` (``|i - j| mod v`` within the band is allowed) whose rows are
   randomly permuted, with the diagonal always allowed, then renormalised. A draw that is not
   irreducible is redrawn (with a positive diagonal, irreducible means ergodic).
2. motifs: one DMP sample of length ``c * k`` (started from the stationary distribution),
   cut into ``c`` motifs, so consecutive motif elements, and the last element of one motif
   and the first of the next, are allowed transitions.
3. spacings: per motif, weights ``w ~ U(0, 1)^(k-1)`` normalised to sum 1, gaps
   ``1 + floor((L - c k) // c * w)``, offsets their cumulative sum (from 0). Every motif
   spans at most ``k + (L - c k) // c`` positions, so all ``c`` fit side by side.
4. the optimum: the motifs laid side by side at their spacings, every gap filled by
   repeating the state before it, the tail by repeating the last state. It is feasible by
   construction (checked) and scores exactly 1 (checked).
"""

from __future__ import annotations

import string
from typing import Any

import numpy as np

from .._options import integer, show

__all__ = ["ALPHABET", "EhrlichFunction", "check_int"]

#: one character per state for ``v <= 62`` (sequence strings); beyond that, dot-joined ints.
ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits

#: softmax temperature of the transition rows and band share, as in the reference.
SOFTMAX_TEMP = 0.5
BAND_SHARE = 0.4
_MAX_DRAWS = 1000


def check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]``; a one-line ``ValueError`` naming ``name``.

    The rule of the other domains (:func:`domains._options.integer`): Python or numpy
    integers only; ``bool`` and every float, integral or not (``32.0``), are refused.
    """
    if high is None:
        return integer(name, value, low)
    try:
        out = integer(name, value, low)
    except ValueError:
        out = None
    if out is None or out > high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {show(value)}")
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def _irreducible(allowed: np.ndarray) -> bool:
    """Whether every state reaches every other through allowed transitions."""
    reach = allowed | np.eye(len(allowed), dtype=bool)
    for _ in range(max(1, int(np.ceil(np.log2(len(allowed)))) + 1)):
        reach = (reach.astype(np.int64) @ reach.astype(np.int64)) > 0
    return bool(reach.all())


def stationary_distribution(transition: np.ndarray) -> np.ndarray:
    """``pi`` with ``pi A = pi``, ``sum(pi) = 1`` (least squares on the stacked system)."""
    v = len(transition)
    a = np.vstack([(np.eye(v) - transition).T, np.ones((1, v))])
    b = np.zeros(v + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


def sample_dmp(
    transition: np.ndarray, initial: np.ndarray, n: int, length: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` DMP sequences ``(n, length)`` (int64), batched over sequences.

    Inverse-CDF sampling with ``u`` in ``(0, 1]``: a banned state adds 0 to its row's
    cumulative sum, so its CDF equals its predecessor's and the first CDF entry ``>= u``
    is never a banned state.
    """
    cdf = np.cumsum(transition, axis=1)
    cdf /= cdf[:, -1:]
    cdf0 = np.cumsum(initial)
    cdf0 /= cdf0[-1]
    out = np.empty((n, length), dtype=np.int64)
    u = 1.0 - rng.random((n, length))
    out[:, 0] = np.minimum((cdf0[None, :] < u[:, :1]).sum(1), len(initial) - 1)
    for t in range(1, length):
        out[:, t] = (cdf[out[:, t - 1]] < u[:, t : t + 1]).sum(1)
    return out


class EhrlichFunction:
    """One Ehrlich function instance, built from ``seed`` (see the module docstring).

    Calling it scores a batch ``(N, L)`` of integer sequences in one vectorized pass (no
    loop over sequences): float64 ``(N,)`` in ``[0, 1]``, ``nan`` for infeasible sequences
    (and for states outside ``[0, v)``).

    Args:
        v: number of states.
        length: sequence length ``L`` (``>= c * k``).
        c: number of motifs.
        k: motif length.
        q: quantization levels per motif (divides ``k``; ``None``: ``k``, no quantization).
        epistasis: epistasis factor ``e`` in ``[0, 4]``.
        seed: seed of the instance (transition matrix, motifs, spacings).

    Attributes:
        transition: ``(v, v)`` DMP transition matrix.
        allowed: ``(v, v)`` bool, ``transition > 0``.
        stationary: ``(v,)`` stationary distribution of the DMP.
        motifs: ``(c, k)`` int64 motif states.
        offsets: ``(c, k)`` int64 motif offsets (first 0).
        optimum: ``(L,)`` int64, a feasible sequence scoring exactly 1.
    """

    def __init__(
        self,
        v: int = 32,
        length: int = 32,
        c: int = 4,
        k: int = 4,
        q: int | None = None,
        epistasis: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.v = check_int("v", v, 2)
        self.length = check_int("length", length, 1)
        self.c = check_int("c", c, 1)
        self.k = check_int("k", k, 1)
        self.q = self.k if q is None else check_int("q", q, 1, self.k)
        if self.k % self.q:
            raise ValueError(f"q must divide k={self.k}, got q={self.q}")
        if isinstance(epistasis, bool) or not isinstance(epistasis, int | float | np.number):
            raise ValueError(f"epistasis must be a number in [0, 4], got {epistasis!r}")
        if not 0.0 <= float(epistasis) <= 4.0:
            raise ValueError(f"epistasis must be in [0, 4], got {epistasis!r}")
        self.epistasis = float(epistasis)
        self.seed = check_int("seed", seed, 0)
        if self.length < self.c * self.k:
            raise ValueError(
                f"length must be >= c * k = {self.c * self.k} so that all motifs fit, "
                f"got {self.length}"
            )
        rng = np.random.default_rng([self.seed, 0])  # the instance stream; data use [seed, 1]
        self.transition, self.allowed = self._draw_transition(rng)
        self.stationary = stationary_distribution(self.transition)
        self.motifs = sample_dmp(self.transition, self.stationary, 1, self.c * self.k, rng).reshape(
            self.c, self.k
        )
        self.offsets = self._draw_offsets(rng)
        self.optimum = self._build_optimum()
        if not self.feasible(self.optimum[None])[0]:
            raise RuntimeError("Ehrlich construction: the optimum is infeasible (a bug)")
        if self(self.optimum[None])[0] != 1.0:
            raise RuntimeError("Ehrlich construction: the optimum does not score 1 (a bug)")

    # --- construction -------------------------------------------------------------------
    def _draw_transition(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        v = self.v
        band = int(v * BAND_SHARE)
        diff = (np.arange(v)[None, :] - np.arange(v)[:, None]) % v
        circulant = np.minimum(diff, v - diff) <= band
        for _ in range(_MAX_DRAWS):
            dense = _softmax(rng.standard_normal((v, v)) / SOFTMAX_TEMP)
            allowed = circulant[rng.permutation(v)] | np.eye(v, dtype=bool)
            if _irreducible(allowed):
                break
        else:  # pragma: no cover - needs v = 2 and ~1000 unlucky draws
            raise RuntimeError(f"no ergodic transition matrix in {_MAX_DRAWS} draws (v={v})")
        transition = np.where(allowed, dense, 0.0)
        transition /= transition.sum(1, keepdims=True)
        return transition, transition > 0

    def _draw_offsets(self, rng: np.random.Generator) -> np.ndarray:
        per_motif = (self.length - self.c * self.k) // self.c
        offsets = np.zeros((self.c, self.k), dtype=np.int64)
        for i in range(self.c):
            if self.k == 1:
                continue
            w = rng.random(self.k - 1)
            w /= w.sum()
            gaps = 1 + np.floor(per_motif * w).astype(np.int64)
            offsets[i, 1:] = np.cumsum(gaps)
        return offsets

    def _build_optimum(self) -> np.ndarray:
        out = np.empty(self.length, dtype=np.int64)
        pos = 0
        for motif, off in zip(self.motifs, self.offsets, strict=True):
            span = int(off[-1]) + 1
            seg = np.repeat(motif, np.diff(np.append(off, span)))  # each state until the next
            out[pos : pos + span] = seg
            pos += span
        out[pos:] = out[pos - 1]
        return out

    # --- evaluation -----------------------------------------------------------------------
    def _check(self, x: Any) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.length:
            raise ValueError(
                f"expected sequences of shape (N, {self.length}), got {tuple(x.shape)}"
            )
        if x.dtype.kind not in "iu":
            if x.dtype.kind == "f" and np.all(np.isfinite(x)) and np.all(x == np.round(x)):
                x = x.astype(np.int64)
            else:
                raise ValueError(f"sequences must hold integer states, got dtype {x.dtype}")
        return x.astype(np.int64, copy=False)

    def in_range(self, x: Any) -> np.ndarray:
        x = self._check(x)
        return ((x >= 0) & (x < self.v)).all(1)

    def feasible(self, x: Any) -> np.ndarray:
        """``(N,)`` bool: states in range and no banned transition."""
        x = self._check(x)
        ok = self.in_range(x)
        xc = np.where(ok[:, None], x, 0)
        return ok & self.allowed[xc[:, :-1], xc[:, 1:]].all(1)

    def banned_steps(self, x: Any) -> np.ndarray:
        """``(N, L - 1)`` bool: ``True`` at ``t`` where ``x[t] -> x[t+1]`` is banned."""
        x = np.clip(self._check(x), 0, self.v - 1)
        return ~self.allowed[x[:, :-1], x[:, 1:]]

    def motif_counts(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Per sequence and motif, the most motif elements present at one position, and
        that position: ``counts, where``, both ``(N, c)`` int64 (first best position)."""
        x = np.clip(self._check(x), 0, self.v - 1)
        n = len(x)
        counts = np.zeros((n, self.c), dtype=np.int64)
        where = np.zeros((n, self.c), dtype=np.int64)
        for i in range(self.c):  # c is small; every step is vectorized over sequences
            off = self.offsets[i]
            starts = np.arange(self.length - int(off[-1]))
            hits = (x[:, starts[:, None] + off[None, :]] == self.motifs[i]).sum(-1)  # (N, P)
            where[:, i] = hits.argmax(1)
            counts[:, i] = hits.max(1)
        return counts, where

    def quantize(self, counts: np.ndarray) -> np.ndarray:
        """``floor(q * counts / k) / q``: the quantized share of each motif present."""
        return (np.asarray(counts) * self.q // self.k) / self.q

    def response(self, h: np.ndarray) -> np.ndarray:
        """The epistatic response ``h * (1 + e * h * (h - 1))``."""
        h = np.asarray(h, dtype=np.float64)
        return h * (1.0 + self.epistasis * h * (h - 1.0))

    def values(self, x: Any) -> np.ndarray:
        """``f`` of a batch ``(N, L)``: float64 ``(N,)``, ``nan`` where infeasible."""
        x = self._check(x)
        counts, _ = self.motif_counts(x)
        value = self.response(self.quantize(counts)).prod(1)
        return np.where(self.feasible(x), value, np.nan)

    def __call__(self, x: Any) -> np.ndarray:
        return self.values(x)

    # --- sampling and text ------------------------------------------------------------------
    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` sequences from the DMP (started at its stationary distribution): feasible."""
        return sample_dmp(self.transition, self.stationary, n, self.length, rng)

    def to_strings(self, x: Any) -> list[str]:
        """One string per sequence: a character per state (``v <= 62``), else dot-joined."""
        x = np.clip(self._check(x), 0, self.v - 1)
        if self.v <= len(ALPHABET):
            table = np.array(list(ALPHABET[: self.v]))
            return ["".join(row) for row in table[x]]
        return [".".join(map(str, row)) for row in x.tolist()]

    def from_strings(self, seqs: list[str]) -> np.ndarray:
        """Inverse of :meth:`to_strings`; ``ValueError`` for unknown symbols or lengths."""
        rows = []
        for i, s in enumerate(seqs):
            if self.v <= len(ALPHABET):
                idx = [ALPHABET.find(ch) for ch in s]
            else:
                try:
                    idx = [int(t) for t in s.split(".")]
                except ValueError:
                    idx = [-1]
            if len(idx) != self.length or min(idx) < 0 or max(idx) >= self.v:
                raise ValueError(
                    f"sequence {i} ({s[:40]!r}) is not {self.length} states of this "
                    f"alphabet ({self.v} states)"
                )
            rows.append(idx)
        return np.asarray(rows, dtype=np.int64).reshape(len(rows), self.length)

    def describe(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "L": self.length,
            "c": self.c,
            "k": self.k,
            "q": self.q,
            "epistasis": self.epistasis,
            "seed": self.seed,
            "motifs": self.motif_strings(),
            "offsets": self.offsets.tolist(),
            "banned_per_state": float((~self.allowed).sum(1).mean()),
            "optimum": self.to_strings(self.optimum[None])[0],
        }

    def motif_strings(self) -> list[str]:
        if self.v <= len(ALPHABET):
            return ["".join(ALPHABET[s] for s in m) for m in self.motifs.tolist()]
        return [".".join(map(str, m)) for m in self.motifs.tolist()]

    def __repr__(self) -> str:
        return (
            f"EhrlichFunction(v={self.v}, L={self.length}, c={self.c}, k={self.k}, q={self.q}, "
            f"epistasis={self.epistasis:g}, seed={self.seed})"
        )
