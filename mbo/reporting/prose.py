"""The report's words: headings, what each picture shows, and captions built from the data.

Plain text only (no HTML): the template escapes it and sets the emphasis. Each explanation is
a pair ``(what it shows, what to look for)``; the template prints "Look for" between them.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import pandas as pd

from ..evaluation import STOPPING_RULES
from ..sweeps.stats import mean_interval, paired
from .views import section_shape, transfer_pairs, transfer_rises, walk_shape

HEADINGS = {
    "trajectory": "Trajectory: predicted vs true score against step",
    "comparison": "Trajectories side by side",
    "overoptimization": "Over-optimization: score against distance from the data",
    "overoptimization_comparison": "Over-optimization, one curve per surrogate",
    "stopping": "Offline stopping rules",
    "landscape": "The whole 2-D landscape",
    "sweep": "1-D sweep along the gradient (and a random direction)",
    "linearization": "How linear is the surrogate along the ascent path?",
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
        "each point with the surrogate (blue) and the oracle (red).",
        "whether the blue line keeps climbing, nearly straight, while the red one bends, peaks "
        "or falls (the surrogate extrapolates, the world does not), or whether the two stay "
        "together (the surrogate is right here); the sentence above says which this picture "
        "shows. The lower panel is the distance to the nearest offline design: the further from "
        "the data, the less the prediction means. A dotted vertical line marks where the walk "
        "leaves the design space; beyond it each point is projected back onto the space's "
        "boundary, as the optimizer's own steps are.",
    ),
    "linearization": (
        "For every design, the surrogate's prediction along the path the optimizer actually "
        "took (blue) beside the straight line through the surrogate's gradient at the design's "
        "start (blue, dashed): the first-order prediction of the climb. Red: what the oracle "
        "did meanwhile. Medians over the designs, as changes since the start.",
        "the two blue curves staying together: the surrogate is nearly linear along the whole "
        "path (Goodfellow et al.'s linearity explanation of adversarial examples), so its very "
        "first gradient already promised the whole rise, while the red curve shows whether "
        "the world agreed.",
    ),
    "cross_section": (
        "The plane through one design spanned by the gradient direction (horizontal) and a "
        "random orthogonal direction (vertical): surrogate (left) and oracle (middle) on one "
        "colour scale, and their difference (right; red = the surrogate over-predicts). Black "
        "dots are offline designs near the plane, projected onto it; the white dashed line, "
        "where there is one, encloses the points within twice the offline data's typical "
        "spacing; the grey dotted line encloses the part of the plane inside the design space "
        "(outside it, points are projected back onto the space); orange is this design's "
        "ascent path projected onto the plane.",
        "red regions away from the data in the direction the optimizer walks (to the right): "
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
        "the domain. Under each: the predicted and true score normalized (0 = worst, 1 = best "
        "reference design), then the same in the domain's own units (metres driven for a car, "
        "the objective's value such as QED for a molecule).",
        "what the optimizer actually built: molecules that shrank or cars with implausible "
        "wheels that the surrogate loves and the oracle does not.",
    ),
}


#: the report's four parts, in the lecture's order: (title, lead paragraph).
PARTS: dict[str, tuple[str, str]] = {
    "phenomenon": (
        "1. The phenomenon: the prediction soars, the truth does not",
        "What gradient ascent on the surrogate did to the designs: predicted and true score "
        "step by step, and the designs it built. Where the blue curve leaves the red one behind, "
        "the optimizer is finding adversarial examples of the surrogate, not better designs: "
        "the sandbox's counterpart of the panda that a network, nudged by an invisible "
        "perturbation, calls a gibbon.",
    ),
    "why": (
        "2. Why: the model extrapolates, the world does not",
        "Walk from one design along the surrogate's gradient (and, for contrast, a random "
        "direction), slice a plane through the design space, and follow how far from the data "
        "the optimizer went. A ReLU network is piecewise linear: away from its data it keeps "
        "the slope it had at the edge, while the real function bends.",
    ),
    "transfer": (
        "3. Do adversarial designs transfer?",
        "Designs optimized against one surrogate, scored by the others. If they fool the "
        "others too, averaging several such models (an ensemble) cannot remove the error "
        "they share.",
    ),
    "helps": (
        "4. What helps, and how much",
        "Surrogates and objectives built to resist being fooled, side by side on the same "
        "data, and offline stopping rules that pick a checkpoint without asking the oracle.",
    ),
}


def where_views(design_id: int, step: str | int) -> str:
    """Which design the sweeps and cross-sections start from, in words."""
    if step == "start":
        rank = (
            "the best visible offline design"
            if design_id == 0
            else (f"the offline design ranked {design_id + 1} by score")
        )
        return (
            f"design {design_id} at its start, which is {rank} (the K designs start from the "
            "top-K offline designs, best first)"
        )
    if step == "final":
        return f"design {design_id} at its final checkpoint"
    return f"design {design_id} at step {step}"


def intro(design_id: int, step: str | int, seconds: float) -> str:
    """The paragraph under the report's title."""
    return (
        "Gradient ascent on a surrogate network's input, audited by the sealed oracle: every "
        "picture puts what the surrogate predicts beside what is true. Scores are normalized by "
        "the full reference data's min and max (0 = worst, 1 = best reference design); the best "
        "designs were hidden from the surrogate. The page follows the lecture: the phenomenon, "
        "why it happens, whether it transfers, and what helps. The sweeps and cross-sections "
        f"start from {where_views(design_id, step)}. Built in {seconds:.1f} s."
    )


