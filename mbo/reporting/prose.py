"""The report's words: headings, what each picture shows, and captions built from the data.

Plain text only (no HTML): the template escapes it and sets the emphasis. Each explanation is
a pair ``(what it shows, what to look for)``; the template prints "Look for" between them.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import pandas as pd

HEADINGS = {
    "trajectory": "Trajectory: predicted vs true score against step",
    "comparison": "Trajectories side by side",
    "overoptimization": "Over-optimization: score against distance from the data",
    "overoptimization_comparison": "Over-optimization, one curve per surrogate",
    "stopping": "Offline stopping rules",
    "landscape": "The whole 2-D landscape",
    "sweep": "1-D sweep along the gradient (and a random direction)",
    "cross_section": "2-D cross-section: surrogate vs oracle",
    "transfer": "Transfer matrix: do adversarial designs transfer?",
    "top_designs": "Top designs, drawn",
}

EXPLAIN: dict[str, tuple[str, str]] = {
    "trajectory": (
        "Predicted (blue) and true (red) normalized score of the K designs against the "
        "optimizer step (gradient steps, CMA-ES generations, BO iterations): mean line, "
        "interquartile band, faint min-max range.",
        "the two curves parting: the surrogate's prediction keeps rising while the oracle's "
        "score stalls or falls - the optimizer is finding adversarial examples of the "
        "surrogate, not better designs. The dashed line is D(best), the best visible offline "
        "design; the dotted grey line the mean over the designs of each design's own exact "
        "upper bound, with its interquartile band where the bounds differ, where the domain "
        "knows one (a prediction above its design's bound is impossible).",
    ),
    "overoptimization": (
        "Gao et al. (2022)'s reward-model over-optimization picture, here with an exact oracle: "
        "the mean true (red, solid) and predicted (blue, dashed) normalized score of the K "
        "designs at each checkpoint, against how far the designs are from the data (the median "
        "distance to the nearest offline design, in the study's distance unit) instead of the "
        "step. The star marks the true-score peak (known only to the oracle); the hollow "
        "markers the checkpoint each offline stopping rule picks without the oracle.",
        "the predicted curve climbing steadily with distance while the true one rises, peaks "
        "and falls: the further the designs get from the data, the more the surrogate's "
        "optimism is over-optimization rather than progress. A stopping rule is useful where "
        "its marker sits near the star, before the true curve falls.",
    ),
    "overoptimization_comparison": (
        "The over-optimization picture for every surrogate on this domain, one colour each "
        "(solid: true, dashed: predicted; seed-averaged by step where a surrogate has several "
        "seeds), against the median distance to the nearest offline design.",
        "which surrogate's true curve keeps rising further from the data, and whose predicted "
        "curve stays close to its true one: a robust surrogate is not fooled as it leaves the "
        "data, or stops climbing.",
    ),
    "comparison": (
        "The same trajectory picture for every study on this domain, on one y axis.",
        "which surrogate's blue curve tracks its red one: a robust surrogate keeps the gap "
        "small, a fooled one lets it open.",
    ),
    "landscape": (
        "The whole 2-D design space: the true function (left) beside the surrogate (right) on "
        "one colour scale, the visible offline data (black dots), the level of D(best) "
        "(dashed; everything above it was hidden) and the ascent paths (orange, start white, "
        "end X).",
        "where the surrogate's landscape differs from the truth outside the data, and whether "
        "the paths follow the true or the imagined slope.",
    ),
    "sweep": (
        "From one design (t = 0) walk a straight line along the surrogate's input gradient "
        "(left) and along a random direction (right), in the optimizer's coordinates, and score "
        "each point.",
        "the blue line (surrogate) continuing almost straight - networks extrapolate nearly "
        "linearly - while the red line (oracle) bends, peaks or falls: the model extrapolates "
        "linearly, the world does not. The lower panel is the distance to the nearest offline "
        "design: the further from the data, the less the prediction means. Grey bands: the "
        "point left the design space and was projected back (clipped).",
    ),
    "cross_section": (
        "The plane through one design spanned by the gradient direction (horizontal) and a "
        "random orthogonal direction (vertical): surrogate (left) and oracle (middle) on one "
        "colour scale, and their difference (right; red = the surrogate over-predicts). Black "
        "dots are offline designs near the plane, projected onto it; the white dashed line "
        "encloses the points within twice the offline data's typical spacing; orange is this "
        "design's ascent path projected onto the plane.",
        "red regions outside the data's neighbourhood in the direction the optimizer walks: "
        "that is where adversarial designs live.",
    ),
    "transfer": (
        "Rows: the final designs of each study (optimized against its own surrogate) and, first, "
        "the shared start designs; columns: the mean normalized score each study's surrogate "
        "gives them, then the oracle's. The boxed diagonal is each surrogate's own prediction on "
        "its own designs.",
        "a high diagonal with a low oracle column (fooled), and whether other surrogates are "
        "fooled by the same designs (off-diagonal cells high: the adversarial designs transfer) "
        "or see through them.",
    ),
    "top_designs": (
        "The top proposed designs (highest prediction) beside the best offline designs, drawn by "
        "the domain, labelled with predicted and true scores (normalized, then raw).",
        "what the optimizer actually built: molecules that shrank or cars with implausible "
        "wheels that the surrogate loves and the oracle does not.",
    ),
}


def intro(design_id: int, step: str | int, seconds: float) -> str:
    """The paragraph under the report's title."""
    return (
        "Gradient ascent on a surrogate network's input, audited by the sealed oracle: every "
        "picture puts what the surrogate predicts beside what is true. Scores are normalized by "
        "the full reference data's min and max (0 = worst, 1 = best reference design); the best "
        "designs were hidden from the surrogate. Views are computed around design "
        f"{design_id} at its {step} (the best offline design when design 0 at the start). "
        f"Built in {seconds:.1f} s."
    )


