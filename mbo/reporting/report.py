"""One self-contained HTML report of a run folder or of a folder of runs (``mbo report``).

The page tells the lecture's story in four parts, after a plain-language verdict per study
(written from its numbers) and one summary table of every study:

1. **the phenomenon**: per study, its spec, the fooled rule in words, the trajectory (the
   centerpiece), drawings of the top designs where the domain draws them (molecules, cars)
   and the 2-D landscape where there is one;
2. **why**: per study, the 1-D sweep along the gradient, how linear the surrogate is along
   the optimizer's path, the 2-D cross-section and the over-optimization picture (score against distance from the data), each captioned from its
   own numbers;
3. **transfer**: for studies that share a domain, the transfer matrix and what it says;
4. **what helps**: for studies that share a domain, their trajectories and over-optimization
   curves side by side with a verdict over variants and seeds; per study, the offline
   stopping rules against running to the end.

Studies appear in the order they were run (their ``summary.json`` is written last). Images are
embedded as base64 data URIs: the file needs no network and no other file. The data of every
view is written beside its PNG (``<run>/views/`` and ``<root>/views/``) so it can be checked.

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
from . import views as V
from .views import can_draw_landscape, domain_key, runs_table, stopping_rules, study_label

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


def in_run_order(runs: list[Path]) -> list[Path]:
    """Run folders in the order they were run: by the time their ``summary.json`` (written
    last) was written, ties (folders copied together) by path."""
    return sorted(runs, key=lambda p: ((p / "summary.json").stat().st_mtime, str(p)))


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
    #: what this picture shows, written from its numbers (shown first, in full width)
    caption: str = ""
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
    """One study's (or one group of studies') share of a part of the page."""

    anchor: str
    title: str
    run_line: str = ""
    spec_yaml: str = ""
    summary: SummaryTable | None = None
    facts: list[str] = field(default_factory=list)
    stops: Table | None = None
    blocks: list[Block] = field(default_factory=list)
    verdict: str = ""
    note: str = ""


@dataclass
class Part:
    """One part of the story (:data:`mbo.reporting.prose.PARTS`): a title, a lead paragraph,
    and a section per study or group; ``note`` where the part has nothing to show."""

    key: str
    sections: list[Section] = field(default_factory=list)
    note: str = ""

    @property
    def anchor(self) -> str:
        return f"part-{self.key}"

    @property
    def title(self) -> str:
        return prose.PARTS[self.key][0]

    @property
    def lead(self) -> str:
        return prose.PARTS[self.key][1]


@dataclass
class Brief:
    """One study's verdict in plain language, linked to its first section."""

    anchor: str
    title: str
    text: str


@dataclass
class Page:
    path: str
    name: str
    intro: str
    parts: list[Part]
    summary: SummaryTable | None = None
    brief: list[Brief] = field(default_factory=list)


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


def _figure(
    png: Path, key: str, data: list[Path], base: Path, facts: str = "", caption: str = ""
) -> FigureBlock:
    return FigureBlock(
        key, _image(png), Path(png).name, facts, [_rel(p, base) for p in data], caption
    )


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
#: the parts of the page, in the lecture's order.
PART_KEYS = ("phenomenon", "why", "transfer", "helps")


