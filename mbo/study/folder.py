"""Run folders: writing a study's results and re-opening them.

A run folder is data only, never pickled code, so opening one someone sent you runs
nothing it holds:

- ``spec.yaml``: the study's spec;
- ``audit.parquet``, ``curves.csv``, ``fit_history.csv``: the audit table, its curves and
  the surrogate's fit history (when it has one);
- ``surrogate.json``: the surrogate's class as an import path, its ``get_params()`` and its
  learned non-tensor attributes (:meth:`surrogates.Surrogate.save_state`);
- ``surrogate.pt``: the surrogate's tensors, a flat ``{name: Tensor}`` dict;
- ``trajectory.pt``: tensors ``steps``, ``x``, ``objective`` (the optimizer's checkpoints),
  ``control`` (the random-direction control's designs), ``x_loc``, ``x_scale`` (the design
  standardization);
- ``study.json``: the label standardization ``y_loc``, ``y_scale`` and the ``fit_key``;
- ``summary.json``: the metrics, written last: its presence marks a finished folder.

``.pt`` files are read with ``torch.load(..., weights_only=True)``; the class named in
``surrogate.json`` must be a ``surrogates.Surrogate`` subclass.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import yaml
from torch import Tensor

from surrogates import Surrogate

from ..optimizers import Trajectory
from ..registry import DOMAINS
from .result import StudyResult
from .spec import StudySpec

#: version of the run-folder layout written by :func:`write_run`
FOLDER_FORMAT = 1


class RunFolderError(ValueError):
    """A run folder this version does not open: written by an older version (a pickled
    surrogate), or files that are not what a run folder holds."""


@contextlib.contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed into place if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    with _atomic(path) as tmp:
        tmp.write_text(text)


def _write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(jsonable(obj), indent=2, allow_nan=False))


def _compact(t: Tensor) -> Tensor:
    """``t`` on the CPU, copied if it is a view of a larger storage (``torch.save`` writes
    whole storages)."""
    t = t.detach().cpu()
    return t.clone() if t.untyped_storage().nbytes() > t.nbytes else t


def _save_tensors(path: Path, tensors: dict[str, Tensor]) -> None:
    with _atomic(path) as tmp:
        torch.save({k: _compact(v) for k, v in tensors.items()}, tmp)


def write_run(result: StudyResult, out: Path) -> Path:
    """Write the run folder (see the module docstring for its files). Each file is written
    atomically; ``summary.json`` goes last (and is removed first when ``out`` is rewritten),
    so its presence marks a finished folder."""
    out = Path(out)
    # the surrogate as data first: an unsaveable one fails before anything is written
    meta, tensors = result.surrogate.save_state()
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").unlink(missing_ok=True)
    atomic_write(out / "spec.yaml", yaml.safe_dump(result.spec.to_dict(), sort_keys=False))
    with _atomic(out / "audit.parquet") as tmp:
        result.table.to_parquet(tmp, index=False)
    with _atomic(out / "curves.csv") as tmp:
        result.curves.to_csv(tmp, index=False)
    history = getattr(result.surrogate, "history_", None)
    if history:
        with _atomic(out / "fit_history.csv") as tmp:
            pd.DataFrame(history).to_csv(tmp, index=False)
    # tensors before the JSON that names them: surrogate.json marks this format
    _save_tensors(out / "surrogate.pt", tensors)
    _write_json(out / "surrogate.json", meta)
    t = result.trajectory
    trajectory = {
        "steps": torch.as_tensor(list(t.steps), dtype=torch.int64),
        "x": t.x,
        "objective": t.objective,
        "control": result.control,
        "x_loc": result.x_loc,
        "x_scale": result.x_scale,
    }
    _save_tensors(out / "trajectory.pt", {k: v for k, v in trajectory.items() if v is not None})
    _write_json(
        out / "study.json",
        {
            "format": FOLDER_FORMAT,
            "y_loc": float(result.y_loc),
            "y_scale": float(result.y_scale),
            "fit_key": result.fit_key,
        },
    )
    if result.oracle_errors:
        _write_json(out / "oracle_errors.json", result.oracle_errors)
    _write_json(out / "summary.json", result.summary)
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


def _recreate(run_dir: Path) -> str:
    return (
        f"re-create it with `mbo run --config {run_dir / 'spec.yaml'} --out {run_dir} --overwrite`"
    )


def _load_tensors(path: Path) -> dict[str, Tensor]:
    """A ``{name: Tensor}`` file, read with ``weights_only=True`` (no code runs)."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise RunFolderError(f"{path} is not a file of tensors ({first})") from err
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()
    ):
        raise RunFolderError(f"{path} does not hold a dict of name -> tensor")
    return obj


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RunFolderError(f"{path} is not valid JSON ({err})") from err


