"""Reporting: pictures of studies (trajectories, landscapes, top designs, comparisons), the
teaching views (1-D sweeps, 2-D cross-sections, transfer matrix) and the HTML report.

Nothing here chooses a matplotlib backend: notebooks draw inline, the CLI picks a headless one.
"""

from .plots import plot_comparison, plot_trajectory, save_study_figures
from .report import build_report, find_runs

__all__ = ["build_report", "find_runs", "plot_comparison", "plot_trajectory", "save_study_figures"]
