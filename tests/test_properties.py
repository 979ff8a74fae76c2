"""Property-based tests (hypothesis) of cheap invariants: projections, the offline split,
normalization, the optimizers' top-k merge and checkpoint schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

from domains import BoxSpace, CategoricalSpace, Domain, ReferenceData  # noqa: E402
from domains._space import in_box  # noqa: E402
from mbo.optimizers import Checkpoints, merge_top_k  # noqa: E402

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)

finite32 = st.floats(allow_nan=False, allow_infinity=False, width=32)  # up to +-3.4e38


@st.composite
def boxes(draw, max_dim: int = 5):
    """float64 bounds ``lower < upper`` that stay distinct in float32 (as ``BoxSpace`` needs)."""
    d = draw(st.integers(1, max_dim))
    lower = draw(hnp.arrays(np.float64, d, elements=st.floats(-1e6, 1e6)))
    width = draw(hnp.arrays(np.float64, d, elements=st.floats(1e-2, 1e6)))
    upper = lower + width
    hypothesis.assume((lower.astype(np.float32) < upper.astype(np.float32)).all())
    return lower, upper


# --- spaces ----------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data(), box=boxes())
def test_box_projection_is_idempotent_and_lands_inside(data, box):
    lower, upper = box
    space = BoxSpace(torch.as_tensor(lower), torch.as_tensor(upper))
    n = data.draw(st.integers(1, 6))
    x = torch.as_tensor(data.draw(hnp.arrays(np.float32, (n, space.dim), elements=finite32)))
    p = space.project(x)
    assert torch.equal(space.project(p), p)
    assert bool(((p >= space.lower) & (p <= space.upper)).all())
    # a projected float32 design is inside the float64 box as the oracles judge it: it scores
    assert in_box(p.numpy().astype(np.float64), lower, upper).all()


@SETTINGS
@given(
    data=st.data(),
    length=st.integers(1, 5),
    vocab=st.integers(2, 6),
    bound=st.floats(0.1, 50.0),
)
def test_categorical_projection_is_idempotent_and_lands_inside(data, length, vocab, bound):
    space = CategoricalSpace(length, vocab, logit_bound=bound)
    n = data.draw(st.integers(1, 4))
    x = torch.as_tensor(data.draw(hnp.arrays(np.float32, (n, length, vocab), elements=finite32)))
    p = space.project(x)
    assert torch.equal(space.project(p), p)
    assert bool((p.abs() <= bound).all())


@SETTINGS
@given(
    x=hnp.arrays(
        np.float64,
        (4, 2),
        elements=st.one_of(
            st.floats(-20.0, 30.0),  # the box is [-5, 10] x [0, 15]
            st.sampled_from([-5.0, 10.0, 0.0, 15.0, 10.0 + 1e-7, -5.0 - 1e-7]),
            st.sampled_from([math.nan, math.inf, -math.inf]),
        ),
    )
)
def test_box_oracle_scores_exactly_the_designs_inside(x):
    from mbo.registry import DOMAINS

    d = DOMAINS.make("branin", n_reference=10)
    y = d.oracle(x)
    lower, upper = np.array([-5.0, 0.0]), np.array([10.0, 15.0])
    inside = in_box(x, lower, upper)
    assert (np.isfinite(y) == inside).all()
    if inside.any():  # within the slack: the score of the design clamped onto the box
        clamped = np.clip(x[inside], lower, upper)
        np.testing.assert_array_equal(y[inside], d.oracle(clamped))


# --- offline split and normalization -----------------------------------------------------------
class _Labels(Domain):
    """A domain whose reference data is just the given labels (designs are their indices)."""

    name = "labels"

    def __init__(self, y: np.ndarray) -> None:
        super().__init__()
        self._y = np.asarray(y, dtype=np.float64)
        self.space = BoxSpace(torch.zeros(1), torch.ones(1))

    def encode(self, designs):
        return torch.as_tensor(np.asarray(designs, dtype=np.float32).reshape(-1, 1))

    def decode(self, x):
        return x.numpy().reshape(-1)

    def _make_oracle(self):
        raise AssertionError("not needed")

    def _make_reference(self) -> ReferenceData:
        idx = np.arange(len(self._y))
        return ReferenceData(idx, self.encode(idx), self._y)


# few distinct values: many ties
labels = hnp.arrays(
    np.float64, st.integers(2, 40), elements=st.sampled_from([-3.0, -1.0, 0.0, 0.5, 2.0, 7.0])
).filter(lambda y: y.max() > y.min())


@SETTINGS
@given(y=labels, fraction=st.floats(0.01, 1.0))
def test_offline_split_hides_exactly_the_top_share(y, fraction):
    d = _Labels(y)
    off = d.offline(fraction)
    n = len(y)
    assert len(off) == max(2, math.floor(fraction * n))
    hidden = np.setdiff1d(np.arange(n), off.designs)
    assert len(np.intersect1d(hidden, off.designs)) == 0 and len(hidden) + len(off) == n
    np.testing.assert_array_equal(off.y, y[off.designs])  # labels travel with their designs
    if len(hidden):
        assert y[hidden].min() >= off.y.max()
    # the kept labels are the lowest ones, ties and all
    np.testing.assert_array_equal(np.sort(off.y), np.sort(y)[: len(off)])


@SETTINGS
@given(y=labels, probe=hnp.arrays(np.float64, 8, elements=st.floats(-10, 10)))
def test_normalization_maps_reference_min_max_to_0_1_and_is_monotone(y, probe):
    d = _Labels(y)
    z = d.normalize(y)
    assert z.min() == 0.0 and z.max() == 1.0
    order = np.argsort(probe, kind="stable")
    assert (np.diff(d.normalize(probe)[order]) >= 0).all()


# --- optimizers' helpers -----------------------------------------------------------------------
values = st.floats(-100, 100, allow_nan=False, allow_infinity=False, width=32)
new_values = st.one_of(values, st.sampled_from([math.nan, math.inf, -math.inf]))


@SETTINGS
@given(
    current=st.lists(values, min_size=1, max_size=8),
    new=st.lists(new_values, min_size=0, max_size=10),
)
def test_merge_top_k_keeps_the_best_slot_stably_and_never_admits_non_finite(current, new):
    k, m = len(current), len(new)
    value = torch.tensor(current, dtype=torch.float32)
    new_value = torch.tensor(new, dtype=torch.float32).reshape(m)
    x = torch.arange(k, dtype=torch.float32).reshape(k, 1)  # each design is its own id
    new_x = torch.arange(k, k + m, dtype=torch.float32).reshape(m, 1)
    out_x, out_v = merge_top_k(x, value, new_x, new_value)
    ids = out_x.reshape(-1).long()
    assert out_x.shape == x.shape and out_v.shape == value.shape
    assert len(set(ids.tolist())) == k  # no design twice
    everything = torch.cat([value, new_value])
    assert torch.equal(out_v, everything[ids])  # values travel with their designs
    for slot, i in enumerate(ids.tolist()):
        if i < k:
            assert i == slot  # a current design that stays keeps its slot
        else:
            assert math.isfinite(new[i - k])  # non-finite new values never enter
    # the best K (non-finite new values count as -inf)
    pool = torch.where(torch.isfinite(everything), everything, -torch.inf)
    pool[:k] = value
    expected = torch.sort(pool, descending=True).values[:k]
    assert torch.equal(torch.sort(out_v, descending=True).values, expected)
    # entrants: the best one into the lowest freed slot
    entrant_values = [out_v[s].item() for s, i in enumerate(ids.tolist()) if i >= k]
    assert entrant_values == sorted(entrant_values, reverse=True)


@SETTINGS
@given(n=st.integers(0, 300), every=st.integers(1, 400))
def test_checkpoint_schedule(n, every):
    steps = Checkpoints(n, every).steps
    assert steps[0] == 0 and steps[-1] == n
    assert all(a < b for a, b in zip(steps, steps[1:], strict=False))
    assert set(range(0, n + 1, every)) <= set(steps)
    assert set(steps) <= set(range(0, n + 1, every)) | {n}  # nothing else


@given(
    st.dictionaries(
        st.sampled_from(["dim", "n_reference", "seed"]),
        st.integers(min_value=2, max_value=40),
        max_size=3,
    ),
    st.randoms(use_true_random=False),
)
@settings(max_examples=40, deadline=None)
def test_sweep_ids_depend_on_the_resolved_spec_only(options, rnd):
    """The same study gets the same id whatever the key order, the label, or options spelled
    out at their default values; a changed option changes it."""
    from mbo.study import StudySpec
    from mbo.sweeps.ids import study_id

    base = {"domain": "ackley", "domain_options": options, "k": 8}
    spec = StudySpec.from_dict(base)
    items = list(options.items())
    rnd.shuffle(items)
    shuffled = StudySpec.from_dict({**base, "domain_options": dict(items), "name": "renamed"})
    assert study_id(shuffled) == study_id(spec)
    with_defaults = {"dim": 10, "n_reference": 2000, "seed": 0, **options}  # ackley: 10-D
    spelled = StudySpec.from_dict({**base, "domain_options": with_defaults})
    assert study_id(spelled) == study_id(spec)
    changed = dict(with_defaults, n_reference=with_defaults["n_reference"] + 1)
    assert study_id(StudySpec.from_dict({**base, "domain_options": changed})) != study_id(spec)
