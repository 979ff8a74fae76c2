"""What every optimizer shares: the base class and its prepared problem, the trajectory and
checkpoint recorder, and helpers for the derivative-free baselines."""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from domains import BoxSpace, CategoricalSpace, Space


@dataclass
class Trajectory:
    """Designs at checkpoints of one optimizer run.

    Attributes:
        steps: checkpoint step numbers ``(C,)``, starting at 0.
        x: design tensors at the checkpoints ``(C, K, *shape)`` (CPU, float32).
        objective: the optimizer's objective at the checkpoints ``(C, K)``.
    """

    steps: list[int]
    x: Tensor
    objective: Tensor

    @property
    def start(self) -> Tensor:
        return self.x[0]

    @property
    def final(self) -> Tensor:
        return self.x[-1]


@dataclass
class Problem:
    """What an optimizer works on, prepared once by :meth:`Optimizer.run`.

    Attributes:
        objective: design tensors ``(N, *shape)`` -> values ``(N,)`` to maximize.
        x0: the start designs ``(K, *shape)``, projected into the space, float32, a copy.
        space: the design space (``project``, ``features``, maybe ``sample``).
        loc, scale: the standardization ``z = (x - loc) / scale``, each broadcast to one
            design ``shape`` on ``x0``'s device (zeros and ones when none was given).
        identity: whether ``loc``/``scale`` are the identity (``z`` is ``x``).
        progress: show a progress bar.
    """

    objective: Callable[[Tensor], Tensor]
    x0: Tensor
    space: Space
    loc: Tensor
    scale: Tensor
    identity: bool
    progress: bool = False

    @property
    def k(self) -> int:
        return self.x0.shape[0]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x0.shape[1:])

    @property
    def device(self) -> torch.device:
        return self.x0.device

    def to_z(self, x: Tensor) -> Tensor:
        """Standardized designs ``(N, *shape)``."""
        return (x - self.loc) / self.scale

    def from_z(self, z: Tensor) -> Tensor:
        """Designs from standardized ones (not projected)."""
        return self.loc + self.scale * z

    def steps(self, n: int, desc: str) -> Iterable[int]:
        """``1 .. n``, with a progress bar labelled ``desc`` when ``progress`` is on."""
        it: Iterable[int] = range(1, n + 1)
        if self.progress:
            it = tqdm(it, desc=desc, leave=False)
        return it


class Optimizer(ABC):
    """Moves ``K`` designs to maximize an objective; hyperparameters go to ``__init__``.

    Subclasses implement :meth:`optimize`; :meth:`run` holds the prologue every optimizer
    shares (checking the starts against the space, projecting them, preparing the
    standardization) so none repeats it. ``get_params`` returns ``__init__``'s arguments.
    """

    def run(
        self,
        objective: Callable[[Tensor], Tensor],
        x0: Tensor,
        space: Space,
        loc: Tensor | None = None,
        scale: Tensor | None = None,
        progress: bool = False,
    ) -> Trajectory:
        """Optimize from start designs ``x0`` ``(K, *shape)``; ``loc``/``scale`` (the offline
        designs' mean and spread, broadcastable to one design) standardize the space.
        Step 0 of the trajectory holds the projected starts."""
        space.check(x0)
        identity = (loc is None or not bool((loc != 0).any())) and (
            scale is None or not bool((scale != 1).any())
        )
        loc, scale = standardizers(x0, loc, scale)
        x = space.project(x0.detach().float()).clone()  # never x0 itself
        return self.optimize(Problem(objective, x, space, loc, scale, identity, progress))

    @abstractmethod
    def optimize(self, problem: Problem) -> Trajectory:
        """Run on a prepared :class:`Problem`."""

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {n: getattr(self, n) for n in names if hasattr(self, n)}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


def box_bounds(space: Space) -> tuple[Tensor, Tensor] | None:
    """The space's box ``(lower, upper)``, each ``space.shape`` (CPU float32), or ``None``.

    A :class:`~domains.BoxSpace` gives its bounds, a :class:`~domains.CategoricalSpace` its
    logit clamp ``[-logit_bound, logit_bound]``; other spaces have no known box.
    """
    if isinstance(space, BoxSpace):
        return space.lower.clone(), space.upper.clone()
    if isinstance(space, CategoricalSpace):
        b = torch.full(space.shape, float(space.logit_bound))
        return -b, b
    return None


