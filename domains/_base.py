"""The ``Domain`` interface: a design space, a sealed oracle and reference data."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ._options import fraction as _fraction
from ._options import integer
from ._oracle import Oracle
from ._space import Space


class CheckedOracle(Oracle):
    """An :class:`Oracle` that refuses a malformed batch before evaluating any of it.

    ``check(designs)`` raises ``ValueError`` (one line, naming the expected shape) when
    ``designs`` is not a batch of this domain's designs at all: one unbatched design, rows of
    the wrong width, one SMILES string instead of a list. Such a call evaluates nothing and
    counts nothing. A well-formed design the domain rejects (out of its box, not finite, an
    unparsable SMILES) is not refused here: ``evaluate`` scores it ``nan`` (invalid).

    Args:
        evaluate, key, **options: as for :class:`Oracle`.
        check: picklable ``designs -> None`` raising ``ValueError``.
    """

    def __init__(
        self,
        evaluate: Callable[[Any], np.ndarray],
        key: Callable[[Any], Hashable],
        check: Callable[[Any], None],
        **options: Any,
    ) -> None:
        super().__init__(evaluate, key, **options)
        self.check = check

    def _query(self, designs: Any, stacklevel: int, progress: str | None = None) -> Any:
        self.check(designs)
        return super()._query(designs, stacklevel + 1, progress)


@dataclass
class ReferenceData:
    """Labeled designs.

    Attributes:
        designs: the concrete designs (array ``(N, ...)`` or list of length ``N``).
        x: their design tensors ``(N, *space.shape)``.
        y: raw scores ``(N,)`` (finite).
    """

    designs: Any
    x: Tensor
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, idx: np.ndarray) -> ReferenceData:
        idx = np.asarray(idx, dtype=int)
        designs = (
            self.designs[idx]
            if isinstance(self.designs, np.ndarray)
            else [self.designs[i] for i in idx]
        )
        return ReferenceData(designs, self.x[torch.as_tensor(idx, dtype=torch.long)], self.y[idx])

    def top(self, k: int) -> ReferenceData:
        """The ``k`` best designs, best first.

        ``ValueError`` unless ``1 <= k <= len(self)``: asking for more designs than there are
        never silently returns fewer.
        """
        k = integer("k", k, minimum=1)
        if k > len(self):
            raise ValueError(
                f"asked for the top {k} designs of an offline set of {len(self)}; "
                f"ask for at most {len(self)} (or a larger offline fraction)"
            )
        order = np.argsort(-self.y, kind="stable")[:k]
        return self.subset(order)


class Domain(ABC):
    """One kind of design, with its ground truth.

    Subclasses set ``name``, ``space`` and ``default_offline_fraction``, and implement
    ``encode``, ``decode``, ``_make_oracle`` and ``_make_reference``. The oracle is built
    lazily and is *sealed*: only the audit (and dataset construction) may call it.
    """

    name: str = "domain"
    space: Space
    #: share of the reference data (lowest scores) visible offline; the rest is hidden.
    default_offline_fraction: float = 0.5
    #: per optimizer name, the options this domain needs to be searched at all (a study's
    #: own options win), e.g. ``{"gradient_ascent": {"method": "adam"}}``.
    optimizer_defaults: dict[str, dict[str, Any]] = {}
    #: unit of the raw score, for labels (e.g. "m").
    score_unit: str = ""
    #: design columns (see ``design_columns``) whose start and final means go in the summary.
    summary_columns: tuple[str, ...] = ()
    #: designs the audit scores at each intermediate checkpoint when a study does not say
    #: (a seeded subsample, the same at every one; the start, the final checkpoint and the
    #: control are always audited in full); ``None`` audits every design, as for a cheap oracle.
    audit_subsample: int | None = None

    def __init__(self) -> None:
        self._oracle: Oracle | None = None
        self._reference: ReferenceData | None = None

    # --- designs ----------------------------------------------------------------------
    @abstractmethod
    def encode(self, designs: Any) -> Tensor:
        """Concrete designs -> design tensors ``(N, *space.shape)`` (float32)."""

    @abstractmethod
    def decode(self, x: Tensor) -> Any:
        """Design tensors ``(N, *space.shape)`` -> concrete designs (length ``N``)."""

    def upper_bound(self, designs: Any) -> np.ndarray | None:
        """An exact upper bound on each design's raw score, known without the oracle.

        ``None`` where the domain knows no such bound.
        """
        return None

    def design_columns(self, designs: Any) -> dict[str, Any]:
        """Per-design columns for the audit table (e.g. coordinates, a SMILES string)."""
        return {}

    def render_designs(self, designs: Any, labels: list[str], path: str) -> bool:
        """Draw designs (a grid with one label under each) to a PNG at ``path``.

        Returns ``False`` where the domain has no drawing (the report then skips it).
        """
        return False

    # --- oracle -----------------------------------------------------------------------
    @abstractmethod
    def _make_oracle(self) -> Oracle: ...

    @property
    def oracle(self) -> Oracle:
        if self._oracle is None:
            self._oracle = self._make_oracle()
        return self._oracle

    # --- data -------------------------------------------------------------------------
    @abstractmethod
    def _make_reference(self) -> ReferenceData: ...

    def reference_data(self) -> ReferenceData:
        """The full labeled reference set (built once, then cached on the instance)."""
        if self._reference is None:
            ref = self._make_reference()
            keep = np.isfinite(ref.y)
            if not keep.all():
                ref = ref.subset(np.flatnonzero(keep))
            if len(ref) < 2 or not ref.y.max() > ref.y.min():
                raise ValueError(f"{self.name}: reference data needs >= 2 distinct finite scores")
            self._reference = ref
        return self._reference

    def offline(self, fraction: float | None = None) -> ReferenceData:
        """The offline dataset: the lowest-scoring ``fraction`` of the reference data.

        The top ``1 - fraction`` is hidden, as in Design-Bench.
        """
        fraction = self.default_offline_fraction if fraction is None else fraction
        fraction = _fraction("offline fraction", fraction)
        ref = self.reference_data()
        n = max(2, int(np.floor(fraction * len(ref))))
        order = np.argsort(ref.y, kind="stable")[:n]
        return ref.subset(np.sort(order))

    @property
    def y_min(self) -> float:
        return float(self.reference_data().y.min())

    @property
    def y_max(self) -> float:
        return float(self.reference_data().y.max())

    def normalize(self, y: Any) -> Any:
        """``(y - y_min) / (y_max - y_min)`` with min/max over the *full* reference data."""
        return (y - self.y_min) / (self.y_max - self.y_min)

    def describe(self) -> dict[str, Any]:
        """Facts about the domain for reports."""
        return {"name": self.name, "space": repr(self.space), "dim": self.space.dim}

    def close(self) -> None:
        if self._oracle is not None:
            self._oracle.close()
