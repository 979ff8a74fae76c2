import pandas as pd
import pytest
import torch
from conftest import FAST

from mbo import StudySpec, run_study
from mbo.cli import _spec_from_args, build_parser
from mbo.study.precision import PRECISIONS, check_precision, precision_context


def test_spec_validates_precision():
    assert StudySpec().precision == "fp32"
    for p in PRECISIONS:
        assert StudySpec.from_dict({**FAST, "precision": p}).precision == p
    for bad in ("fp16", "BF16", "", None):
        with pytest.raises(ValueError, match="precision"):
            StudySpec.from_dict({**FAST, "precision": bad})
    with pytest.raises(ValueError, match="precision"):
        check_precision("fp64")


def test_cli_precision_flag():
    args = build_parser().parse_args(["run", "--domain", "branin", "--precision", "bf16"])
    assert _spec_from_args(args).precision == "bf16"
    args = build_parser().parse_args(["run", "--domain", "branin"])
    assert _spec_from_args(args).precision == "fp32"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "--precision", "fp16"])


def test_context_restores_global_state():
    tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    with precision_context("bf16", "cpu"):
        assert torch.is_autocast_enabled("cpu")
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16
        y = torch.nn.Linear(4, 3)(torch.randn(2, 4))
        assert y.dtype == torch.bfloat16
    assert not torch.is_autocast_enabled("cpu")
    with pytest.raises(RuntimeError), precision_context("bf16", "cpu"):
        raise RuntimeError("boom")
    assert not torch.is_autocast_enabled("cpu")
    # the TF32 branch flips and restores cuBLAS/cuDNN flags (settable without a GPU)
    with pytest.raises(RuntimeError), precision_context("tf32", "cuda"):
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        raise RuntimeError("boom")
    assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == tf32
    with precision_context("tf32", "cpu"):  # no TF32 on CPU: nothing changes
        assert (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32) == tf32
        assert not torch.is_autocast_enabled("cpu")


def test_objective_values_stay_float32_under_bf16():
    from mbo import SurrogateObjective
    from mbo.registry import SURROGATES

    s = SURROGATES.make("mlp", width=8, epochs=1, seed=0)
    s.fit(torch.rand(32, 2), torch.rand(32))
    f = SurrogateObjective(s.eval(), lambda x: x)
    with precision_context("bf16", "cpu"):
        assert s(torch.ones(3, 2)).dtype == torch.bfloat16  # the network runs in bf16 ...
        assert f(torch.ones(3, 2)).dtype == torch.float32  # ... its objective is float32


def test_tf32_on_cpu_equals_fp32_exactly():
    a = run_study(StudySpec.from_dict(FAST))
    b = run_study(StudySpec.from_dict({**FAST, "precision": "tf32"}))
    pd.testing.assert_frame_equal(a.table, b.table)
    assert b.summary["precision"] == "tf32"


def test_bf16_study_runs_and_is_close_to_fp32():
    a = run_study(StudySpec.from_dict(FAST)).summary
    b = run_study(StudySpec.from_dict({**FAST, "precision": "bf16"})).summary
    assert b["precision"] == "bf16"
    assert not torch.is_autocast_enabled("cpu")
    for key in ("p100", "p50", "true_mean", "predicted_mean"):
        assert abs(a[key] - b[key]) < 0.05, (key, a[key], b[key])
    assert abs(a["fooled_rate"] - b["fooled_rate"]) <= 0.125


def test_bf16_fit_trains_the_network():
    # a regression test: with autocast's cast cache on, a training loop inside one autocast
    # block keeps using the bf16 copies of the *initial* weights (flat loss, drifting weights)
    from surrogates import MLPSurrogate

    g = torch.Generator().manual_seed(0)
    x = torch.rand(256, 2, generator=g)
    y = (x**2).sum(1)
    losses = {}
    for p in ("fp32", "bf16"):
        s = MLPSurrogate(width=32, epochs=30, seed=0)
        with precision_context(p, "cpu"):
            s.fit(x, y)
        losses[p] = [h["train_loss"] for h in s.history_]
    assert losses["bf16"][-1] < 0.5 * losses["bf16"][0]
    assert abs(losses["bf16"][-1] - losses["fp32"][-1]) < 0.1 * losses["fp32"][0]
