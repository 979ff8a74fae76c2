import warnings

import numpy as np
import pytest
import torch

from domains import BoxSpace, CategoricalSpace
from mbo.registry import DOMAINS


def test_registry_lists_analytic_functions():
    names = DOMAINS.names()
    for name in ("branin", "hartmann", "ackley", "rosenbrock"):
        assert name in names


@pytest.mark.parametrize(
    "name, dim, optimum_at, optimum",
    [
        ("branin", None, [np.pi, 2.275], -0.397887),
        ("hartmann", 6, [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573], 3.32237),
        ("ackley", 5, [0.0] * 5, 0.0),
        ("rosenbrock", 7, [1.0] * 7, 0.0),
    ],
)
def test_analytic_oracle_is_negated_botorch_function(name, dim, optimum_at, optimum):
    d = DOMAINS.make(name, dim=dim, n_reference=50)
    y = d.oracle(np.array([optimum_at]))
    assert y.dtype == np.float64
    assert y[0] == pytest.approx(optimum, abs=1e-4)
    assert d.optimal_value == pytest.approx(optimum, abs=1e-4)
    # every reference design scores at most the known maximum: the exact upper bound holds
    ref = d.reference_data()
    assert (ref.y <= d.upper_bound(ref.designs) + 1e-9).all()


def test_analytic_rejects_wrong_dimension_and_unknown_names():
    with pytest.raises(ValueError, match="branin is defined for dim in"):
        DOMAINS.make("branin", dim=3)
    with pytest.raises(ValueError, match="hartmann is defined for dim"):
        DOMAINS.make("hartmann", dim=5)
    with pytest.raises(ValueError, match="unknown domain"):
        DOMAINS.make("no-such-domain")
    with pytest.raises(ValueError, match="unknown option"):
        DOMAINS.make("ackley", colour="red")


def test_oracle_scores_out_of_box_and_non_finite_designs_nan():
    """A design outside the box (beyond float32-rounding slack) or with a non-finite
    coordinate is invalid: nan, not the score of the clamped corner, and not an oracle
    error."""
    d = DOMAINS.make("branin", n_reference=20)  # box [-5, 10] x [0, 15]
    corner = d.oracle(np.array([[10.0, 15.0]]))[0]
    assert np.isfinite(corner)
    designs = np.array(
        [[50.0, 99.0], [np.inf, 1.0], [-np.inf, 1.0], [np.nan, 1.0], [10.001, 15.0], [2.0, 3.0]]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no oracle error, no warning
        res = d.oracle.query(designs)
    assert np.isnan(res.values[:5]).all() and np.isfinite(res.values[5])
    assert not res.error.any() and res.invalid[:5].all()
    # within the slack (float32 rounding of a projected design) it is clamped onto the bound
    edge = np.array([[np.float32(10.0) + 1e-6, 15.0], [10.0 + 1e-5, 15.0 + 1e-5]])
    np.testing.assert_allclose(d.oracle(edge), [corner, corner])
    # the float32 bounds of the design tensor are inside (pi is not a float32 number)
    m = DOMAINS.make("botorch", function=f"{SYN}:Michalewicz", dim=2, n_reference=20)
    top = m.decode(m.space.project(torch.full((1, 2), 99.0)))
    assert top[0, 0] > np.pi and np.isfinite(m.oracle(top)).all()


def test_user_function_never_sees_invalid_designs(user_module):
    d = DOMAINS.make(
        "function", function=f"{user_module}:spy", lower=[0, 0], upper=[1, 1], n_reference=10
    )
    import userfuncs

    userfuncs.SEEN.clear()
    y = d.oracle(np.array([[0.5, 0.5], [2.0, 0.5], [np.nan, 0.5], [0.25, np.inf]]))
    assert np.isfinite(y[0]) and np.isnan(y[1:]).all()
    seen = np.concatenate(userfuncs.SEEN)
    assert np.isfinite(seen).all() and (seen >= 0).all() and (seen <= 1).all()
    # a non-finite score from the user's function is an invalid design too
    d = DOMAINS.make(
        "function", function=f"{user_module}:infinite", lower=[0], upper=[1], n_reference=10
    )
    assert np.isnan(d.oracle(np.array([[0.2], [0.7]]))).tolist() == [True, False]


@pytest.mark.parametrize(
    "name, options, dim",
    [("branin", {}, 2), ("botorch", {"function": "botorch.test_functions.synthetic:Cosine8"}, 8)],
)
def test_oracle_refuses_unbatched_and_wrong_width_designs(name, options, dim):
    d = DOMAINS.make(name, n_reference=20, **options)
    for bad, got in ((np.zeros(dim), f"({dim},)"), (np.zeros((3, dim + 1)), f"(3, {dim + 1})")):
        with pytest.raises(ValueError, match=rf"expected designs of shape \(n, {dim}\)") as err:
            d.oracle(bad)
        assert got in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ValueError, match="batch of one"):
        d.oracle.query(np.zeros(dim))
    with pytest.raises(ValueError, match="expected a batch of designs"):
        d.oracle([[1.0, "x"]])
    assert d.oracle.counts()["evaluations"] == 0  # nothing was evaluated or counted
    assert d.oracle(np.zeros((0, dim))).shape == (0,)
    with pytest.raises(ValueError, match=rf"expected designs of shape \(n, {dim}\)"):
        d.oracle._evaluate(np.zeros(dim))  # the evaluator itself refuses it too


