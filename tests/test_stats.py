"""Uncertainty over seeds: intervals only where there is a spread to speak of."""

import math

import numpy as np
import pandas as pd
import pytest

from mbo.sweeps.stats import format_interval, mean_interval, paired


def test_one_seed_has_no_interval_and_says_n_1():
    mean, low, high, n = mean_interval([0.42])
    assert (mean, n) == (0.42, 1) and math.isnan(low) and math.isnan(high)
    assert format_interval(mean, low, high, n) == "0.420 (n=1)"
    assert "±" not in format_interval(mean, low, high, n)


def test_the_bootstrap_interval_widens_with_fewer_seeds():
    """Same sample mean and spread, fewer seeds: a wider interval."""
    rng = np.random.default_rng(0)
    widths = {}
    for n in (3, 8, 16):
        v = rng.normal(size=n)
        v = 0.5 + 0.1 * (v - v.mean()) / v.std(ddof=1)
        mean, low, high, got = mean_interval(v)
        assert got == n and low <= mean <= high
        widths[n] = high - low
    assert widths[3] > widths[8] > widths[16] > 0


def test_paired_comparison_pairs_seeds_and_detects_a_consistent_gain():
    seeds = np.arange(5)
    base = np.array([0.50, 0.40, 0.60, 0.55, 0.45])  # large spread across seeds ...
    runs = pd.DataFrame(
        {
            "method": ["mlp"] * 5 + ["ens"] * 5,
            "seed": np.r_[seeds, seeds],
            "p50": np.r_[base, base + 0.02 + np.array([0, 1e-3, -1e-3, 2e-3, 0])],
        }
    )
    row = paired(runs, "p50", "mlp").set_index("method").loc["ens"]
    # ... yet the paired difference is tight: pairing removes the seed-to-seed spread
    assert row["n"] == 5 and row["diff"] == pytest.approx(0.0204)
    assert row["low"] > 0 and row["p"] < 0.001
    single = paired(runs[runs.seed == 0], "p50", "mlp").set_index("method").loc["ens"]
    assert single["n"] == 1 and math.isnan(single["p"]) and math.isnan(single["low"])
