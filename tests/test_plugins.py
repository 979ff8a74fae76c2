"""Plug-ins: the example package (examples/my_mbo_plugin) named by import path and by entry
point, in fresh processes, sweeps and the leaderboard; BoTorch and function domains in
studies; the registry's errors."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mbo.registry import DOMAINS, OPTIMIZERS, SURROGATES
from mbo.study import StudySpec, load_run, run_study

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_SRC = ROOT / "examples" / "my_mbo_plugin" / "src"
BOWL, RIDGE, SIGN = (
    "my_mbo_plugin.tasks:Bowl",
    "my_mbo_plugin.models:Ridge",
    "my_mbo_plugin.opt:SignAscent",
)
#: small study options for the CLI (every plug-in optimizer option given with -O)
SMALL = ["-D", "n_reference=100", "--k", "8", "-O", "steps=8", "--quiet"]
#: the CLI's entry, for `python -c` (mbo.cli has no __main__ module)
CLI = "import sys; from mbo.cli import main; raise SystemExit(main(sys.argv[1:]))"

ENTRY_POINTS = """\
[mbo.domains]
bowl = my_mbo_plugin.tasks:Bowl

[mbo.surrogates]
ridge = my_mbo_plugin.models:Ridge

[mbo.optimizers]
sign-ascent = my_mbo_plugin.opt:SignAscent
"""


def _cli(args: list[str], *paths: Path, cwd: Path) -> subprocess.CompletedProcess:
    """``mbo ARGS`` in a fresh interpreter with ``paths`` on its PYTHONPATH."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join([*map(str, paths), str(ROOT)])
    proc = subprocess.run(
        [sys.executable, "-c", CLI, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())


@pytest.fixture
def plugin_on_path(monkeypatch):
    """The example package importable in this process (and in spawned workers, which inherit
    ``sys.path``), as with ``PYTHONPATH=examples/my_mbo_plugin/src``."""
    monkeypatch.syspath_prepend(str(PLUGIN_SRC))


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """A site folder holding the example's ``dist-info`` (METADATA, entry_points.txt), as
    ``pip install`` would write it: importlib.metadata finds its entry points there."""
    site = tmp_path / "site"
    info = site / "my_mbo_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my_mbo_plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(PLUGIN_SRC))
    return site


# --- (a) import paths, from the command line in a fresh process ------------------------
def test_import_path_plugin_runs_from_the_cli_in_a_fresh_process(tmp_path):
    out = tmp_path / "run"
    args = ["run", "--domain", BOWL, "--surrogate", RIDGE, "--optimizer", SIGN, *SMALL]
    proc = _cli([*args, "--out", str(out)], PLUGIN_SRC, cwd=tmp_path)
    s = _summary(out)
    assert math.isfinite(s["p100"]) and s["domain"] == "bowl"
    assert s["optimizer"] == SIGN and s["k"] == 8 and s["steps"] == 8
    assert s["impossible_rate"] is not None  # the bowl knows its bound (0)
    assert "impossible-prediction rate" in proc.stdout


# --- (b) entry points, without pip install ---------------------------------------------
def test_entry_points_name_the_plugin_in_this_and_a_fresh_process(installed, tmp_path, capsys):
    from mbo.cli import main

    assert DOMAINS.names()["bowl"] == "plug-in my_mbo_plugin.tasks:Bowl"
    assert "ridge" in SURROGATES.names() and "sign-ascent" in OPTIMIZERS.names()
    assert DOMAINS.make("bowl", n_reference=20).name == "bowl"
    assert main(["list"]) == 0
    listing = capsys.readouterr().out
    assert "bowl" in listing and "sign-ascent" in listing

    out = tmp_path / "run"
    args = ["run", "--domain", "bowl", "--surrogate", "ridge", "--optimizer", "sign-ascent"]
    _cli([*args, *SMALL, "--out", str(out)], installed, PLUGIN_SRC, cwd=tmp_path)
    assert math.isfinite(_summary(out)["p100"])


def test_register_names_a_plugin_in_this_process_only(plugin_on_path):
    DOMAINS.register("small-bowl", BOWL, "the bowl, 50 points", n_reference=50)
    try:
        assert DOMAINS.names()["small-bowl"] == "the bowl, 50 points"
        assert DOMAINS.make("small-bowl").n_reference == 50
        assert DOMAINS.make("small-bowl", n_reference=60).n_reference == 60
    finally:
        DOMAINS.unregister("small-bowl")
    with pytest.raises(ValueError, match="unknown domain 'small-bowl'"):
        DOMAINS.make("small-bowl")


# --- (c) sweeps and the leaderboard -----------------------------------------------------
def _sweep(name: str, tasks: list[dict]) -> dict:
    return {
        "name": name,
        "plots": False,
        "base": {"k": 8, "optimizer": SIGN, "optimizer_options": {"steps": 5}},
        "grid": {"domain": tasks, "surrogate": [RIDGE], "seed": [0]},
    }


BOWL_TASK = {"task": "bowl", "domain": BOWL, "domain_options": {"n_reference": 100}}
RIPPLE_TASK = {
    "task": "ripple",
    "domain": "function",
    "domain_options": {
        "function": "my_mbo_plugin.tasks:ripple",
        "lower": [-2, -2],
        "upper": [2, 2],
        "n_reference": 100,
    },
}


def test_plugins_run_in_a_sweep_and_the_leaderboard(plugin_on_path, tmp_path):
    from mbo.sweeps.leaderboard import collect, leaderboard
    from mbo.sweeps.sweep import Sweep, run_sweep

    out = tmp_path / "sweep"
    status = run_sweep(
        Sweep.from_dict(_sweep("plugins", [BOWL_TASK, RIPPLE_TASK])),
        out,
        workers=1,
        progress=False,
    )
    assert list(status["status"]) == ["done", "done"], status
    runs = collect([out]).set_index("task")
    assert set(runs.index) == {"bowl", "ripple"}
    assert runs["p100"].notna().all()
    assert math.isfinite(runs.loc["bowl", "impossible_rate"])
    assert math.isnan(runs.loc["ripple", "impossible_rate"])  # no known optimum: n/a
    tables = leaderboard(collect([out]))
    assert set(tables["p100"].columns) == {"bowl", "ripple", "mean rank"}
    assert (out / "leaderboard.md").exists()
    # a run folder re-opens with the plug-in's domain and surrogate rebuilt
    res = load_run(runs.loc["bowl", "path"])
    assert type(res.surrogate).__name__ == "Ridge" and res.domain.name == "bowl"


def test_plugins_run_in_spawned_sweep_workers(plugin_on_path, tmp_path):
    """Two studies on a local process pool (spawn: fresh interpreters resolving the import
    paths themselves)."""
    from mbo.sweeps.sweep import Sweep, run_sweep

    grid = _sweep("pool", [BOWL_TASK, RIPPLE_TASK])
    status = run_sweep(Sweep.from_dict(grid), tmp_path, workers=2, progress=False)
    assert list(status["status"]) == ["done", "done"], status
    assert len(list(tmp_path.glob("studies/*/summary.json"))) == 2


# --- (d) BoTorch and function domains in studies -----------------------------------------
def _study(tmp_path: Path, domain: str, **options) -> dict:
    spec = StudySpec.from_dict(
        {
            "domain": domain,
            "domain_options": {"n_reference": 100, **options},
            "surrogate": "mlp",
            "surrogate_options": {"width": 16, "epochs": 5},
            "optimizer_options": {"steps": 5, "checkpoint_every": 5},
            "k": 8,
        }
    )
    run_study(spec, tmp_path / "run")
    return _summary(tmp_path / "run")


def test_botorch_domain_with_a_known_optimum_runs_a_study(tmp_path):
    s = _study(tmp_path, "botorch", function="botorch.test_functions.synthetic:Michalewicz")
    assert s["domain"] == "michalewicz2" and math.isfinite(s["p100"])
    assert s["impossible_rate"] is not None  # BoTorch knows Michalewicz-2's optimum


@pytest.mark.parametrize(
    "domain, options",
    [
        ("botorch", {"function": "botorch.test_functions.synthetic:Michalewicz", "dim": 3}),
        (
            "function",
            {"function": "my_mbo_plugin.tasks:ripple", "lower": [-1] * 3, "upper": [1] * 3},
        ),
    ],
)
def test_unknown_optimum_gives_na_bound_metrics_not_an_error(
    plugin_on_path, tmp_path, domain, options
):
    s = _study(tmp_path, domain, **options)
    assert math.isfinite(s["p100"]) and math.isfinite(s["gap"])
    assert s["impossible_rate"] is None  # nan in the summary -> null in summary.json: n/a


# --- (e) registry errors -------------------------------------------------------------------
def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown domain 'no-such'; choose from \[.*'branin'"):
        DOMAINS.make("no-such")
    with pytest.raises(ValueError, match=r"unknown surrogate 'no-such'; choose from \[.*'mlp'"):
        SURROGATES.make("no-such")
    with pytest.raises(ValueError, match="or give an import path 'package.module:Name'"):
        OPTIMIZERS.make("no-such")


def test_bad_import_path_names_the_module_or_attribute(plugin_on_path):
    with pytest.raises(ValueError, match="cannot import module 'no_such_pkg.tasks'"):
        DOMAINS.make("no_such_pkg.tasks:Bowl")
    with pytest.raises(ValueError, match="module 'my_mbo_plugin.models' has no attribute 'Lasso'"):
        SURROGATES.make("my_mbo_plugin.models:Lasso")
    with pytest.raises(ValueError, match="cannot import module 'no_such_pkg'"):
        StudySpec.from_dict({"optimizer": "no_such_pkg:Opt"})  # the spec fails early
    with pytest.raises(ValueError, match="cannot import module 'no_such_pkg.f'"):
        DOMAINS.make("function", function="no_such_pkg.f:score", lower=[0], upper=[1])


def test_unknown_options_name_the_accepted_ones(plugin_on_path):
    with pytest.raises(
        ValueError, match=r"unknown option\(s\) \['colour'\] .*\['n_reference', 'offline_fraction'"
    ):
        DOMAINS.make(BOWL, colour="red")
    with pytest.raises(ValueError, match=r"\['checkpoint_every', 'lr', 'steps'\]"):
        OPTIMIZERS.make(SIGN, step=3)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['width'\].*'lengthscale'"):
        SURROGATES.make(RIDGE, width=3)