def test_offline_top_refuses_more_designs_than_there_are():
    off = DOMAINS.make("branin", n_reference=20).offline()
    assert len(off) == 10 and len(off.top(10)) == 10
    with pytest.raises(ValueError, match="asked for the top 16 designs of an offline set of 10"):
        off.top(16)
    for bad in (0, True, 2.0, 2.5):
        with pytest.raises(ValueError, match="k must be an integer >= 1"):
            off.top(bad)


def test_reference_data_is_seeded_and_in_bounds():
    a = DOMAINS.make("ackley", dim=3, n_reference=100, seed=1).reference_data()
    b = DOMAINS.make("ackley", dim=3, n_reference=100, seed=1).reference_data()
    c = DOMAINS.make("ackley", dim=3, n_reference=100, seed=2).reference_data()
    assert np.array_equal(a.y, b.y) and not np.array_equal(a.y, c.y)
    assert torch.all(a.x >= -32.768) and torch.all(a.x <= 32.768)
    assert a.x.shape == (100, 3) and a.x.dtype == torch.float32


@pytest.mark.parametrize("fraction", [0.5, 0.2, 0.9])
def test_offline_split_hides_the_top(fraction):
    d = DOMAINS.make("hartmann", n_reference=400)
    ref, off = d.reference_data(), d.offline(fraction)
    assert len(off) == int(np.floor(fraction * len(ref)))
    hidden = np.setdiff1d(ref.y, off.y)
    assert off.y.max() <= hidden.min()
    assert ref.y.max() in hidden


def test_offline_fraction_is_validated():
    d = DOMAINS.make("branin", n_reference=20)
    with pytest.raises(ValueError, match="offline fraction"):
        d.offline(0.0)
    with pytest.raises(ValueError, match="offline fraction"):
        d.offline(1.5)


def test_normalization_uses_full_reference_min_max():
    d = DOMAINS.make("rosenbrock", dim=3, n_reference=200)
    ref, off = d.reference_data(), d.offline()
    assert d.y_min == ref.y.min() and d.y_max == ref.y.max()
    assert d.normalize(ref.y).min() == pytest.approx(0.0)
    assert d.normalize(ref.y).max() == pytest.approx(1.0)
    y = off.y[:5]
    np.testing.assert_allclose(d.normalize(y), (y - ref.y.min()) / (ref.y.max() - ref.y.min()))
    assert d.normalize(off.y).max() < 1.0  # the visible best is below the hidden best


def test_encode_decode_round_trip_and_shape_errors():
    d = DOMAINS.make("hartmann", n_reference=20)
    pts = d.reference_data().designs[:4]
    x = d.encode(pts)
    np.testing.assert_allclose(d.decode(x), pts, atol=1e-6)
    with pytest.raises(ValueError, match="expected designs of shape"):
        d.encode(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="expected design tensors of shape"):
        d.decode(torch.zeros(3, 2))


def test_box_space_projects_and_rejects_bad_bounds():
    s = BoxSpace(torch.tensor([0.0, -1.0]), torch.tensor([1.0, 1.0]))
    x = s.project(torch.tensor([[2.0, -3.0], [0.5, 0.5]]))
    assert torch.equal(x, torch.tensor([[1.0, -1.0], [0.5, 0.5]]))
    with pytest.raises(ValueError):
        BoxSpace(torch.tensor([1.0]), torch.tensor([0.0]))