def _study_sections(
    res: StudyResult, base: Path, opts: ReportOptions, i: int, title: str
) -> dict[str, Section]:
    """One study's sections of the phenomenon, why and what-helps parts."""
    run = res.run_dir
    assert run is not None
    vdir = run / "views"
    vdir.mkdir(parents=True, exist_ok=True)
    calls0 = res.domain.oracle.counts()["calls"]
    s = res.summary
    phenomenon = Section(
        f"phenomenon-{i}",
        title,
        run_line=prose.run_line(_rel(run, base), s, res.spec.domain, res.spec.surrogate),
        spec_yaml=yaml.safe_dump(res.spec.to_dict(), sort_keys=False),
        facts=[prose.fooled_rule(s)],
    )
    why = Section(f"why-{i}", title)
    helps = Section(f"helps-{i}", title, stops=stops_table(s))
    where = {"design_id": opts.design_id, "step": opts.step, "seed": opts.seed}

    def trajectory() -> FigureBlock:
        f = A.save_trajectory(res, vdir)
        return _figure(f["png"], "trajectory", [f["data"], run / "audit.parquet"], base)

    def overoptimization() -> FigureBlock:
        df, f = A.save_overoptimization(res, vdir)
        data = [f["data"], f["meta"]]
        return _figure(f["png"], "overoptimization", data, base, prose.overoptimization_facts(df))

    def landscape() -> FigureBlock:
        png = vdir / "landscape.png"  # drawn here: the run folder's may be an older drawing
        A.save_landscape(res, png)
        return _figure(png, "landscape", [], base)

    def sweep() -> FigureBlock:
        df, f = A.save_sweep(res, vdir, n=opts.sweep_points, **where)
        return _figure(
            f["png"],
            "sweep",
            [f["data"], f["meta"]],
            base,
            prose.sweep_facts(df),
            prose.sweep_caption(df),
        )

    def linearization() -> FigureBlock:
        df, f = A.save_linearization(res, vdir)
        return _figure(
            f["png"], "linearization", [f["data"]], base, caption=prose.linearization_caption(df)
        )

    def cross_section() -> FigureBlock:
        grid, f = A.save_cross_section(res, vdir, n=opts.grid, **where)
        data = [f["data"], f["points"], f["meta"]]
        return _figure(
            f["png"],
            "cross_section",
            data,
            base,
            prose.cross_section_facts(grid),
            prose.cross_section_caption(grid),
        )

    def top() -> FigureBlock | None:
        png = vdir / "top_designs.png"  # drawn here, with the labels explained on the page
        if not A.save_top_designs(res, png):
            return None
        return _figure(png, "top_designs", [], base)

    _guard(phenomenon.blocks, "trajectory", trajectory)
    _guard(phenomenon.blocks, "top designs", top)
    if can_draw_landscape(res.domain):
        _guard(phenomenon.blocks, "landscape", landscape)
    _guard(why.blocks, "1-D sweep", sweep)
    _guard(why.blocks, "linearization", linearization)
    _guard(why.blocks, "cross-section", cross_section)
    _guard(why.blocks, "over-optimization", overoptimization)
    why.note = prose.oracle_note(res.domain.oracle.counts()["calls"] - calls0)
    return {"phenomenon": phenomenon, "why": why, "helps": helps}


def _group_sections(
    results: list[StudyResult], labels: list[str], base: Path, out_dir: Path, j: int
) -> dict[str, Section]:
    """The transfer and what-helps sections of studies that share a domain (``labels``: the
    studies' titles). Where a variant has several studies (seeds), the transfer matrix is
    read per variant, averaged over its studies."""
    first = results[0]
    key = domain_key(first)
    vdir = out_dir / f"{first.spec.domain}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"
    vdir.mkdir(parents=True, exist_ok=True)
    title = prose.group_title(first.spec.domain, len(results))
    transfer = Section(f"transfer-{j}", title)
    helps = Section(f"helps-group-{j}", title)

    def comparison() -> FigureBlock:
        _, f = A.save_trajectory_comparison(results, labels, vdir)
        return _figure(f["png"], "comparison", [f["data"]], base)

    def overoptimization() -> FigureBlock:
        _, f = A.save_overoptimization_comparison(results, labels, vdir)
        return _figure(f["png"], "overoptimization_comparison", [f["data"]], base)

    runs = runs_table(results, labels)
    variants = dict(zip(runs["study"], runs["variant"], strict=True))

    def transfer_matrix() -> FigureBlock:
        df, f = A.save_transfer(results, labels, vdir)
        if len(set(variants.values())) < len(variants):
            caption = "Averaged over the seeds of each variant: " + prose.transfer_caption(
                V.transfer_by_variant(df, variants)
            )
        else:
            caption = prose.transfer_caption(df)
        return _figure(f["png"], "transfer", [f["data"], f["wide"]], base, caption=caption)

    _guard(transfer.blocks, "transfer matrix", transfer_matrix)
    _guard(helps.blocks, "trajectory comparison", comparison)
    _guard(helps.blocks, "over-optimization comparison", overoptimization)
    if runs["variant"].nunique() > 1:
        helps.verdict = prose.compare_verdict(runs)
    helps.facts = [t for t in [prose.stopping_overview(runs)] if t]
    return {"transfer": transfer, "helps": helps}


