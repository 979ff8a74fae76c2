"""Optimizers, evaluation, studies, sweeps, reporting and the CLI (uses domains and surrogates).

Subpackages, each importing only those before it:
``optimizers`` -> ``evaluation`` -> ``study`` -> ``sweeps`` -> ``reporting`` -> ``cli``
(``registry`` sits below them all). The names below are loaded on first use, so
``import mbo`` (and ``mbo --help``) does not load torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "StudySpec": "mbo.study",
    "StudyResult": "mbo.study",
    "SealedOracleError": "mbo.study",
    "Fitted": "mbo.study",
    "run_study": "mbo.study",
    "load_run": "mbo.study",
    "Optimizer": "mbo.optimizers",
    "Trajectory": "mbo.optimizers",
    "GradientAscent": "mbo.optimizers",
    "CMAES": "mbo.optimizers",
    "RandomSearch": "mbo.optimizers",
    "BOqEI": "mbo.optimizers",
    "DBest": "mbo.optimizers",
    "SurrogateObjective": "mbo.evaluation",
    "audit": "mbo.evaluation",
    "audit_designs": "mbo.evaluation",
    "summarize": "mbo.evaluation",
    "curves": "mbo.evaluation",
    "random_direction_control": "mbo.evaluation",
    "FOOLED_MARGIN": "mbo.evaluation",
    "DOMAINS": "mbo.registry",
    "SURROGATES": "mbo.registry",
    "OPTIMIZERS": "mbo.registry",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mbo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
