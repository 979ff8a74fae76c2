import pandas as pd
import pytest

from mbo import StudySpec
from mbo.cli import main
from mbo.sweeps.compare import compare
from mbo.sweeps.ids import parse_variant

BASE = StudySpec(
    domain="branin",
    domain_options={"n_reference": 200},
    surrogate_options={"width": 16, "epochs": 5},
    optimizer_options={"steps": 10, "checkpoint_every": 5},
    k=8,
)


def test_compare_writes_one_row_per_variant_and_resumes(tmp_path):
    table, runs, curves = compare(BASE, ["mlp", "ensemble+min"], [0, 1], tmp_path)
    assert set(curves["variant"]) == {"mlp", "ensemble+min"} and set(curves["seed"]) == {0, 1}
    assert list(table["variant"]) == ["mlp", "ensemble+min"] and (table["seeds"] == 2).all()
    assert len(runs) == 4 and set(runs["seed"]) == {0, 1}
    for name in ("compare.csv", "compare.md", "compare-runs.csv", "compare-paired.csv"):
        assert (tmp_path / name).exists()
    # mean/std over seeds are those of the per-run rows; intervals bracket the mean
    mlp = runs[runs.variant == "mlp"]
    assert table.loc[0, "gap_mean"] == pytest.approx(mlp["gap"].mean())
    assert table.loc[0, "p100_std"] == pytest.approx(mlp["p100"].std(ddof=1))
    assert table.loc[0, "p100_low"] <= table.loc[0, "p100_mean"] <= table.loc[0, "p100_high"]
    md = (tmp_path / "compare.md").read_text()
    assert "| ensemble+min | 2 |" in md and "bootstrap" in md and "±" not in md
    assert "Paired against `mlp`" in md and "| ensemble+min | overestimation | 2 |" in md
    # every study is a sweep study folder; a second call reads them back instead of re-running
    first = tmp_path / "studies" / runs["id"].iloc[0] / "summary.json"
    stamp = first.stat().st_mtime_ns
    table2, _, _ = compare(BASE, ["mlp", "ensemble+min"], [0, 1], tmp_path)
    assert first.stat().st_mtime_ns == stamp
    pd.testing.assert_frame_equal(table, table2)


def test_one_seed_reports_n_1_and_no_interval(tmp_path):
    table, _, _ = compare(BASE, ["mlp", "linear"], [0], tmp_path)
    assert (table["seeds"] == 1).all() and table["p50_low"].isna().all()
    md = (tmp_path / "compare.md").read_text()
    assert "(n=1)" in md and "±" not in md and "no interval (n = 1)" in md


def test_variant_syntax_and_errors(tmp_path):
    assert parse_variant("ensemble+lcb") == ("ensemble", "lcb")
    assert parse_variant("mlp") == ("mlp", "mean")
    with pytest.raises(ValueError, match="needs an ensemble"):
        compare(BASE, ["mlp+min"], [0], tmp_path)
    with pytest.raises(ValueError, match="unknown surrogate"):
        compare(BASE, ["nope"], [0], tmp_path)


def test_cli_compare(tmp_path, capsys):
    code = main(
        [
            "compare",
            "--domain",
            "branin",
            "-D",
            "n_reference=150",
            "-S",
            "epochs=3",
            "-S",
            "width=8",
            "--steps",
            "5",
            "--k",
            "4",
            "--surrogates",
            "mlp,linear",
            "--seeds",
            "0",
            "--out",
            str(tmp_path),
            "--quiet",
        ]
    )
    assert code == 0
    assert "linear" in capsys.readouterr().out
    assert (tmp_path / "compare.png").exists() and (tmp_path / "overoptimization.png").exists()
    assert (
        main(["compare", "--domain", "branin", "--surrogates", "mlp", "--seeds", "x", "--quiet"])
        == 2
    )
