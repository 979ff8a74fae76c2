"""One self-contained HTML report of a run folder or of a folder of runs (``mbo report``).

The report holds, per study: its spec, the summary table, the trajectory (the centerpiece),
the 1-D sweep along the gradient, the 2-D cross-section, the 2-D landscape where there is
one, and drawings of the top designs where the domain draws them (molecules, cars); for
studies that share a domain, a trajectory comparison and the transfer matrix. Images are
embedded as base64 data URIs: the file needs no network and no other file. The data of every
view is written beside its PNG (``<run>/views/`` and ``<root>/views/``) so it can be checked.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..evaluation import summary_rows
from ..study import StudyResult, load_run
from . import plots as P
from . import views as V
from .views import domain_key, study_label


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


# --- what each picture shows --------------------------------------------------------------
EXPLAIN = {
    "trajectory": (
        "Predicted (blue) and true (red) normalized score of the K designs against the "
        "optimizer step (gradient steps, CMA-ES generations, BO iterations): mean line, interquartile band, faint min-max range. "
        "<b>Look for</b> the two curves parting: the surrogate's prediction keeps rising while "
        "the oracle's score stalls or falls - the optimizer is finding adversarial examples of "
        "the surrogate, not better designs. The dashed line is D(best), the best visible offline "
        "design; the dotted line an exact upper bound where the domain knows one (predictions "
        "above it are impossible)."
    ),
    "comparison": (
        "The same trajectory picture for every study on this domain, on one y axis. "
        "<b>Look for</b> which surrogate's blue curve tracks its red one: a robust surrogate "
        "keeps the gap small, a fooled one lets it open."
    ),
    "landscape": (
        "The whole 2-D design space: the true function (left) beside the surrogate (right) on "
        "one colour scale, the visible offline data (black dots), the level of D(best) "
        "(dashed; everything above it was hidden) and the ascent paths (orange, start white, "
        "end X). <b>Look for</b> where the surrogate's landscape differs from the truth outside "
        "the data, and whether the paths follow the true or the imagined slope."
    ),
    "sweep": (
        "From one design (t = 0) walk a straight line along the surrogate's input gradient "
        "(left) and along a random direction (right), in the optimizer's coordinates, and score "
        "each point. <b>Look for</b> the blue line (surrogate) continuing almost straight - "
        "networks extrapolate nearly linearly - while the red line (oracle) bends, peaks or "
        "falls: the model extrapolates linearly, the world does not. The lower panel is the "
        "distance to the nearest offline design: the further from the data, the less the "
        "prediction means. Grey bands: the point left the design space and was projected back "
        "(clipped)."
    ),
    "cross_section": (
        "The plane through one design spanned by the gradient direction (horizontal) and a "
        "random orthogonal direction (vertical): surrogate (left) and oracle (middle) on one "
        "colour scale, and their difference (right; red = the surrogate over-predicts). Black "
        "dots are offline designs near the plane, projected onto it; the white dashed line "
        "encloses the points within twice the offline data's typical spacing; orange is this "
        "design's ascent path projected onto the plane. <b>Look for</b> red regions outside the "
        "data's neighbourhood in the direction the optimizer walks: that is where adversarial "
        "designs live."
    ),
    "transfer": (
        "Rows: the final designs of each study (optimized against its own surrogate) and, first, "
        "the shared start designs; columns: the mean normalized score each study's surrogate "
        "gives them, then the oracle's. The boxed diagonal is each surrogate's own prediction on "
        "its own designs. <b>Look for</b> a high diagonal with a low oracle column (fooled), and "
        "whether other surrogates are fooled by the same designs (off-diagonal cells high: the "
        "adversarial designs transfer) or see through them."
    ),
    "top_designs": (
        "The top proposed designs (highest prediction) beside the best offline designs, drawn by "
        "the domain, labelled with predicted and true scores (normalized, then raw). <b>Look "
        "for</b> what the optimizer actually built: molecules that shrank or cars with "
        "implausible wheels that the surrogate loves and the oracle does not."
    ),
}


HEADINGS = {
    "trajectory": "Trajectory: predicted vs true score against step",
    "comparison": "Trajectories side by side",
    "landscape": "The whole 2-D landscape",
    "sweep": "1-D sweep along the gradient (and a random direction)",
    "cross_section": "2-D cross-section: surrogate vs oracle",
    "transfer": "Transfer matrix: do adversarial designs transfer?",
    "top_designs": "Top designs, drawn",
}


# --- HTML pieces --------------------------------------------------------------------------
CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1500px; padding: 1em 2em; color: #222; background: #fff; }
h1 { border-bottom: 3px solid #1f77b4; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
.fig { display: flex; gap: 1.5em; align-items: flex-start; margin: 1.2em 0;
       padding: .8em; background: #fafafa; border: 1px solid #eee; border-radius: 6px; }
.fig img { max-width: 72%; height: auto; border: 1px solid #ddd; background: #fff; }
.fig.wide { flex-direction: column; }
.fig.wide img { max-width: 100%; }
.explain { font-size: 0.92em; line-height: 1.45; max-width: 60em; }
.explain .data { color: #666; font-size: 0.9em; margin-top: .6em; }
.explain .facts { margin-top: .6em; }
table.summary { border-collapse: collapse; font-size: 0.9em; margin: .8em 0; }
table.summary td, table.summary th { border: 1px solid #ddd; padding: .25em .7em; }
table.summary td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.summary th { background: #f0f4f8; }
pre { background: #f6f8fa; padding: .7em; border-radius: 4px; font-size: 0.85em;
      overflow-x: auto; }
.error { color: #a00; background: #fee; padding: .6em; border-radius: 4px; }
nav ul { columns: 2; }
.small { color: #666; font-size: .85em; }
"""