def _unique_labels(results: list[StudyResult]) -> list[str]:
    labels = [study_label(r) for r in results]
    if len(set(labels)) < len(labels):
        labels = [
            f"{r.run_dir.parent.name}/{lbl}" if r.run_dir is not None else f"{lbl} [{i}]"
            for i, (r, lbl) in enumerate(zip(results, labels, strict=True))
        ]
    return labels


def _titles(results: list[StudyResult], labels: list[str]) -> list[str]:
    """Each study's title (:func:`mbo.reporting.prose.study_title`), its folder label added
    where two would read the same."""
    titles = [
        prose.study_title(
            r.spec.name,
            r.spec.domain,
            r.spec.surrogate,
            r.spec.objective,
            r.spec.optimizer,
            r.spec.seed,
        )
        for r in results
    ]
    counts = {t: titles.count(t) for t in titles}
    return [t if counts[t] == 1 else f"{t} [{lbl}]" for t, lbl in zip(titles, labels, strict=True)]


#: what the transfer part says when no two studies share a domain.
NO_TRANSFER = (
    "No two studies here share a domain, so there is no transfer matrix. Run several "
    "surrogates on one domain (for example `mbo compare --domain branin --surrogates "
    "mlp,ensemble,ensemble+min --seeds 0,1`) and report that folder."
)
#: what the what-helps part adds when no two studies share a domain.
NO_COMPARISON = (
    "No two studies here share a domain, so no robust variant is compared side by side; "
    "`mbo compare` runs them on the same data. Below: the offline stopping rules of each study."
)


def build_report(
    path: str | Path,
    out: str | Path | None = None,
    options: ReportOptions | None = None,
    results: list[StudyResult] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write the HTML report of a run folder or a folder of run folders; returns its path.

    ``out`` defaults to ``<path>/report.html``. ``results`` may pass already loaded studies
    (their order is kept; otherwise each run folder is re-opened with
    :func:`mbo.study.load_run`, in the order they were run: :func:`in_run_order`).
    """
    opts = options or ReportOptions()
    path = Path(path)
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    if results is None:
        results = []
        for run in in_run_order(find_runs(path)):
            say(f"loading {run}")
            results.append(load_run(run))
    base = path if path.is_dir() else path.parent
    out = Path(out) if out is not None else base / "report.html"
    labels = _unique_labels(results)
    titles = _titles(results, labels)
    parts = {key: Part(key) for key in PART_KEYS}
    brief, summaries = [], {}
    for i, (res, label, title) in enumerate(zip(results, labels, titles, strict=True)):
        say(f"views of {label}")
        for key, sec in _study_sections(res, base, opts, i, title).items():
            parts[key].sections.append(sec)
        brief.append(Brief(f"phenomenon-{i}", title, prose.verdict(res.summary)))
        summaries[title] = res.summary
    groups: dict[str, list[int]] = {}
    for i, res in enumerate(results):
        groups.setdefault(domain_key(res), []).append(i)
    group_sections = []
    for j, idx in enumerate(g for g in groups.values() if len(g) > 1):
        group = [results[i] for i in idx]
        say(f"transfer matrix of {len(group)} studies on {group[0].spec.domain}")
        group_sections.append(
            _group_sections(group, [titles[i] for i in idx], base, base / "views", j)
        )
    parts["transfer"].sections = [g["transfer"] for g in group_sections]
    parts["helps"].sections = [g["helps"] for g in group_sections] + parts["helps"].sections
    if not group_sections:
        parts["transfer"].note = NO_TRANSFER
        parts["helps"].note = NO_COMPARISON
    page = Page(
        path=str(path),
        name=path.name,
        intro=prose.intro(opts.design_id, opts.step, time.perf_counter() - t0),
        parts=[parts[key] for key in PART_KEYS],
        summary=summary_table(summaries),
        brief=brief,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_page(page), encoding="utf-8")
    return out
