"""`mbo report`: one self-contained HTML file per run folder or folder of runs; the tutorial."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import FAST

from mbo import StudySpec, run_study
from mbo.cli import main
from mbo.reporting import artifacts, prose
from mbo.reporting.prose import HEADINGS
from mbo.reporting.report import (
    ErrorBlock,
    Page,
    ReportOptions,
    Section,
    build_report,
    find_runs,
    render_page,
    stops_table,
)
from mbo.reporting.views import stopping_rules

pytestmark = pytest.mark.usefixtures("one_thread")


SMALL = ReportOptions(grid=7, sweep_points=11)
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
        f"<h3>{HEADINGS['stopping']}</h3>",
        "running to the end here",
        "true-score peak (oracle; for reference)",
        f"<h3>{HEADINGS['overoptimization']}</h3>",
        "median design went from",
    ):
        assert words in text, words
    stops = text.split(f"<h3>{HEADINGS['stopping']}</h3>")[1].split("</table>")[0]
    assert "<td>disagreement</td>" in stops  # an MLP has no std: n/a
    assert re.search(r'<td class="num">n/a</td><td class="num">n/a</td>', stops), stops
    assert "&#34;" not in text and "&amp;#" not in text  # markup, not escaped markup
    # the over-optimization picture comes right after the trajectory
    h3 = re.findall(r"<h3>(.*?)</h3>", text)
    i = h3.index(HEADINGS["trajectory"])
    assert h3[i + 1] == HEADINGS["overoptimization"]
    assert "transfer" not in text.split("<nav>")[1].split("</nav>")[0]  # one study, no matrix
    assert HEADINGS["transfer"] not in text
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
    check_self_contained(text, 3 * 3 + 2)
    assert "Summary of all studies" in text
    assert text.count("<section") == 3 + 1  # three studies + one shared-domain group
    # the group of the two Branin studies comes first and holds both pictures
    group_html = text.split('<section id="group-0">')[1].split("</section>")[0]
    assert "branin: 2 studies on one domain" in group_html
    for key in ("comparison", "overoptimization_comparison", "transfer"):
        assert f"<h3>{HEADINGS[key]}</h3>" in group_html, key
    assert group_html.count('src="data:image/png;base64,') == 3
    # each study's section states its fooled rule and its stopping rules
    for i in range(3):
        study_html = text.split(f'<section id="study-{i}">')[1].split("</section>")[0]
        assert study_html.count("Fooled rule:") == 1
        assert f"<h3>{HEADINGS['stopping']}</h3>" in study_html
    assert 'href="#group-0"' in text.split("<nav>")[1].split("</nav>")[0]
    assert HEADINGS["transfer"] not in text.split('<section id="group-0">')[0]  # only there
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
    # the other views are still there: trajectory, over-optimization, landscape, cross-section
    assert text.count('src="data:image/png;base64,') == 4
    assert f"<h3>{HEADINGS['cross_section']}</h3>" in text


def test_the_template_escapes_every_text():
    page = Page(
        path="runs/<b>x</b>",
        name="x",
        intro="a & b",
        sections=[
            Section(
                "study-0",
                "<script>alert(1)</script>",
                run_line="K < 4",
                blocks=[ErrorBlock("view", "Err('<i>')", "Traceback <tb>")],
            )
        ],
    )
    text = render_page(page)
    assert text.startswith("<!DOCTYPE html>") and text.endswith("</html>\n")
    assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<h1>MBO report: runs/&lt;b&gt;x&lt;/b&gt;</h1>" in text
    assert "<p>a &amp; b</p>" in text and "K &lt; 4" in text
    assert "Err(&#39;&lt;i&gt;&#39;)" in text and "Traceback &lt;tb&gt;" in text
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
