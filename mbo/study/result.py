"""What a study produced."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from torch import Tensor

from domains import Domain, ReferenceData
from surrogates import Surrogate

from ..optimizers import Trajectory
from .spec import StudySpec


@dataclass
class StudyResult:
    """What a study produced; ``run_dir`` is ``None`` when nothing was written.

    :func:`mbo.study.write_run` saves every field but ``domain`` and ``offline`` (rebuilt from
    the spec by :func:`mbo.study.load_run`) as data: views need nothing the folder lacks.
    """

    spec: StudySpec
    table: pd.DataFrame
    summary: dict[str, Any]
    curves: pd.DataFrame
    domain: Domain
    surrogate: Surrogate
    offline: ReferenceData
    trajectory: Trajectory
    #: the design standardization ``z = (x - x_loc) / x_scale`` the optimizer and the
    #: control used, each one design's shape (identity for unstandardized spaces)
    x_loc: Tensor | None = None
    x_scale: Tensor | None = None
    #: the objective's label standardization ``(y - y_loc) / y_scale`` (offline labels)
    y_loc: float = 0.0
    y_scale: float = 1.0
    #: the random-direction control's designs ``(K, *shape)``
    control: Tensor | None = None
    #: :meth:`StudySpec.fit_key` of the fit the surrogate came from
    fit_key: str = ""
    #: the audit's oracle errors (design, kind, message, traceback), also in the run folder
    oracle_errors: list[dict[str, Any]] = field(default_factory=list)
    run_dir: Path | None = None
