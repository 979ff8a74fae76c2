"""One self-contained HTML report of a run folder or of a folder of runs (``mbo report``).

The report holds, per study: its spec, the summary table with the fooled rule in words, the
offline stopping rules against running to the end, the trajectory (the centerpiece), the
over-optimization picture (score against distance from the data), the 1-D sweep along the
gradient, the 2-D cross-section, the 2-D landscape where there is one, and drawings of the top
designs where the domain draws them (molecules, cars); for studies that share a domain, a
trajectory comparison, the over-optimization curves side by side and the transfer matrix.
Images are embedded as base64 data URIs: the file needs no network and no other file. The data
of every view is written beside its PNG (``<run>/views/`` and ``<root>/views/``) so it can be
checked.

This module finds the runs, has each view computed and saved
(:mod:`mbo.reporting.artifacts`), and assembles a :class:`Page` that the Jinja2 template
``templates/report.html.j2`` renders (autoescaped); the words come from
:mod:`mbo.reporting.prose`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from ..evaluation import STOPPING_RULES, summary_rows
from ..study import StudyResult, load_run
from . import artifacts as A
from . import prose
from .views import can_draw_landscape, domain_key, stopping_rules, study_label

#: views whose picture is wide: the explanation goes under it, not beside it.
WIDE = frozenset({"cross_section", "sweep", "top_designs", "comparison"})


def find_runs(path: str | Path) -> list[Path]:
    """Run folders at or under ``path`` (folders holding ``summary.json`` and ``spec.yaml``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if (path / "summary.json").exists():
        return [path]
    runs = sorted(
        p.parent
        for p in path.rglob("summary.json")
        if (p.parent / "spec.yaml").exists() and "views" not in p.relative_to(path).parts
    )
    if not runs:
        raise FileNotFoundError(
            f"{path} holds no run folders (no summary.json with a spec.yaml beside it)"
        )
    return runs


@dataclass
class ReportOptions:
    design_id: int = 0
    step: str | int = "start"
    grid: int = 31
    sweep_points: int = 81
    seed: int = 0


# --- what the template renders ------------------------------------------------------------
@dataclass
class SummaryTable:
    """Metrics as rows, studies as columns; cells already formatted."""

    columns: list[str]
    rows: list[tuple[str, list[str]]]


@dataclass
class Table:
    """A plain table (header, rows of formatted cells) with a sentence under it."""

    header: list[str]
    rows: list[list[str]]
    sentence: str = ""


@dataclass
class FigureBlock:
    """One picture (base64 PNG) with its heading, explanation, facts and data files."""

    key: str
    image: str
    alt: str
    facts: str = ""
    data: list[str] = field(default_factory=list)
    kind: str = field(default="figure", init=False)

    @property
    def heading(self) -> str:
        return prose.HEADINGS[self.key]

    @property
    def what(self) -> str:
        return prose.EXPLAIN[self.key][0]

    @property
    def look_for(self) -> str:
        return prose.EXPLAIN[self.key][1]

    @property
    def wide(self) -> bool:
        return self.key in WIDE


@dataclass
class ErrorBlock:
    """A view that failed: shown as an error box instead of losing the report."""

    what: str
    error: str
    traceback: str
    kind: str = field(default="error", init=False)


Block = FigureBlock | ErrorBlock


@dataclass
class Section:
    anchor: str
    title: str
    run_line: str = ""
    spec_yaml: str = ""
    summary: SummaryTable | None = None
    facts: list[str] = field(default_factory=list)
    stops: Table | None = None
    blocks: list[Block] = field(default_factory=list)
    note: str = ""


@dataclass
class Page:
    path: str
    name: str
    intro: str
    sections: list[Section]
    summary: SummaryTable | None = None


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("mbo.reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_page(page: Page) -> str:
    """The report's HTML (``templates/report.html.j2``; every text escaped)."""
    return _environment().get_template("report.html.j2").render(page=page, headings=prose.HEADINGS)


def summary_table(summaries: dict[str, dict[str, Any]]) -> SummaryTable:
    """Metrics as rows, studies as columns (normalized units); rows no study has are left out;
    a value a study lacks or that is undefined prints ``n/a``."""
    names = list(summaries)
    rows = [
        (label, [prose.summary_cell(key, summaries[n]) for n in names])
        for key, label in summary_rows(summaries)
        if any(key in summaries[n] for n in names)
    ]
    return SummaryTable(names, rows)


def stops_table(summary: dict[str, Any]) -> Table:
    """The offline stopping rules of one study (:func:`~mbo.reporting.views.stopping_rules`)
    beside the final checkpoint and the true-score peak, and whether any rule beats the end."""
    df = stopping_rules(summary)
    what = {
        "end": "run to the end (final checkpoint)",
        "peak": "true-score peak (oracle; for reference)",
        **STOPPING_RULES,
    }
    rows = [
        [
            r.rule,
            what.get(r.rule, ""),
            prose.step_text(r.step),
            prose.fmt("true_mean", r.true_mean),
            prose.fmt("regret", r.regret),
        ]
        for r in df.itertuples()
    ]
    header = ["rule", "stops", "chosen step", "true score (mean)", "regret vs peak"]
    return Table(header, rows, prose.stopping_sentence(df))


def _image(png: Path) -> str:
    return base64.b64encode(Path(png).read_bytes()).decode("ascii")


def _rel(p: Path, base: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(base.resolve()))
    except ValueError:
        return str(p)


def _figure(png: Path, key: str, data: list[Path], base: Path, facts: str = "") -> FigureBlock:
    return FigureBlock(key, _image(png), Path(png).name, facts, [_rel(p, base) for p in data])


def _guard(blocks: list[Block], what: str, fn: Callable[[], FigureBlock | None]) -> None:
    """Run one view; a failure shows as an error box in the report instead of losing it."""
    try:
        block = fn()
    except Exception as err:  # noqa: BLE001 - the report must survive one broken view
        blocks.append(ErrorBlock(what, repr(err), traceback.format_exc(limit=3)))
        return
    if block is not None:
        blocks.append(block)


# --- building -----------------------------------------------------------------------------
def _study_section(res: StudyResult, base: Path, opts: ReportOptions, anchor: str) -> Section:
    run = res.run_dir
    assert run is not None
    vdir = run / "views"
    vdir.mkdir(parents=True, exist_ok=True)
    calls0 = res.domain.oracle.counts()["calls"]
    s = res.summary
    sec = Section(
        anchor,
        prose.study_title(study_label(res), res.spec.label),
        run_line=prose.run_line(_rel(run, base), s, res.spec.domain, res.spec.surrogate),
        spec_yaml=yaml.safe_dump(res.spec.to_dict(), sort_keys=False),
        summary=summary_table({study_label(res): s}),
        facts=[prose.fooled_rule(s)],
        stops=stops_table(s),
    )
    where = {"design_id": opts.design_id, "step": opts.step, "seed": opts.seed}

    def trajectory() -> FigureBlock:
        f = A.save_trajectory(res, vdir)
        return _figure(f["png"], "trajectory", [f["data"], run / "audit.parquet"], base)

    def overoptimization() -> FigureBlock:
        df, f = A.save_overoptimization(res, vdir)
        data = [f["data"], f["meta"]]
        return _figure(f["png"], "overoptimization", data, base, prose.overoptimization_facts(df))

    def landscape() -> FigureBlock:
        png = run / "landscape.png"  # drawn by `mbo run`; else drawn here
        if not png.exists():
            png = A.save_landscape(res, vdir / "landscape.png")
        return _figure(png, "landscape", [], base)

    def sweep() -> FigureBlock:
        df, f = A.save_sweep(res, vdir, n=opts.sweep_points, **where)
        return _figure(f["png"], "sweep", [f["data"], f["meta"]], base, prose.sweep_facts(df))

    def cross_section() -> FigureBlock:
        grid, f = A.save_cross_section(res, vdir, n=opts.grid, **where)
        data = [f["data"], f["points"], f["meta"]]
        return _figure(f["png"], "cross_section", data, base, prose.cross_section_facts(grid))

    def top() -> FigureBlock | None:
        png = run / "top_designs.png"  # drawn by `mbo run`; else drawn here
        if not png.exists():
            png = vdir / "top_designs.png"
            if not A.save_top_designs(res, png):
                return None
        return _figure(png, "top_designs", [], base)

    _guard(sec.blocks, "trajectory", trajectory)
    _guard(sec.blocks, "over-optimization", overoptimization)
    if can_draw_landscape(res.domain):
        _guard(sec.blocks, "landscape", landscape)
    _guard(sec.blocks, "1-D sweep", sweep)
    _guard(sec.blocks, "cross-section", cross_section)
    _guard(sec.blocks, "top designs", top)
    sec.note = prose.oracle_note(res.domain.oracle.counts()["calls"] - calls0)
    return sec


def _group_section(results: list[StudyResult], base: Path, out_dir: Path, anchor: str) -> Section:
    first = results[0]
    labels = _unique_labels(results)
    key = domain_key(first)
    vdir = out_dir / f"{first.spec.domain}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"
    vdir.mkdir(parents=True, exist_ok=True)
    sec = Section(anchor, prose.group_title(first.spec.domain, len(results)))

    def comparison() -> FigureBlock:
        _, f = A.save_trajectory_comparison(results, labels, vdir)
        return _figure(f["png"], "comparison", [f["data"]], base)

    def overoptimization() -> FigureBlock:
        _, f = A.save_overoptimization_comparison(results, labels, vdir)
        return _figure(f["png"], "overoptimization_comparison", [f["data"]], base)

    def transfer() -> FigureBlock:
        _, f = A.save_transfer(results, labels, vdir)
        return _figure(f["png"], "transfer", [f["data"], f["wide"]], base)

    _guard(sec.blocks, "trajectory comparison", comparison)
    _guard(sec.blocks, "over-optimization comparison", overoptimization)
    _guard(sec.blocks, "transfer matrix", transfer)
    return sec


def _unique_labels(results: list[StudyResult]) -> list[str]:
    labels = [study_label(r) for r in results]
    if len(set(labels)) < len(labels):
        labels = [
            f"{r.run_dir.parent.name}/{lbl}" if r.run_dir is not None else f"{lbl} [{i}]"
            for i, (r, lbl) in enumerate(zip(results, labels, strict=True))
        ]
    return labels


def build_report(
    path: str | Path,
    out: str | Path | None = None,
    options: ReportOptions | None = None,
    results: list[StudyResult] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write the HTML report of a run folder or a folder of run folders; returns its path.

    ``out`` defaults to ``<path>/report.html``. ``results`` may pass already loaded studies
    (otherwise each run folder is re-opened with :func:`mbo.study.load_run`).
    """
    opts = options or ReportOptions()
    path = Path(path)
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    if results is None:
        results = []
        for run in find_runs(path):
            say(f"loading {run}")
            results.append(load_run(run))
    base = path if path.is_dir() else path.parent
    out = Path(out) if out is not None else base / "report.html"
    labels = _unique_labels(results)
    studies, summaries = [], {}
    for i, (res, label) in enumerate(zip(results, labels, strict=True)):
        say(f"views of {label}")
        studies.append(_study_section(res, base, opts, f"study-{i}"))
        summaries[label] = res.summary
    groups: dict[str, list[StudyResult]] = {}
    for res in results:
        groups.setdefault(domain_key(res), []).append(res)
    shared = []
    for j, group in enumerate(g for g in groups.values() if len(g) > 1):
        say(f"transfer matrix of {len(group)} studies on {group[0].spec.domain}")
        shared.append(_group_section(group, base, base / "views", f"group-{j}"))
    page = Page(
        path=str(path),
        name=path.name,
        intro=prose.intro(opts.design_id, opts.step, time.perf_counter() - t0),
        sections=shared + studies,
        summary=summary_table(summaries) if len(summaries) > 1 else None,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_page(page), encoding="utf-8")
    return out