def _img(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(path.name)}">'


def _figure(png: Path, key: str, data: list[Path], base: Path, facts: str = "") -> str:
    wide = " wide" if key in ("cross_section", "sweep", "top_designs", "comparison") else ""
    rel = ", ".join(html.escape(_rel(p, base)) for p in data)
    return (
        f"<h3>{HEADINGS[key]}</h3>"
        f'<div class="fig{wide}">{_img(png)}<div class="explain">{EXPLAIN[key]}'
        + (f'<div class="facts">{facts}</div>' if facts else "")
        + (f'<div class="data">data: {rel}</div>' if rel else "")
        + "</div></div>"
    )


def _rel(p: Path, base: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(base.resolve()))
    except ValueError:
        return str(p)


def _fmt(key: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int | float):
        return f"{v:.0%}" if key.endswith("_rate") else f"{v:.3f}"
    return html.escape(str(v))


def summary_table(summaries: dict[str, dict[str, Any]]) -> str:
    """Metrics as rows, studies as columns (normalized units), as an HTML table."""

    names = list(summaries)
    rows = summary_rows(summaries)
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = []
    for key, label in rows:
        if all(key not in summaries[n] for n in names):
            continue
        cells = "".join(f'<td class="num">{_fmt(key, summaries[n].get(key))}</td>' for n in names)
        body.append(f"<tr><td>{html.escape(label)}</td>{cells}</tr>")
    return (
        f'<table class="summary"><tr><th>metric (normalized)</th>{head}</tr>'
        + "".join(body)
        + "</table>"
    )


# --- building -----------------------------------------------------------------------------
@dataclass
class ReportOptions:
    design_id: int = 0
    step: str = "start"
    grid: int = 31
    sweep_points: int = 81
    seed: int = 0


@dataclass
class _Section:
    anchor: str
    title: str
    parts: list[str] = field(default_factory=list)


def _guard(parts: list[str], what: str, fn: Callable[[], str]) -> None:
    """Run one view; a failure shows as an error box in the report instead of losing it."""
    try:
        parts.append(fn())
    except Exception as err:  # noqa: BLE001 - the report must survive one broken view
        tb = traceback.format_exc(limit=3)
        parts.append(
            f'<div class="error"><b>{html.escape(what)} failed:</b> {html.escape(repr(err))}'
            f"<pre>{html.escape(tb)}</pre></div>"
        )