def load_surrogate(run_dir: str | Path) -> Surrogate:
    """The fitted surrogate of a run folder (``surrogate.json`` + ``surrogate.pt``), on the
    CPU, in eval mode; a one-line :class:`RunFolderError` for a folder of the older, pickled
    format or a class that is not a ``surrogates.Surrogate``."""
    run_dir = Path(run_dir)
    if not (run_dir / "surrogate.json").exists():
        raise RunFolderError(
            f"{run_dir} was written by an older version of mbo (a pickled surrogate.pt, "
            f"which is not opened: unpickling runs code); {_recreate(run_dir)}"
        )
    meta = _read_json(run_dir / "surrogate.json")
    tensors = _load_tensors(run_dir / "surrogate.pt")
    try:
        return Surrogate.from_state(meta, tensors)
    except ValueError as err:
        raise RunFolderError(f"{run_dir / 'surrogate.json'}: {err}") from err


def load_run(run_dir: str | Path) -> StudyResult:
    """Re-open a run folder written by :func:`run_study` (the domain is rebuilt from its spec;
    its reference data comes from the domain's own cache or is regenerated, seeded).

    Only data is read (JSON, YAML, parquet, CSV, and tensors with ``weights_only=True``). A
    folder written by an older version gives a one-line :class:`RunFolderError` saying how to
    re-create it."""
    run_dir = Path(run_dir)
    if not (run_dir / "summary.json").exists():
        raise FileNotFoundError(f"{run_dir} is not a finished run folder (no summary.json)")
    surrogate = load_surrogate(run_dir)
    if not (run_dir / "study.json").exists():
        raise RunFolderError(f"{run_dir} has no study.json; {_recreate(run_dir)}")
    study = _read_json(run_dir / "study.json")
    if not isinstance(study, dict) or not isinstance(study.get("format"), int):
        raise RunFolderError(f"{run_dir / 'study.json'} is not a study file")
    if study["format"] > FOLDER_FORMAT:
        raise RunFolderError(
            f"{run_dir} was written by a newer version of mbo (format {study['format']}); upgrade"
        )
    t = _load_tensors(run_dir / "trajectory.pt")
    missing = sorted({"steps", "x", "objective"} - set(t))
    if missing:
        raise RunFolderError(f"{run_dir / 'trajectory.pt'} lacks {missing}")
    spec = StudySpec.from_file(run_dir / "spec.yaml")
    domain = DOMAINS.make(spec.domain, **spec.domain_options)
    table = pd.read_parquet(run_dir / "audit.parquet")
    summary = _read_json(run_dir / "summary.json")
    return StudyResult(
        spec=spec,
        table=table,
        summary=summary,
        curves=pd.read_csv(run_dir / "curves.csv"),
        domain=domain,
        surrogate=surrogate,
        offline=domain.offline(spec.offline_fraction),
        trajectory=Trajectory([int(s) for s in t["steps"].tolist()], t["x"], t["objective"]),
        x_loc=t.get("x_loc"),
        x_scale=t.get("x_scale"),
        y_loc=_float(study.get("y_loc")),
        y_scale=_float(study.get("y_scale")),
        control=t.get("control"),
        fit_key=str(study.get("fit_key", "")),
        oracle_errors=_read_json(run_dir / "oracle_errors.json")
        if (run_dir / "oracle_errors.json").exists()
        else [],
        run_dir=run_dir,
    )


def _float(v: Any) -> float:
    return math.nan if v is None else float(v)
