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
from mbo.reporting import artifacts
from mbo.reporting.prose import HEADINGS
from mbo.reporting.report import (
    ErrorBlock,
    Page,
    ReportOptions,
    Section,
    build_report,
    find_runs,
    render_page,
)

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
    for key in ("comparison", "transfer"):
        assert f"<h3>{HEADINGS[key]}</h3>" in group_html, key
    assert group_html.count('src="data:image/png;base64,') == 2
    assert 'href="#group-0"' in text.split("<nav>")[1].split("</nav>")[0]
    assert HEADINGS["transfer"] not in text.split('<section id="group-0">')[0]  # only there
    group = next((runs / "views").iterdir())
    for name in ("transfer.csv", "transfer_matrix.csv", "transfer.png", "trajectories.csv"):
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
    # the other views are still there: trajectory, landscape, cross-section
    assert text.count('src="data:image/png;base64,') == 3
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
