"""Optimizers: move K design tensors to maximize a surrogate objective.

A new optimizer subclasses :class:`Optimizer` (hyperparameters in ``__init__``, the work in
``optimize(problem) -> Trajectory``) in a module of its own here, and is named in
``mbo.registry.OPTIMIZERS`` (or plugged in by import path or entry point).
"""

from ._base import Checkpoints, Optimizer, Problem, Trajectory, merge_top_k
from .bo_qei import BOqEI
from .cma_es import CMAES
from .dbest import DBest
from .gradient_ascent import GradientAscent
from .random_search import RandomSearch

__all__ = [
    "BOqEI",
    "CMAES",
    "Checkpoints",
    "DBest",
    "GradientAscent",
    "Optimizer",
    "Problem",
    "RandomSearch",
    "Trajectory",
    "merge_top_k",
]