def test_categorical_space_relaxed_and_hard_features():
    s = CategoricalSpace(length=3, vocab_size=4)
    logits = torch.randn(5, 3, 4)
    soft, hard = s.features(logits), s.features(logits, hard=True)
    assert soft.shape == hard.shape == (5, 12)
    assert torch.allclose(soft.view(5, 3, 4).sum(-1), torch.ones(5, 3))
    assert torch.equal(hard.view(5, 3, 4).argmax(-1), logits.argmax(-1))
    assert torch.equal(hard.view(5, 3, 4).sum(-1), torch.ones(5, 3))


# --- BoTorchDomain, FunctionDomain ---------------------------------------------------------
SYN = "botorch.test_functions.synthetic"

USER_MODULE = '''
import numpy as np
import torch

def score(x):
    """float64 (n, d) -> a torch tensor (n,)"""
    assert isinstance(x, np.ndarray) and x.dtype == np.float64
    return torch.as_tensor(x).sin().sum(-1)

def column(x):
    return x[:, :1]  # (n, 1) is accepted

def wrong_shape(x):
    return x

SEEN = []

def spy(x):
    SEEN.append(x.copy())
    return x.sum(-1)

def infinite(x):
    return np.where(x[:, 0] < 0.5, np.inf, x[:, 0])
'''


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A user's module ``userfuncs`` importable by path (also in spawned workers)."""
    (tmp_path / "userfuncs.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "userfuncs"


def test_analytic_domain_is_a_botorch_domain_by_short_name():
    from domains.analytic import AnalyticDomain, BoTorchDomain

    a = DOMAINS.make("ackley", dim=3, n_reference=50)
    b = DOMAINS.make("botorch", function=f"{SYN}:Ackley", dim=3, n_reference=50)
    assert isinstance(a, BoTorchDomain) and isinstance(a, AnalyticDomain)
    assert (a.name, b.name, a.function) == ("ackley3", "ackley3", "ackley")
    np.testing.assert_array_equal(a.reference_data().y, b.reference_data().y)
    assert a.optimal_value == b.optimal_value == 0.0


def test_hartmann_4d_has_no_known_optimum_and_no_bound():
    d = DOMAINS.make("hartmann", dim=4, n_reference=50)
    assert d.optimal_value is None and d.upper_bound(d.reference_data().designs) is None


def test_botorch_domain_negates_minimization_problems_and_keeps_maximization_ones():
    from botorch.test_functions.synthetic import Michalewicz

    m = DOMAINS.make("botorch", n_reference=50)  # Michalewicz, BoTorch's default dim 2
    assert m.name == "michalewicz2" and m.optimal_value == pytest.approx(1.80130341)
    assert m.oracle(np.array([[2.20290552, 1.57079633]]))[0] == pytest.approx(1.8013, abs=1e-4)
    ref = m.reference_data()
    assert (ref.y <= m.upper_bound(ref.designs)).all()
    # the class itself works as well as its import path
    by_class = DOMAINS.make("botorch", function=Michalewicz, n_reference=50)
    np.testing.assert_array_equal(by_class.reference_data().y, ref.y)
    # Cosine8 is a maximization problem in BoTorch: kept as it is, bound +0.8
    c = DOMAINS.make("botorch", function=f"{SYN}:Cosine8", n_reference=50)
    assert c.oracle(np.zeros((1, 8)))[0] == pytest.approx(0.8) and c.optimal_value == 0.8


def test_botorch_domain_without_known_optimum_has_no_bound():
    d = DOMAINS.make("botorch", function=f"{SYN}:Michalewicz", dim=3, n_reference=50)
    assert d.name == "michalewicz3" and d.dim == 3
    assert d.optimal_value is None and d.upper_bound(d.reference_data().designs) is None
    assert d.describe()["optimal_value"] is None


def test_botorch_domain_options_and_refusals():
    d = DOMAINS.make(
        "botorch",
        function=f"{SYN}:Michalewicz",
        function_options={"bounds": [[2.0, 3.0], [1.0, 2.0]]},
        n_reference=50,
    )
    assert torch.equal(d.space.lower, torch.tensor([2.0, 1.0]))
    assert d.function_options == {"bounds": [[2.0, 3.0], [1.0, 2.0]]}
    with pytest.raises(ValueError, match=r"unknown function_options \['m'\] .*\['bounds'\]"):
        DOMAINS.make("botorch", function=f"{SYN}:Michalewicz", function_options={"m": 3})
    with pytest.raises(ValueError, match=r"function_options \['negate'\] are set by the domain"):
        DOMAINS.make("botorch", function_options={"negate": True})
    with pytest.raises(ValueError, match="Branin is 2-D only, got dim=3"):
        DOMAINS.make("botorch", function=f"{SYN}:Branin", dim=3)
    with pytest.raises(ValueError, match="Hartmann with dim 5 not defined"):
        DOMAINS.make("botorch", function=f"{SYN}:Hartmann", dim=5)
    for bad in ("botorch.test_functions.multi_objective:BraninCurrin", "torch.nn:Linear"):
        with pytest.raises(ValueError, match="is not a BoTorch SyntheticTestFunction") as err:
            DOMAINS.make("botorch", function=bad)
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="cannot import module 'botorch.no_such'"):
        DOMAINS.make("botorch", function="botorch.no_such:F")


