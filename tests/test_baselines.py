"""Baseline optimizers (CMA-ES, random search, BO-qEI, D(best)) against the same objective."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import FAST

from domains import BoxSpace, CategoricalSpace, Oracle
from mbo import CMAES, BOqEI, DBest, RandomSearch, StudySpec, run_study
from mbo.cli import main
from mbo.optimizers import Optimizer
from mbo.optimizers._base import draw_seed, merge_top_k

D = 3
SPACE = BoxSpace(-5 * torch.ones(D), 5 * torch.ones(D))
OPT = torch.tensor([1.0, -2.0, 0.5])
LOC, SCALE = torch.zeros(D), 2 * torch.ones(D)


def quadratic(x):
    """A concave quadratic with its maximum 0 at ``OPT``, inside ``SPACE``."""
    return -((x - OPT) ** 2).sum(-1)


def starts(k=6, seed=0):
    return SPACE.sample(k, torch.Generator().manual_seed(seed))


#: small, fast configurations of every baseline
SMALL_BO = {"iterations": 4, "q": 4, "num_restarts": 2, "raw_samples": 32, "maxiter": 30}


def small(name):
    return {
        "cma_es": lambda: CMAES(generations=40),
        "random_search": lambda: RandomSearch(n_samples=600, batch_size=60),
        "bo_qei": lambda: BOqEI(**SMALL_BO),
        "dbest": DBest,
    }[name]()


@pytest.fixture(autouse=True)
def _threads(one_thread):
    yield


@pytest.mark.parametrize("name", ["cma_es", "random_search", "bo_qei"])
def test_baselines_improve_the_objective_and_stay_feasible(name):
    x0 = starts()
    traj = small(name).run(quadratic, x0, SPACE, LOC, SCALE)
    c, k = len(traj.steps), x0.shape[0]
    assert traj.steps[0] == 0 and traj.x.shape == (c, k, D) and traj.objective.shape == (c, k)
    assert traj.x.dtype == torch.float32 and traj.x.device.type == "cpu"
    assert torch.equal(traj.x[0], x0)  # step 0 is the start designs exactly
    assert torch.allclose(traj.objective, quadratic(traj.x))  # the recorded value is f(x)
    assert bool((traj.x >= SPACE.lower).all() and (traj.x <= SPACE.upper).all())
    assert traj.objective[-1].mean() > traj.objective[0].mean()
    # the kept designs only get better (best-so-far / top-K of everything seen)
    assert bool((traj.objective[-1].sort().values >= traj.objective[0].sort().values).all())
    best = traj.objective[-1].max().item()
    assert best > {"cma_es": -1e-4, "random_search": -1.0, "bo_qei": -0.5}[name]


@pytest.mark.parametrize("name", ["cma_es", "random_search", "bo_qei"])
def test_projection_keeps_designs_in_the_box(name):
    def linear(x):  # unbounded above: every optimizer runs into the box's corner
        return x @ torch.tensor([1.0, -1.0, 2.0])

    opt = {"bo_qei": BOqEI(**{**SMALL_BO, "iterations": 2})}.get(name) or small(name)
    traj = opt.run(linear, starts(), SPACE, LOC, SCALE)
    assert bool((traj.x >= SPACE.lower).all() and (traj.x <= SPACE.upper).all())
    assert traj.objective[-1].mean() > traj.objective[0].mean()


@pytest.mark.parametrize("name", ["cma_es", "random_search", "bo_qei"])
def test_same_seed_same_trajectory_other_seed_differs(name):
    def run(seed):
        torch.manual_seed(seed)
        opt = BOqEI(**{**SMALL_BO, "iterations": 2}) if name == "bo_qei" else small(name)
        return opt.run(quadratic, starts(), SPACE, LOC, SCALE)

    a, b, c = run(1), run(1), run(2)
    assert a.steps == b.steps and torch.equal(a.x, b.x) and torch.equal(a.objective, b.objective)
    assert not torch.equal(a.x, c.x)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: CMAES(generations=-1), "generations"),
        (lambda: CMAES(popsize=1), "popsize"),
        (lambda: CMAES(sigma0=0.0), "sigma0"),
        (lambda: CMAES(diagonal="yes"), "diagonal"),
        (lambda: CMAES(checkpoint_every=0), "checkpoint_every"),
        (lambda: RandomSearch(n_samples=-5), "n_samples"),
        (lambda: RandomSearch(batch_size=0), "batch_size"),
        (lambda: RandomSearch(checkpoint_every=0.5), "checkpoint_every"),
        (lambda: BOqEI(iterations=-1), "iterations"),
        (lambda: BOqEI(q=0), "q must be"),
        (lambda: BOqEI(num_restarts=8, raw_samples=4), "raw_samples"),
        (lambda: BOqEI(max_train=1), "max_train"),
        (lambda: BOqEI(n_init=1.5), "n_init"),
    ],
)
def test_bad_options_get_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_optimizer_options_in_a_spec_get_clear_errors():
    with pytest.raises(ValueError, match="generations"):
        StudySpec.from_dict(
            {**FAST, "optimizer": "cma_es", "optimizer_options": {"generations": -2}}
        )
    with pytest.raises(ValueError, match="unknown option.*'steps'.*'dbest'"):
        StudySpec.from_dict({**FAST, "optimizer": "dbest", "optimizer_options": {"steps": 3}})


def test_cma_es_evaluates_all_populations_in_one_batch_per_generation():
    calls = []

    def counting(x):
        calls.append(x.shape[0])
        return quadratic(x)

    k, generations, popsize = 5, 7, 6
    traj = CMAES(generations=generations, popsize=popsize).run(
        counting, starts(k), SPACE, LOC, SCALE
    )
    assert calls == [k] + [k * popsize] * generations  # the starts, then one call per generation
    assert traj.steps == list(range(generations + 1))
    # default budget: about 200 evaluations per design, like 200 gradient steps
    calls.clear()
    CMAES(popsize=20, checkpoint_every=4).run(counting, starts(2), SPACE)
    assert len(calls) == 1 + 10 and sum(calls[1:]) == 2 * 200


def test_cma_es_matches_plain_cma_on_one_design():
    import cma

    x0 = starts(1)
    torch.manual_seed(3)
    traj = CMAES(generations=25, sigma0=0.4).run(quadratic, x0, SPACE)
    torch.manual_seed(3)
    seed = draw_seed()  # CMAES draws one seed per design from torch's RNG, first thing
    es = cma.CMAEvolutionStrategy(
        x0[0].double().numpy(), 0.4, {"seed": seed, "bounds": [-5, 5], "verbose": -9}
    )
    best = [quadratic(x0).item()]
    for _ in range(25):
        xs = es.ask()
        v = quadratic(torch.as_tensor(np.stack(xs), dtype=torch.float32))
        es.tell(xs, (-v.double()).tolist())
        best.append(max(best[-1], v.max().item()))
    assert traj.objective[:, 0].tolist() == best  # the same samples, step by step
    assert np.allclose(traj.x[-1, 0].numpy(), es.result.xbest, atol=1e-6)


def test_cma_es_is_separable_in_high_dimension():
    space = CategoricalSpace(length=11, vocab_size=10)  # 110 logits > 100: diagonal
    w = torch.randn(space.dim, generator=torch.Generator().manual_seed(0))
    x0 = space.sample(3, torch.Generator().manual_seed(1))
    traj = CMAES(generations=3).run(lambda x: space.features(x) @ w, x0, space)
    assert traj.objective[-1].mean() > traj.objective[0].mean()
    assert bool((traj.x.abs() <= space.logit_bound).all())


def test_dbest_returns_exactly_the_starts():
    x0 = starts()
    traj = DBest().run(quadratic, x0, SPACE, LOC, SCALE)
    assert traj.steps == [0] and torch.equal(traj.x[0], x0) and torch.equal(traj.final, x0)
    assert torch.equal(traj.objective[0], quadratic(x0))


def test_merge_top_k_keeps_survivors_in_their_slots():
    x = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    v = torch.tensor([0.0, 1.0, 2.0, 3.0])
    new_x = torch.tensor([[10.0], [20.0], [30.0]])
    new_v = torch.tensor([10.0, float("nan"), 0.5])
    x2, v2 = merge_top_k(x, v, new_x, new_v)
    assert v2.tolist() == [10.0, 1.0, 2.0, 3.0] and x2.flatten().tolist() == [10.0, 1, 2, 3]


def test_categorical_space_samples_uniform_tokens_as_logits():
    space = CategoricalSpace(length=5, vocab_size=4, logit_bound=6.0)
    x = space.sample(200, torch.Generator().manual_seed(0))
    assert x.shape == (200, 5, 4) and x.dtype == torch.float32
    assert set(x.unique().tolist()) == {-3.0, 3.0}
    assert bool(((x == 3.0).sum(-1) == 1).all())
    counts = torch.bincount(x.argmax(-1).flatten(), minlength=4)
    assert counts.min() > 150  # 1000 tokens over 4 values


@pytest.mark.parametrize("name", ["random_search", "bo_qei", "cma_es"])
def test_baselines_on_a_tiny_categorical_space(name):
    space = CategoricalSpace(length=3, vocab_size=4, logit_bound=4.0)
    w = torch.tensor([-1.0, 0.0, 0.5, 2.0]).repeat(3)  # token 3 at every position is best
    objective = lambda x: space.features(x) @ w  # noqa: E731
    x0 = space.sample(4, torch.Generator().manual_seed(0))
    opt = {
        "random_search": RandomSearch(n_samples=200, batch_size=50),
        "bo_qei": BOqEI(**{**SMALL_BO, "iterations": 3}),
        "cma_es": CMAES(generations=10),
    }[name]
    traj = opt.run(objective, x0, space)
    assert torch.equal(traj.x[0], x0) and traj.x.shape[1:] == (4, 3, 4)
    assert bool((traj.x.abs() <= space.logit_bound).all())
    assert traj.objective[-1].mean() > traj.objective[0].mean()
    if name == "random_search":  # 200 uniform samples of 64 sequences find the best one
        assert bool((traj.final[traj.objective[-1].argmax()].argmax(-1) == 3).all())


@pytest.fixture
def sealed(monkeypatch):
    """Makes the oracle raise if called while an optimizer's ``run`` is on the stack."""
    state = {"optimizing": False, "calls": 0}
    orig_call = Oracle.__call__

    def call(self, designs):
        if state["optimizing"]:
            state["calls"] += 1
            raise AssertionError("an optimizer called the oracle")
        return orig_call(self, designs)

    monkeypatch.setattr(Oracle, "__call__", call)
    orig_run = Optimizer.run

    def run(self, *a, **k):
        state["optimizing"] = True
        try:
            return orig_run(self, *a, **k)
        finally:
            state["optimizing"] = False

    monkeypatch.setattr(Optimizer, "run", run)
    return state


