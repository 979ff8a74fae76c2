"""Pieces shared by the commands: the summary table, run-folder safety, common flags.

Imports nothing heavy at import time.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: files whose presence marks a folder as a study's run folder
RUN_MARKERS = ("spec.yaml", "summary.json")


def add_threads_flag(parser: argparse.ArgumentParser, what: str = "torch threads") -> None:
    parser.add_argument(
        "--threads",
        type=int,
        metavar="N",
        help=f"{what} (default: $MBO_THREADS, $OMP_NUM_THREADS or $MKL_NUM_THREADS if set, "
        "else 1; see mbo.runtime)",
    )


def add_quiet_flag(parser: argparse.ArgumentParser, what: str = "no progress bars") -> None:
    parser.add_argument("--quiet", action="store_true", help=what)


def folder_name(label: str) -> str:
    """A study label as one folder name (no separators, spaces or shell-unfriendly signs)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", label).strip("._") or "study"


def is_run_folder(path: Path) -> bool:
    return any((path / m).exists() for m in RUN_MARKERS)


def check_run_folder(path: Path, overwrite: bool) -> None:
    """``ValueError`` unless a study may be written to ``path``: it is absent or empty, or it
    holds an earlier run and ``overwrite`` is set. A non-empty folder that holds no run is
    never replaced (``--out .`` with ``--overwrite`` must not empty the current folder)."""
    if not path.exists():
        return
    if not path.is_dir():
        raise ValueError(f"{path} exists and is not a folder; pick another --out")
    if not any(path.iterdir()):
        return
    if not is_run_folder(path):
        raise ValueError(f"{path} is not empty and holds no run; pick another --out")
    if not overwrite:
        raise ValueError(
            f"{path} already holds a run; pass --overwrite to replace it, or pick another --out"
        )


@contextlib.contextmanager
def staged_run_folder(path: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary folder beside ``path`` to write a study into; when the block ends
    without error, replace ``path`` with it (an earlier run there is removed only then, so a
    failed or interrupted run leaves the old results in place). Checked with
    :func:`check_run_folder` first."""
    check_run_folder(path, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".tmp-{path.name}-{uuid.uuid4().hex[:8]}"  # skipped by collect()
    try:
        yield tmp
        check_run_folder(path, overwrite)  # nothing appeared there meanwhile
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


#: summary rows that hold counts or steps
INTEGER_ROWS = ("peak_step", "oracle_errors", "steps", "k")


def format_summaries(summaries: dict[str, dict[str, Any]]) -> str:
    """A small text table: metrics as rows, studies as columns (normalized units)."""
    from ..evaluation import summary_rows

    names = list(summaries)
    width = max(12, *(len(n) for n in names))
    lines = [f"{'metric (normalized)':36s}" + "".join(f"{n:>{width + 2}s}" for n in names)]
    for key, label in summary_rows(summaries):
        cells = []
        for n in names:
            v = summaries[n].get(key, math.nan)
            v = math.nan if v is None else v
            if not math.isfinite(v):
                fmt = "n/a"
            elif key.endswith("_rate"):
                fmt = f"{v:.0%}"
            elif key in INTEGER_ROWS:
                fmt = f"{int(v)}"
            else:
                fmt = f"{v:.3f}"
            cells.append(f"{fmt:>{width + 2}s}")
        lines.append(f"{label:36s}" + "".join(cells))
    return "\n".join(lines)
