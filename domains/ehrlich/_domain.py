"""``EhrlichDomain``: Ehrlich functions as a categorical design domain."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from .._base import Domain, ReferenceData
from .._oracle import Oracle
from .._space import CategoricalSpace
from ._function import EhrlichFunction, check_int

__all__ = ["ASCENT", "BASE", "PRESETS", "EhrlichDomain"]

#: named configurations: the function (``v``, ``length``, ``c``, ``k``, ``q``, ``epistasis``)
#: and, for the sandbox's tasks, the data (``n_reference``, ``offline_fraction``). A preset
#: sets the options left at their defaults (:data:`BASE`); an option given with another value
#: wins over the preset.
PRESETS: dict[str, dict[str, Any]] = {
    # sizes from the literature (Stanton et al. 2024; holo-bench's sweep configs)
    "ehrlich-32": {"v": 32, "length": 32, "c": 4, "k": 4, "q": 4},
    "ehrlich-128": {"v": 32, "length": 128, "c": 4, "k": 4, "q": 4},
    "ehrlich-256": {"v": 32, "length": 256, "c": 4, "k": 4, "q": 4},
    "ehrlich-256-k8": {"v": 32, "length": 256, "c": 4, "k": 8, "q": 4},
    # holo-bench's Ehrlich variant sized like the TFBind8/DHFR lookups (20 states, L = 8)
    "ehrlich-8": {"v": 20, "length": 8, "c": 2, "k": 2, "q": 2},
    # the sandbox's default task: ehrlich-32 (= BASE), climbed by the domain's ASCENT (plain
    # steps). A plain MLP's predictions rise by about 40 % while its true scores do not: most
    # of its designs break a banned transition and most of the feasible rest are fooled, so
    # its p50 is 0; surrogates that move less keep most designs feasible (see ASCENT).
    "ehrlich": {"v": 32, "length": 32, "c": 4, "k": 4, "q": 4},
    # its control: ehrlich-8 with dense data (4000 of 20^8 sequences; 90 % score 0, so the
    # visible 95 % holds the zeros and about half of the 0.25s): the same ascent truly improves
    # (a plain MLP's median design scores 0.5, twice D(best); its best reach the optimum).
    "ehrlich-control": {
        "v": 20,
        "length": 8,
        "c": 2,
        "k": 2,
        "q": 2,
        "n_reference": 4000,
        "offline_fraction": 0.95,
    },
}

#: the defaults of ``EhrlichDomain``'s options (the default task, ``ehrlich``).
BASE: dict[str, Any] = {
    "v": 32,
    "length": 32,
    "c": 4,
    "k": 4,
    "q": None,
    "epistasis": 0.0,
    # 2000 DMP samples of ehrlich-32 score 0 (19 %), 1/256 (30 %), 2/256 (32 %), 3/256 (1 %),
    # 4/256 (13 %) and up to 24/256 (5 %); the visible 90 % holds the five lowest levels.
    "n_reference": 2000,
    "offline_fraction": 0.9,
}


#: the default ascent of every Ehrlich task (``EhrlichDomain.optimizer_defaults``; the
#: ``ehrlich`` task and its control alike): 200 plain gradient steps of size 200 on the logits.
#:
#: Why not Adam (the molecule domain's choice, and this domain's until issue #16):
#: ``encode`` puts every absent state 10 logits below the present one, so its softmax weight
#: is about ``e^-10`` and its gradient tiny. Adam normalizes each entry's step to about
#: ``lr`` whatever the gradient's size, so every position where the surrogate prefers some
#: other state flips at about the same step, ``10 / (2 lr)``, however small the preference.
#: With the design-baselines step ``0.01 sqrt(L v) = 0.32`` a plain MLP's designs on
#: ``ehrlich`` kept every token at step 10, had changed 6 of 32 (8 % feasible) at step 20
#: and 27 at step 30, and all ended infeasible (a state bans 7 of its 32 successors, so a
#: sequence with ~30 new transitions is feasible with odds of about 0.78^30), so the task
#: could not tell surrogates apart (p50 = 0 for all). A smaller Adam step only moves that
#: cliff (``lr = 0.05``: all feasible at step 60, 6 % at step 80). Plain steps move a logit
#: by about ``lr * e^-gap * gain``, so the gap closes after about ``e^10 / (2 lr gain)``
#: steps: a token changes only where the surrogate's predicted gain of the swap
#: (standardized labels per unit of probability moved) is large, sooner the larger it is.
#: With ``lr = 200`` over 200 steps that threshold is about 0.3 offline label sd, and how
#: far designs move, so how many stay feasible, depends on the surrogate: on ``ehrlich``
#: (seeds 0-2) a plain MLP changes 4-5 tokens and 18-26 % of its designs stay feasible, COMs
#: and a GP change about one token or less and 70-95 % stay feasible. ``lr = 100`` put the
#: MLP at about 50 % feasible, where p50 flips between 0 and D(best) from seed to seed;
#: ``lr = 300`` left it 12 % feasible. The size assumes the default ``logit_bound = 10``:
#: the threshold scales with ``e^logit_bound``. Options given to a study override these one
#: by one, so ``-O method=adam`` alone keeps ``lr = 200``: give Adam its own step too
#: (``-O method=adam -O lr=0.32`` is what ``ehrlich`` ran before).
ASCENT: dict[str, Any] = {"method": "gd", "lr": 200.0, "steps": 200}


def _is_default(value: Any, default: Any) -> bool:
    """Whether an option was left at its default (``True`` is not the default 1, nor is
    ``32.0`` the integer default 32: it is left for the option's check to refuse)."""
    if value is None or default is None:
        return value is default
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return False
    if isinstance(default, int) and not isinstance(value, int | np.integer):
        return False
    return bool(value == default)


def _row_key(design: np.ndarray) -> bytes:
    return np.asarray(design, dtype=np.int64).tobytes()


class EhrlichDomain(Domain):
    """Ehrlich functions (Stanton et al. 2024): sequences of ``length`` states out of ``v``,
    scored by ``c`` spaced motifs of length ``k`` under a DMP feasibility constraint.

    See ``domains/ehrlich/_function.py`` for the definitions. The score is in ``[0, 1]``
    (1 exactly when every motif is present at its spacing; :meth:`optimal_solution` is one
    such sequence), ``nan`` (invalid) for a sequence with a banned transition.

    **Design tensor**: logits ``(K, L, v)`` (:class:`~domains.CategoricalSpace`); ``encode``
    puts ``+logit_bound / 2`` on each position's state and ``-logit_bound / 2`` elsewhere,
    ``decode`` takes the per-position argmax. Designs are int64 arrays ``(N, L)`` of states;
    ``encode`` also takes sequence strings (one character per state, ``A..Z a..z 0..9``).

    **Ascent**: the domain's ``optimizer_defaults`` make gradient ascent take 200 plain
    steps of size 200 on the logits (:data:`ASCENT`, which says why not Adam): a token changes
    only where the surrogate predicts a large gain for the swap, so how far designs move, and
    how many stay feasible, depends on the surrogate.

    **Oracle**: the closed form, one vectorized pass per call over all the cache misses
    (cached by the state sequence); ``workers > 0`` splits large calls over processes.

    **Reference data**: ``n_reference`` distinct sequences sampled from the DMP (feasible
    by construction), seeded by ``seed``, labeled by the oracle; the offline split shows the
    lowest ``offline_fraction``.

    Args:
        preset: a name from :data:`PRESETS`: sets the options below that are left at their
            defaults (an option given with a value other than its default wins).
        v: number of states (``>= 2``).
        length: sequence length ``L`` (``>= c * k``).
        c: number of motifs.
        k: motif length.
        q: quantization levels per motif, dividing ``k`` (``None``: ``k``).
        epistasis: epistasis factor ``e`` in ``[0, 4]``: each motif contributes
            ``h * (1 + e * h * (h - 1))`` for its quantized share ``h`` present.
        seed: seed of the function instance (transition matrix, motifs, spacings) and of
            the reference sample.
        n_reference: number of reference sequences.
        offline_fraction: share of the reference data visible offline (lowest scores).
        workers: oracle worker processes (0 evaluates in this process).
        chunk_size: designs per worker task.
        logit_bound: the space's logit clamp; ``encode`` uses ``+-logit_bound / 2``.
        mp_context: multiprocessing start method of the oracle's pool.
    """

    score_unit = ""
    #: the ascent horizon (see :data:`ASCENT`): plain gradient steps with a step size sized
    #: for the encoding's saturated softmax, not Adam.
    optimizer_defaults = {"gradient_ascent": dict(ASCENT)}
    summary_columns = ("feasible", "motif_mean", "motifs_complete")

    def __init__(
        self,
        preset: str | None = None,
        v: int = 32,
        length: int = 32,
        c: int = 4,
        k: int = 4,
        q: int | None = None,
        epistasis: float = 0.0,
        seed: int = 0,
        n_reference: int = 2000,
        offline_fraction: float = 0.9,
        workers: int = 0,
        chunk_size: int = 4096,
        logit_bound: float = 10.0,
        mp_context: str | None = None,
    ) -> None:
        super().__init__()
        opts = {
            "v": v,
            "length": length,
            "c": c,
            "k": k,
            "q": q,
            "epistasis": epistasis,
            "n_reference": n_reference,
            "offline_fraction": offline_fraction,
        }
        if preset is not None:
            if preset not in PRESETS:
                raise ValueError(
                    f"unknown Ehrlich preset {preset!r}; choose from {sorted(PRESETS)}"
                )
            for key, value in PRESETS[preset].items():
                if _is_default(opts[key], BASE[key]):
                    opts[key] = value
        self.preset = preset
        self.seed = check_int("seed", seed, 0)
        self.n_reference = check_int("n_reference", opts["n_reference"], 2)
        self.workers = check_int("workers", workers, 0)
        self.chunk_size = check_int("chunk_size", chunk_size, 1)
        fraction = opts["offline_fraction"]
        if isinstance(fraction, bool) or not isinstance(fraction, int | float | np.number):
            raise ValueError(f"offline_fraction must be a number in (0, 1], got {fraction!r}")
        if not 0.0 < float(fraction) <= 1.0:
            raise ValueError(f"offline_fraction must be in (0, 1], got {fraction!r}")
        self.default_offline_fraction = float(fraction)
        if isinstance(logit_bound, bool) or not isinstance(logit_bound, int | float | np.number):
            raise ValueError(f"logit_bound must be a positive number, got {logit_bound!r}")
        if not float(logit_bound) > 0:
            raise ValueError(f"logit_bound must be positive, got {logit_bound!r}")
        self.logit_bound = float(logit_bound)
        self.mp_context = mp_context
        self.function = EhrlichFunction(
            v=opts["v"],
            length=opts["length"],
            c=opts["c"],
            k=opts["k"],
            q=opts["q"],
            epistasis=opts["epistasis"],
            seed=self.seed,
        )
        f = self.function
        self.v, self.length, self.c, self.k, self.q = f.v, f.length, f.c, f.k, f.q
        self.epistasis = f.epistasis
        self.space = CategoricalSpace(f.length, f.v, logit_bound=self.logit_bound)
        epi = f"-e{f.epistasis:g}" if f.epistasis else ""
        self.name = f"ehrlich-v{f.v}-L{f.length}-c{f.c}-k{f.k}-q{f.q}{epi}"
        #: facts about the reference sample (draws, duplicates dropped, score levels).
        self.data_report_: dict[str, Any] | None = None

    # --- designs --------------------------------------------------------------------------
    def as_sequences(self, designs: Any) -> np.ndarray:
        """Designs (int array-like ``(N, L)`` or a list of sequence strings) -> int64 ``(N, L)``.

        ``ValueError`` for a wrong shape, non-integer entries or states outside ``[0, v)``.
        """
        if isinstance(designs, str):
            raise TypeError("give a list of sequences, not one string")
        if isinstance(designs, list | tuple) and designs and isinstance(designs[0], str):
            return self.function.from_strings(list(designs))
        x = np.asarray(designs)
        if x.ndim == 1 and x.size == self.length:
            x = x[None]
        if x.size == 0:
            x = x.reshape(0, self.length)
        x = self.function._check(x)
        if not self.function.in_range(x).all():
            raise ValueError(f"designs hold states outside [0, {self.v})")
        return x

    def encode(self, designs: Any) -> Tensor:
        """Sequences -> logits ``(N, L, v)``: ``+logit_bound/2`` at each state, else ``-logit_bound/2``."""
        x = torch.as_tensor(self.as_sequences(designs))
        one_hot = torch.nn.functional.one_hot(x, self.v).bool()
        half = self.logit_bound / 2
        return torch.where(one_hot, half, -half).to(torch.float32)

    def decode(self, x: Tensor) -> np.ndarray:
        """Logits ``(N, L, v)`` -> int64 sequences ``(N, L)`` (per-position argmax)."""
        self.space.check(x)
        return x.detach().argmax(-1).cpu().numpy().astype(np.int64)

    def optimal_solution(self) -> np.ndarray:
        """A feasible sequence ``(L,)`` scoring exactly 1 (the motifs side by side)."""
        return self.function.optimum.copy()

    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` DMP sequences ``(n, L)`` (feasible; duplicates possible), seeded."""
        n = check_int("n", n, 0)
        return self.function.sample(n, np.random.default_rng([self.seed, 2, int(seed)]))

    def upper_bound(self, designs: Any) -> np.ndarray:
        """1 for every design: the product of per-motif responses in ``[0, 1]``."""
        return np.ones(len(designs), dtype=np.float64)

    def design_columns(self, designs: Any) -> dict[str, Any]:
        """``sequence``, ``feasible``, per motif ``motif{i}`` (share of its ``k`` states
        present at its best position) and ``motif{i}_q`` (that share quantized), then
        ``motif_mean`` (mean quantized share) and ``motifs_complete`` (motifs fully present)."""
        f = self.function
        x = np.clip(f._check(np.asarray(designs).reshape(len(designs), self.length)), 0, f.v - 1)
        counts, _ = f.motif_counts(x)
        quant = f.quantize(counts)
        cols: dict[str, Any] = {
            "sequence": f.to_strings(x),
            "feasible": f.feasible(np.asarray(designs).reshape(len(designs), self.length)),
        }
        for i in range(self.c):
            cols[f"motif{i}"] = counts[:, i] / self.k
            cols[f"motif{i}_q"] = quant[:, i]
        cols["motif_mean"] = quant.mean(1)
        cols["motifs_complete"] = (counts == self.k).sum(1).astype(np.int64)
        return cols

    def draw(self, designs: Any, labels: list[str] | None = None, **kwargs: Any):
        """A :class:`matplotlib.figure.Figure`: one coloured strip of states per design, each
        motif's best window outlined (solid where the state matches, dotted where not) and
        banned transitions marked by a black bar (see :func:`domains.ehrlich._draw.draw_sequences`)."""
        from ._draw import draw_sequences

        return draw_sequences(self.function, self.as_sequences(designs), labels, **kwargs)

    def render_designs(self, designs: Any, labels: list[str], path: str) -> bool:
        """:meth:`draw` saved as a PNG at ``path``."""
        from pathlib import Path

        fig = self.draw(designs, list(labels))
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        return True

    # --- oracle ---------------------------------------------------------------------------
    def _make_oracle(self) -> Oracle:
        return Oracle(
            self.function,
            key=_row_key,
            workers=self.workers,
            chunk_size=self.chunk_size,
            mp_context=self.mp_context,
        )

    # --- data -----------------------------------------------------------------------------
    def _make_reference(self) -> ReferenceData:
        rng = np.random.default_rng([self.seed, 1])
        x = np.empty((0, self.length), dtype=np.int64)
        drawn = 0
        for _ in range(50):  # small spaces may not hold n_reference distinct sequences
            batch = self.function.sample(max(64, 2 * (self.n_reference - len(x))), rng)
            drawn += len(batch)
            both = np.concatenate([x, batch])
            _, first = np.unique(both, axis=0, return_index=True)
            x = both[np.sort(first)][: self.n_reference]  # the kept rows stay first, in order
            if len(x) == self.n_reference:
                break
        res = self.oracle.query(x)
        y = res.values
        levels, counts = np.unique(y[np.isfinite(y)], return_counts=True)
        self.data_report_ = {
            "kept": len(x),
            "drawn": drawn,
            "short_of_n_reference": self.n_reference - len(x),
            "infeasible": int((~np.isfinite(y)).sum()),
            "levels": {f"{lv:.6g}": int(n) for lv, n in zip(levels, counts, strict=True)},
        }
        if not np.isfinite(y).all():  # pragma: no cover - DMP samples are feasible
            raise RuntimeError("an Ehrlich reference sample is infeasible (a bug)")
        return ReferenceData(x, self.encode(x), y)

    def describe(self) -> dict[str, Any]:
        ref = self.reference_data()
        return {
            **super().describe(),
            **self.function.describe(),
            "preset": self.preset,
            "n_reference": len(ref),
            "offline_fraction": self.default_offline_fraction,
            "score": "product over motifs of the quantized share present at its spacing "
            "(1 = every motif present); nan when a transition is banned",
            "upper_bound": 1.0,
            "reference_levels": (self.data_report_ or {}).get("levels"),
        }
