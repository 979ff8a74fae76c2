"""The command line: flags derived from StudySpec, light start-up, errors, run-folder safety,
the thread policy, and commands that never overwrite each other's files."""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from mbo import StudySpec
from mbo.cli import build_parser, main
from mbo.cli.spec_args import SHORTCUTS, spec_flags, spec_from_args
from mbo.runtime import DEFAULT_THREADS, THREAD_ENV, resolve_threads, thread_policy

ROOT = Path(__file__).resolve().parents[1]

#: a non-default value of every StudySpec field (a new field must be added here)
NON_DEFAULT = {
    "domain": "ackley",
    "domain_options": {"dim": 3, "n_reference": 50},
    "surrogate": "ensemble",
    "surrogate_options": {"width": 8, "lr": 0.003},
    "optimizer": "cma_es",
    "optimizer_options": {"generations": 2, "popsize": 6},
    "objective": "lcb",
    "kappa": 3.0,
    "k": 4,
    "offline_fraction": 0.5,
    "seed": 7,
    "device": "auto",
    "precision": "bf16",
    "fooled_margin": 0.05,
    "audit_subsample": 2,
    "name": "my study: one",
}

#: flags of a study small enough to run in a test
TINY = ["-D", "n_reference=100", "-S", "width=8", "-S", "epochs=3", "--steps", "4", "--k", "4"]


def _text(value) -> str:
    return json.dumps(value) if isinstance(value, dict) else str(value)


def _parse(*argv: str) -> StudySpec:
    return spec_from_args(build_parser().parse_args(["run", *argv]))