def study_title(label: str, spec_label: str) -> str:
    """A study section's title: the spec's label, prefixed by the run folder's if they differ."""
    return spec_label if spec_label.startswith(label) else f"{label}: {spec_label}"


def group_title(domain: str, n: int) -> str:
    return f"{domain}: {n} studies on one domain"


def run_line(run: str, summary: dict[str, Any], domain: str, surrogate: str) -> str:
    """One line of facts about a study: folder, domain, surrogate, data, K, steps, and the
    unit of its distances."""
    s = summary
    unit = f" · distances in {s['distance_unit']}" if s.get("distance_unit") else ""
    return (
        f"run folder: {run} · domain {s.get('domain', domain)} · surrogate {surrogate} · "
        f"{s.get('n_offline', '?')} offline of {s.get('n_reference', '?')} reference designs · "
        f"K = {s.get('k', '?')}, {s.get('steps', '?')} steps{unit}"
    )


def _num(v: Any) -> float:
    try:
        return math.nan if v is None or isinstance(v, bool) else float(v)
    except (TypeError, ValueError):
        return math.nan


def _finite(v: Any) -> bool:
    return math.isfinite(_num(v))


def _f(v: Any, spec: str = ".3f") -> str:
    v = _num(v)
    return format(v, spec) if math.isfinite(v) else NA


def overoptimization_facts(df: pd.DataFrame) -> str:
    """What the over-optimization picture shows, in numbers: how far the median design got
    from the data, and where prediction and truth went meanwhile."""
    if df.empty:
        return ""
    first, last = df.iloc[0], df.iloc[-1]
    unit = df.attrs.get("distance_unit") or "distance units"
    return (
        f"From step {int(first['step'])} to step {int(last['step'])} the median design went from "
        f"{_f(first['offline_distance_median'], '.3g')} to "
        f"{_f(last['offline_distance_median'], '.3g')} {unit} from its nearest offline design; "
        f"the surrogate's mean prediction {_f(first['predicted_mean'], '.2f')} → "
        f"{_f(last['predicted_mean'], '.2f')}, the oracle's {_f(first['true_mean'], '.2f')} → "
        f"{_f(last['true_mean'], '.2f')}."
    )


def fooled_rule(summary: dict[str, Any]) -> str:
    """The fooled rule of one study, in words and numbers: the margin in offline label sd and
    the absolute delta it gives (older summaries: the margin read as absolute)."""
    s = summary
    margin, sd = _num(s.get("fooled_margin")), _num(s.get("label_sd"))
    delta = _num(s.get("fooled_delta", margin if not math.isfinite(sd) else math.nan))
    if math.isfinite(sd):
        threshold = (
            f"δ = {_f(margin, 'g')} offline label sd = {_f(delta)} (normalized units; the "
            f"offline labels' sd is {_f(sd)})"
        )
    else:
        threshold = f"δ = {_f(delta)} (normalized units, absolute)"
    return (
        "Fooled rule: a design counts as fooled when its predicted − true score rose by more "
        f"than {threshold} from its start while its true score did not rise; the fooled rate "
        f"here is {fmt('fooled_rate', s.get('fooled_rate'))}, the overestimation (mean rise of "
        f"predicted − true over the designs) {_f(s.get('overestimation'), '+.3f')}."
    )