def test_botorch_constrained_and_mixed_problems():
    # infeasible designs score nan (invalid) and leave the reference data
    g = DOMAINS.make("botorch", function=f"{SYN}:ConstrainedGramacy", n_reference=200)
    assert 10 < len(g.reference_data()) < 200 and np.isfinite(g.reference_data().y).all()
    assert np.isnan(g.oracle(np.array([[0.0, 0.0]]))[0])  # c1 = 1.5 - 0 - 0 - ... < 0
    # integer-valued dimensions of mixed problems are rounded by the oracle
    a = DOMAINS.make("botorch", function=f"{SYN}:AckleyMixed", dim=5, n_reference=50)
    x = np.array([[0.3, 0.8, 0.1, 0.2, 0.7]])
    x_rounded = np.array([[0.0, 1.0, 0.1, 0.2, 0.7]])
    assert a.oracle(x)[0] == a.oracle(x_rounded)[0] and a.optimal_value == 0.0


def test_botorch_oracle_workers_match_serial_evaluation():
    kw = {"function": f"{SYN}:Michalewicz", "dim": 5, "n_reference": 300}
    serial = DOMAINS.make("botorch", **kw).reference_data().y
    d = DOMAINS.make("botorch", workers=2, **kw)
    try:
        np.testing.assert_array_equal(d.reference_data().y, serial)
    finally:
        d.oracle.close(wait=True)


def test_function_domain_takes_a_users_function(user_module):
    d = DOMAINS.make(
        "function", function=f"{user_module}:score", lower=[0, 0], upper=[1, 2], n_reference=50
    )
    assert d.name == "score" and d.function == "userfuncs:score" and d.dim == 2
    assert isinstance(d.space, BoxSpace) and torch.equal(d.space.upper, torch.tensor([1.0, 2.0]))
    y = d.oracle(np.array([[0.5, 0.5], [1.0, 0.0]]))
    np.testing.assert_allclose(y, [2 * np.sin(0.5), np.sin(1.0)])
    assert d.optimal_value is None and d.upper_bound(d.reference_data().designs) is None
    # minimize, with a known optimum: the domain maximizes the negative, bound negated
    m = DOMAINS.make(
        "function",
        function=f"{user_module}:column",
        lower=[0, 0],
        upper=[1, 1],
        maximize=False,
        bound=0.0,
        n_reference=50,
        name="col",
    )
    assert m.name == "col" and m.oracle(np.array([[0.25, 0.5]]))[0] == -0.25
    assert m.optimal_value == 0.0 and (m.reference_data().y <= 0).all()


def test_function_domain_errors(user_module):
    with pytest.raises(ValueError, match="needs function='package.module:name', lower"):
        DOMAINS.make("function", function=f"{user_module}:score")
    with pytest.raises(ValueError, match="has no attribute 'nope'"):
        DOMAINS.make("function", function=f"{user_module}:nope", lower=[0], upper=[1])
    with pytest.raises(ValueError, match="is not a function of designs"):
        DOMAINS.make("function", function="numpy:ndarray", lower=[0], upper=[1])
    with pytest.raises(ValueError, match="one length"):
        DOMAINS.make("function", function=f"{user_module}:score", lower=[0], upper=[1, 1])
    d = DOMAINS.make("function", function=f"{user_module}:wrong_shape", lower=[0, 0], upper=[1, 1])
    with pytest.raises(ValueError, match=r"returned shape \(3, 2\) for 3 designs"):
        d.oracle._evaluate(np.zeros((3, 2)))  # the oracle records it as an error per design


