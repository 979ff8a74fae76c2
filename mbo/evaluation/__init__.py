"""Evaluation: the objective an optimizer climbs, the audit (the only oracle caller), the
random-direction control and the metrics computed from the audit table."""

from .audit import audit, audit_designs, audit_ids, check_start, predict_batched, surrogate_device
from .control import distance_ratio, random_direction_control
from .geometry import Geometry
from .metrics import (
    FOOLED_MARGIN,
    STOPPING_RULES,
    curves,
    scheduled_rows,
    spearman,
    summarize,
    summary_rows,
)
from .objective import KINDS, SurrogateObjective, check_objective

__all__ = [
    "FOOLED_MARGIN",
    "STOPPING_RULES",
    "Geometry",
    "KINDS",
    "SurrogateObjective",
    "audit",
    "audit_designs",
    "audit_ids",
    "check_objective",
    "check_start",
    "curves",
    "distance_ratio",
    "predict_batched",
    "random_direction_control",
    "scheduled_rows",
    "spearman",
    "summarize",
    "summary_rows",
    "surrogate_device",
]