SPEC_OPTIONS = {
    "cma_es": {"generations": 4},
    "random_search": {"n_samples": 160, "checkpoint_every": 2},
    "bo_qei": {**SMALL_BO, "iterations": 2},
    "dbest": {},
}


@pytest.mark.parametrize("name", ["cma_es", "random_search", "bo_qei", "dbest"])
def test_baselines_never_call_the_oracle_while_optimizing(name, sealed):
    spec = StudySpec.from_dict({**FAST, "optimizer": name, "optimizer_options": SPEC_OPTIONS[name]})
    res = run_study(spec)
    assert sealed["calls"] == 0
    assert res.summary["oracle_calls_while_optimizing"] == 0
    assert res.domain.oracle.n_calls == 2  # reference labeling, then the audit
    assert res.trajectory.x.shape[1] == FAST["k"]
    start = res.offline.top(FAST["k"]).x
    assert torch.equal(res.trajectory.start, start)
    if name == "dbest":
        assert res.trajectory.steps == [0] and res.summary["steps"] == 0
        assert res.summary["predicted_mean"] == res.summary["predicted_start_mean"]
        assert res.summary["unchanged_rate"] == 1.0


@pytest.mark.parametrize(
    "name, options",
    [
        ("cma_es", ["generations=3", "popsize=6", "sigma0=0.3"]),
        ("random_search", ["n_samples=64", "batch_size=16"]),
        ("bo_qei", ["iterations=1", "q=2", "num_restarts=2", "raw_samples=16", "maxiter=20"]),
        ("dbest", []),
    ],
)
def test_baselines_run_from_the_cli(name, options, tmp_path, capsys):
    out = tmp_path / name
    argv = ["run", "--domain", "branin", "-D", "n_reference=200", "-S", "width=32"]
    argv += ["-S", "epochs=20", "--k", "8", "--optimizer", name, "--out", str(out), "--quiet"]
    for o in options:
        argv += ["-O", o]
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["optimizer"] == name and summary["oracle_calls_while_optimizing"] == 0
    assert summary["k"] == 8 and (out / "trajectory.png").exists()
    for o in options:
        key, value = o.split("=")
        assert float(summary["optimizer_options"][key]) == float(value)
