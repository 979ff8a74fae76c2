import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import FAST

from mbo import SealedOracleError, StudySpec, run_study
from mbo.cli import main
from mbo.reporting import save_study_figures


def test_run_study_writes_a_complete_run_folder(tmp_path):
    res = run_study(StudySpec.from_dict(FAST), tmp_path / "run")
    out = res.run_dir
    save_study_figures(res, out)
    for name in (
        "spec.yaml",
        "audit.parquet",
        "summary.json",
        "curves.csv",
        "fit_history.csv",
        "trajectory.png",
        "landscape.png",
    ):
        assert (out / name).exists(), name
    table = pd.read_parquet(out / "audit.parquet")
    assert len(table) == 5 * 16 + 16
    summary = json.loads((out / "summary.json").read_text())
    for key in (
        "p100",
        "p50",
        "d_best",
        "gap",
        "fooled_rate",
        "rank_agreement",
        "true_improvement_rate",
        "invalid_rate",
        "impossible_rate",
        "gradient_advantage",
        "timings_s",
    ):
        assert key in summary
    assert summary["oracle_calls_while_optimizing"] == 0
    again = StudySpec.from_file(out / "spec.yaml")
    assert again == StudySpec.from_dict(FAST)


def test_same_seed_same_results_other_seed_differs():
    a = run_study(StudySpec.from_dict(FAST)).table
    b = run_study(StudySpec.from_dict(FAST)).table
    c = run_study(StudySpec.from_dict({**FAST, "seed": 1})).table
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["predicted"], c["predicted"])


def test_choosing_designs_never_calls_the_oracle():
    res = run_study(StudySpec.from_dict(FAST))
    # reference labeling is one call, the audit one more: nothing else touched the oracle
    assert res.domain.oracle.n_calls == 2


def test_a_surrogate_that_peeks_at_the_oracle_invalidates_the_study(monkeypatch):
    from domains.analytic import AnalyticDomain
    from surrogates.mlp import MLPSurrogate

    domains = []
    orig_init = AnalyticDomain.__init__

    def init(self, *a, **k):
        orig_init(self, *a, **k)
        domains.append(self)

    monkeypatch.setattr(AnalyticDomain, "__init__", init)
    orig_forward = MLPSurrogate.forward

    def peeking_forward(self, x):
        if not self.training and x.requires_grad:
            domains[-1].oracle(x.detach().double().numpy())
        return orig_forward(self, x)

    monkeypatch.setattr(MLPSurrogate, "forward", peeking_forward)
    with pytest.raises(SealedOracleError):
        run_study(StudySpec.from_dict(FAST))


@pytest.mark.parametrize(
    "change, match",
    [
        ({"domain": "nope"}, "unknown domain"),
        ({"surrogate": "nope"}, "unknown surrogate"),
        ({"optimizer_options": {"steps": -3}}, "steps must be a non-negative"),
        ({"k": 0}, "k must be a positive"),
        ({"offline_fraction": 1.5}, "offline_fraction"),
        ({"colour": "red"}, "unknown spec keys"),
        ({"optimizer_options": {"stepz": 3}}, "unknown option.*for optimizer"),
    ],
)
def test_bad_specs_get_clear_errors(change, match):
    with pytest.raises(ValueError, match=match):
        StudySpec.from_dict({**FAST, **change})


def test_wrong_dimension_is_a_clear_error_at_run_time():
    spec = StudySpec.from_dict({**FAST, "domain_options": {"dim": 3}})
    with pytest.raises(ValueError, match="branin is defined for dim"):
        run_study(spec)


def test_spec_files_yaml_and_toml(tmp_path):
    (tmp_path / "s.yaml").write_text("domain: ackley\ndomain_options: {dim: 3}\nseed: 4\n")
    (tmp_path / "s.toml").write_text('domain = "ackley"\nseed = 4\n[domain_options]\ndim = 3\n')
    a, b = StudySpec.from_file(tmp_path / "s.yaml"), StudySpec.from_file(tmp_path / "s.toml")
    assert a == b and a.domain_options == {"dim": 3} and a.seed == 4
    (tmp_path / "bad.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="must hold a mapping"):
        StudySpec.from_file(tmp_path / "bad.yaml")


def test_spec_checks_every_field_type_and_reads_files_raw(tmp_path):
    for bad, words in (
        ({"k": "8"}, "k must be an integer"),
        ({"k": True}, "k must be an integer"),
        ({"kappa": "high"}, "kappa must be a number"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"name": 3}, "name must be a string or none"),
        ({"offline_fraction": "half"}, "offline_fraction must be a number or none"),
        ({"objective": "max"}, "objective must be one of"),
        ({"surrogate_options": [1]}, "surrogate_options must be a mapping"),
    ):
        with pytest.raises(ValueError, match=words):
            StudySpec.from_dict({**FAST, **bad})
    assert StudySpec.from_dict({**FAST, "kappa": 2}).kappa == 2  # an int is a number
    docs = StudySpec.field_help()
    assert set(docs) == set(StudySpec.__dataclass_fields__) and all(docs.values())
    (tmp_path / "s.yaml").write_text("domain: ackley\nk: 0\n")  # invalid, yet readable
    assert StudySpec.read_file(tmp_path / "s.yaml") == {"domain": "ackley", "k": 0}
    with pytest.raises(FileNotFoundError, match="does not exist"):
        StudySpec.read_file(tmp_path / "missing.yaml")
    (tmp_path / "broken.yaml").write_text("domain: [ackley\n")
    with pytest.raises(ValueError, match="not a valid spec file"):
        StudySpec.read_file(tmp_path / "broken.yaml")


