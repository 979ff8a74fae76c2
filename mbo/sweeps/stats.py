"""Uncertainty over seeds: bootstrap intervals of a mean and paired comparisons of methods.

A single seed has no spread: with ``n < 2`` every interval and test is ``nan`` and tables
print ``n = 1`` instead of a fake ``± 0``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

#: confidence level of every interval
CONFIDENCE = 0.95
#: bootstrap resamples (seeded, so tables are reproducible)
N_RESAMPLES = 4000


def mean_interval(values: np.ndarray | pd.Series, seed: int = 0) -> tuple[float, float, float, int]:
    """``(mean, low, high, n)`` over the finite values: a percentile bootstrap interval of the
    mean (``scipy.stats.bootstrap``) at :data:`CONFIDENCE`; ``low``/``high`` are ``nan`` for
    ``n < 2``."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(v.mean())
    if n < 2:
        return mean, math.nan, math.nan, n
    if np.ptp(v) == 0:
        return mean, mean, mean, n
    res = stats.bootstrap(
        (v,),
        np.mean,
        confidence_level=CONFIDENCE,
        n_resamples=N_RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return mean, float(res.confidence_interval.low), float(res.confidence_interval.high), n


def paired(
    runs: pd.DataFrame,
    metric: str,
    baseline: str,
    by: str = "method",
    pair_on: str = "seed",
) -> pd.DataFrame:
    """Each ``by`` group against ``baseline`` on ``metric``, paired on ``pair_on`` (seeds).

    Returns one row per other group: ``n`` (pairs), ``diff`` (mean of group - baseline),
    ``low``/``high`` (bootstrap interval of the mean difference) and ``p`` (two-sided paired
    t-test, ``scipy.stats.ttest_rel``; ``nan`` for ``n < 2``).
    """
    wide = runs.pivot_table(index=pair_on, columns=by, values=metric, aggfunc="mean")
    rows = []
    if baseline not in wide:
        return pd.DataFrame(columns=[by, "n", "diff", "low", "high", "p"])
    for name in wide.columns:
        if name == baseline:
            continue
        pair = wide[[name, baseline]].dropna()
        d = (pair[name] - pair[baseline]).to_numpy()
        mean, low, high, n = mean_interval(d)
        p = math.nan
        if n >= 2 and np.ptp(d) > 0:
            p = float(stats.ttest_rel(pair[name], pair[baseline]).pvalue)
        elif n >= 2:
            p = 0.0 if mean != 0 else 1.0
        rows.append({by: name, "n": n, "diff": mean, "low": low, "high": high, "p": p})
    return pd.DataFrame(rows, columns=[by, "n", "diff", "low", "high", "p"])


def format_interval(mean: float, low: float, high: float, n: int, pct: bool = False) -> str:
    """``0.512 [0.48, 0.55]`` (n >= 2) or ``0.512 (n=1)``; percentages with ``pct``."""
    if not math.isfinite(mean):
        return "n/a"
    f = (lambda v: f"{v:.0%}") if pct else (lambda v: f"{v:.3f}")
    if n < 2 or not math.isfinite(low):
        return f"{f(mean)} (n={n})"
    return f"{f(mean)} [{f(low)}, {f(high)}]"
