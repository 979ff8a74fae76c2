"""Ehrlich functions: construction, the closed-form oracle, the domain, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from domains.ehrlich import ASCENT, PRESETS, EhrlichDomain, EhrlichFunction
from mbo.registry import DOMAINS

ROOT = Path(__file__).resolve().parents[1]
TARGET = "domains.ehrlich:EhrlichDomain"

CONFIGS = [
    {"v": 32, "length": 32, "c": 4, "k": 4},
    {"v": 32, "length": 128, "c": 4, "k": 4, "q": 2},
    {"v": 32, "length": 256, "c": 4, "k": 8, "q": 4},
    {"v": 20, "length": 8, "c": 2, "k": 2},
    {"v": 4, "length": 16, "c": 2, "k": 3, "epistasis": 2.5},
    {"v": 2, "length": 6, "c": 3, "k": 2},
    {"v": 8, "length": 5, "c": 1, "k": 1},
]


def _brute_counts(f: EhrlichFunction, row: np.ndarray) -> list[int]:
    """The most motif elements present at one position, one plain loop per motif."""
    out = []
    for motif, off in zip(f.motifs, f.offsets, strict=True):
        best = 0
        for start in range(f.length - int(off[-1])):
            best = max(best, sum(int(row[start + o] == a) for o, a in zip(off, motif, strict=True)))
        out.append(best)
    return out


# --- construction ----------------------------------------------------------------------------
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
def test_constructed_optimum_scores_exactly_one(cfg):
    for seed in (0, 1, 7):
        f = EhrlichFunction(**cfg, seed=seed)
        x = f.optimum[None]
        assert f.feasible(x)[0]
        assert f(x)[0] == 1.0  # exactly, not approximately
        assert (f.motif_counts(x)[0] == f.k).all()


def test_transition_matrix_is_sparse_banded_and_ergodic():
    f = EhrlichFunction(v=32, length=32, c=4, k=4, seed=3)
    a = f.transition
    np.testing.assert_allclose(a.sum(1), 1.0)
    assert (np.diag(a) > 0).all()  # a repeat is always allowed
    band = int(0.4 * 32)
    n_allowed = f.allowed.sum(1)
    # a permuted row of the circulant band, plus the diagonal when it fell outside the band
    assert set(n_allowed.tolist()) <= {2 * band + 1, 2 * band + 2}
    assert (~f.allowed).sum() > 0
    # ergodic: some power of A is strictly positive (Wielandt's bound (v-1)^2 + 1)
    p = np.linalg.matrix_power(f.transition, (32 - 1) ** 2 + 1)
    assert (p > 0).all()
    np.testing.assert_allclose(f.stationary @ a, f.stationary, atol=1e-10)
    # the motifs, read one after the other, are a DMP path: every transition allowed
    chain = f.motifs.reshape(-1)
    assert f.allowed[chain[:-1], chain[1:]].all()
    # every motif fits and all of them fit side by side
    spans = f.offsets[:, -1] + 1
    assert (np.diff(f.offsets, axis=1) >= 1).all() and spans.sum() <= f.length


def test_same_seed_same_function_in_another_process():
    code = (
        "import json; from domains.ehrlich import EhrlichDomain as D;"
        "d = D(seed=5); f = d.function;"
        "print(json.dumps({'motifs': f.motifs.tolist(), 'offsets': f.offsets.tolist(),"
        " 'banned': (~f.allowed).nonzero()[0].tolist(),"
        " 'ref': d.reference_data().designs[:5].tolist()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    there = json.loads(out.stdout)
    d = EhrlichDomain(seed=5)
    f = d.function
    assert there["motifs"] == f.motifs.tolist()
    assert there["offsets"] == f.offsets.tolist()
    assert there["banned"] == (~f.allowed).nonzero()[0].tolist()
    assert there["ref"] == d.reference_data().designs[:5].tolist()
    assert EhrlichDomain(seed=6).function.motifs.tolist() != f.motifs.tolist()


# --- the oracle -------------------------------------------------------------------------------
def test_one_banned_transition_makes_a_sequence_infeasible():
    d = EhrlichDomain()
    f = d.function
    for base in (d.optimal_solution(), d.sample(1, seed=3)[0]):
        x = base.copy()
        t = f.length - 2  # change the last state only: exactly one transition changes
        x[t + 1] = np.flatnonzero(~f.allowed[x[t]])[0]
        assert f.banned_steps(x[None]).sum() == 1
        assert np.isfinite(d.oracle(base[None])[0])
        assert np.isnan(d.oracle(x[None])[0])
        assert not d.design_columns(x[None])["feasible"][0]
        # infeasible, not an oracle error
        res = d.oracle.query(x[None])
        assert not res.error.any()


def test_states_out_of_range_score_nan_and_encode_rejects_them():
    f = EhrlichFunction()
    x = f.optimum[None].copy()
    x[0, 3] = f.v
    assert np.isnan(f(x)[0])
    with pytest.raises(ValueError, match="outside"):
        EhrlichDomain().encode(x)


def test_motif_counts_match_a_brute_force_search():
    f = EhrlichFunction(v=6, length=24, c=3, k=4, seed=2)
    rng = np.random.default_rng(0)
    x = np.concatenate([f.sample(20, rng), rng.integers(0, f.v, (20, f.length))])
    counts, where = f.motif_counts(x)
    for i, row in enumerate(x):
        assert counts[i].tolist() == _brute_counts(f, row)
        for m in range(f.c):  # ``where`` is a best position
            at = row[where[i, m] + f.offsets[m]]
            assert (at == f.motifs[m]).sum() == counts[i, m]


@pytest.mark.parametrize("k,q", [(4, 4), (4, 2), (8, 4), (8, 2), (6, 3), (6, 1)])
def test_quantization_gives_only_the_allowed_levels(k, q):
    f = EhrlichFunction(v=4, length=64, c=2, k=k, q=q, seed=1)
    levels = f.quantize(np.arange(k + 1))
    # counts are floored to multiples of k / q, then scaled: levels j / q
    expected = np.floor(np.arange(k + 1) / (k // q)) / q
    np.testing.assert_array_equal(levels, expected)
    rng = np.random.default_rng(0)
    x = np.concatenate([f.sample(500, rng), rng.integers(0, f.v, (500, f.length))])
    h = f.quantize(f.motif_counts(x)[0])
    assert set(np.unique(h)) <= {j / q for j in range(q + 1)}
    y = f(x)
    products = {a * b for a in np.arange(q + 1) / q for b in np.arange(q + 1) / q}
    assert set(y[np.isfinite(y)].tolist()) <= products


def test_unquantized_by_default():
    f = EhrlichFunction(v=4, length=16, c=1, k=4)
    assert f.q == 4
    np.testing.assert_array_equal(f.quantize(np.arange(5)), np.arange(5) / 4)


def test_oracle_on_ten_thousand_sequences_is_one_batched_call(monkeypatch):
    d = EhrlichDomain()
    x = d.sample(10_000, seed=11)
    x = x[np.unique(x, axis=0, return_index=True)[1]]  # distinct: every one is a cache miss
    calls: list[int] = []
    searches: list[int] = []
    original = EhrlichFunction.values
    search = EhrlichFunction.motif_counts

    def counted(self, batch):
        calls.append(len(batch))
        return original(self, batch)

    def counted_search(self, batch):
        searches.append(len(batch))
        return search(self, batch)

    monkeypatch.setattr(EhrlichFunction, "values", counted)
    monkeypatch.setattr(EhrlichFunction, "motif_counts", counted_search)
    y = d.oracle(x)
    assert calls == [len(x)] and searches == [len(x)] and len(x) > 9_900
    assert d.oracle.counts()["calls"] == 1 and d.oracle.counts()["evaluations"] == len(x)
    assert np.isfinite(y).all() and ((0 <= y) & (y <= 1)).all()
    # the batch gives each sequence the value it gets alone
    for i in (0, 17, len(x) - 1):
        assert original(d.function, x[i : i + 1])[0] == y[i]
    d.oracle(x)  # cached now: the function is not called again
    assert len(calls) == 1


def test_epistasis_response_as_defined():
    base = EhrlichFunction(v=8, length=24, c=2, k=4, seed=4)
    epi = EhrlichFunction(v=8, length=24, c=2, k=4, epistasis=2.0, seed=4)
    assert epi.motifs.tolist() == base.motifs.tolist()  # e does not change the instance
    h = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(epi.response(h), h * (1 + 2.0 * h * (h - 1)))
    np.testing.assert_allclose(epi.response(h), [0.0, 0.15625, 0.25, 0.46875, 1.0])
    np.testing.assert_array_equal(base.response(h), h)
    assert EhrlichFunction(v=8, length=24, c=2, k=4, epistasis=4.0).response(0.5) == 0.0

    x = base.sample(2000, np.random.default_rng(0))
    x = np.concatenate([x, base.optimum[None]])
    hq = base.quantize(base.motif_counts(x)[0])
    np.testing.assert_allclose(epi(x), (hq * (1 + 2.0 * hq * (hq - 1))).prod(1))
    np.testing.assert_allclose(base(x), hq.prod(1))
    partial = ((hq > 0) & (hq < 1)).any(1) & (hq > 0).all(1)
    whole = ((hq == 0) | (hq == 1)).all(1)
    assert partial.sum() > 100 and whole.any()
    assert (epi(x)[partial] < base(x)[partial]).all()  # partial motifs are penalised
    np.testing.assert_array_equal(epi(x)[whole], base(x)[whole])
    assert epi(epi.optimum[None])[0] == 1.0


# --- the domain -------------------------------------------------------------------------------
def test_reference_samples_are_all_feasible_and_labelled():
    for opts in ({}, {"preset": "ehrlich-control"}, {"preset": "ehrlich-128", "n_reference": 300}):
        d = EhrlichDomain(**opts)
        ref = d.reference_data()
        assert d.function.feasible(ref.designs).all()
        assert np.isfinite(ref.y).all() and ((0 <= ref.y) & (ref.y <= 1)).all()
        np.testing.assert_array_equal(ref.y, d.function(ref.designs))
        assert len(np.unique(ref.designs, axis=0)) == len(ref) == d.n_reference
        assert len(np.unique(ref.y)) >= 3  # a spread of scores, not all zeros
        x = d.sample(500, seed=1)
        assert d.function.feasible(x).all()


def test_small_space_keeps_what_it_can():
    d = EhrlichDomain(v=2, length=4, c=2, k=2, n_reference=100)
    ref = d.reference_data()
    assert len(ref) <= 16 and d.data_report_["short_of_n_reference"] == 100 - len(ref)


def test_offline_split_hides_the_top_share():
    d = EhrlichDomain()
    ref, off = d.reference_data(), d.offline()
    assert len(off) == int(0.9 * len(ref))
    assert off.y.max() <= np.sort(ref.y)[len(off)]
    assert d.normalize(ref.y).min() == 0 and d.normalize(ref.y).max() == 1


def test_encode_decode_and_strings_round_trip():
    d = EhrlichDomain()
    x = d.sample(5, seed=2)
    logits = d.encode(x)
    assert logits.shape == (5, 32, 32) and logits.dtype == torch.float32
    np.testing.assert_array_equal(d.decode(logits), x)
    strings = d.design_columns(x)["sequence"]
    assert all(len(s) == 32 for s in strings)
    np.testing.assert_array_equal(d.as_sequences(strings), x)
    np.testing.assert_array_equal(d.decode(d.encode(strings)), x)
    hard = d.space.features(logits, hard=True)
    soft = d.space.features(logits)
    assert float((hard - soft).abs().max()) < 0.01


def test_design_columns_and_bound():
    d = EhrlichDomain()
    x = np.stack([d.optimal_solution(), d.sample(1, seed=4)[0]])
    cols = d.design_columns(x)
    assert cols["feasible"].tolist() == [True, True]
    for i in range(d.c):
        assert cols[f"motif{i}"][0] == 1.0 and cols[f"motif{i}_q"][0] == 1.0
    assert cols["motifs_complete"][0] == d.c and cols["motif_mean"][0] == 1.0
    assert set(d.summary_columns) <= set(cols)
    np.testing.assert_array_equal(d.upper_bound(x), [1.0, 1.0])
    assert d.oracle(x)[0] == 1.0


def test_draw_returns_a_figure_and_render_writes_a_png(tmp_path):
    from matplotlib.figure import Figure

    d = EhrlichDomain()
    x = np.stack([d.optimal_solution(), d.sample(1, seed=4)[0]])
    x[1, -1] = np.flatnonzero(~d.function.allowed[x[1, -2]])[0]  # one banned transition
    fig = d.draw(x, ["optimum", "broken"])
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    path = tmp_path / "designs.png"
    assert d.render_designs(x, ["optimum", "broken"], str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="labels"):
        d.draw(x, ["one"])


@pytest.mark.parametrize(
    "opts,name",
    [
        ({"v": True}, "v"),
        ({"v": 3.5}, "v"),
        ({"v": "32"}, "v"),
        ({"v": 1}, "v"),
        ({"length": 8.25}, "length"),
        ({"length": 15}, "length"),  # < c * k: the motifs cannot all fit
        ({"c": 0}, "c"),
        ({"k": False}, "k"),
        ({"q": 3}, "q"),  # does not divide k = 4
        ({"q": 5}, "q"),
        ({"epistasis": 4.5}, "epistasis"),
        ({"epistasis": -0.1}, "epistasis"),
        ({"epistasis": True}, "epistasis"),
        ({"seed": -1}, "seed"),
        ({"seed": 0.5}, "seed"),
        ({"n_reference": 1}, "n_reference"),
        ({"n_reference": 100.5}, "n_reference"),
        ({"offline_fraction": 0.0}, "offline_fraction"),
        ({"offline_fraction": True}, "offline_fraction"),
        ({"workers": True}, "workers"),
        ({"logit_bound": 0}, "logit_bound"),
        ({"preset": "nope"}, "preset"),
    ],
)
def test_bad_options_give_one_line_errors(opts, name):
    with pytest.raises(ValueError) as err:
        DOMAINS.make(TARGET, **opts)
    msg = str(err.value)
    assert "\n" not in msg and name in msg


@pytest.mark.parametrize(
    "opts",
    [
        {"v": 32.0},
        {"length": 32.0},
        {"c": 4.0},
        {"k": 4.0},
        {"q": 2.0},
        {"seed": 1.0},
        {"n_reference": 50.0},
        {"workers": 0.0},
        {"chunk_size": 64.0},
        {"v": np.float64(20), "preset": "ehrlich-control"},
    ],
    ids=lambda o: next(iter(o)),
)
def test_integral_floats_are_refused_like_other_domains(opts):
    """The rule of ``domains._options.integer``: an integer option takes no float, even an
    integral one, and a preset does not silently replace it."""
    name = next(iter(opts))
    with pytest.raises(ValueError, match=f"^{name} must be an integer") as err:
        EhrlichDomain(**opts)
    assert "\n" not in str(err.value)


def test_numpy_integers_are_accepted():
    d = EhrlichDomain(v=np.int64(20), length=np.int32(8), c=2, k=2, n_reference=np.int64(50))
    assert (d.v, d.length, d.c, d.k, d.n_reference) == (20, 8, 2, 2, 50)
    assert isinstance(d.v, int) and isinstance(d.n_reference, int)
    with pytest.raises(ValueError, match="^v must be an integer"):
        EhrlichFunction(v=32.0)  # the function itself checks the same way


def test_presets_and_explicit_options():
    import inspect

    from domains.ehrlich import BASE

    params = inspect.signature(EhrlichDomain).parameters
    assert {key: params[key].default for key in BASE} == BASE
    assert EhrlichDomain(preset="ehrlich-128").length == 128
    assert EhrlichDomain(preset="ehrlich-128", length=64).length == 64
    # the registry drops options equal to the defaults from study ids: they must be real
    assert DOMAINS.canonical(TARGET, {"n_reference": 2000, "v": 32, "seed": 0}) == {}
    control = EhrlichDomain(preset="ehrlich-control")
    assert (control.v, control.length, control.c, control.k, control.q) == (20, 8, 2, 2, 2)
    assert control.default_offline_fraction == PRESETS["ehrlich-control"]["offline_fraction"]
    default = EhrlichDomain()
    assert default.name == EhrlichDomain(preset="ehrlich").name == "ehrlich-v32-L32-c4-k4-q4"
    # the default task: Stanton et al.'s ehrlich-32 function and the same data as before;
    # only the ascent horizon is the domain's own (plain steps, see ASCENT)
    assert (default.v, default.length, default.c, default.k, default.q) == (32, 32, 4, 4, 4)
    assert default.epistasis == 0.0 and default.n_reference == 2000
    assert default.default_offline_fraction == 0.9
    assert ASCENT == {"method": "gd", "lr": 200.0, "steps": 200}
    assert default.optimizer_defaults == {"gradient_ascent": ASCENT}
    # the control runs the very same ascent: only its function and data differ
    assert control.optimizer_defaults == default.optimizer_defaults
    info = default.describe()
    assert info["L"] == 32 and info["v"] == 32 and info["upper_bound"] == 1.0
    optimum = default.design_columns(default.optimal_solution()[None])["sequence"][0]
    assert info["optimum"] == optimum


def test_default_ascent_changes_only_tokens_with_a_large_predicted_gain(one_thread):
    """Why the default ascent is plain steps (``ASCENT``), not Adam: on the saturated logits
    of ``encode``, Adam changes every token the objective prefers changed at about the same
    step, however small the gain; plain steps of ``ASCENT`` change a token only where the gain
    is large (it closes the logit gap after about ``e^10 / (2 lr gain)`` steps). No oracle."""
    from mbo.registry import OPTIMIZERS

    d = EhrlichDomain()
    x = d.sample(4, seed=3)
    target = torch.as_tensor((x + 1) % d.v)  # per position, a state other than the start's
    gain = torch.where(torch.arange(d.length) % 2 == 0, 1.0, 0.05)  # even: large, odd: small

    def objective(logits):
        p = d.space.features(logits).reshape(len(logits), d.length, d.v)
        return (gain * p.gather(-1, target[..., None].to(logits.device))[..., 0]).sum(1)

    def changed(**options):
        run = OPTIMIZERS.make("gradient_ascent", **options).run(objective, d.encode(x), d.space)
        return torch.as_tensor(d.decode(run.final)) != torch.as_tensor(x)

    plain = changed(**d.optimizer_defaults["gradient_ascent"])
    assert plain[:, 0::2].all() and not plain[:, 1::2].any()
    adam = changed(method="adam", steps=ASCENT["steps"])  # the design-baselines step size
    assert adam.all()


def test_oracle_with_worker_processes_matches_serial():
    d = EhrlichDomain(workers=2, chunk_size=50)
    x = d.sample(200, seed=9)
    try:
        np.testing.assert_array_equal(d.oracle(x), d.function(x))
    finally:
        d.close()


# --- end to end -------------------------------------------------------------------------------
def test_tiny_study_end_to_end(tmp_path, one_thread):
    from mbo import StudySpec, run_study

    spec = StudySpec(
        domain=TARGET,
        domain_options={"n_reference": 200},
        surrogate="mlp",
        surrogate_options={"width": 32, "epochs": 5},
        optimizer_options={"steps": 20, "checkpoint_every": 10},
        k=8,
    )
    result = run_study(spec, out_dir=tmp_path / "run")
    s = result.summary
    assert s["k"] == 8 and s["steps"] == 20 and s["domain"] == "ehrlich-v32-L32-c4-k4-q4"
    # the domain's ascent, with the spec's own options on top
    assert s["optimizer_options"] == {**ASCENT, "steps": 20, "checkpoint_every": 10}
    assert 0.0 <= s["invalid_rate"] <= 1.0 and s["feasible_start_mean"] == 1.0
    assert {"sequence", "feasible", "motif0", "motif0_q", "motifs_complete"} <= set(result.table)
    start = result.table[(result.table.arm == "ascent") & (result.table.step == 0)]
    assert start["valid"].all() and (start["bound"] == 1.0).all()
    assert (tmp_path / "run" / "summary.json").exists()


def test_the_registry_presets_are_the_domain_presets():
    """mbo/registry.py states ehrlich-control's options (so ids compare resolved options); they
    must be exactly the domain's own preset."""
    for name in ("ehrlich", "ehrlich-control"):
        stated = DOMAINS.entry(name).preset
        assert stated == {k: v for k, v in PRESETS[name].items() if k in stated}, name
        assert (
            DOMAINS.make(name, n_reference=50).name
            == EhrlichDomain(preset=name, n_reference=50).name
        )