def test_cli_run_list_and_errors(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(
        [
            "run",
            "--domain",
            "ackley",
            "-D",
            "dim=3",
            "-D",
            "n_reference=150",
            "-S",
            "width=16",
            "-S",
            "epochs=5",
            "--steps",
            "10",
            "--k",
            "8",
            "--seed",
            "3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "fooled rate" in text and "D(best)" in text
    spec = StudySpec.from_file(out / "spec.yaml")
    assert spec.domain_options == {"dim": 3, "n_reference": 150} and spec.seed == 3
    assert main(["list"]) == 0
    assert "branin" in capsys.readouterr().out
    assert main(["run", "--domain", "nope", "--quiet"]) == 2
    assert "unknown domain" in capsys.readouterr().err
    assert main(["run", "--domain", "branin", "--steps", "-1", "--quiet"]) == 2


def test_cuda_device_is_refused_clearly_without_cuda():
    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(ValueError, match="CUDA is not available"):
        run_study(StudySpec.from_dict({**FAST, "device": "cuda"}))


def test_demo_shows_fooling_beside_a_working_control(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--quiet"]) == 0
    fooled = json.loads((tmp_path / "fooled" / "summary.json").read_text())
    control = json.loads((tmp_path / "control" / "summary.json").read_text())
    # fooled: prediction rises while the truth falls for most designs
    assert fooled["predicted_mean"] > fooled["predicted_start_mean"]
    assert fooled["true_mean"] < fooled["true_start_mean"]
    assert fooled["fooled_rate"] > 0.5 and fooled["gap"] > 0.2
    # control: ascent really improves the true score
    assert control["true_mean"] > control["true_start_mean"]
    assert control["true_improvement_rate"] > 0.9 and control["fooled_rate"] < 0.1
    assert (tmp_path / "control" / "landscape.png").exists()
    assert "fooled rate" in capsys.readouterr().out


def test_unchanged_designs_are_counted():
    still = run_study(StudySpec.from_dict({**FAST, "optimizer_options": {"steps": 0}}))
    assert still.summary["unchanged_rate"] == 1.0 and not still.table["changed"].any()
    moved = run_study(StudySpec.from_dict(FAST))
    assert moved.summary["unchanged_rate"] < 0.5


def test_domain_optimizer_defaults_yield_to_the_spec(monkeypatch):
    from domains.analytic import AnalyticDomain

    monkeypatch.setattr(
        AnalyticDomain, "optimizer_defaults", {"gradient_ascent": {"method": "adam", "lr": 0.3}}
    )
    res = run_study(StudySpec.from_dict(FAST))
    assert res.summary["optimizer_options"]["method"] == "adam"
    assert res.summary["optimizer_options"]["lr"] == 0.3
    spec = {**FAST, "optimizer_options": {**FAST["optimizer_options"], "method": "gd"}}
    res = run_study(StudySpec.from_dict(spec))
    assert res.summary["optimizer_options"]["method"] == "gd"
    # defaults are per optimizer: gradient ascent's never reach another optimizer
    res = run_study(StudySpec.from_dict({**FAST, "optimizer": "dbest", "optimizer_options": {}}))
    assert res.summary["optimizer_options"] == {}


def test_load_run_reopens_a_finished_study(tmp_path):
    from mbo import load_run

    res = run_study(StudySpec.from_dict(FAST), tmp_path / "r")
    again = load_run(tmp_path / "r")
    assert again.spec == res.spec and again.trajectory.steps == res.trajectory.steps
    assert torch.equal(again.trajectory.x, res.trajectory.x)
    x = res.trajectory.final
    assert torch.allclose(again.surrogate(x), res.surrogate(x))
    pd.testing.assert_frame_equal(again.table, res.table)
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        load_run(tmp_path)


def test_a_surrogate_that_peeks_while_fitting_invalidates_the_study(monkeypatch):
    from domains.analytic import AnalyticDomain
    from surrogates.mlp import MLPSurrogate

    orig_fit = MLPSurrogate.fit

    def peeking_fit(self, x, y, **kw):
        AnalyticDomain.last.oracle(x[:2].double().numpy())
        return orig_fit(self, x, y, **kw)

    orig_init = AnalyticDomain.__init__

    def init(self, *a, **k):
        orig_init(self, *a, **k)
        AnalyticDomain.last = self

    monkeypatch.setattr(AnalyticDomain, "last", None, raising=False)  # removed afterwards
    monkeypatch.setattr(AnalyticDomain, "__init__", init)
    monkeypatch.setattr(MLPSurrogate, "fit", peeking_fit)
    with pytest.raises(SealedOracleError, match="fitting or optimizing"):
        run_study(StudySpec.from_dict(FAST))
