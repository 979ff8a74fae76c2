"""Reporting: pictures of studies (trajectories, landscapes, top designs, comparisons), the
teaching views (1-D sweeps, 2-D cross-sections, transfer matrix) and the HTML report.

Modules, each using only those above it:

- :mod:`~mbo.reporting.geometry` -- the optimizer's coordinates, directions, distances.
- :mod:`~mbo.reporting.views` -- the views computed: tidy tables, no drawing, no files.
- :mod:`~mbo.reporting.figures` -- the views drawn: each function returns a Figure.
- :mod:`~mbo.reporting.artifacts` -- saving: each view's data beside its PNG.
- :mod:`~mbo.reporting.prose` -- the report's words.
- :mod:`~mbo.reporting.report` -- the HTML report (a Jinja2 template in ``templates/``).

Nothing here chooses a matplotlib backend: notebooks draw inline, the CLI picks a headless one.
"""

from .artifacts import (
    plot_comparison,
    plot_overoptimization,
    save_figure,
    save_study_figures,
    save_views,
)
from .figures import overoptimization_figure, trajectory_figure
from .report import build_report, find_runs

__all__ = [
    "build_report",
    "find_runs",
    "overoptimization_figure",
    "plot_comparison",
    "plot_overoptimization",
    "save_figure",
    "save_study_figures",
    "save_views",
    "trajectory_figure",
]