def standardizers(x0: Tensor, loc: Tensor | None, scale: Tensor | None) -> tuple[Tensor, Tensor]:
    """``loc``/``scale`` on ``x0``'s device, broadcast to one design ``x0.shape[1:]``."""
    shape, device = x0.shape[1:], x0.device
    loc = torch.zeros((), device=device) if loc is None else loc.to(device)
    scale = torch.ones((), device=device) if scale is None else scale.to(device)
    return loc.float().expand(shape), scale.float().expand(shape)


def draw_seed() -> int:
    """A positive 31-bit integer from torch's global RNG (seeds numpy-based libraries)."""
    return int(torch.randint(1, 2**31 - 1, (1,)).item())


class Checkpoints:
    """Records ``(x (K, *shape), objective (K,))`` at steps ``0, every, 2 * every, ..., n``
    (the last step always) straight into preallocated CPU float32 tensors, and builds the
    :class:`Trajectory`. Preallocating keeps one copy of each checkpoint: appending copies
    and stacking them at the end held every checkpoint twice at the peak (for molecule
    logits ~1 MiB per design at 21 checkpoints; ``benchmarks/results/perf-memory.md``).
    """

    def __init__(self, n_steps: int, every: int = 1) -> None:
        self.steps = [0] + [s for s in range(1, n_steps + 1) if s % every == 0 or s == n_steps]
        self._slot = {s: i for i, s in enumerate(self.steps)}
        self.x: Tensor | None = None
        self.objective: Tensor | None = None
        self._recorded = 0

    def due(self, step: int) -> bool:
        """Whether ``step`` is a checkpoint."""
        return step in self._slot

    def record(self, step: int, x: Tensor, value: Tensor) -> None:
        if self.x is None:
            c = len(self.steps)
            self.x = torch.empty((c, *x.shape), dtype=torch.float32)
            self.objective = torch.empty((c, x.shape[0]), dtype=torch.float32)
        i = self._slot[int(step)]
        self.x[i].copy_(x.detach())
        self.objective[i].copy_(value.detach())
        self._recorded += 1

    def trajectory(self) -> Trajectory:
        if self._recorded != len(self.steps):
            raise RuntimeError(f"recorded {self._recorded} of {len(self.steps)} checkpoints")
        return Trajectory(list(self.steps), self.x, self.objective)


def check_int(name: str, value: Any, low: int) -> int:
    """``int(value)``, or ``ValueError`` unless ``value`` is an integer ``>= low``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not (ok and int(value) == value and value >= low):
        what = "a non-negative integer" if low == 0 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)


def merge_top_k(
    x: Tensor, value: Tensor, new_x: Tensor, new_value: Tensor
) -> tuple[Tensor, Tensor]:
    """Keep the best ``K`` of ``K`` current and ``N`` new designs, slot-stably.

    A current design that stays in the top ``K`` keeps its slot (its ``design_id`` in the
    audit); new entrants fill the slots of the designs they push out, best entrant into the
    lowest freed slot. Non-finite new values never enter. Shapes: ``x (K, *shape)``,
    ``value (K,)``, ``new_x (N, *shape)``, ``new_value (N,)``; returns the new ``(x, value)``.
    """
    k = x.shape[0]
    new_value = torch.where(torch.isfinite(new_value), new_value, -torch.inf)
    both = torch.cat([value, new_value])
    top = torch.sort(both, descending=True, stable=True).indices[:k]  # ties: current first
    keep = torch.zeros(k, dtype=torch.bool, device=x.device)
    keep[top[top < k]] = True
    entrants = top[top >= k] - k
    freed = (~keep).nonzero().flatten()
    x, value = x.clone(), value.clone()
    x[freed], value[freed] = new_x[entrants].to(x), new_value[entrants].to(value)
    return x, value
