"""Many studies: sweeps (grids with stable ids, resumable), the executors that run them,
comparisons of surrogate variants, and leaderboards over finished study folders."""

from .compare import compare
from .executors import EXECUTORS, make_executor
from .ids import method_label, parse_variant, study_id, task_label
from .leaderboard import collect, leaderboard, write_leaderboard
from .sweep import Sweep, SweepStudy, run_sweep

__all__ = [
    "EXECUTORS",
    "Sweep",
    "SweepStudy",
    "collect",
    "compare",
    "leaderboard",
    "make_executor",
    "method_label",
    "parse_variant",
    "run_sweep",
    "study_id",
    "task_label",
    "write_leaderboard",
]
