"""Run folders: writing a study's results and re-opening them."""

from __future__ import annotations

import copy
import json
import math
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml

from ..optimizers import Trajectory
from ..registry import DOMAINS
from .result import StudyResult
from .spec import StudySpec


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_run(result: StudyResult, out: Path) -> Path:
    """Write the run folder: spec.yaml, audit.parquet, curves.csv, fit_history.csv,
    surrogate.pt (the fitted module), trajectory.pt, summary.json (last: its presence
    marks a finished folder)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "spec.yaml").write_text(yaml.safe_dump(result.spec.to_dict(), sort_keys=False))
    result.table.to_parquet(out / "audit.parquet", index=False)
    result.curves.to_csv(out / "curves.csv", index=False)
    # the fitted surrogate and the trajectory, so reports can re-open the study
    torch.save(copy.deepcopy(result.surrogate).cpu(), out / "surrogate.pt")
    t = result.trajectory
    torch.save({"steps": t.steps, "x": t.x, "objective": t.objective}, out / "trajectory.pt")
    history = getattr(result.surrogate, "history_", None)
    if history:
        pd.DataFrame(history).to_csv(out / "fit_history.csv", index=False)
    (out / "summary.json").write_text(json.dumps(jsonable(result.summary), indent=2))
    return out


def jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def load_run(run_dir: str | Path) -> StudyResult:
    """Re-open a run folder written by :func:`run_study` (the domain is rebuilt from its spec;
    its reference data comes from the domain's own cache or is regenerated, seeded)."""
    run_dir = Path(run_dir)
    if not (run_dir / "summary.json").exists():
        raise FileNotFoundError(f"{run_dir} is not a finished run folder (no summary.json)")
    spec = StudySpec.from_file(run_dir / "spec.yaml")
    domain = DOMAINS.make(spec.domain, **spec.domain_options)
    try:
        surrogate = torch.load(run_dir / "surrogate.pt", weights_only=False)
        surrogate.get_params()  # fails on a module pickled by an incompatible version
    except (AttributeError, ModuleNotFoundError, ImportError, TypeError) as err:
        raise RuntimeError(
            f"{run_dir / 'surrogate.pt'} was written by another version of the surrogate code "
            f"({err}); re-run the study (`mbo run --config {run_dir / 'spec.yaml'}`)"
        ) from err
    surrogate.eval()
    t = torch.load(run_dir / "trajectory.pt", weights_only=False)
    table = pd.read_parquet(run_dir / "audit.parquet")
    summary = json.loads((run_dir / "summary.json").read_text())
    return StudyResult(
        spec=spec,
        table=table,
        summary=summary,
        curves=pd.read_csv(run_dir / "curves.csv"),
        domain=domain,
        surrogate=surrogate,
        offline=domain.offline(spec.offline_fraction),
        trajectory=Trajectory(list(t["steps"]), t["x"], t["objective"]),
        run_dir=run_dir,
    )
