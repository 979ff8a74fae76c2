"""Sweeps: a YAML grid of studies, expanded into stable ids, run resumably on an executor.

A sweep file holds optional ``name`` and ``out`` (default output folder), a ``base`` spec
shared by every study, and a ``grid`` (or a list of ``grids``) of axes. Every axis is a list of
values; a scalar sets the spec key named by the axis, a mapping sets several keys at once
(``domain_options`` and the other option mappings merge with the base). Two label keys may
appear in a mapping and never reach the spec: ``task`` (the leaderboard column) and
``method`` (the leaderboard row). On an axis named after an option mapping
(``surrogate_options: [{width: 64}, {width: 512}]``) each value is that mapping. Surrogate values accept ``NAME+min`` / ``NAME+lcb``, as
``mbo compare`` does::

    name: small
    plots: false          # per-study PNGs (default true)
    base: {k: 128, surrogate_options: {epochs: 100}}
    grids:
      - domain:
          - {task: st16, domain: styblinski_tang, domain_options: {dim: 16, n_reference: 300}}
          - {task: branin, domain: branin}
        surrogate: [mlp, ensemble+min, coms]
        seed: [0, 1, 2]
      - domain: [...]
        optimizer: [cma_es, random_search, dbest]
        seed: [0, 1, 2]

Each study's id is a hash of its resolved spec (labels excluded), so editing the grid keeps the
ids of unchanged studies and a re-run skips every study whose run folder is complete.
Folders are written by the driver: the study runs into a private temporary folder on the
worker, comes back as bytes, is unpacked into ``OUT/studies/.tmp-*`` and renamed into place,
so a killed sweep never leaves a half-written result under ``OUT/studies/<id>``. A failed
study is recorded in ``OUT/failed/<id>.json`` (error and traceback) and the sweep goes on.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import os
import shutil
import tarfile
import tempfile
import time
import traceback
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from tqdm.auto import tqdm

from ..runtime import set_threads
from ..study import Fitted, StudyResult, StudySpec, atomic_write, make_domain, run_study
from .executors import make_executor
from .ids import method_label, parse_variant, study_id, task_label
from .leaderboard import collect, write_leaderboard

#: mapping keys of a grid value that label a study and never reach its spec
LABEL_KEYS = ("task", "method")
#: spec keys whose values are mappings merged (not replaced) by grid values
MERGED_KEYS = ("domain_options", "surrogate_options", "optimizer_options")


@dataclass(frozen=True)
class SweepStudy:
    """One study of a sweep: its stable ``id``, resolved ``spec`` and leaderboard labels."""

    id: str
    spec: StudySpec
    task: str
    method: str

    def record(self) -> dict[str, Any]:
        """What the sweep files say about this study (JSON-able)."""
        return {"id": self.id, "task": self.task, "method": self.method, "seed": self.spec.seed}


@dataclass
class Sweep:
    """An expanded sweep file."""

    name: str
    studies: list[SweepStudy]
    out: str | None = None
    config: dict[str, Any] | None = None
    plots: bool = True

    @classmethod
    def from_file(cls, path: str | Path) -> Sweep:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"sweep file {path} does not exist")
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a sweep file must hold a mapping")
        data.setdefault("name", path.stem)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sweep:
        unknown = sorted(set(data) - {"name", "out", "plots", "base", "grid", "grids"})
        if unknown:
            raise ValueError(
                f"unknown sweep keys {unknown}; valid: name, out, plots, base, grid, grids"
            )
        return cls(
            name=str(data.get("name", "sweep")),
            studies=expand(data),
            out=data.get("out"),
            config=data,
            plots=bool(data.get("plots", True)),
        )


def expand(data: dict[str, Any]) -> list[SweepStudy]:
    """Expand ``base`` x every ``grid`` into studies (cartesian product per grid, in order).

    Raises ``ValueError`` for a bad axis or spec (naming the offending study), and for two
    grid points that resolve to the same study.
    """
    base = data.get("base") or {}
    if not isinstance(base, dict):
        raise ValueError(f"base must be a mapping, got {base!r}")
    if "grid" in data and "grids" in data:
        raise ValueError("give either grid or grids, not both")
    grids = data["grids"] if "grids" in data else [data.get("grid") or {}]
    if not isinstance(grids, list) or not all(isinstance(g, dict) for g in grids):
        raise ValueError("grids must be a list of mappings (axis -> list of values)")
    studies: list[SweepStudy] = []
    seen: dict[str, int] = {}
    for gi, grid in enumerate(grids):
        axes = []
        for axis, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid {gi}: axis {axis!r} must be a non-empty list")
            axes.append([(axis, v) for v in values])
        for point in itertools.product(*axes):
            merged, labels = copy.deepcopy(base), {}
            for axis, value in point:
                _apply(merged, labels, axis, value)
            try:
                spec = StudySpec.from_dict(merged)
            except (TypeError, ValueError) as err:
                raise ValueError(f"grid {gi}, point {dict(point)}: {err}") from err
            sid = study_id(spec)
            if sid in seen:
                raise ValueError(
                    f"grid {gi}, point {dict(point)}: resolves to the same study as an earlier "
                    f"point ({sid}); drop one of them"
                )
            seen[sid] = 1
            task = labels.get("task") or task_label(spec)
            method = labels.get("method") or method_label(spec)
            spec.name = spec.name or f"{task} | {method} | s{spec.seed}"
            studies.append(SweepStudy(sid, spec, str(task), str(method)))
    if not studies:
        raise ValueError("the sweep has no studies")
    return studies


def _apply(spec: dict[str, Any], labels: dict[str, str], axis: str, value: Any) -> None:
    if isinstance(value, dict) and axis not in MERGED_KEYS:
        for key, v in value.items():
            if key in LABEL_KEYS:
                labels[key] = str(v)
            else:
                _set(spec, key, v)
    elif axis in LABEL_KEYS:
        raise ValueError(f"axis {axis!r} needs mappings (a label plus the keys it sets)")
    else:
        _set(spec, axis, value)


def _set(spec: dict[str, Any], key: str, value: Any) -> None:
    if key in MERGED_KEYS:
        if not isinstance(value, dict):
            raise ValueError(f"{key} must be a mapping, got {value!r}")
        spec[key] = {**spec.get(key, {}), **value}
    elif key == "surrogate" and isinstance(value, str) and "+" in value:
        spec["surrogate"], spec["objective"] = parse_variant(value)
    else:
        spec[key] = value


# --- running ------------------------------------------------------------------------------


def study_state(out: Path, sid: str) -> tuple[str, str]:
    """``("todo", "")``, ``("done", "")`` or ``("damaged", why)`` for study ``sid`` in ``out``.

    A folder is done when its ``summary.json`` parses as a mapping and its ``spec.yaml``
    loads as a valid spec whose id is ``sid``; a folder that has a ``summary.json`` but fails
    any of that is damaged (truncated file, edited spec, another study's folder).
    """
    folder = out / "studies" / sid
    if not (folder / "summary.json").exists():
        return "todo", ""
    try:
        summary = json.loads((folder / "summary.json").read_text())
        if not isinstance(summary, dict):
            raise ValueError("summary.json does not hold a mapping")
        spec = StudySpec.from_dict(yaml.safe_load((folder / "spec.yaml").read_text()) or {})
    except (OSError, ValueError, TypeError, yaml.YAMLError) as err:
        return "damaged", f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    if study_id(spec) != sid:
        return "damaged", f"its spec.yaml belongs to study {study_id(spec)}"
    return "done", ""


def is_finished(out: Path, sid: str) -> bool:
    """Whether study ``sid`` has a complete, readable folder in ``out``."""
    return study_state(out, sid)[0] == "done"


def move_aside(out: Path, sid: str) -> Path:
    """Move a damaged study folder to ``OUT/damaged/<id>-<timestamp>`` (never deleted)."""
    dest = out / "damaged" / f"{sid}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(out / "studies" / sid, dest)
    return dest


def run_packed(task: dict[str, Any], threads: int | None = None) -> dict[str, Any]:
    """Run the studies of ``task = {"specs": [spec dicts], "figures": callable or None}`` —
    ``figures(result, run_dir)`` draws a study's pictures into its folder — studies that
    share one fitted surrogate (equal :meth:`StudySpec.fit_key`), fit once — each in a private
    temporary folder; return ``{"studies": [result, ...]}``, each result holding its folder as
    tar bytes (``status == "done"``) or its error and traceback (``"failed"``).

    The worker side of every executor (a plain function of plain data, so it pickles to
    process pools and Ray). Never raises. Warnings a study raises are kept in its folder's
    ``warnings.txt`` instead of flooding the sweep's terminal.
    """
    if threads:
        set_threads(threads)
    fitted = None
    results = []
    for spec_dict in task["specs"]:
        t = time.perf_counter()
        try:
            spec = StudySpec.from_dict(spec_dict)
            with (
                tempfile.TemporaryDirectory(prefix="mbo-study-") as tmp,
                warnings.catch_warnings(record=True) as caught,
            ):
                warnings.simplefilter("always")
                res = run_study(
                    spec,
                    Path(tmp) / "run",
                    progress=False,
                    domain=_cached_domain(spec),
                    fitted=fitted,
                )
                fitted = Fitted(res.surrogate, res.fit_key)
                if task.get("figures") is not None:
                    task["figures"](res, Path(tmp) / "run")
                if caught:
                    text = "\n".join(f"{w.category.__name__}: {w.message}" for w in caught)
                    (Path(tmp) / "run" / "warnings.txt").write_text(text + "\n")
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode="w") as tar:
                    tar.add(Path(tmp) / "run", arcname=".")
            results.append(
                {"status": "done", "tar": buf.getvalue(), "seconds": time.perf_counter() - t}
            )
        except Exception as err:  # noqa: BLE001 - recorded, the sweep goes on
            results.append(
                {
                    "status": "failed",
                    "error": f"{type(err).__name__}: {err}",
                    "traceback": traceback.format_exc(),
                    "seconds": time.perf_counter() - t,
                }
            )
    _close_pools()
    return {"studies": results}


def _close_pools() -> None:
    """Shut the cached domains' oracle pools down after each task: a worker process whose
    children are still alive hangs at exit (multiprocessing joins them before the pools'
    own exit hooks run)."""
    for domain in _DOMAINS.values():
        oracle = getattr(domain, "_oracle", None)
        if oracle is not None:
            oracle.close(wait=True)


_DOMAINS: dict[str, Any] = {}


def _cached_domain(spec: StudySpec):
    """Domains are reused within a worker process (reference data, oracle cache)."""
    key = json.dumps([spec.domain, spec.domain_options], sort_keys=True, default=str)
    if key not in _DOMAINS:
        if len(_DOMAINS) >= 4:
            _DOMAINS.pop(next(iter(_DOMAINS)))
        _DOMAINS[key] = make_domain(spec)
    return _DOMAINS[key]


def _store(out: Path, study: SweepStudy, result: dict[str, Any]) -> dict[str, Any]:
    """Write a worker's result into ``out`` atomically; return the study's status record."""
    rec = study.record() | {"seconds": round(float(result.get("seconds", 0.0)), 3)}
    failed = out / "failed" / f"{study.id}.json"
    if result["status"] != "done":
        atomic_write(
            failed,
            json.dumps(
                rec
                | {"spec": study.spec.to_dict(), **{k: result[k] for k in ("error", "traceback")}},
                indent=2,
                default=str,
            ),
        )
        return rec | {"status": "failed", "error": result["error"]}
    studies = out / "studies"
    tmp = studies / f".tmp-{study.id}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(result["tar"]), mode="r") as tar:
        tar.extractall(tmp, filter="data")
    (tmp / "sweep.json").write_text(json.dumps(rec, indent=2))
    final = studies / study.id
    if final.exists():  # an incomplete folder from elsewhere (no summary.json): replace it
        shutil.rmtree(final)
    os.replace(tmp, final)  # atomic: the folder appears complete or not at all
    failed.unlink(missing_ok=True)
    return rec | {"status": "done"}


def run_sweep(
    sweep: Sweep | str | Path,
    out_dir: str | Path | None = None,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    threads: int | None = None,
    progress: bool = True,
    figures: Callable[[StudyResult, Path], Any] | None = None,
) -> pd.DataFrame:
    """Run every study of ``sweep`` not yet finished in ``out_dir``; return the status table.

    ``executor``: ``"local"`` (a process pool of ``workers``, default one per CPU core; 1 runs
    in this process) or ``"ray"`` (``address`` of a running cluster, or ``None`` to start a
    local Ray instance); studies that share a fitted surrogate (the same surrogate under several
    optimizers or objectives) run as one task and fit it once; ``threads`` torch threads per study (1 keeps results identical whatever
    the executor and worker count). Already finished studies are skipped (``status == "skipped"``);
    missing and failed ones run. Writes ``OUT/sweep.yaml``, ``OUT/status.csv``,
    ``OUT/results.csv`` (one row per finished study of this sweep), ``OUT/leaderboard.md`` and
    ``OUT/leaderboard.csv``. A study folder that cannot be read (see :func:`study_state`) is
    moved to ``OUT/damaged/`` with a warning naming its path and re-run; ``results.csv`` is
    rebuilt from the study folders on every run. ``figures(result, run_dir)`` (a module-level function, so it
    pickles to workers; e.g. ``mbo.reporting.save_study_figures``) draws each study's
    pictures when the sweep's ``plots`` is on.
    """
    if not isinstance(sweep, Sweep):
        sweep = Sweep.from_file(sweep)
    out = Path(out_dir or sweep.out or Path("runs") / f"sweep-{sweep.name}")
    (out / "studies").mkdir(parents=True, exist_ok=True)
    for stale in (out / "studies").glob(".tmp-*"):  # left by a killed driver: never results
        shutil.rmtree(stale, ignore_errors=True)
    if sweep.config is not None:
        atomic_write(out / "sweep.yaml", yaml.safe_dump(sweep.config, sort_keys=False))

    records: list[dict[str, Any]] = []
    todo = []
    for s in sweep.studies:
        state, why = study_state(out, s.id)
        if state == "done":
            records.append(s.record() | {"status": "skipped"})
            continue
        if state == "damaged":
            dest = move_aside(out, s.id)
            warnings.warn(
                f"study folder {out / 'studies' / s.id} cannot be read ({why}); "
                f"moved to {dest} and re-running it",
                RuntimeWarning,
                stacklevel=2,
            )
        todo.append(s)
    bar = None
    if progress:
        print(f"sweep {sweep.name}: {len(sweep.studies)} studies, {len(todo)} to run -> {out}")
        bar = tqdm(total=len(todo), desc="studies", unit="study")
    t0 = time.perf_counter()
    groups: dict[str, list[SweepStudy]] = {}  # studies sharing a fitted surrogate run together
    for s in todo:
        groups.setdefault(s.spec.fit_key(), []).append(s)
    batches = list(groups.values())
    if todo:
        ex = make_executor(executor, workers=workers, address=address, threads=threads)
        try:
            tasks = [
                {
                    "specs": [s.spec.to_dict() for s in b],
                    "figures": figures if sweep.plots else None,
                }
                for b in batches
            ]
            for i, result in ex.map_unordered(run_packed, tasks):
                per_study = result.get("studies") or [result] * len(batches[i])  # worker died
                for study, res in zip(batches[i], per_study, strict=True):
                    rec = _store(out, study, res)
                    records.append(rec)
                    if bar is not None:
                        bar.update(1)
                        if rec["status"] == "failed":
                            bar.write(f"failed: {rec['id']}: {rec['error']}")
        finally:
            ex.close()
            if bar is not None:
                bar.close()
    order = {s.id: i for i, s in enumerate(sweep.studies)}
    status = pd.DataFrame(records).sort_values("id", key=lambda c: c.map(order))
    atomic_write(out / "status.csv", status.to_csv(index=False))
    results = collect([out / "studies"])
    results = results[results["id"].isin(order)]
    if len(results):
        header = f"# Sweep `{sweep.name}`\n"
        write_leaderboard(results, out, header=header, runs_file="results.csv")
    if progress:
        counts = status["status"].value_counts().to_dict()
        print(f"sweep {sweep.name}: {counts} in {time.perf_counter() - t0:.1f} s")
    return status.reset_index(drop=True)
