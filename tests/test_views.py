"""Teaching views: computed as tables, drawn as returned figures, saved data beside picture."""

from __future__ import annotations

import dataclasses
import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import FAST
from matplotlib.figure import Figure

from mbo import StudySpec, run_study
from mbo.reporting import artifacts as A
from mbo.reporting import figures as F
from mbo.reporting import geometry as G
from mbo.reporting import views as V

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny(**over) -> StudySpec:
    data = {**FAST, **over}
    return StudySpec.from_dict(data)


@pytest.fixture(scope="module")
def branin(tmp_path_factory):
    return run_study(tiny(), tmp_path_factory.mktemp("views") / "mlp")


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    spec = tiny(surrogate="linear", seed=1, surrogate_options={"epochs": 20})
    return run_study(spec, tmp_path_factory.mktemp("views") / "linear")


def _row(result, design_id: int, step: int) -> pd.Series:
    t = result.table
    t = t[(t["arm"] == "ascent") & (t["step"] == step) & (t["design_id"] == design_id)]
    assert len(t) == 1
    return t.iloc[0]


def _labels(fig: Figure) -> dict[str, list[str]]:
    """Titles, axis labels and legend entries of every axes of a figure."""
    out: dict[str, list[str]] = {"title": [], "xlabel": [], "ylabel": [], "legend": []}
    for ax in fig.axes:
        out["title"].append(ax.get_title())
        out["xlabel"].append(ax.get_xlabel())
        out["ylabel"].append(ax.get_ylabel())
        leg = ax.get_legend()
        out["legend"] += [t.get_text() for t in leg.get_texts()] if leg is not None else []
    for leg in fig.legends:  # figure-wide legends (under the axes)
        out["legend"] += [t.get_text() for t in leg.get_texts()]
    return out


def test_save_views_saves_every_views_data(branin, tmp_path):
    calls = branin.domain.oracle.counts()["calls"]
    files = A.save_views(branin, tmp_path, grid=9, sweep_points=11)
    # one batched oracle call per view (sweep, cross-section)
    assert branin.domain.oracle.counts()["calls"] - calls == 2
    for view in ("trajectory", "sweep", "cross_section"):
        assert files[view]["png"].parent == tmp_path
        for path in files[view].values():
            assert path.exists() and path.stat().st_size > 0, path
    sweep = pd.read_csv(files["sweep"]["data"])
    assert len(sweep) == 2 * 11
    assert set(sweep["direction"]) == {"gradient", "random"}
    for col in ("t", "predicted_norm", "true_norm", "valid", "clipped", "offline_distance"):
        assert col in sweep
    grid = pd.read_parquet(files["cross_section"]["data"])
    assert len(grid) == 9 * 9
    assert np.allclose(grid["difference"], grid["predicted_norm"] - grid["true_norm"])
    pts = pd.read_csv(files["cross_section"]["points"])
    assert set(pts["kind"]) == {"offline", "path"}
    assert (pts["kind"] == "path").sum() == len(branin.trajectory.steps)
    meta = json.loads(files["sweep"]["meta"].read_text())
    assert meta["view"] == "gradient_sweep" and meta["span"] > 0
    curves = pd.read_csv(files["trajectory"]["data"])
    assert np.allclose(curves["predicted_mean"], branin.curves["predicted_mean"])


def test_views_use_the_studys_own_standardization(branin):
    loc, scale = G.study_coordinates(branin)
    assert torch.equal(loc, branin.x_loc) and torch.equal(scale, branin.x_scale)
    # a result that does not carry it (an older run folder) recomputes the same numbers
    bare = dataclasses.replace(branin, x_loc=None, x_scale=None)
    loc2, scale2 = G.study_coordinates(bare)
    assert torch.allclose(loc, loc2) and torch.allclose(scale, scale2)
    a = V.gradient_sweep(branin, design_id=2, n=7)
    b = V.gradient_sweep(bare, design_id=2, n=7)
    pd.testing.assert_frame_equal(a, b, atol=1e-6)


def test_sweep_is_exactly_linear_on_a_linear_surrogate(linear):
    df = V.gradient_sweep(linear, design_id=3, n=41, span=0.5)
    for direction in ("gradient", "random"):
        d = df[(df["direction"] == direction) & ~df["clipped"]]
        assert len(d) >= 10, "too much clipping to test linearity"
        t, p = d["t"].to_numpy(), d["predicted_norm"].to_numpy()
        coef = np.polyfit(t, p, 1)
        assert np.abs(np.polyval(coef, t) - p).max() < 1e-4 * max(1.0, np.abs(p).max())
        if direction == "gradient":
            assert coef[0] > 0  # the prediction rises along its own gradient
    # the oracle (Branin) is not linear along the same walk
    d = df[(df["direction"] == "gradient") & ~df["clipped"]]
    t, y = d["t"].to_numpy(), d["true_norm"].to_numpy()
    assert np.abs(np.polyval(np.polyfit(t, y, 1), t) - y).max() > 1e-4


def test_gradient_direction_is_unit_and_random_is_orthogonal(branin):
    x0, _ = G.pick_design(branin, 0)
    g = G.input_gradient(branin, x0)
    r = G.random_unit(x0.shape, 0, orthogonal_to=g)
    assert torch.isclose(g.norm(), torch.tensor(1.0), atol=1e-5)
    assert abs(float((g * r).sum())) < 1e-5


@pytest.mark.parametrize("step", ["start", "final"])
def test_cross_section_origin_is_the_designs_own_scores(branin, step):
    design = 5
    grid, _ = V.cross_section(branin, design_id=design, step=step, n=7)
    centre = grid[(grid["a"] == 0) & (grid["b"] == 0)]
    assert len(centre) == 1
    c = centre.iloc[0]
    own = _row(branin, design, grid.attrs["step"])
    assert not c["clipped"]
    assert c["predicted_norm"] == pytest.approx(own["predicted_norm"], abs=1e-5)
    assert c["true_norm"] == pytest.approx(own["true_norm"], abs=1e-9)
    # and the sweep's t = 0 point too
    sweep = V.gradient_sweep(branin, design_id=design, step=step, n=9)
    s0 = sweep[(sweep["t"] == 0) & (sweep["direction"] == "gradient")].iloc[0]
    assert s0["predicted_norm"] == pytest.approx(own["predicted_norm"], abs=1e-5)
    assert s0["true_norm"] == pytest.approx(own["true_norm"], abs=1e-9)


def test_figures_are_returned_not_saved(branin, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = plt.get_fignums()
    sweep = V.gradient_sweep(branin, n=9)
    fig = F.sweep_figure(sweep)
    assert isinstance(fig, Figure) and len(fig.axes) == 4  # scores and distance, 2 directions
    lab = _labels(fig)
    assert lab["title"][:2] == ["along gradient direction", "along a random direction"]
    assert lab["ylabel"][0] == "normalized score"
    assert lab["xlabel"][2].startswith("t (distance walked")
    assert {"surrogate (decoded design)", "oracle (true)"} <= set(lab["legend"])
    assert fig.get_suptitle().startswith("1-D sweep from design 0 (step 0)")
    assert "surrogate at the relaxed point" not in lab["legend"]  # a box: no relaxation

    grid, pts = V.cross_section(branin, n=7)
    fig = F.cross_section_figure(grid, pts, title="my title")
    assert isinstance(fig, Figure) and fig.get_suptitle() == "my title"
    maps = [ax for ax in fig.axes if ax.get_xlabel() == "a: along the gradient"]
    assert [ax.get_title() for ax in maps] == [
        "surrogate prediction",
        "oracle (true)",
        "surrogate - oracle (red: over-predicts)",
    ]
    assert len(fig.axes) == 3 + 2  # three maps, one colour bar for the two score maps, one diff
    assert np.asarray(maps[0].images[0].get_array()).shape == (7, 7)

    fig = F.trajectory_figure(branin.curves, branin.summary)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    assert fig.axes[0].get_ylabel() == "normalized score"

    fig = F.landscape_figure(V.landscape(branin, n=12, n_paths=4))
    assert [ax.get_title().split(";")[0] for ax in fig.axes[:2]] == [
        "true (oracle)",
        "surrogate (mlp)",
    ]
    assert "(4 of 16 designs)" in fig.get_suptitle()

    assert plt.get_fignums() == before  # nothing went through pyplot
    assert list(tmp_path.iterdir()) == []  # and nothing was written
    path = A.save_figure(fig, tmp_path / "sub" / "landscape.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_transfer_matrix_diagonal_is_each_surrogates_own_prediction(branin, linear):
    calls = branin.domain.oracle.counts()["calls"]
    df = V.transfer_matrix([branin, linear], ["mlp", "linear"])
    assert branin.domain.oracle.counts()["calls"] == calls  # no new oracle calls
    w = V.transfer_wide(df)
    assert list(w.index) == ["start designs", "mlp", "linear"]
    assert list(w.columns) == ["mlp", "linear", "oracle"]
    for res, name in ((branin, "mlp"), (linear, "linear")):
        final = res.table[
            (res.table["arm"] == "ascent") & (res.table["step"] == res.table["step"].max())
        ]
        assert w.loc[name, name] == pytest.approx(final["predicted_norm"].mean(), abs=1e-5)
        assert w.loc[name, "oracle"] == pytest.approx(final["true_norm"].mean(), abs=1e-12)
    start = branin.table[(branin.table["arm"] == "ascent") & (branin.table["step"] == 0)]
    assert w.loc["start designs", "mlp"] == pytest.approx(start["predicted_norm"].mean(), abs=1e-5)
    fig = F.transfer_figure(df)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "scored by\nmlp",
        "scored by\nlinear",
        "scored by\noracle",
    ]
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "designs from\nstart designs"
    cells = {t.get_text() for t in ax.texts}
    assert f"{w.loc['mlp', 'oracle']:.2f}" in cells
    assert len(ax.patches) == 2  # the boxed diagonal (mlp, linear)


def test_transfer_matrix_refuses_mixed_domains(branin):
    other = run_study(  # same function, different reference data: another normalization
        tiny(domain_options={"n_reference": 50}, optimizer_options={"steps": 2})
    )
    with pytest.raises(ValueError, match="one domain"):
        V.transfer_matrix([branin, other])


def test_trajectory_comparison(branin, linear, tmp_path):
    df = V.trajectory_comparison([branin, linear], ["a", "b"])
    assert list(df["study"].unique()) == ["a", "b"]
    assert len(df) == len(branin.curves) + len(linear.curves)
    fig = F.trajectory_comparison_figure(df, {"a": branin.summary, "b": linear.summary})
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == ["a", "b"]
    _, files = A.save_trajectory_comparison([branin, linear], ["a", "b"], tmp_path)
    assert files["png"].stat().st_size > 0
    assert pd.read_csv(files["data"])["study"].tolist() == df["study"].tolist()


def test_comparison_figure():
    curves = pd.DataFrame(
        {
            "variant": ["mlp"] * 4 + ["linear"] * 4,
            "step": [0, 5, 0, 5] * 2,
            "predicted_mean": np.arange(8.0),
            "true_mean": np.arange(8.0) / 2,
        }
    )
    fig = F.comparison_figure(curves, "branin")
    ax = fig.axes[0]
    assert ax.get_title().startswith("branin")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mlp", "linear"]
    assert len(ax.lines) == 4  # true and predicted per variant


def test_bad_design_or_step_is_a_clear_error(branin):
    with pytest.raises(ValueError, match="design_id"):
        G.pick_design(branin, 999)
    with pytest.raises(ValueError, match="step"):
        G.pick_design(branin, 0, step=7)


MOLECULES = {
    "domain": "molecules",
    "domain_options": {"n_reference": 300},
    "surrogate_options": {"width": 32, "epochs": 20},
    "optimizer_options": {"steps": 20, "checkpoint_every": 10},
    "k": 16,
}


def test_views_on_a_tiny_molecule_study():
    res = run_study(StudySpec.from_dict(MOLECULES))
    sweep = V.gradient_sweep(res, n=9)
    # categorical: every point is decoded; relaxed and decoded predictions differ somewhere
    assert (sweep["predicted_relaxed_norm"] - sweep["predicted_norm"]).abs().max() > 1e-6
    assert "smiles" in sweep.columns and len(sweep) == 18
    grid, pts = V.cross_section(res, n=5)
    c = grid[(grid["a"] == 0) & (grid["b"] == 0)].iloc[0]
    own = _row(res, 0, 0)
    assert c["predicted_norm"] == pytest.approx(own["predicted_norm"], abs=1e-5)
    assert c["true_norm"] == pytest.approx(own["true_norm"], abs=1e-9)
    assert c["offline_distance"] == 0  # a start design is an offline design (Hamming 0)
    assert "logits" in grid.attrs["coordinates"]
    fig = F.sweep_figure(sweep)
    assert "surrogate at the relaxed point" in _labels(fig)["legend"]
    assert isinstance(F.cross_section_figure(grid, pts), Figure)
    designs, labels = V.top_designs(res, n=3)
    assert len(designs) == len(labels) == 6
    assert labels[0].startswith("proposed: pred") and labels[-1].startswith("offline best")
    # the second line names the raw score (QED here), not an unexplained "(raw ...)"
    assert labels[0].split("\n")[1].startswith("qed: pred") and "(raw" not in labels[0]
    assert labels[-1].split("\n")[1].startswith("qed: true")
    # an invalid design reads "invalid", never "nan"; its row in the audit says why
    table = res.table.copy()
    final = (table["arm"] == "ascent") & (table["step"] == table["step"].max())
    table.loc[final, ["valid", "true", "true_norm"]] = [False, np.nan, np.nan]
    _, labels = V.top_designs(dataclasses.replace(res, table=table), n=3)
    assert all("true invalid" in lbl and "nan" not in lbl for lbl in labels[:3])


# --- exact bounds, over-optimization ------------------------------------------------------
def _audit(bounds=(0.38, 0.9, 1.0, 1.2), steps=(0, 5, 10)) -> pd.DataFrame:
    """A small audit table: K = 4 designs whose own exact bounds differ (design 0's is the
    lowest, as on the car-control task), and whose offline distances have median != mean."""
    rows = []
    for c, step in enumerate(steps):
        for d, bound in enumerate(bounds):
            rows.append(
                {
                    "arm": "ascent",
                    "step": step,
                    "design_id": d,
                    "predicted_norm": 0.5 + 0.1 * c + 0.01 * d,
                    "predicted_relaxed_norm": 0.5 + 0.1 * c + 0.01 * d,
                    "true_norm": 0.5 + 0.05 * c - 0.02 * c * c + 0.01 * d,
                    "valid": True,
                    "oracle_error": False,
                    "bound_norm": bound,
                    # one far design per step: the median ignores it, a mean would not
                    "offline_distance": c * (10.0 if d == 3 else 0.1 * (d + 1)),
                    "moved": c * 0.2 * (d + 1),
                }
            )
    # an oracle error far away: left out, as the metrics leave it out
    rows.append({**rows[-1], "design_id": 4, "offline_distance": 99.0, "oracle_error": True})
    return pd.DataFrame(rows)


def _bound_line(fig: Figure):
    lines = [ln for ln in fig.axes[0].lines if ln.get_label() == F.BOUND_LABEL]
    assert len(lines) <= 1
    return lines[0] if lines else None


def test_bound_line_is_the_mean_of_the_designs_own_bounds_not_design_0s():
    from mbo.evaluation import curves as audit_curves

    table = _audit()
    summary = {"bound_norm": 0.38, "d_best": 0.6, "domain": "toy", "surrogate": "mlp"}
    per_step = table[~table["oracle_error"]].groupby("step")["bound_norm"]
    want = per_step.mean().to_numpy()  # 0.87 at every step
    assert not np.allclose(want, 0.38)
    # the metrics' curves alone (bound_mean) and with the audit's distribution (band)
    for cur in (audit_curves(table), V.with_bounds(audit_curves(table), table)):
        fig = F.trajectory_figure(cur, summary)
        line = _bound_line(fig)
        assert line is not None
        assert np.allclose(line.get_ydata(), want)
        assert not np.any(np.isclose(line.get_ydata(), 0.38))
        assert F.BOUND_LABEL in _labels(fig)["legend"]
        assert not any("= 0.38" in t for t in _labels(fig)["legend"])
    # the band spans the bounds' interquartile range
    cur = V.with_bounds(audit_curves(table), table)
    assert np.allclose(cur["bound_q25"], per_step.quantile(0.25).to_numpy())
    assert np.allclose(cur["bound_q75"], per_step.quantile(0.75).to_numpy())
    fig = F.trajectory_figure(cur, summary)
    (band,) = [c for c in fig.axes[0].collections if "IQR over designs" in c.get_label()]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(cur["bound_q25"].min())
    assert ys.max() == pytest.approx(cur["bound_q75"].max())


def test_no_bound_draws_nothing():
    from mbo.evaluation import curves as audit_curves

    table = _audit(bounds=(np.nan,) * 4)
    cur = V.with_bounds(audit_curves(table), table)
    assert "bound_q25" not in cur  # no distribution to add
    fig = F.trajectory_figure(cur, {"bound_norm": 0.5})  # a stale summary bound is ignored
    assert _bound_line(fig) is None
    assert not any("bound" in t for t in _labels(fig)["legend"])


def test_trajectory_curves_carry_the_bound_distribution(branin):
    cur = V.trajectory_curves(branin)
    t = branin.table[branin.table["arm"] == "ascent"]
    assert np.allclose(cur["bound_mean"], t.groupby("step")["bound_norm"].mean().to_numpy())
    assert np.allclose(cur["predicted_mean"], branin.curves["predicted_mean"])
    assert len(cur) == len(branin.curves)


def test_overoptimization_x_is_the_median_offline_distance_per_step():
    table = _audit()
    summary = {
        "d_best": 0.6,
        "distance_unit": "offline standard deviations",
        "peak_step": 5,
        "stop_distance_step": 5,
        "stop_plateau_step": 10,
        "stop_disagreement_step": math.nan,
        "stop_beyond_data_step": 0,
    }
    df = V.overoptimization_table(table, summary)
    ok = table[~table["oracle_error"]]
    want = ok.groupby("step")["offline_distance"].median()
    assert df["step"].tolist() == [0, 5, 10]
    assert np.allclose(df["offline_distance_median"], want.to_numpy())
    assert not np.allclose(want, ok.groupby("step")["offline_distance"].mean())  # median
    assert np.allclose(df["true_mean"], ok.groupby("step")["true_norm"].mean().to_numpy())
    assert np.allclose(df["predicted_mean"], ok.groupby("step")["predicted_norm"].mean())
    assert df.attrs["stops"] == {"distance": 5, "plateau": 10, "beyond_data": 0}

    fig = F.overoptimization_figure(df)
    ax = fig.axes[0]
    lab = _labels(fig)
    assert lab["xlabel"][0] == (
        "median distance to the nearest offline design (offline standard deviations)"
    )
    (true,) = [ln for ln in ax.lines if ln.get_label() == "true (oracle, mean)"]
    (pred,) = [ln for ln in ax.lines if ln.get_label() == "predicted (surrogate, mean)"]
    assert np.allclose(true.get_xdata(), want.to_numpy()) and pred.get_linestyle() == "--"
    for rule, step in (("distance", 5), ("plateau", 10), ("beyond_data", 0)):
        (m,) = [ln for ln in ax.lines if ln.get_label() == f"stop: {rule} (step {step})"]
        i = df["step"].tolist().index(step)
        assert m.get_xdata()[0] == pytest.approx(want.iloc[i])
        assert m.get_ydata()[0] == pytest.approx(df["true_mean"].iloc[i])  # on the true curve
    assert not any("disagreement" in t for t in lab["legend"])
    assert "D(best) = 0.60" in lab["legend"]
    assert "true peak (oracle): step 5" in lab["legend"]


def test_overoptimization_of_a_study(branin, tmp_path):
    calls = branin.domain.oracle.counts()["calls"]
    df = V.overoptimization(branin)
    t = branin.table[branin.table["arm"] == "ascent"]
    assert np.allclose(
        df["offline_distance_median"], t.groupby("step")["offline_distance"].median().to_numpy()
    )
    assert np.allclose(df["true_mean"], branin.curves["true_mean"])
    assert np.allclose(df["offline_distance_median"], branin.curves["offline_distance_median"])
    assert df.attrs["distance_unit"] == branin.summary["distance_unit"]
    # an older audit table without distances: recomputed from the study's geometry
    old = dataclasses.replace(branin, table=branin.table.drop(columns=["offline_distance"]))
    again = V.overoptimization(old)
    assert np.allclose(again["offline_distance_median"], df["offline_distance_median"], atol=1e-5)
    assert branin.domain.oracle.counts()["calls"] == calls  # no oracle calls
    df2, files = A.save_overoptimization(branin, tmp_path)
    assert {p.name for p in files.values()} == {
        "overoptimization.csv",
        "overoptimization.json",
        "overoptimization.png",
    }
    assert json.loads(files["meta"].read_text())["stops"] == df2.attrs["stops"]


def test_overoptimization_comparison_is_seed_averaged(tmp_path):
    rows = []
    for variant, base in (("mlp", 0.0), ("ensemble", 1.0)):
        for seed in (0, 1):
            for step in (0, 10):
                rows.append(
                    {
                        "variant": variant,
                        "seed": seed,
                        "step": step,
                        "offline_distance_median": base + step * (seed + 1),
                        "moved_median": step,
                        "predicted_mean": 0.5 + step / 10,
                        "true_mean": 0.5 + seed / 10,
                    }
                )
    curves = pd.DataFrame(rows)
    df = V.overoptimization_comparison(curves)
    assert df["variant"].tolist() == ["mlp", "mlp", "ensemble", "ensemble"]
    assert np.allclose(df["offline_distance_median"], [0.0, 15.0, 1.0, 16.0])
    assert np.allclose(df["true_mean"], 0.55) and (df["seeds"] == 2).all()
    fig = F.overoptimization_comparison_figure(df, "branin", d_best=0.7, unit="changed tokens")
    lab = _labels(fig)
    assert lab["legend"] == ["mlp (2 seeds)", "ensemble (2 seeds)", "D(best) = 0.70"]
    assert lab["xlabel"][0].endswith("(changed tokens)")
    assert lab["title"][0].startswith("branin")
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_label() == "mlp (2 seeds)"]
    assert np.allclose(line.get_xdata(), [0.0, 15.0])
    path = A.plot_overoptimization(curves, tmp_path / "overoptimization.png", title="branin")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(pd.read_csv(tmp_path / "overoptimization.csv")) == 4
    with pytest.raises(ValueError, match="offline_distance_median"):
        V.overoptimization_comparison(curves.drop(columns=["offline_distance_median"]))


def test_studies_differing_only_in_seed_are_one_variant(branin, linear):
    seed7 = dataclasses.replace(branin, spec=dataclasses.replace(branin.spec, seed=7))
    assert V.variant_labels([branin, linear], ["a", "b"]) == ["a", "b"]
    assert V.variant_labels([branin, seed7, linear], ["a", "b", "c"]) == [
        "mlp (2 seeds)",
        "mlp (2 seeds)",
        "c",
    ]
    df = V.overoptimization_studies([branin, seed7, linear], ["a", "b", "c"])
    assert list(dict.fromkeys(df["variant"])) == ["mlp (2 seeds)", "c"]
    assert df.attrs["distance_unit"] == branin.summary["distance_unit"]


# --- what a new reader tripped over ---------------------------------------------------------
def test_legends_sit_beside_or_under_what_they_explain(branin):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    def drawn(fig):
        FigureCanvasAgg(fig).draw()
        return fig.canvas.get_renderer()

    for fig in (
        F.trajectory_figure(branin.curves, branin.summary),
        F.overoptimization_figure(V.overoptimization(branin)),
    ):
        renderer = drawn(fig)
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent(renderer)
        assert legend.x0 >= ax.get_window_extent(renderer).x1  # beside the axes, not on them
    sweep = V.gradient_sweep(branin, n=9)
    grid, pts = V.cross_section(branin, n=7)
    for fig in (F.sweep_figure(sweep), F.cross_section_figure(grid, pts)):
        renderer = drawn(fig)
        assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
        legend = fig.legends[0].get_window_extent(renderer)
        assert all(legend.y1 <= ax.get_window_extent(renderer).y0 + 1 for ax in fig.axes)