def _subparser(name: str) -> argparse.ArgumentParser:
    (sub,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices[name]


def _fields() -> list[dataclasses.Field]:
    return list(dataclasses.fields(StudySpec))


def test_every_spec_field_has_a_flag_that_lands_in_the_spec_and_round_trips():
    assert set(NON_DEFAULT) == {f.name for f in _fields()}, "give new fields a value here"
    default = StudySpec()
    flags = {sf.field: sf.flag for sf in spec_flags()}
    assert list(flags) == [f.name for f in _fields()]
    parser_flags = {a.dest: a.option_strings for a in _subparser("run")._actions}
    argv = []
    for f in _fields():
        value = NON_DEFAULT[f.name]
        assert value != getattr(default, f.name), f.name
        assert flags[f.name] in parser_flags[f.name], f.name
        assert StudySpec.field_help()[f.name], f"{f.name} has no description in the docstring"
        argv += [flags[f.name], _text(value)]
    spec = _parse(*argv)
    for f in _fields():
        assert getattr(spec, f.name) == NON_DEFAULT[f.name], f.name
    again = StudySpec.from_dict(yaml.safe_load(yaml.safe_dump(spec.to_dict(), sort_keys=False)))
    assert again == spec
    # each field alone: one flag changes exactly that field
    for f in _fields():
        if f.name in ("objective", "optimizer_options"):  # lcb needs no more; cma_es options
            continue
        one = _parse(flags[f.name], _text(NON_DEFAULT[f.name]))
        changed = {g.name for g in _fields() if getattr(one, g.name) != getattr(default, g.name)}
        assert changed == {f.name}, f.name


def test_config_file_then_flags_then_pairs_then_shortcuts(tmp_path):
    cfg = tmp_path / "spec.yaml"
    cfg.write_text(
        "domain: ackley\ndomain_options: {dim: 3, n_reference: 90}\nseed: 2\n"
        "offline_fraction: 0.5\noptimizer_options: {steps: 7}\n"
    )
    spec = _parse("--config", str(cfg))
    assert spec == StudySpec.from_file(cfg)
    spec = _parse(
        "--config",
        str(cfg),
        "--seed",
        "5",
        "--domain-options",
        "{dim: 4}",
        "-D",
        "n_reference=120",
        "--offline-fraction",
        "none",
        "--lr",
        "0.5",
        "--adam",
    )
    assert spec.domain == "ackley" and spec.seed == 5 and spec.offline_fraction is None
    assert spec.domain_options == {"dim": 4, "n_reference": 120}  # mappings merge
    assert spec.optimizer_options == {"steps": 7, "lr": 0.5, "method": "adam"}
    assert _parse("--objective", "qed").domain_options == {"objective": "qed"}
    assert _parse("-S", "lr=1e-3").surrogate_options == {"lr": 0.001}  # not YAML 1.1's string
    assert {s.flag for s in SHORTCUTS} == {"--objective", "--steps", "--lr", "--adam"}


def test_the_issue_flags_reach_the_run_folder(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "--surrogate", "ensemble", "--objective-kind", "min", "--kappa", "3"]
    assert main([*argv, *TINY, "--out", str(out), "--quiet"]) == 0
    spec = StudySpec.from_file(out / "spec.yaml")
    assert (spec.surrogate, spec.objective, spec.kappa) == ("ensemble", "min", 3.0)
    assert spec.optimizer_options == {"steps": 4} and spec.k == 4
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_summary_records_the_thread_count(tmp_path):
    """Needs ``"threads": torch.get_num_threads()`` in mbo/study/run.py's summary."""
    assert main(["run", *TINY, "--out", str(tmp_path / "a"), "--quiet", "--threads", "2"]) == 0
    assert json.loads((tmp_path / "a" / "summary.json").read_text())["threads"] == 2


@pytest.mark.parametrize("argv", [["list"], ["--help"], ["sweep", "--help"]])
def test_help_and_list_load_no_torch(argv):
    script = (
        "import json, sys; from mbo.cli import main; code = main(%r); "
        "heavy = sorted({'torch', 'matplotlib', 'pandas', 'numpy'} & set(sys.modules)); "
        "print(json.dumps([code, heavy]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script % (argv,)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    code, heavy = json.loads(proc.stdout.splitlines()[-1])
    assert code == 0 and heavy == [], heavy
    assert "usage" in proc.stdout or "branin" in proc.stdout


def test_python_m_mbo_cli_runs_main():
    proc = subprocess.run(
        [sys.executable, "-m", "mbo.cli", "nope"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 2 and proc.stderr.startswith("mbo: error: argument COMMAND")


def _bad_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    "argv, words",
    [
        (["run", "--domain", "ackley", "-D", "dim=abc"], ["dim", "integer"]),
        (["run", "--precision", "tf32"], ["tf32", "CUDA"]),
        (["run", "--k", "x"], ["--k", "integer"]),
        (["run", "--seed", "1.5"], ["--seed"]),
        (["run", "--kappa", "high"], ["--kappa", "number"]),
        (["run", "--objective-kind", "max"], ["--objective-kind", "max"]),
        (["run", "-D", "dim"], ["KEY=VALUE"]),
        (["run", "-D", "n_reference=[1,"], ["YAML"]),
        (["run", "-D", "nope=1"], ["nope"]),
        (["run", "-S", "width=wide"], ["width"]),
        (["run", "--objective-kind", "min"], ["ensemble"]),
        (["run", "--optimizer", "cma_es", "--steps", "3"], ["--steps", "cma_es"]),
        (["run", "--steps", "3", "-O", "steps=4"], ["contradicts"]),
        (["run", "--config", "/no/such/spec.yaml"], ["/no/such/spec.yaml"]),
        (["run", "--config", "{tmp}/bad.yaml:[a, b"], ["bad.yaml"]),
        (["run", "--config", "{tmp}/bad.yaml:colour: red"], ["colour"]),
        (["run", "--config", "{tmp}/bad.yaml:k: many"], ["k must be an integer"]),
        (["run", "--threads", "0"], ["--threads"]),
        (["compare", "--surrogates", "mlp", "--seeds", "x"], ["--seeds"]),
        (["compare", "--surrogates", "mlp,mlp+min"], ["ensemble"]),
        (["sweep", "/no/such/sweep.yaml"], ["does not exist"]),
        (["leaderboard", "{tmp}"], ["no readable finished studies"]),
        (["report", "{tmp}"], ["no run folders"]),
        (["nope"], ["invalid choice"]),
    ],
)
def test_bad_input_exits_2_with_one_line_and_runs_nothing(argv, words, tmp_path, capsys):
    argv = list(argv)
    for i, a in enumerate(argv):
        if a.startswith("{tmp}/bad.yaml:"):
            argv[i] = _bad_config(tmp_path, a.split(":", 1)[1])
        else:
            argv[i] = a.replace("{tmp}", str(tmp_path))
    assert main([*argv, "--quiet"] if argv[0] in ("run", "compare") else argv) == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing ran, nothing announced
    assert err.startswith("mbo: error: ") and err.count("\n") == 1, err
    for w in words:
        assert w in err, (w, err)


def test_bad_thread_environment_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("MBO_THREADS", "many")
    assert main(["run", "--quiet"]) == 2
    assert "MBO_THREADS" in capsys.readouterr().err


def test_run_refuses_an_existing_run_folder_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", *TINY, "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["run", *TINY, "--seed", "1", "--out", str(out), "--quiet"]) == 2
    out_text, err = capsys.readouterr()
    assert "--overwrite" in err and out_text == ""
    assert StudySpec.from_file(out / "spec.yaml").seed == 0
    (out / "stale.txt").write_text("from the earlier run")
    assert main(["run", *TINY, "--seed", "1", "--out", str(out), "--quiet", "--overwrite"]) == 0
    assert StudySpec.from_file(out / "spec.yaml").seed == 1 and not (out / "stale.txt").exists()
    # a folder that holds something else is never replaced
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("keep me")
    assert main(["run", *TINY, "--out", str(other), "--overwrite", "--quiet"]) == 2
    assert (other / "todo.txt").read_text() == "keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_demo_refuses_an_explicit_folder_with_runs(tmp_path, capsys):
    (tmp_path / "control").mkdir()
    (tmp_path / "control" / "summary.json").write_text("{}")
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--overwrite" in err
    assert not (tmp_path / "fooled").exists()  # checked before either study ran


def test_leaderboard_leaves_the_compare_outputs_alone(tmp_path, capsys):
    argv = ["compare", "--surrogates", "mlp,linear", "--seeds", "0", *TINY]
    assert main([*argv, "--out", str(tmp_path), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert {"compare.csv", "compare.md", "compare.png"} <= set(before)
    assert main(["leaderboard", str(tmp_path)]) == 0
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before
    written = {p.name for p in (tmp_path / "leaderboard").iterdir()}
    assert written == {
        "leaderboard.md",
        "leaderboard.csv",
        "leaderboard-discriminative.csv",
        "leaderboard-ascent.csv",
        "leaderboard-stages.csv",
        "leaderboard-runs.csv",
    }
    assert "wrote" in capsys.readouterr().out


def test_thread_policy_flag_then_environment_then_default(monkeypatch):
    for var in THREAD_ENV:
        monkeypatch.delenv(var, raising=False)
    assert resolve_threads() == DEFAULT_THREADS == 1
    monkeypatch.setenv("MKL_NUM_THREADS", "4")
    assert resolve_threads() == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "3,1")
    assert resolve_threads() == 3
    monkeypatch.setenv("MBO_THREADS", "2")
    assert resolve_threads() == 2 and resolve_threads(5) == 5
    monkeypatch.setenv("MBO_THREADS", "0")
    with pytest.raises(ValueError, match="MBO_THREADS"):
        resolve_threads()
    with pytest.raises(ValueError, match="--threads"):
        resolve_threads(-1)
    before = torch.get_num_threads()
    with thread_policy(3) as n:
        assert n == 3 and torch.get_num_threads() == 3
    assert torch.get_num_threads() == before


def test_executors_apply_the_same_policy(monkeypatch):
    from mbo.sweeps.executors import LocalExecutor, _pinned

    for var in THREAD_ENV:
        monkeypatch.delenv(var, raising=False)

    def threads(item, n):
        return {"torch": torch.get_num_threads(), "given": n}

    before = torch.get_num_threads()
    assert dict(LocalExecutor(workers=1).map_unordered(threads, [0]))[0] == {
        "torch": 1,
        "given": 1,
    }
    monkeypatch.setenv("MBO_THREADS", "2")
    assert LocalExecutor(workers=1).threads == 2
    assert dict(LocalExecutor(workers=1, threads=3).map_unordered(threads, [0]))[0]["torch"] == 3
    assert torch.get_num_threads() == before  # the caller's setting is restored
    try:
        assert _pinned(threads, 0, 2) == {"torch": 2, "given": 2}  # a worker process's side
    finally:
        torch.set_num_threads(before)