def _sweep_facts(df) -> str:
    g = df[df["direction"] == "gradient"]
    s = df.attrs["span"]
    at = {round(float(t), 9): row for t, row in zip(g["t"], g.itertuples(), strict=True)}
    r0, r1 = at.get(0.0), g.iloc[-1]
    if r0 is None:
        return ""
    return (
        f"Along the gradient, from t = 0 to t = {s:.3g}: the surrogate goes "
        f"{r0.predicted_norm:.2f} &rarr; {r1['predicted_norm']:.2f}, the oracle "
        f"{r0.true_norm:.2f} &rarr; {r1['true_norm']:.2f}. "
        f"Coordinates: {html.escape(df.attrs['coordinates'])}."
    )


def _study_section(
    res: StudyResult, base: Path, opts: ReportOptions, anchor: str
) -> tuple[_Section, dict[str, Any]]:

    run = res.run_dir
    assert run is not None
    vdir = run / "views"
    vdir.mkdir(parents=True, exist_ok=True)
    label = V.study_label(res)
    title = res.spec.label if res.spec.label.startswith(label) else f"{label}: {res.spec.label}"
    sec = _Section(anchor, title)
    parts = sec.parts
    calls0 = res.domain.oracle.counts()["calls"]
    spec_yaml = yaml.safe_dump(res.spec.to_dict(), sort_keys=False)
    s = res.summary
    parts.append(
        f'<p class="small">run folder: {html.escape(_rel(run, base))} &middot; domain '
        f"{html.escape(str(s.get('domain', res.spec.domain)))} &middot; surrogate "
        f"{html.escape(res.spec.surrogate)} &middot; {s.get('n_offline', '?')} offline of "
        f"{s.get('n_reference', '?')} reference designs &middot; K = {s.get('k', '?')}, "
        f"{s.get('steps', '?')} steps &middot; fooled margin &delta; = "
        f"{s.get('fooled_margin', float('nan'))}</p>"
    )
    parts.append(f"<details><summary>spec</summary><pre>{html.escape(spec_yaml)}</pre></details>")
    parts.append(summary_table({label: s}))

    def trajectory() -> str:
        f = V.save_trajectory(res, vdir)
        return _figure(f["png"], "trajectory", [f["data"], run / "audit.parquet"], base)

    def landscape() -> str:
        png = run / "landscape.png"
        if not png.exists():
            P.plot_landscape(res, vdir / "landscape.png")
            png = vdir / "landscape.png"
        return _figure(png, "landscape", [], base)

    where = {"design_id": opts.design_id, "step": opts.step, "seed": opts.seed}

    def sweep() -> str:
        df, f = V.save_sweep(res, vdir, n=opts.sweep_points, **where)
        return _figure(f["png"], "sweep", [f["data"], f["meta"]], base, _sweep_facts(df))

    def section() -> str:
        grid, f = V.save_cross_section(res, vdir, n=opts.grid, **where)
        return _figure(
            f["png"],
            "cross_section",
            [f["data"], f["points"], f["meta"]],
            base,
            f"{int(grid['clipped'].sum())} of {len(grid)} grid points were clipped into the "
            f"space. Coordinates: {html.escape(grid.attrs['coordinates'])}.",
        )

    def top() -> str:
        png = run / "top_designs.png"
        if not png.exists() and not P.plot_top_designs(res, vdir / "top_designs.png"):
            return ""
        png = png if png.exists() else vdir / "top_designs.png"
        return _figure(png, "top_designs", [], base)

    _guard(parts, "trajectory", trajectory)
    if P.can_draw_landscape(res.domain):
        _guard(parts, "landscape", landscape)
    _guard(parts, "1-D sweep", sweep)
    _guard(parts, "cross-section", section)
    _guard(parts, "top designs", top)
    calls = res.domain.oracle.counts()["calls"] - calls0
    parts.append(
        f'<p class="small">oracle calls made for this section\'s views: {calls} (batched; '
        "reporting only, after all designs were chosen).</p>"
    )
    return sec, s


