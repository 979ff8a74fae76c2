"""Evaluation: the objective an optimizer climbs, the audit (the only oracle caller), the
random-direction control and the metrics computed from the audit table."""

from .audit import audit, audit_designs, predict_batched, surrogate_device
from .control import random_direction_control
from .metrics import FOOLED_MARGIN, curves, spearman, summarize, summary_rows
from .objective import KINDS, SurrogateObjective, check_objective

__all__ = [
    "FOOLED_MARGIN",
    "KINDS",
    "SurrogateObjective",
    "audit",
    "audit_designs",
    "check_objective",
    "curves",
    "predict_batched",
    "random_direction_control",
    "spearman",
    "summarize",
    "summary_rows",
    "surrogate_device",
]