#: why an offline stopping rule may not apply to a study.
NOT_APPLICABLE = {
    "distance": "the audit has no distances",
    "disagreement": "the surrogate has no std",
    "beyond_data": "no D(best)",
}


def stopping_sentence(rules: pd.DataFrame) -> str:
    """One plain sentence from a :func:`~mbo.reporting.views.stopping_rules` table: does any
    offline stopping rule beat running to the end on this study?"""
    by = {r["rule"]: r for r in rules.to_dict("records")}
    end = by.get("end", {})
    end_regret, end_step = _num(end.get("regret")), _num(end.get("step"))
    rows = rules[rules["kind"] == "rule"]
    na = [r for r, st in zip(rows["rule"], rows["step"], strict=True) if not _finite(st)]
    why_na = [f"{r} ({NOT_APPLICABLE[r]})" if r in NOT_APPLICABLE else r for r in na]
    tail = f" Not applicable here: {', '.join(why_na)}." if na else ""
    if not math.isfinite(end_regret):
        return (
            "No true-score peak could be computed on this study (no scored designs), so the "
            f"stopping rules cannot be judged here.{tail}"
        )
    end_at = f"step {_f(end_step, '.0f')}"
    winners = rows[rows["beats_end"].astype(bool)].sort_values("regret", kind="stable")
    if winners.empty:
        if end_regret <= 1e-9:
            why = f"the true score peaked at the final checkpoint ({end_at}, regret 0)"
        else:
            why = (
                f"the final checkpoint ({end_at}) has regret {_f(end_regret)} and no rule's "
                "regret is smaller"
            )
        return f"No offline rule beats running to the end here: {why}.{tail}"
    parts = [
        f"{r.rule} (step {_f(r.step, '.0f')}, regret {_f(r.regret)})" for r in winners.itertuples()
    ]
    verb = "beats" if len(parts) == 1 else "beat"
    names = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (
        f"Stopping by {names} {verb} running to the end here (regret {_f(end_regret)} at "
        f"{end_at}); the best is {winners.iloc[0]['rule']}.{tail}"
    )


def oracle_note(calls: int) -> str:
    return (
        f"oracle calls made for this section's views: {calls} (batched; reporting only, after "
        "all designs were chosen)."
    )


def sweep_facts(df: pd.DataFrame) -> str:
    """What the gradient walk did between t = 0 and its end, in numbers."""
    g = df[df["direction"] == "gradient"]
    s = df.attrs["span"]
    at = {round(float(t), 9): row for t, row in zip(g["t"], g.itertuples(), strict=True)}
    r0, r1 = at.get(0.0), g.iloc[-1]
    if r0 is None:
        return ""
    return (
        f"Along the gradient, from t = 0 to t = {s:.3g}: the surrogate goes "
        f"{r0.predicted_norm:.2f} → {r1['predicted_norm']:.2f}, the oracle "
        f"{r0.true_norm:.2f} → {r1['true_norm']:.2f}. "
        f"Coordinates: {df.attrs['coordinates']}."
    )


def cross_section_facts(grid: pd.DataFrame) -> str:
    return (
        f"{int(grid['clipped'].sum())} of {len(grid)} grid points were clipped into the space. "
        f"Coordinates: {grid.attrs['coordinates']}."
    )


#: how a missing or undefined value prints.
NA = "n/a"


def fmt(key: str, v: Any) -> str:
    """A summary value as text: rates as percentages, integers (steps, counts) as they are,
    other numbers to 3 decimals, ``n/a`` if missing or not finite."""
    if v is None or (isinstance(v, numbers.Real) and not math.isfinite(v)):
        return NA
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, numbers.Integral):
        return f"{v:.0%}" if key.endswith("_rate") else str(int(v))
    if isinstance(v, numbers.Real):
        return f"{v:.0%}" if key.endswith("_rate") else f"{v:.3f}"
    return str(v)


def summary_cell(key: str, summary: dict[str, Any]) -> str:
    """One summary-table cell: :func:`fmt`, with the min-max range beside the control's
    distance ratio."""
    text = fmt(key, summary.get(key))
    if key == "control_distance_ratio" and text != NA:
        lo, hi = (
            summary.get("control_distance_ratio_min"),
            summary.get("control_distance_ratio_max"),
        )
        if _finite(lo) and _finite(hi):
            text += f" ({_f(lo)}–{_f(hi)})"
    return text


def step_text(v: Any) -> str:
    """A checkpoint number as text (``n/a`` where a rule does not apply)."""
    return _f(v, ".0f")