def _group_section(results: list[StudyResult], base: Path, out_dir: Path, anchor: str) -> _Section:

    first = results[0]
    key = V.domain_key(first)
    tag = f"{first.spec.domain}-{hashlib.sha1(key.encode()).hexdigest()[:6]}"
    vdir = out_dir / tag
    vdir.mkdir(parents=True, exist_ok=True)
    labels = _unique_labels(results)
    sec = _Section(anchor, f"{first.spec.domain}: {len(results)} studies on one domain")

    def comparison() -> str:
        df = V.trajectory_comparison(results, labels)
        data = V._save(df, vdir / "trajectories.csv")
        summaries = {lbl: r.summary for lbl, r in zip(labels, results, strict=True)}
        V.plot_trajectory_comparison(df, summaries, vdir / "trajectories.png")
        return _figure(vdir / "trajectories.png", "comparison", [data], base)

    def transfer() -> str:
        df = V.transfer_matrix(results, labels)
        data = V._save(df, vdir / "transfer.csv")
        wide = V._save(V.transfer_wide(df).reset_index(), vdir / "transfer_matrix.csv")
        V.plot_transfer_matrix(df, vdir / "transfer.png")
        return _figure(vdir / "transfer.png", "transfer", [data, wide], base)

    _guard(sec.parts, "trajectory comparison", comparison)
    _guard(sec.parts, "transfer matrix", transfer)
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
        runs = find_runs(path)
        results = []
        for run in runs:
            say(f"loading {run}")
            results.append(load_run(run))
    base = path if path.is_dir() else path.parent
    out = Path(out) if out is not None else base / "report.html"
    sections: list[_Section] = []
    summaries: dict[str, dict[str, Any]] = {}
    labels = _unique_labels(results)
    for i, (res, label) in enumerate(zip(results, labels, strict=True)):
        say(f"views of {label}")
        sec, s = _study_section(res, base, opts, f"study-{i}")
        sections.append(sec)
        summaries[label] = s
    groups: dict[str, list[StudyResult]] = {}
    for res in results:
        groups.setdefault(domain_key(res), []).append(res)
    group_sections = []
    for j, members in enumerate(g for g in groups.values() if len(g) > 1):
        say(f"transfer matrix of {len(members)} studies on {members[0].spec.domain}")
        group_sections.append(_group_section(members, base, base / "views", f"group-{j}"))
    doc = _html(path, sections, group_sections, summaries, time.perf_counter() - t0, opts)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(doc, encoding="utf-8")
    return out


def _html(
    path: Path,
    sections: list[_Section],
    groups: list[_Section],
    summaries: dict[str, dict[str, Any]],
    seconds: float,
    opts: ReportOptions,
) -> str:
    toc = "".join(
        f'<li><a href="#{s.anchor}">{html.escape(s.title)}</a></li>' for s in groups + sections
    )
    body = [
        f"<h1>MBO report: {html.escape(str(path))}</h1>",
        "<p>Gradient ascent on a surrogate network's input, audited by the sealed oracle: "
        "every picture puts what the surrogate <i>predicts</i> beside what is <i>true</i>. "
        "Scores are normalized by the full reference data's min and max (0 = worst, 1 = best "
        "reference design); the best designs were hidden from the surrogate. Views are "
        f"computed around design {opts.design_id} at its {html.escape(str(opts.step))} "
        f"(the best offline design when design 0 at the start). Built in {seconds:.1f} s.</p>",
        f"<nav><b>Contents</b><ul>{toc}</ul></nav>",
    ]
    if len(summaries) > 1:
        body += ["<h2>Summary of all studies</h2>", summary_table(summaries)]
    for s in groups + sections:
        body.append(f'<section id="{s.anchor}"><h2>{html.escape(s.title)}</h2>')
        body += s.parts
        body.append("</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>MBO report: {html.escape(path.name)}</title><style>{CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )
