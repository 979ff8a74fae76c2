"""`mbo report`: one self-contained HTML file per run folder or folder of runs; the tutorial."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import FAST

from mbo import StudySpec, run_study
from mbo.cli import main
from mbo.reporting import artifacts, prose
from mbo.reporting import figures as F
from mbo.reporting.prose import HEADINGS
from mbo.reporting.report import (
    ErrorBlock,
    Page,
    Part,
    ReportOptions,
    Section,
    build_report,
    find_runs,
    in_run_order,
    render_page,
    stops_table,
)
from mbo.reporting.views import stopping_rules

pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = ReportOptions(grid=7, sweep_points=11)
PARTS = ("phenomenon", "why", "transfer", "helps")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A folder of two studies on one domain (mlp and linear) and one on another domain."""
    root = tmp_path_factory.mktemp("runs")
    run_study(StudySpec.from_dict(FAST), root / "mlp")
    run_study(StudySpec.from_dict({**FAST, "surrogate": "linear", "seed": 1}), root / "linear")
    other = {**FAST, "domain": "hartmann", "domain_options": {"dim": 3, "n_reference": 100}}
    run_study(StudySpec.from_dict(other), root / "nested" / "hartmann")
    return root


def check_self_contained(text: str, min_images: int) -> None:
    assert text.startswith("<!DOCTYPE html>")
    assert "http://" not in text and "https://" not in text
    srcs = re.findall(r'src="([^"]{0,30})', text)
    assert len(srcs) >= min_images, srcs
    assert all(s.startswith("data:image/png;base64,") for s in srcs), srcs
    assert "<link" not in text and "<script" not in text
    assert 'class="error"' not in text, re.findall(r'class="error".{0,400}', text, re.S)


def test_find_runs(runs):
    assert [p.name for p in find_runs(runs)] == ["linear", "mlp", "hartmann"]
    assert find_runs(runs / "mlp") == [runs / "mlp"]
    with pytest.raises(FileNotFoundError):
        find_runs(runs / "nested" / "nothing")


def test_report_on_one_run_folder(runs, tmp_path):
    out = build_report(runs / "mlp", tmp_path / "one.html", SMALL)
    text = out.read_text()
    # trajectory, landscape (2-D), sweep, cross-section
    check_self_contained(text, 4)
    for words in ("1-D sweep", "cross-section", "Look for", "spec", "fooled rate"):
        assert words.lower() in text.lower(), words
    # the new headline rows, the fooled rule in words, the stopping rules, over-optimization
    for words in (
        "overestimation = rise of (pred - true)",
        "regret of the final checkpoint",
        "rank agreement (Spearman, final)",
        "Fooled rule: a design counts as fooled",
        "offline label sd",
        f"<h4>{HEADINGS['stopping']}</h4>",
        "running to the end here",
        "true-score peak (oracle; for reference)",
        f"<h4>{HEADINGS['overoptimization']}</h4>",
        "median design went from",
        "Verdict:",  # the plain-language verdict, written from the numbers
    ):
        assert words in text, words
    stops = text.split(f"<h4>{HEADINGS['stopping']}</h4>")[1].split("</table>")[0]
    assert "<td>disagreement</td>" in stops  # an MLP has no std: n/a
    assert re.search(r'<td class="num">n/a</td><td class="num">n/a</td>', stops), stops
    assert "&#34;" not in text and "&amp;#" not in text  # markup, not escaped markup
    # the story order: phenomenon (trajectory), why (sweep, cross-section, over-optimization),
    # transfer (nothing to show for one study: said so), what helps (stopping rules)
    h2 = re.findall(r"<h2[^>]*>(.*?)</h2>", text)
    assert h2 == ["In brief"] + [prose.PARTS[k][0] for k in PARTS]
    h4 = re.findall(r"<h4>(.*?)</h4>", text)
    views_in_order = ("trajectory", "sweep", "linearization", "cross_section", "overoptimization")
    order = [HEADINGS[k] for k in views_in_order]
    assert [h for h in h4 if h in order] == order
    assert h4.index(HEADINGS["landscape"]) < h4.index(HEADINGS["sweep"])
    assert h4[-1] == HEADINGS["stopping"]
    assert "No two studies here share a domain" in text
    assert HEADINGS["transfer"] not in text
    # one summary table, not one per section; the intro says which design the views use
    assert text.count("<th>metric (normalized)</th>") == 1
    assert "which is the best visible offline design" in text
    assert "when design 0 at the start" not in text
    for name in (
        "trajectory.csv",
        "trajectory.png",
        "sweep.csv",
        "sweep.json",
        "sweep.png",
        "cross_section.parquet",
        "cross_section_points.csv",
        "cross_section.json",
        "cross_section.png",
        "overoptimization.csv",
        "overoptimization.json",
        "overoptimization.png",
        "linearization.csv",
        "linearization.png",
    ):
        assert (runs / "mlp" / "views" / name).exists(), name


def test_report_on_a_folder_of_runs_has_a_transfer_matrix(runs, tmp_path):
    out = tmp_path / "all.html"
    assert (
        main(
            [
                "report",
                str(runs),
                "--out",
                str(out),
                "--grid",
                "7",
                "--sweep-points",
                "11",
                "--quiet",
            ]
        )
        == 0
    )
    text = out.read_text()
    check_self_contained(text, 3 * 4 + 2)
    assert "Summary table of all studies" in text
    assert text.count("<th>metric (normalized)</th>") == 1  # once, not once per study
    # four parts; three studies in the phenomenon, why and what-helps parts, the group of
    # the two Branin studies in transfer and (first) in what helps
    assert text.count('<section class="part"') == 4
    assert text.count("<section id=") == 3 * 3 + 2
    transfer = text.split('<section id="transfer-0">')[1].split("</section>")[0]
    assert "branin: 2 studies on one domain" in transfer
    assert f"<h4>{HEADINGS['transfer']}</h4>" in transfer
    assert "Designs from" in transfer  # the matrix read row by row, from its numbers
    helps = text.split('<section id="helps-group-0">')[1].split("</section>")[0]
    for key in ("comparison", "overoptimization_comparison"):
        assert f"<h4>{HEADINGS[key]}</h4>" in helps, key
    assert "running to the end left a mean regret" in helps  # the stopping rules overall
    assert "seed by seed" in helps  # mlp against linear: the verdict over variants
    assert text.index('id="helps-group-0"') < text.index('id="helps-0"')
    # each study states its fooled rule once and its stopping rules once
    for i in range(3):
        phen = text.split(f'<section id="phenomenon-{i}">')[1].split("</section>")[0]
        assert phen.count("Fooled rule:") == 1
        helps_i = text.split(f'<section id="helps-{i}">')[1].split("</section>")[0]
        assert f"<h4>{HEADINGS['stopping']}</h4>" in helps_i
    nav = text.split("<nav>")[1].split("</nav>")[0]
    assert 'href="#transfer-0"' in nav and 'href="#part-why"' in nav
    assert HEADINGS["transfer"] not in text.split('<section id="transfer-0">')[0]  # only there
    group = next((runs / "views").iterdir())
    for name in (
        "transfer.csv",
        "transfer_matrix.csv",
        "transfer.png",
        "trajectories.csv",
        "overoptimization.csv",
        "overoptimization.png",
    ):
        assert (group / name).exists(), name


def test_a_broken_view_becomes_an_error_box(runs, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no sweep <today>")

    monkeypatch.setattr(artifacts, "save_sweep", broken)
    text = build_report(runs / "mlp", tmp_path / "broken.html", SMALL).read_text()
    errors = re.findall(r'<div class="error">(.*?)</div>', text, re.S)
    assert len(errors) == 1
    assert "1-D sweep failed:" in errors[0]
    assert "RuntimeError(&#39;no sweep &lt;today&gt;&#39;)" in errors[0]  # escaped
    # the other views are still there: trajectory, landscape, linearization, cross-section,
    # over-optimization
    assert text.count('src="data:image/png;base64,') == 5
    assert f"<h4>{HEADINGS['cross_section']}</h4>" in text


def test_the_template_escapes_every_text():
    page = Page(
        path="runs/<b>x</b>",
        name="x",
        intro="a & b",
        parts=[
            Part(
                "phenomenon",
                [
                    Section(
                        "study-0",
                        "<script>alert(1)</script>",
                        run_line="K < 4",
                        blocks=[ErrorBlock("view", "Err('<i>')", "Traceback <tb>")],
                        verdict="x < y",
                    )
                ],
            )
        ],
    )
    text = render_page(page)
    assert text.startswith("<!DOCTYPE html>") and text.endswith("</html>\n")
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<h1>MBO report: runs/&lt;b&gt;x&lt;/b&gt;</h1>" in text
    assert "<p>a &amp; b</p>" in text and "K &lt; 4" in text
    assert "Err(&#39;&lt;i&gt;&#39;)" in text and "Traceback &lt;tb&gt;" in text
    assert "x &lt; y" in text
    assert "table.summary" in text  # the stylesheet is inlined


def test_report_cli_errors_cleanly_on_a_folder_without_runs(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no run folders" in capsys.readouterr().err


def test_report_on_tiny_molecule_and_car_studies(tmp_path):
    mol = {
        "domain": "molecules",
        "domain_options": {"n_reference": 300},
        "surrogate_options": {"width": 32, "epochs": 20},
        "optimizer_options": {"steps": 10, "checkpoint_every": 5},
        "k": 8,
    }
    car = {
        "domain": "car",
        "domain_options": {
            "n_reference": 60,
            "sim_time": 4,
            "track_seeds": [0],
            "cache_dir": False,
        },
        "surrogate_options": {"width": 32, "epochs": 20},
        "optimizer_options": {"steps": 10, "checkpoint_every": 5},
        "k": 8,
    }
    for name, spec in (("mol", mol), ("car", car)):
        run_study(StudySpec.from_dict(spec), tmp_path / name)
        out = build_report(tmp_path / name, options=ReportOptions(grid=5, sweep_points=7))
        text = out.read_text()
        # trajectory, sweep, cross-section, top designs drawn by the domain
        check_self_contained(text, 4)
        assert "top proposed designs" in text


def test_report_renders_in_headless_chromium(runs, tmp_path):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("chromium not installed")
    html = build_report(runs / "mlp", tmp_path / "r.html", SMALL)
    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                f"--screenshot={shot}",
                "--window-size=1200,2000",
                f"file://{html}",
            ],
            capture_output=True,
            timeout=90,
            check=False,
        )
    assert shot.exists() and shot.stat().st_size > 20_000


def tutorial_blocks() -> list[str]:
    text = (ROOT / "docs" / "tutorial.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_tutorial_python_blocks_run(tmp_path, monkeypatch):
    blocks = tutorial_blocks()
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    scope: dict = {"__name__": "tutorial"}
    for i, code in enumerate(blocks):
        try:
            exec(compile(code, f"tutorial block {i}", "exec"), scope)
        except Exception as err:  # pragma: no cover - shows which block broke
            raise AssertionError(f"tutorial block {i} failed: {err!r}\n{code}") from err
    assert (tmp_path / "runs" / "tutorial" / "report.html").exists()


def _stops_summary(**over) -> dict:
    summary = {
        "steps": 200,
        "peak_step": 40,
        "peak_true": 0.8,
        "regret_final": 0.2,
        "stop_distance_step": 200,
        "stop_distance_regret": 0.2,
        "stop_disagreement_step": float("nan"),
        "stop_disagreement_regret": float("nan"),
        "stop_plateau_step": 50,
        "stop_plateau_regret": 0.05,
        "stop_beyond_data_step": 170,
        "stop_beyond_data_regret": 0.3,
    }
    return summary | over


def test_stopping_rule_sentence_follows_the_numbers():
    df = stopping_rules(_stops_summary())
    assert df["rule"].tolist() == [
        "distance",
        "disagreement",
        "plateau",
        "beyond_data",
        "end",
        "peak",
    ]
    assert df.set_index("rule")["beats_end"].to_dict() == {
        "distance": False,  # equal to the end's regret: no better
        "disagreement": False,
        "plateau": True,
        "beyond_data": False,
        "end": False,
        "peak": False,
    }
    assert df.set_index("rule").loc["plateau", "true_mean"] == pytest.approx(0.75)
    one = prose.stopping_sentence(df)
    assert one.startswith("Stopping by plateau (step 50, regret 0.050) beats running to the end")
    assert "regret 0.200 at step 200" in one
    assert "disagreement (the surrogate has no std)" in one
    assert "No offline rule" not in one

    # the plateau rule now stops too late: no rule beats the end
    none = prose.stopping_sentence(stopping_rules(_stops_summary(stop_plateau_regret=0.25)))
    assert none.startswith("No offline rule beats running to the end here")
    assert "regret 0.200" in none
    # two rules beat it: both named, the best last
    two = prose.stopping_sentence(stopping_rules(_stops_summary(stop_beyond_data_regret=0.1)))
    assert "plateau (step 50, regret 0.050) and beyond_data (step 170, regret 0.100) beat" in two
    assert two.rstrip().split("the best is ")[1].startswith("plateau")
    # the end is the peak: nothing can beat it
    peak = prose.stopping_sentence(stopping_rules(_stops_summary(regret_final=0.0)))
    assert peak.startswith("No offline rule beats running to the end here: the true score peaked")
    # no scored designs: nothing to judge
    nan = prose.stopping_sentence(stopping_rules(_stops_summary(regret_final=float("nan"))))
    assert "cannot be judged" in nan


def test_missing_values_print_n_a_and_the_fooled_rule_states_its_numbers():
    assert prose.fmt("p100", float("nan")) == "n/a"
    assert prose.fmt("p100", None) == "n/a"
    assert prose.fmt("peak_step", 20) == "20"
    assert prose.fmt("fooled_rate", 0.25) == "25%"
    rule = prose.fooled_rule(
        {"fooled_margin": 0.1, "label_sd": 0.25, "fooled_delta": 0.025, "fooled_rate": 0.5}
    )
    assert "δ = 0.1 offline label sd = 0.025" in rule and "fooled rate here is 50%" in rule
    assert "overestimation (mean rise of predicted − true over the designs) n/a" in rule
    old = prose.fooled_rule({"fooled_margin": 0.02})  # an older summary: absolute margin
    assert "δ = 0.020 (normalized units, absolute)" in old
    table = stops_table(_stops_summary())
    assert table.header[2] == "chosen step"
    cells = {row[0]: row for row in table.rows}
    assert cells["disagreement"][2:] == ["n/a", "n/a", "n/a"]
    assert cells["end"][2] == "200" and cells["peak"][4] == "0.000"
    assert table.sentence.startswith("Stopping by plateau")


# --- words written from the numbers -------------------------------------------------------
def _sweep(pred, true, clipped=None, bound=None, sd=0.2) -> pd.DataFrame:
    """A synthetic 1-D sweep: the gradient walk ``pred``/``true`` over t in [-1, 1], the
    random walk flat."""
    n = len(pred)
    t = np.linspace(-1, 1, n)
    rows = []
    for direction, p, y in (
        ("gradient", pred, true),
        ("random", np.full(n, pred[n // 2]), np.full(n, true[n // 2])),
    ):
        rows.append(
            pd.DataFrame(
                {
                    "direction": direction,
                    "t": t,
                    "predicted_norm": p,
                    "predicted_relaxed_norm": p,
                    "true_norm": y,
                    "valid": True,
                    "clipped": clipped
                    if clipped is not None and direction == "gradient"
                    else False,
                    "bound_norm": bound if bound is not None else np.nan,
                    "offline_distance": np.abs(t),
                }
            )
        )
    df = pd.concat(rows, ignore_index=True)
    df.attrs = {
        "design_id": 0,
        "step": 0,
        "span": 1.0,
        "d_best": 0.5,
        "label_sd": sd,
        "offline_spacing": 0.3,
        "coordinates": "test coordinates",
        "zero_gradient": False,
    }
    return df


def test_sweep_captions_follow_the_data():
    t = np.linspace(-1, 1, 21)
    # the surrogate rises in a straight line, the oracle peaks at t = 0.3 and falls
    fooled = _sweep(0.5 + 0.3 * t, 0.5 + 0.3 * t - 0.6 * np.clip(t - 0.3, 0, None) - 0.3 * t**2)
    # the surrogate follows the oracle within a tiny gap
    tracks = _sweep(0.8 - (t - 0.3) ** 2 + 0.01, 0.8 - (t - 0.3) ** 2)
    # the surrogate sits well below the oracle and rises no faster
    under = _sweep(0.3 + 0.1 * t, 0.6 + 0.1 * t)
    cap = {k: prose.sweep_caption(df) for k, df in [("f", fooled), ("t", tracks), ("u", under)]}
    assert "the model extrapolates, the world does not" in cap["f"]
    assert "climbs from 0.50 to 0.80 (at t = 1), almost in a straight line" in cap["f"]
    assert "the oracle drops from 0.50 to 0.08 there" in cap["f"]
    assert "turns down" not in cap["f"]
    # a surrogate that climbs, then turns down along the straight line: said so, not "rises"
    bends = _sweep(0.5 + 0.6 * t - 1.2 * np.clip(t - 0.5, 0, None), 0.5 - 0.2 * np.abs(t))
    text = prose.sweep_caption(bends)
    assert "climbs from 0.50 to 0.80 (at t = 0.5)" in text and "turns down too (to 0.50" in text
    for k in ("t", "u"):
        assert "the world does not" not in cap[k]
    assert cap["t"].startswith("Along the gradient the surrogate tracks the oracle")
    assert "Here the model is right" in cap["t"]
    assert cap["u"].startswith("Along the gradient the surrogate stays below the oracle")
    # the facts line gives the peak, not only the end points
    facts = prose.sweep_facts(tracks)
    assert "highest 0.80 at t = 0.3" in facts
    # the figure's title says the same thing as the caption
    assert F.SWEEP_TITLES["tracks"] in F.sweep_figure(tracks).get_suptitle()
    assert F.SWEEP_TITLES["fooled"] in F.sweep_figure(fooled).get_suptitle()
    # a bound the prediction crosses, and a walk that leaves the space at t = 0.5
    clipped = t >= 0.5 - 1e-9
    crossing = _sweep(0.5 + 0.3 * t, 0.5 - 0.1 * t, clipped=clipped, bound=np.full(21, 0.6))
    text = prose.sweep_caption(crossing)
    assert "From t = 0.4 on, the prediction is above the design's exact upper bound" in text
    assert "leaves the design space at t = 0.5" in text and "6 of its 21 points" in text
    fig = F.sweep_figure(crossing)
    assert all(ax.get_legend() is None for ax in fig.axes)  # one legend, under the axes
    labels = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert F.LEAVES_LABEL in labels and "projection clipped" not in labels


def _grid(n=5, clipped=0, far=False, sd=0.2) -> pd.DataFrame:
    ticks = np.linspace(-1, 1, n)
    b, a = np.meshgrid(ticks, ticks, indexing="ij")
    a, b = a.ravel(), b.ravel()
    pred, true = 0.5 + 0.4 * a, 0.5 - 0.1 * a
    grid = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "predicted_norm": pred,
            "true_norm": true,
            "difference": pred - true,
            "clipped": np.arange(n * n) < clipped,
            "offline_distance": np.hypot(a, b) * (3.0 if far else 1.0),
        }
    )
    grid.attrs = {
        "design_id": 0,
        "step": 0,
        "neighbourhood": 2.0,
        "neighbourhood_level": 2.0,
        "offline_spacing": 1.0,
        "label_sd": sd,
        "distance_unit": "offline standard deviations",
        "n_offline": 150,
        "dim": 16,
        "coordinates": "test coordinates",
    }
    return grid


def test_cross_section_caption_follows_the_data():
    near = prose.cross_section_caption(_grid(clipped=20))
    assert "20 of 25 grid points lie outside the design space" in near
    assert "Every grid point is within 2 offline standard deviations" in near
    assert "150 offline designs in 16 dimensions" in near
    assert "on the gradient's side" in near  # the surrogate over-predicts where a > 0
    far = prose.cross_section_caption(_grid(far=True))
    assert "The whole plane lies inside the design space" in far
    assert "% of the plane lies within 2" in far and "Every grid point" not in far
    flat = _grid()
    flat["predicted_norm"] = flat["true_norm"]
    flat["difference"] = 0.0
    assert "Nowhere on this plane does the surrogate over-predict" in (
        prose.cross_section_caption(flat)
    )


def _summary(**over) -> dict:
    base = {
        "k": 128,
        "steps": 200,
        "optimizer": "gradient_ascent",
        "predicted_start_mean": 0.4,
        "predicted_mean": 0.7,
        "true_start_mean": 0.4,
        "true_mean": -0.2,
        "overestimation": 0.9,
        "fooled_delta": 0.013,
        "fooled_rate": 1.0,
        "true_improvement_rate": 0.0,
        "peak_step": 0,
        "peak_true": 0.4,
        "regret_final": 0.6,
        "impossible_rate": 0.0,
        "gradient_advantage": -0.14,
    }
    return base | over


def test_verdict_follows_the_numbers():
    fooled = prose.verdict(_summary())
    assert "Verdict: fooled." in fooled and "worse than where they started" in fooled
    assert "from 0.40 to 0.70" in fooled and "from 0.40 to -0.20" in fooled
    assert "best before the first step" in fooled
    assert "random direction moved exactly as far would have done better (by 0.14)" in fooled
    assert "exceed" not in fooled  # no impossible predictions: not mentioned
    worked = prose.verdict(
        _summary(
            predicted_mean=0.6,
            true_mean=0.55,
            overestimation=0.05,
            fooled_rate=0.0,
            true_improvement_rate=0.9,
            peak_step=200,
            regret_final=0.0,
            gradient_advantage=0.2,
            impossible_rate=0.22,
        )
    )
    assert "Verdict: ascent worked" in worked and "fooled." not in worked
    assert "at its best at the end" in worked and "22% of the final predictions" in worked
    assert "A random direction moved exactly as far did worse (by 0.20)" in worked
    over = prose.verdict(
        _summary(
            predicted_mean=1.2,
            true_mean=0.5,
            overestimation=0.7,
            peak_step=50,
            regret_final=0.07,
            gradient_advantage=float("nan"),
        )
    )
    assert "Verdict: better designs, but an over-promising surrogate" in over
    assert "peaked at step 50" in over and "gave back 0.07" in over
    flat = prose.verdict(_summary(predicted_mean=0.4, true_mean=0.4, overestimation=0.0))
    assert "Verdict: ascent did not help" in flat and "invalid" not in flat
    invalid = prose.verdict(_summary(invalid_rate=0.25))
    assert "25% of the final designs are invalid" in invalid
    assert "no verdict" in prose.verdict(_summary(true_mean=float("nan")))


def _runs() -> pd.DataFrame:
    rows = []
    for seed in range(3):
        rows.append(
            {
                "variant": "mlp",
                "seed": seed,
                "p50": 0.30 + 0.01 * seed,
                "overestimation": 0.9,
                "p100": 0.7,
                "d_best": 0.8,
                "regret_final": 0.2,
                "stop_plateau_regret": 0.05,
                "stop_distance_regret": 0.2 + 0.01 * seed,
            }
        )
        rows.append(
            {
                "variant": "ensemble+min",
                "seed": seed,
                "p50": 0.50 + 0.02 * seed,
                "overestimation": 0.4 - 0.01 * seed,
                "p100": 0.85,
                "d_best": 0.8,
                "regret_final": 0.0,
                "stop_plateau_regret": 0.1,
                "stop_distance_regret": 0.0,
            }
        )
        rows.append(
            {
                "variant": "gp",
                "seed": seed,
                "p50": 0.30 + 0.04 * (seed - 1),
                "overestimation": 0.2 + 0.01 * seed,
                "p100": 0.6,
                "d_best": 0.8,
                "regret_final": 0.1,
                "stop_plateau_regret": 0.1,
                "stop_distance_regret": 0.1,
            }
        )
    return pd.DataFrame(rows)


def test_compare_verdict_and_stopping_overview_follow_the_numbers():
    text = prose.compare_verdict(_runs())
    assert "(3 seeds each)" in text
    assert text.index("highest for ensemble+min") < text.index("lowest for")
    assert (
        "ensemble+min against mlp, seed by seed: raises the median true score by +0.21 [+0.20, +0.22]"
        in text
    )
    assert "gp against mlp, seed by seed: changes the median true score by" in text
    assert "(an interval that includes zero: no clear effect)" in text
    assert "Verdict: ensemble+min gave clearly better designs than mlp" in text
    assert "gp was fooled less without giving clearly better designs" in text
    assert "0.85 (ensemble+min, seed 0), above D(best) = 0.80" in text
    one = prose.compare_verdict(_runs()[lambda d: d["seed"] == 0])
    assert "(one seed each)" in one and "one seed: no interval" in one
    assert "no variant gave clearly better" in one and "anecdotes, not results" in one
    assert "± 0" not in one and "1 seeds" not in one
    stops = prose.stopping_overview(_runs())
    assert stops.startswith("Across 9 studies, running to the end left a mean regret of 0.100")
    assert "Stopping by plateau: mean regret 0.083" in stops and "better on 3, worse on 3" in stops
    assert "The rule that saves the most regret here is plateau: 0.017 on average." in stops
    small = _runs().assign(stop_plateau_regret=lambda d: d["regret_final"] - 0.001)
    assert "No offline rule saves much here: the best, plateau, saves 0.001" in (
        prose.stopping_overview(small)
    )
    worse = _runs()
    worse.loc[worse["variant"] == "gp", "p50"] -= 0.2  # clearly worse, and fooled less
    text = prose.compare_verdict(worse)
    assert "gp (although it was fooled less) did worse than mlp" in text
    assert "gp was fooled less without" not in text
    assert "Not applicable: disagreement (no surrogate here has a std)" in stops


def test_study_titles_and_run_order(runs, tmp_path):
    assert prose.study_title(None, "branin", "ensemble", "min", "gradient_ascent", 0) == (
        "branin · ensemble+min · seed 0"
    )
    assert prose.study_title("my study", "branin", "mlp") == "my study"
    assert prose.study_title(None, "ackley", "mlp", optimizer="cma_es", seed=2) == (
        "ackley · mlp · cma_es · seed 2"
    )
    folders = find_runs(runs)
    for i, run in enumerate(reversed(folders)):  # the last folder alphabetically ran first
        os.utime(run / "summary.json", (1_000_000 + i, 1_000_000 + i))
    assert in_run_order(folders) == list(reversed(folders))
    text = build_report(runs, tmp_path / "order.html", SMALL).read_text()
    titles = re.findall(r'<section id="phenomenon-\d">\s*<h3>(.*?)</h3>', text)
    assert [t.split(" · ")[0] for t in titles] == ["hartmann", "branin", "branin"]
    assert "seed0:" not in text and ": branin-mlp-gradient_ascent" not in text


def test_transfer_caption_names_who_is_fooled():
    cells = {  # rows: designs from; columns: scored by (two networks, a GP, the oracle)
        "start designs": {"mlp": 0.4, "mlp2": 0.4, "gp": 0.4, "oracle": 0.4},
        "mlp": {"mlp": 0.9, "mlp2": 0.8, "gp": 0.3, "oracle": 0.2},
        "mlp2": {"mlp": 0.55, "mlp2": 0.9, "gp": 0.4, "oracle": 0.3},
        "gp": {"mlp": 0.4, "mlp2": 0.4, "gp": 0.4, "oracle": 0.4},
    }
    df = pd.DataFrame(
        [
            {"designs_from": r, "scored_by": c, "mean": v, "median": v, "n": 8}
            for r, row in cells.items()
            for c, v in row.items()
        ]
    )
    text = prose.transfer_caption(df)
    assert (
        "Designs from mlp: its own surrogate sees a rise of +0.50 over the start designs, the "
        "oracle -0.20; mlp2 (+0.40) is fooled too, gp (-0.10) sees through them."
    ) in text
    assert "Designs from mlp2: its own surrogate sees a rise of +0.50" in text
    assert "mlp (+0.15) is partly fooled, gp (+0.00) sees through them." in text
    assert "Designs from gp: its own surrogate sees a rise of +0.00" in text
    assert "nothing to transfer" in text
    good = df.copy()
    good.loc[(good["designs_from"] == "mlp2") & (good["scored_by"] == "oracle"), "mean"] = 0.8
    text = prose.transfer_caption(good)
    assert "the oracle +0.40; the oracle agrees, so these designs are no adversarial" in text
    assert "other surrogates see mlp (+0.15) and gp (+0.00)." in text


def test_transfer_by_variant_averages_seeds_and_keeps_the_diagonal_own():
    from mbo.reporting import views as V

    studies = ["mlp s0", "mlp s1", "gp s0"]
    own = {"mlp s0": 0.9, "mlp s1": 0.8, "gp s0": 0.5}
    rows = [{"designs_from": "start designs", "scored_by": c, "mean": 0.4} for c in studies]
    rows.append({"designs_from": "start designs", "scored_by": "oracle", "mean": 0.4})
    for i in studies:
        for j in studies:
            v = own[i] if i == j else (0.7 if "mlp" in i and "mlp" in j else 0.3)
            rows.append({"designs_from": i, "scored_by": j, "mean": v})
        rows.append({"designs_from": i, "scored_by": "oracle", "mean": 0.2})
    df = pd.DataFrame(rows).assign(median=lambda d: d["mean"], n=8)
    agg = V.transfer_wide(
        V.transfer_by_variant(df, {"mlp s0": "mlp", "mlp s1": "mlp", "gp s0": "gp"})
    )
    assert list(agg.index) == ["start designs", "mlp", "gp"]
    assert list(agg.columns) == ["mlp", "gp", "oracle"]
    assert agg.loc["mlp", "mlp"] == pytest.approx(0.85)  # each mlp on its own designs
    assert agg.loc["mlp", "gp"] == pytest.approx(0.3) and agg.loc["gp", "mlp"] == pytest.approx(0.3)
    assert agg.loc["gp", "gp"] == pytest.approx(0.5) and agg.loc["start designs", "mlp"] == 0.4
    text = prose.transfer_caption(
        V.transfer_by_variant(df, {"mlp s0": "mlp", "mlp s1": "mlp", "gp s0": "gp"})
    )
    assert text.startswith("Designs from mlp: its own surrogate sees a rise of +0.45")
