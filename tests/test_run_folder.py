"""Run folders are data: JSON, YAML, parquet, CSV and tensors read with ``weights_only=True``."""

import json
import shutil

import pandas as pd
import pytest
import torch

from mbo import StudySpec, run_study
from mbo.cli import main
from mbo.study import load_run
from mbo.study.folder import RunFolderError

TINY = StudySpec(
    domain="branin",
    domain_options={"n_reference": 100},
    surrogate_options={"width": 16, "epochs": 3},
    optimizer_options={"steps": 5, "checkpoint_every": 5},
    k=8,
)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "tiny"
    return run_study(TINY, out_dir=out), out


@pytest.fixture
def folder(written, tmp_path):
    """A private copy of the written run folder (tests may spoil it)."""
    return shutil.copytree(written[1], tmp_path / "run")


def _strict_json(path):
    def refuse(name):
        raise ValueError(f"{path.name} holds {name}: not strict JSON")

    return json.loads(path.read_text(), parse_constant=refuse)


def test_a_tiny_study_round_trips(written):
    res, out = written
    for name in ("surrogate.json", "surrogate.pt", "trajectory.pt", "study.json", "summary.json"):
        assert (out / name).exists(), name
    meta = _strict_json(out / "surrogate.json")
    assert meta["class"] == "surrogates.mlp:MLPSurrogate"
    assert meta["params"] == res.surrogate.get_params()
    assert meta["attrs"]["n_features_in_"] == 2
    study = _strict_json(out / "study.json")
    assert study["fit_key"] == res.fit_key != ""

    again = load_run(out)
    # predictions, their gradients and the std are the original's, bit for bit
    feats = res.domain.space.features(res.trajectory.final, hard=True).requires_grad_(True)
    a, b = res.surrogate(feats), again.surrogate(feats)
    assert torch.equal(a, b)
    (ga,) = torch.autograd.grad(a.sum(), feats)
    (gb,) = torch.autograd.grad(b.sum(), feats)
    assert torch.equal(ga, gb)
    assert again.surrogate.get_params() == res.surrogate.get_params()
    assert again.surrogate.val_loss_ == res.surrogate.val_loss_
    assert again.surrogate.history_ == res.surrogate.history_
    assert not again.surrogate.training
    # what views need beside the table
    assert torch.equal(again.x_loc, res.x_loc) and torch.equal(again.x_scale, res.x_scale)
    assert (again.y_loc, again.y_scale) == (res.y_loc, res.y_scale)
    assert torch.equal(again.control, res.control)
    assert again.fit_key == res.fit_key
    assert again.trajectory.steps == res.trajectory.steps
    assert torch.equal(again.trajectory.x, res.trajectory.x)
    assert torch.equal(again.trajectory.objective, res.trajectory.objective)
    pd.testing.assert_frame_equal(again.table, res.table)
    assert again.summary == json.loads((out / "summary.json").read_text())


def test_load_run_never_unpickles(folder, monkeypatch):
    real = torch.load
    calls = []

    def checked_load(*args, **kwargs):
        assert kwargs.get("weights_only") is True, "torch.load without weights_only=True"
        calls.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", checked_load)
    load_run(folder)
    assert {p.name for p in calls} == {"surrogate.pt", "trajectory.pt"}


def test_a_folder_of_the_pickled_format_gets_a_one_line_error(folder, written):
    # what the older write_run left: a pickled module, no surrogate.json, no study.json
    torch.save(written[0].surrogate, folder / "surrogate.pt")
    (folder / "surrogate.json").unlink()
    (folder / "study.json").unlink()
    with pytest.raises(RunFolderError) as err:
        load_run(folder)
    msg = str(err.value)
    assert "\n" not in msg and "older version" in msg
    assert f"mbo run --config {folder / 'spec.yaml'} --out {folder} --overwrite" in msg


def test_the_command_line_reports_an_old_folder_in_one_line(folder, capsys):
    (folder / "surrogate.json").unlink()
    assert main(["report", str(folder), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "older version" in err and "mbo run --config" in err


@pytest.mark.parametrize("cls", ["collections:OrderedDict", "os:system", "torch.nn:Linear"])
def test_a_surrogate_json_naming_another_class_is_refused(folder, cls):
    meta = json.loads((folder / "surrogate.json").read_text())
    (folder / "surrogate.json").write_text(json.dumps({**meta, "class": cls}))
    with pytest.raises(ValueError, match="not a surrogates.Surrogate subclass") as err:
        load_run(folder)
    assert "\n" not in str(err.value)


def test_a_pickle_where_tensors_belong_is_refused(folder, written):
    torch.save(written[0].surrogate, folder / "surrogate.pt")  # a module, not tensors
    with pytest.raises(RunFolderError, match="not a file of tensors"):
        load_run(folder)


def test_rewriting_a_folder_replaces_the_old_format(folder):
    """The error message's advice works: `mbo run --config ... --out` the same folder."""
    (folder / "surrogate.json").unlink()
    (folder / "study.json").unlink()
    with pytest.raises(RunFolderError) as err:
        load_run(folder)
    advice = str(err.value).split("`")[1].split()  # mbo run --config ... --out ... --overwrite
    assert advice[:2] == ["mbo", "run"]
    assert main([*advice[1:], "--quiet"]) == 0
    assert (folder / "surrogate.json").exists() and (folder / "study.json").exists()
    load_run(folder)