def test_landscape_has_one_colour_bar_with_round_ticks(branin):
    fig = F.landscape_figure(V.landscape(branin, n=12, n_paths=4))
    assert len(fig.axes) == 3  # true, surrogate, one shared colour bar
    ticks = fig.axes[2].get_yticks()
    assert len(ticks) >= 3
    assert np.allclose(ticks * 20, np.round(ticks * 20), atol=1e-9)  # multiples of 0.05 at most


def test_comparison_figure_counts_seeds_only_where_there_are_several():
    rows = [
        {"variant": v, "seed": s, "step": step, "predicted_mean": 0.5, "true_mean": 0.4}
        for v, seeds in (("mlp", (0,)), ("ensemble", (0, 1)))
        for s in seeds
        for step in (0, 10)
    ]
    fig = F.comparison_figure(pd.DataFrame(rows), "car: 1 seed")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["mlp", "ensemble (2 seeds)"]
    assert "1 seeds" not in fig.axes[0].get_title()


def test_walk_and_section_shapes_on_a_study(branin):
    sweep = V.gradient_sweep(branin, n=21)
    shape = V.walk_shape(sweep)
    g = sweep[sweep["direction"] == "gradient"]
    assert shape["n"] == 21 and shape["t_end"] == pytest.approx(g["t"].max())
    assert shape["pred_0"] == pytest.approx(g.loc[g["t"] == 0, "predicted_norm"].iloc[0])
    assert shape["true_peak"] == pytest.approx(g.loc[g["t"] >= 0, "true_norm"].max())
    assert shape["kind"] in {"tracks", "fooled", "under", "apart"}
    assert shape["tol"] == pytest.approx(V.TRACK_TOL * sweep.attrs["label_sd"])
    grid, _ = V.cross_section(branin, n=7)
    sec = V.section_shape(grid)
    assert sec["n"] == 49 and sec["clipped"] == int(grid["clipped"].sum())
    assert sec["over"] == pytest.approx(grid["difference"].max())
    assert grid.attrs["dim"] == 2 and grid.attrs["n_offline"] == len(branin.offline)


def test_linearization_is_exact_for_a_linear_surrogate(linear, branin):
    from mbo.reporting import prose

    calls = linear.domain.oracle.counts()["calls"]
    df = V.linearization(linear)
    assert df["step"].tolist() == list(linear.trajectory.steps)
    assert df["network_rise"].iloc[0] == 0 and df["linear_rise"].iloc[0] == 0
    # a linear model is its own first-order expansion, along any path
    assert np.allclose(df["network_rise"], df["linear_rise"], atol=1e-5)
    assert (df["linear_error"] < 1e-5).all()
    t = linear.table[(linear.table["arm"] == "ascent")]
    true = t.pivot_table(index="step", columns="design_id", values="true_norm")
    assert df["true_rise"].iloc[-1] == pytest.approx(float((true.iloc[-1] - true.iloc[0]).median()))
    assert linear.domain.oracle.counts()["calls"] == calls  # no oracle calls
    assert "almost linearly along the whole path" in prose.linearization_caption(df)
    mlp = V.linearization(branin)
    assert (mlp["linear_error"] >= 0).all() and len(mlp) == len(branin.trajectory.steps)
    fig = F.linearization_figure(mlp)
    assert fig.axes[0].get_legend() is not None and len(fig.axes[0].lines) == 4
