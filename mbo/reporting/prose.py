"""The report's words: headings, what each picture shows, and captions built from the data.

Plain text only (no HTML): the template escapes it and sets the emphasis. Each explanation is
a pair ``(what it shows, what to look for)``; the template prints "Look for" between them.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

HEADINGS = {
    "trajectory": "Trajectory: predicted vs true score against step",
    "comparison": "Trajectories side by side",
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
        "design; the dotted line an exact upper bound where the domain knows one (predictions "
        "above it are impossible).",
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
    """One line of facts about a study: folder, domain, surrogate, data, K, steps, margin."""
    s = summary
    return (
        f"run folder: {run} · domain {s.get('domain', domain)} · surrogate {surrogate} · "
        f"{s.get('n_offline', '?')} offline of {s.get('n_reference', '?')} reference designs · "
        f"K = {s.get('k', '?')}, {s.get('steps', '?')} steps · fooled margin δ = "
        f"{s.get('fooled_margin', float('nan'))}"
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


def fmt(key: str, v: Any) -> str:
    """A summary value as text: rates as percentages, numbers to 3 decimals, '-' if missing."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int | float):
        return f"{v:.0%}" if key.endswith("_rate") else f"{v:.3f}"
    return str(v)
