"""One module per ``mbo`` command, in the order ``mbo --help`` lists them.

Each module defines ``HELP`` (one line for ``mbo --help``), ``DESCRIPTION``, ``THREADS``
(whether the command runs torch code under the thread policy of :mod:`mbo.runtime`, and so
takes ``--threads``), ``PLOTS`` (whether it draws figures: the CLI then picks matplotlib's
headless backend first), ``add_arguments(parser)`` and ``run(args) -> int``. A module imports
nothing heavy at import time: ``mbo --help`` and ``mbo list`` load no torch.
"""

COMMANDS = ("list", "run", "demo", "compare", "report", "sweep", "leaderboard")