def test_function_evaluator_runs_in_a_spawned_oracle_worker(user_module):
    """The evaluator pickles as plain data and imports the user's module in the worker."""
    from domains import Oracle

    d = DOMAINS.make(
        "function", function=f"{user_module}:score", lower=[0, 0], upper=[1, 1], n_reference=20
    )
    designs = d.reference_data().designs
    oracle = Oracle(d.oracle._evaluate, key=bytes, workers=1, chunk_size=8, mp_context="spawn")
    try:
        np.testing.assert_allclose(oracle(designs), d.reference_data().y)
        assert oracle.n_failed == 0
    finally:
        oracle.close(wait=True)


# --- option checks: no silent coercion ---------------------------------------------------------
@pytest.mark.parametrize(
    "name, options, message",
    [
        ("ackley", {"dim": 2.7}, "dim must be an integer >= 1 or None, got 2.7"),
        ("ackley", {"dim": 2.0}, "dim must be an integer >= 1 or None, got 2.0"),
        ("ackley", {"dim": True}, "dim must be an integer >= 1 or None, got True"),
        ("ackley", {"dim": "3"}, "dim must be an integer >= 1 or None, got '3'"),
        ("ackley", {"n_reference": True}, "n_reference must be an integer >= 10, got True"),
        ("ackley", {"n_reference": 100.5}, "n_reference must be an integer >= 10, got 100.5"),
        ("ackley", {"seed": 1.5}, "seed must be an integer >= 0, got 1.5"),
        ("ackley", {"seed": -1}, "seed must be an integer >= 0, got -1"),
        ("ackley", {"offline_fraction": 0}, r"offline_fraction must be a number in \(0, 1\]"),
        ("ackley", {"offline_fraction": 1.5}, r"offline_fraction must be a number in \(0, 1\]"),
        ("ackley", {"offline_fraction": True}, r"offline_fraction must be a number in \(0, 1\]"),
        ("ackley", {"offline_fraction": float("nan")}, r"must be a number in \(0, 1\]"),
        ("botorch", {"dim": 2.5}, "dim must be an integer >= 1 or None, got 2.5"),
        ("botorch", {"workers": 0.5}, "workers must be an integer >= 0, got 0.5"),
        ("botorch", {"function_options": [1]}, "function_options must be a mapping"),
        ("botorch", {"function": 3}, "function must be an import path"),
        ("botorch", {"name": 3}, "name must be a non-empty string or None, got 3"),
        ("branin", {"function": 3}, r"function must be one of \['ackley', 'branin'"),
    ],
)
def test_box_domain_options_are_checked_not_coerced(name, options, message):
    with pytest.raises(ValueError, match=message) as err:
        DOMAINS.make(name, **options)
    assert "\n" not in str(err.value)


def test_function_domain_options_are_checked_not_coerced(user_module):
    f = f"{user_module}:score"
    cases = [
        ({"lower": [0, 0], "upper": [1, 0]}, "dimension 1 has lower=0, upper=0"),
        ({"lower": [0, np.nan], "upper": [1, 1]}, "lower must be finite"),
        ({"lower": [0, 0], "upper": [1, np.inf]}, "upper must be finite"),
        ({"lower": [0, "a"], "upper": [1, 1]}, "lower must be a non-empty list of numbers"),
        ({"lower": [0, True], "upper": [1, 2]}, "lower must be a non-empty list of numbers"),
        ({"lower": [], "upper": []}, "lower must be a non-empty list of numbers"),
        ({"lower": [0], "upper": [1, 1]}, "one length"),
        ({"lower": [0], "upper": [1], "maximize": "no"}, "maximize must be true or false"),
        ({"lower": [0], "upper": [1], "bound": float("inf")}, "bound must be a finite number"),
        ({"lower": [0], "upper": [1], "bound": True}, "bound must be a finite number"),
        ({"lower": [0], "upper": [1], "n_reference": 20.0}, "n_reference must be an integer"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            DOMAINS.make("function", function=f, **options)
    d = DOMAINS.make("function", function=f, lower=[0, 0], upper=[1, 1], maximize=False, bound=0)
    assert d.optimal_value == 0.0 and not d.maximize
    assert DOMAINS.make("ackley", dim=np.int64(3), n_reference=20).dim == 3  # numpy ints are ints


def test_the_registry_states_each_analytic_function_at_its_default_dimension():
    from domains.analytic import FUNCTIONS
    from mbo.registry import DOMAINS

    for name, (_, _, dim) in FUNCTIONS.items():
        assert DOMAINS.defaults(name)["dim"] == dim, name
        assert DOMAINS.make(name, n_reference=10).space.dim == dim