def study_title(
    name: str | None,
    domain: str,
    surrogate: str,
    objective: str = "mean",
    optimizer: str = "gradient_ascent",
    seed: int = 0,
) -> str:
    """A study's title: the name its spec was given, else what it is (domain, surrogate and
    objective, optimizer where not gradient ascent, seed). Run folders are named in the
    run line, not here."""
    if name:
        return name
    what = surrogate + ("" if objective == "mean" else f"+{objective}")
    how = "" if optimizer == "gradient_ascent" else f" · {optimizer}"
    return f"{domain} · {what}{how} · seed {seed}"


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


#: why an offline stopping rule applies to none of several studies.
NOT_APPLICABLE_ANY = {
    "distance": "no audit has distances",
    "disagreement": "no surrogate here has a std",
    "beyond_data": "no study has a D(best)",
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


def _t(v: float) -> str:
    return f"t = {v:.2g}"


def sweep_caption(df: pd.DataFrame) -> str:
    """What the 1-D sweep shows, in sentences written from its numbers
    (:func:`~mbo.reporting.views.walk_shape`): whether the surrogate tracks the oracle along
    the gradient, sits below it, or keeps rising while the oracle does not; where the
    prediction crosses the design's exact bound; where the walk leaves the design space."""
    g = walk_shape(df, "gradient")
    r = walk_shape(df, "random")
    span = f"from t = 0 to {_t(g['t_end'])}"
    kind = g["kind"]
    if kind == "tracks":
        first = (
            f"Along the gradient the surrogate tracks the oracle: over the whole walk they never "
            f"differ by more than {g['gap_max']:.2f} (a quarter of the offline labels' spread is "
            f"{g['tol']:.2f}). {span.capitalize()} the oracle goes {g['true_0']:.2f} → "
            f"{g['true_end']:.2f} (highest {g['true_peak']:.2f} at {_t(g['t_true_peak'])}), the "
            f"surrogate {g['pred_0']:.2f} → {g['pred_end']:.2f}. Here the model is right."
        )
    elif kind == "fooled":
        r2 = g["pred_r2_climb"]
        straight = (
            f", almost in a straight line (R² of a line: {r2:.2f})"
            if math.isfinite(r2) and r2 >= 0.9
            else ""
        )
        y_top = g["true_at_pred_peak"]
        if y_top < g["true_0"] - g["tol"]:
            world = f"the oracle drops from {g['true_0']:.2f} to {y_top:.2f} there"
        else:
            world = f"the oracle there is at {y_top:.2f} (it started at {g['true_0']:.2f})"
        first = (
            f"Along the gradient the surrogate climbs from {g['pred_0']:.2f} to "
            f"{g['pred_peak']:.2f} (at {_t(g['t_pred_peak'])}){straight}, while {world}: the "
            "model extrapolates, the world does not."
        )
        if g["pred_peak"] - g["pred_end"] > g["tol"]:
            first += (
                f" Beyond {_t(g['t_pred_peak'])} the surrogate turns down too (to "
                f"{g['pred_end']:.2f} at {_t(g['t_end'])}): a straight line along the first "
                "gradient does not stay uphill, which is why the optimizer takes a new gradient "
                "at every step."
            )
    elif kind == "under":
        first = (
            f"Along the gradient the surrogate stays below the oracle (by {-g['gap_mean']:.2f} "
            f"on average; {span} it goes {g['pred_0']:.2f} → {g['pred_end']:.2f}, the oracle "
            f"{g['true_0']:.2f} → {g['true_end']:.2f}): it under-predicts along this line, so "
            "it is not what fools the optimizer here."
        )
    else:
        first = (
            f"Along the gradient surrogate and oracle differ (by up to {g['gap_max']:.2f}) but "
            f"the gap does not grow: {span} the surrogate goes {g['pred_0']:.2f} → "
            f"{g['pred_end']:.2f}, the oracle {g['true_0']:.2f} → {g['true_end']:.2f}."
        )
    out = [first]
    if math.isfinite(g["t_crosses_bound"]):
        out.append(
            f"From {_t(g['t_crosses_bound'])} on, the prediction is above the design's exact upper "
            "bound: it promises a score no such design can have."
        )
    out.append(
        f"Along the random direction the surrogate moves within {r['pred_range']:.2f} and the "
        f"oracle within {r['true_range']:.2f}, against {g['pred_range']:.2f} and "
        f"{g['true_range']:.2f} along the gradient."
    )
    leaves = [f"{_t(v)}" for v in (g["t_leaves"], g["t_leaves_back"]) if math.isfinite(v)]
    if leaves:
        out.append(
            f"The gradient walk leaves the design space at {' and '.join(leaves)} (dotted "
            f"lines): {g['clipped']} of its {g['n']} points are projected back onto the "
            "space's boundary, as the optimizer's own steps are."
        )
    return " ".join(out)


def sweep_facts(df: pd.DataFrame) -> str:
    """The gradient walk's numbers, peaks included, and the coordinates."""
    g = walk_shape(df, "gradient")
    return (
        f"Gradient walk, t = 0 → {g['t_end']:.3g}: surrogate {g['pred_0']:.2f} → "
        f"{g['pred_end']:.2f} (highest {g['pred_peak']:.2f} at {_t(g['t_pred_peak'])}); oracle "
        f"{g['true_0']:.2f} → {g['true_end']:.2f} (highest {g['true_peak']:.2f} at "
        f"{_t(g['t_true_peak'])}). Coordinates: {df.attrs['coordinates']}."
    )


def linearization_caption(df: pd.DataFrame) -> str:
    """What :func:`~mbo.reporting.views.linearization` shows, from its numbers: how much of
    the surrogate's rise along the optimizer's path the straight line through its start
    gradient predicts, and what the oracle did meanwhile."""
    if df.empty:
        return ""
    last = df.iloc[-1]
    net, lin, err, true = (
        _num(last[k]) for k in ("network_rise", "linear_rise", "linear_error", "true_rise")
    )
    step = int(last["step"])
    if not (math.isfinite(net) and math.isfinite(lin)):
        return ""
    share = f" ({lin / net:.0%} of it)" if net > 1e-9 else ""
    if abs(net) > 1e-9 and err <= 0.3 * abs(net):
        how = "the surrogate behaves almost linearly along the whole path"
    elif abs(net) > 1e-9 and err <= 0.6 * abs(net):
        how = "the surrogate is roughly linear along the path, with some bending"
    else:
        how = "the surrogate bends along the path: its start gradient is a poor guide"
    truth = f" Meanwhile the oracle's score changed by {true:+.2f}." if math.isfinite(true) else ""
    return (
        f"After {step} steps the surrogate's prediction rose by {net:+.2f} (median over the "
        f"designs); the straight line through its gradient at the start predicts {lin:+.2f}"
        f"{share}, off by {err:.2f} per design (median): {how}.{truth}"
    )


def cross_section_caption(grid: pd.DataFrame) -> str:
    """What the cross-section shows, from its numbers (:func:`~mbo.reporting.views.section_shape`):
    where the surrogate over-predicts, how much of the plane lies outside the design space,
    and what "near the data" means at this data density."""
    a = grid.attrs
    sh = section_shape(grid)
    unit = a.get("distance_unit") or "distance units"
    out = []
    if math.isfinite(sh["over"]) and sh["over"] > sh["tol"]:
        side = (
            f", {sh['over_ahead']:.0%} of it on the gradient's side (a > 0)"
            if math.isfinite(sh["over_ahead"])
            else ""
        )
        out.append(
            f"The surrogate over-predicts by more than {sh['tol']:.2f} on {sh['over_share']:.0%} "
            f"of the plane{side}; most ({sh['over']:+.2f}) at a = {sh['over_a']:.2g}, "
            f"b = {sh['over_b']:.2g}."
        )
    else:
        out.append(
            f"Nowhere on this plane does the surrogate over-predict by more than {sh['tol']:.2f} "
            f"(largest: {sh['over']:+.2f}; largest under-prediction {sh['under']:.2f})."
        )
    if sh["clipped"] == 0:
        out.append("The whole plane lies inside the design space.")
    else:
        out.append(
            f"{sh['clipped']} of {sh['n']} grid points lie outside the design space and were "
            "projected back onto it (outside the grey dotted line): there the maps show the "
            "projected designs, so the plane folds onto the space's boundary."
        )
    spacing = _num(a.get("offline_spacing"))
    if math.isfinite(sh["level"]) and sh["dist_max"] <= sh["level"]:
        out.append(
            f"Every grid point is within {sh['level']:.2g} {unit} of some offline design "
            f"({_f(a.get('neighbourhood'), 'g')}x the data's typical spacing of {spacing:.2g}): "
            f"with {a.get('n_offline', '?')} offline designs in {a.get('dim', '?')} dimensions "
            "the data are so sparse that this yardstick calls the whole plane near, so the map "
            "draws no edge of the neighbourhood."
        )
    elif math.isfinite(sh["level"]) and sh["near_share"] >= 0.995:
        out.append(
            f"All but {sh['n_far']} of the {sh['n']} grid points lie within {sh['level']:.2g} "
            f"{unit} of some offline design (the white dashed line marks the edge)."
        )
    elif math.isfinite(sh["level"]):
        out.append(
            f"{sh['near_share']:.0%} of the plane lies within {sh['level']:.2g} {unit} of some "
            "offline design (inside the white dashed line)."
        )
    return " ".join(out)


def _dist(v: float) -> str:
    return "0" if abs(v) < 5e-4 else f"{v:.2g}"


def cross_section_facts(grid: pd.DataFrame) -> str:
    sh = section_shape(grid)
    unit = grid.attrs.get("distance_unit") or "distance units"
    return (
        f"Distance to the nearest offline design on the grid: {_dist(sh['dist_min'])} to "
        f"{_dist(sh['dist_max'])} {unit}. Coordinates: {grid.attrs['coordinates']}."
    )


def transfer_caption(df: pd.DataFrame) -> str:
    """The transfer matrix read row by row (:func:`~mbo.reporting.views.transfer_pairs`): for
    each study's designs, the rise its own surrogate sees over the start designs, the oracle's
    rise, and which other surrogates are fooled too (they see at least half the own rise, and
    more than the oracle), partly (a fifth), or see through them."""
    pairs = transfer_pairs(df)
    rises = transfer_rises(df)
    out = []
    for r in rises.itertuples():
        head = (
            f"Designs from {r.designs_from}: its own surrogate sees a rise of {r.own:+.2f} over "
            f"the start designs, the oracle {r.true:+.2f}"
        )
        mine = pairs[pairs["designs_from"] == r.designs_from]
        if mine.empty:
            out.append(head + ".")
            continue
        if not r.own > 0:
            out.append(head + "; its own surrogate saw no rise, so there is nothing to transfer.")
            continue
        if r.true > 0 and r.true >= 0.5 * r.own:
            others = _names([f"{p.scored_by} ({p.rise:+.2f})" for p in mine.itertuples()])
            out.append(
                f"{head}; the oracle agrees, so these designs are no adversarial examples; the "
                f"other surrogates see {others}."
            )
            continue
        groups: dict[str, list[str]] = {"fooled": [], "partly": [], "through": []}
        for p in mine.itertuples():
            item = f"{p.scored_by} ({p.rise:+.2f})"
            if p.share >= 0.5 and p.rise > p.true:
                groups["fooled"].append(item)
            elif p.share >= 0.2 and p.rise > p.true:
                groups["partly"].append(item)
            else:
                groups["through"].append(item)
        parts = []
        if groups["fooled"]:
            verb = "is" if len(groups["fooled"]) == 1 else "are"
            parts.append(f"{_names(groups['fooled'])} {verb} fooled too")
        if groups["partly"]:
            verb = "is" if len(groups["partly"]) == 1 else "are"
            parts.append(f"{_names(groups['partly'])} {verb} partly fooled")
        if groups["through"]:
            verb = "sees" if len(groups["through"]) == 1 else "see"
            parts.append(f"{_names(groups['through'])} {verb} through them")
        out.append(f"{head}; " + ", ".join(parts) + ".")
    return " ".join(out)


def verdict(summary: dict[str, Any]) -> str:
    """One plain-language paragraph on a study, written from its numbers: what the
    prediction and the truth did, whether the optimizer was fooled, when the true score was
    best, impossible predictions, and the gradient against a random direction."""
    s = summary
    ps, pe = _num(s.get("predicted_start_mean")), _num(s.get("predicted_mean"))
    ts, te = _num(s.get("true_start_mean")), _num(s.get("true_mean"))
    if not all(math.isfinite(v) for v in (ps, pe, ts, te)):
        return (
            "This study has no complete scores (its designs could not all be scored), so no "
            "verdict is written for it."
        )
    over = _num(s.get("overestimation"))
    tol = _num(s.get("fooled_delta"))
    tol = tol if math.isfinite(tol) and tol > 0 else 0.02
    steps, k = s.get("steps", "?"), s.get("k", "?")
    optimizer = str(s.get("optimizer", "gradient_ascent")).replace("_", " ")
    true_rise, pred_rise = te - ts, pe - ps
    out = [
        f"Over {steps} steps of {optimizer}, the surrogate's mean prediction for the {k} "
        f"designs went from {ps:.2f} to {pe:.2f} while their mean true score went from "
        f"{ts:.2f} to {te:.2f} (normalized: 1 = the best reference design)."
    ]
    fooled = fmt("fooled_rate", s.get("fooled_rate"))
    improved = fmt("true_improvement_rate", s.get("true_improvement_rate"))
    over_text = f"{over:+.2f}" if math.isfinite(over) else NA
    if true_rise <= tol and math.isfinite(over) and over > tol:
        worse = "worse than where they started" if true_rise < -tol else "no better"
        out.append(
            f"Verdict: fooled. The optimizer found designs the surrogate loves that are {worse}: "
            f"the prediction outran the truth by {over_text} on average (overestimation), and "
            f"{fooled} of the designs count as fooled."
        )
    elif true_rise > tol and math.isfinite(over) and over > max(tol, true_rise):
        out.append(
            f"Verdict: better designs, but an over-promising surrogate. The true score rose by "
            f"{true_rise:.2f}, the prediction by {pred_rise:.2f}: {over_text} more than the truth "
            f"(overestimation); {improved} of the designs truly improved, {fooled} count as "
            "fooled."
        )
    elif true_rise > tol:
        small = (
            "the surrogate's optimism stayed within the real gain"
            if math.isfinite(over) and over > tol
            else "the surrogate did not over-promise"
        )
        out.append(
            f"Verdict: ascent worked. The true score rose by {true_rise:.2f} and {small} "
            f"(overestimation {over_text}); {improved} of the designs truly improved."
        )
    else:
        out.append(
            f"Verdict: ascent did not help, but the surrogate did not fool itself either: "
            f"prediction and truth moved together (overestimation {over_text})."
        )
    peak, regret = _num(s.get("peak_step")), _num(s.get("regret_final"))
    n_steps = _num(steps)
    if math.isfinite(peak) and math.isfinite(regret):
        if regret <= tol and (not math.isfinite(n_steps) or peak >= n_steps):
            out.append("The true score was at its best at the end.")
        elif peak == 0 and regret > tol:
            out.append(
                f"The true score was best before the first step: ascent only lost true score "
                f"(final regret {regret:.2f})."
            )
        elif regret > tol:
            out.append(
                f"The true score peaked at step {peak:.0f} ({_f(s.get('peak_true'), '.2f')}); "
                f"running on to step {steps} gave back {regret:.2f}."
            )
        else:
            out.append(
                f"The true score peaked at step {peak:.0f}, and the end is within {regret:.2f} "
                "of that peak."
            )
    invalid = _num(s.get("invalid_rate"))
    if math.isfinite(invalid) and invalid > 0:
        out.append(
            f"{invalid:.0%} of the final designs are invalid (the domain rejects them) and are "
            "left out of the true scores above."
        )
    imp = _num(s.get("impossible_rate"))
    if math.isfinite(imp) and imp > 0:
        out.append(
            f"{imp:.0%} of the final predictions exceed their design's exact upper bound: "
            "scores no such design can have."
        )
    ga = _num(s.get("gradient_advantage"))
    if math.isfinite(ga) and ga < -tol:
        out.append(
            f"A random direction moved exactly as far would have done better (by {-ga:.2f}): "
            "the gradient pointed at the surrogate's errors, not at better designs."
        )
    elif math.isfinite(ga) and ga > tol:
        out.append(
            f"A random direction moved exactly as far did worse (by {ga:.2f}): the gradient "
            "did point somewhere better than chance."
        )
    return " ".join(out)


def _interval(mean: float, low: float, high: float, n: int, signed: bool = False) -> str:
    f = (lambda v: f"{v:+.2f}") if signed else (lambda v: f"{v:.2f}")
    if not math.isfinite(mean):
        return NA
    if n < 2 or not math.isfinite(low):
        return f"{f(mean)}, one seed" if n == 1 else f"{f(mean)}, n = {n}, no interval"
    return f"{f(mean)} [{f(low)}, {f(high)}]"


def _seeds(n: int) -> str:
    return "one seed" if n == 1 else f"{n} seeds"


def compare_verdict(runs: pd.DataFrame, baseline: str | None = None) -> str:
    """An honest verdict on several surrogate variants run on the same data over seeds,
    written from the numbers: a ``runs`` table with ``variant``, ``seed``, ``p50``,
    ``overestimation`` (and ``p100``, ``d_best`` where present), one row per study, as
    :func:`mbo.sweeps.compare.compare` returns it (its second value) or
    :func:`~mbo.reporting.views.runs_table` builds it.

    Each variant is set against ``baseline`` (default ``mlp`` where present, else the first)
    seed by seed: the mean difference in the median true score (``p50``) and in the
    overestimation, with a 95 % bootstrap interval; "better" only where the interval
    excludes zero. One seed gives no interval, and the text says so.
    """
    variants = list(dict.fromkeys(runs["variant"]))
    if baseline is None or baseline not in variants:
        baseline = "mlp" if "mlp" in variants else variants[0]
    seeds = runs.groupby("variant")["seed"].nunique()
    n_text = (
        f"{_seeds(int(seeds.min()))} each"
        if seeds.min() == seeds.max()
        else f"{int(seeds.min())}–{int(seeds.max())} seeds"
    )
    means = {v: mean_interval(runs.loc[runs["variant"] == v, "p50"]) for v in variants}
    order = sorted(variants, key=lambda v: -means[v][0] if math.isfinite(means[v][0]) else 1e9)
    out = [
        f"On the same data and the same start designs ({n_text}), the median true score of the "
        f"final designs was highest for {order[0]} ({_interval(*means[order[0]])})"
        + (
            f" and lowest for {order[-1]} ({_interval(*means[order[-1]])})"
            if len(order) > 1
            else ""
        )
        + (
            f"; {baseline} reached {_interval(*means[baseline])}."
            if baseline not in (order[0], order[-1])
            else "."
        )
    ]
    if len(variants) == 1:
        return out[0]
    p50 = paired(runs, "p50", baseline, by="variant").set_index("variant")
    over = (
        paired(runs, "overestimation", baseline, by="variant").set_index("variant")
        if "overestimation" in runs
        else None
    )
    better, fooled_less, worse, unclear = [], [], [], []
    for v in variants:
        if v == baseline or v not in p50.index:
            continue
        d = p50.loc[v]
        n = int(d["n"])
        if n < 2 or not math.isfinite(d["low"]):
            effect = f"changes the median true score by {d['diff']:+.2f} (one seed: no interval)"
            unclear.append(v)
        elif d["low"] > 0:
            effect = f"raises the median true score by {_interval(d['diff'], d['low'], d['high'], n, True)}"
            better.append(v)
        elif d["high"] < 0:
            effect = f"lowers the median true score by {_interval(d['diff'], d['low'], d['high'], n, True)}"
            worse.append(v)
        else:
            effect = (
                f"changes the median true score by "
                f"{_interval(d['diff'], d['low'], d['high'], n, True)} (an interval that "
                "includes zero: no clear effect)"
            )
            unclear.append(v)
        if over is not None and v in over.index:
            o = over.loc[v]
            oi = _interval(o["diff"], o["low"], o["high"], int(o["n"]), True)
            if int(o["n"]) >= 2 and math.isfinite(o["high"]) and o["high"] < 0:
                effect += f" and is fooled less (overestimation {oi})"
                if v not in better and v not in worse:
                    fooled_less.append(v)
                elif v in worse:
                    worse[-1] = f"{v} (although it was fooled less)"
            elif int(o["n"]) >= 2 and math.isfinite(o["low"]) and o["low"] > 0:
                effect += f" and is fooled more (overestimation {oi})"
            elif int(o["n"]) >= 2:
                effect += f"; its overestimation changes by {oi} (no clear effect)"
            else:
                effect += f"; its overestimation changes by {o['diff']:+.2f}"
        out.append(f"{v} against {baseline}, seed by seed: {effect}.")
    if better:
        out.append(
            f"Verdict: {_names(better)} gave clearly better designs than {baseline} here "
            "(the interval of the difference excludes zero)."
        )
    else:
        out.append(f"Verdict: no variant gave clearly better designs than {baseline} here.")
    if fooled_less:
        out.append(
            f"{_names(fooled_less)} {'was' if len(fooled_less) == 1 else 'were'} fooled less "
            "without giving clearly better designs: a surrogate that promises less has not yet "
            "found more."
        )
    if worse:
        out.append(f"{_names(worse)} did worse than {baseline}.")
    if "p100" in runs and "d_best" in runs:
        best = runs.loc[runs["p100"].idxmax()] if runs["p100"].notna().any() else None
        if best is not None:
            beats = "above" if best["p100"] > best["d_best"] else "not above"
            out.append(
                f"The best single design of all these studies scores {best['p100']:.2f} "
                f"({best['variant']}, seed {int(best['seed'])}), {beats} D(best) = "
                f"{best['d_best']:.2f}, the best design the surrogates were shown."
            )
    if int(seeds.min()) < 2:
        out.append(
            "With one seed there is no interval at all: read these differences as anecdotes, "
            "not results, and run more seeds."
        )
    elif int(seeds.min()) < 3:
        out.append(f"With {n_text} the intervals are wide; more seeds would sharpen them.")
    return " ".join(out)


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def stopping_overview(runs: pd.DataFrame) -> str:
    """The offline stopping rules over many studies, from their summaries' ``stop_<rule>_regret``
    and ``regret_final`` (a :func:`~mbo.reporting.views.runs_table` or
    :func:`mbo.sweeps.compare.compare` runs table): per rule, on how many studies it beats
    running to the end and the mean regret it leaves."""
    if "regret_final" not in runs:
        return ""
    end = runs["regret_final"].astype(float)
    n = int(end.notna().sum())
    if n == 0:
        return ""
    out = [
        f"Across {n} {'study' if n == 1 else 'studies'}, running to the end left a mean regret of "
        f"{end.mean():.3f} (how far the final checkpoint's true score fell below its peak)."
    ]
    na, results = [], []
    for rule in STOPPING_RULES:
        col = f"stop_{rule}_regret"
        if col not in runs or not runs[col].notna().any():
            na.append(f"{rule} ({NOT_APPLICABLE_ANY.get(rule, 'no study has a value')})")
            continue
        ok = runs[col].notna() & end.notna()
        r, e = runs.loc[ok, col].astype(float), end[ok]
        better, worse = int((r < e - 1e-9).sum()), int((r > e + 1e-9).sum())
        results.append((float((e - r).mean()), int(ok.sum()), rule))
        out.append(
            f"Stopping by {rule}: mean regret {r.mean():.3f} against {e.mean():.3f} on the same "
            f"{int(ok.sum())} studies (better on {better}, worse on {worse})."
        )
    if results:
        saved, n_rule, best_rule = max(results)
        where = "" if n_rule == n else f" (on the {n_rule} studies where it applies)"
        if saved >= max(0.005, 0.1 * end.mean()):
            out.append(
                f"The rule that saves the most regret here is {best_rule}: {saved:.3f} on "
                f"average{where}."
            )
        elif saved > 1e-9:
            out.append(
                f"No offline rule saves much here: the best, {best_rule}, saves {saved:.3f} on "
                f"average{where}."
            )
        else:
            out.append("No offline rule beat running to the end on average here.")
    if na:
        out.append(f"Not applicable: {', '.join(na)}.")
    return " ".join(out)


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
