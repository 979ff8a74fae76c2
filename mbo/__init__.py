"""Optimizers, audit, metrics, studies, reports and the CLI (uses domains and surrogates)."""

from .audit import audit, audit_designs
from .bo_qei import BOqEI
from .cma_es import CMAES
from .dbest import DBest
from .gradient_ascent import GradientAscent, Trajectory, random_direction_control
from .metrics import FOOLED_MARGIN, curves, spearman, summarize
from .objective import SurrogateObjective
from .optimizer import Optimizer
from .random_search import RandomSearch
from .study import SealedOracleError, StudyResult, StudySpec, load_run, run_study

__all__ = [
    "BOqEI",
    "CMAES",
    "DBest",
    "FOOLED_MARGIN",
    "GradientAscent",
    "Optimizer",
    "RandomSearch",
    "SealedOracleError",
    "StudyResult",
    "StudySpec",
    "SurrogateObjective",
    "Trajectory",
    "audit",
    "audit_designs",
    "curves",
    "load_run",
    "random_direction_control",
    "run_study",
    "spearman",
    "summarize",
]
