"""The toy-car domain: blueprints, MuJoCo oracle, bound, workers, reference cache, pictures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("mujoco")

from domains.car import CarDomain, sample_prior, simulate  # noqa: E402
from domains.car import _blueprint as bp  # noqa: E402
from mbo.registry import DOMAINS  # noqa: E402

SHORT = {"sim_time": 4.0, "track_seeds": (0,)}

# a plain two-wheeler: low wide chassis, 0.3 m wheels at the back- and front-bottom
GOOD = np.array(
    [
        0.5,
        0.3,
        0.25,
        0.3,
        0.5,
        0.2,
        0.15,
        0.2,
        300.0,
        0.3,
        300.0,
        5.0,
        0.3,
        0.3,
        300.0,
        7.0,
        0.3,
        8.0,
        40.0,
    ]
)


def _with(**changes: float) -> np.ndarray:
    row = GOOD.copy()
    for name, value in changes.items():
        row[bp.INDEX[name]] = value
    return row


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("car-cache")


@pytest.fixture(scope="module")
def small(cache_dir) -> CarDomain:
    dom = CarDomain(n_reference=60, workers=0, cache_dir=cache_dir, **SHORT)
    yield dom
    dom.close()


def test_registry_and_space():
    dom = DOMAINS.make("car", n_reference=10, workers=0, cache_dir=False, **SHORT)
    assert isinstance(dom, CarDomain)
    assert dom.space.dim == bp.DIM == 19
    assert len(set(bp.NAMES)) == bp.DIM
    assert (bp.UPPER > bp.LOWER).all()
    d = dom.describe()
    assert d["sim_time_s"] == 4.0 and d["track_seeds"] == [0] and d["integrator"] == "implicitfast"
    x = dom.encode(GOOD[None])
    assert x.dtype == torch.float32 and x.shape == (1, 19)
    np.testing.assert_allclose(dom.decode(x), GOOD[None], rtol=1e-6)
    with pytest.raises(ValueError):
        dom.encode(np.zeros((2, 5)))


def test_project_clamps_out_of_range(small):
    x = torch.as_tensor(np.stack([bp.LOWER - 5.0, bp.UPPER + 5.0, GOOD]), dtype=torch.float32)
    p = small.space.project(x)
    np.testing.assert_allclose(p[0].numpy(), bp.LOWER, rtol=1e-6)
    np.testing.assert_allclose(p[1].numpy(), bp.UPPER, rtol=1e-6)
    np.testing.assert_allclose(p[2].numpy(), GOOD, rtol=1e-6)
    dec = small.decode(x)
    assert bp.in_bounds(dec).all()
    assert np.isfinite(small.oracle(dec)).all()


def test_deterministic():
    a = simulate(GOOD, 0, sim_time=4.0)
    b = simulate(GOOD, 0, sim_time=4.0)
    assert a.score == b.score and a.outcome == b.outcome
    d1 = CarDomain(n_reference=10, workers=0, cache_dir=False, **SHORT)
    d2 = CarDomain(n_reference=10, workers=0, cache_dir=False, **SHORT)
    xs = sample_prior(6, seed=3)
    np.testing.assert_array_equal(d1.oracle(xs), d2.oracle(xs))


def test_sensible_car_drives_and_bad_cars_do_not():
    good = simulate(GOOD, 0, sim_time=4.0)
    assert good.score > 3.0, good
    still = simulate(_with(motor_speed=0.0), 0, sim_time=4.0)
    assert still.score == 0.0 and still.outcome == "stall"
    tiny = simulate(_with(w0_radius=0.05, w1_radius=0.05), 0, sim_time=4.0)
    assert tiny.score < 0.3, tiny
    weak = simulate(_with(motor_torque=0.0), 0, sim_time=4.0)
    assert weak.score < 0.3, weak


def test_bad_input_gives_nan_not_a_crash(small):
    rows = np.stack([GOOD, np.full(19, np.nan), _with(r0=np.inf), _with(w0_radius=50.0), GOOD])
    y = small.oracle(rows)
    assert np.isfinite(y[[0, 4]]).all() and np.isnan(y[1:4]).all()
    assert np.isnan(small.upper_bound(rows)[1:4]).all()
    assert simulate(np.zeros(7)).outcome == "invalid"
    with pytest.raises(ValueError):
        small.upper_bound(np.zeros((3, 4)))


def test_oracle_refuses_unbatched_and_wrong_width_blueprints(small):
    """One unbatched blueprint (19,) is not 19 designs: a one-line ValueError, nothing run."""
    before = small.oracle.counts()
    for bad, got in ((GOOD, "(19,)"), (np.zeros((2, 5)), "(2, 5)"), (GOOD[None, :18], "(1, 18)")):
        with pytest.raises(ValueError, match=r"car: expected designs of shape \(n, 19\)") as err:
            small.oracle(bad)
        assert got in str(err.value) and "\n" not in str(err.value)
    assert small.oracle.counts() == before


def test_out_of_range_slack_is_the_same_as_the_box_domains(small):
    """Every box domain draws the line at 1e-6 of the range (plus float32 rounding)."""
    from domains._space import BOX_RTOL

    width = bp.UPPER - bp.LOWER
    inside = _with(motor_speed=12.0 + 0.5 * BOX_RTOL * width[bp.INDEX["motor_speed"]])
    outside = _with(motor_speed=12.0 + 5 * BOX_RTOL * width[bp.INDEX["motor_speed"]])
    assert bp.in_bounds(np.stack([inside, outside])).tolist() == [True, False]
    assert simulate(outside, 0, sim_time=1.0).outcome == "invalid"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"n_reference": 10.5}, "n_reference must be an integer >= 10, got 10.5"),
        ({"n_reference": True}, "n_reference must be an integer >= 10, got True"),
        ({"seed": True}, "seed must be an integer >= 0, got True"),
        ({"workers": 1.5}, "workers must be an integer >= 0 or None, got 1.5"),
        ({"chunk_size": 0}, "chunk_size must be an integer >= 1, got 0"),
        ({"track_seeds": [0.5]}, r"track_seeds must be an integer >= 0 or a non-empty list"),
        ({"track_seeds": True}, r"track_seeds must be an integer >= 0 or a non-empty list"),
        ({"track_seeds": []}, r"track_seeds must be an integer >= 0 or a non-empty list"),
        ({"sim_time": float("inf")}, "sim_time must be a finite number > 0, got inf"),
        ({"timestep": 0}, "timestep must be a finite number > 0, got 0"),
        ({"stall_time": "3"}, "stall_time must be a finite number > 0, got '3'"),
        ({"sim_time": 1.0, "timestep": 2.0}, "need timestep <= sim_time"),
        ({"offline_fraction": 2}, r"offline_fraction must be a number in \(0, 1\], got 2"),
        ({"cache_dir": 3}, "cache_dir must be a folder path, true"),
    ],
)
def test_options_are_checked_not_coerced(options, message):
    with pytest.raises(ValueError, match=message) as err:
        CarDomain(**{"cache_dir": False, **options})
    assert "\n" not in str(err.value)


def test_diverging_simulation_gives_nan(monkeypatch):
    import mujoco

    from domains.car import _sim

    def blow_up(model, data):  # a force no integrator survives
        if data.time > 0.2:
            data.qfrc_applied[0] = 1e300

    build = _sim.build

    def build_then_hook(*args, **kwargs):  # the callback must not run inside the compiler
        out = build(*args, **kwargs)
        mujoco.set_mjcb_control(blow_up)
        return out

    monkeypatch.setattr(_sim, "build", build_then_hook)
    try:
        res = simulate(GOOD, 0, sim_time=1.0)
    finally:
        mujoco.set_mjcb_control(None)
    assert res.outcome == "diverged" and np.isnan(res.score)


def test_upper_bound_holds():
    dom = CarDomain(n_reference=10, workers=0, cache_dir=False, **SHORT)
    xs = np.concatenate([sample_prior(30, seed=1), GOOD[None]])
    y = dom.oracle(xs)
    ub = dom.upper_bound(xs)
    ix = bp.INDEX
    expect = (
        xs[:, ix["motor_speed"]] * np.maximum(xs[:, ix["w0_radius"]], xs[:, ix["w1_radius"]]) * 4.0
    )
    np.testing.assert_allclose(ub, expect)
    assert np.isfinite(y).all()
    assert (y <= ub + 1e-9).all()
    assert (y >= 0).all()
    assert (y > 1.0).any() and (y < 0.5).any()  # the prior has drivers and duds


def test_workers_equal_serial():
    xs = sample_prior(24, seed=5)
    serial = CarDomain(n_reference=10, workers=0, cache_dir=False, **SHORT)
    par = CarDomain(n_reference=10, workers=2, chunk_size=6, cache_dir=False, **SHORT)
    try:
        np.testing.assert_array_equal(serial.oracle(xs), par.oracle(xs))
        assert par.oracle.n_evaluations == 24
    finally:
        par.close()


def test_track_seeds_are_averaged():
    one = [
        CarDomain(n_reference=10, workers=0, cache_dir=False, sim_time=4.0, track_seeds=s)
        for s in (0, 7)
    ]
    both = CarDomain(n_reference=10, workers=0, cache_dir=False, sim_time=4.0, track_seeds=(0, 7))
    xs = sample_prior(4, seed=2)
    np.testing.assert_allclose(both.oracle(xs), (one[0].oracle(xs) + one[1].oracle(xs)) / 2)


def test_offline_split_hides_the_top(small):
    ref = small.reference_data()
    assert len(ref) == 60 and ref.x.shape == (60, 19) and np.isfinite(ref.y).all()
    off = small.offline()
    assert len(off) == 48  # default: bottom 80 %
    assert len(small.offline(0.4)) == 24
    hidden = np.setdiff1d(np.arange(len(ref)), np.flatnonzero(np.isin(ref.y, off.y)))
    assert off.y.max() <= ref.y[hidden].min()
    assert small.y_max > off.y.max()


def test_reference_disk_cache(small, cache_dir):
    ref = small.reference_data()
    assert small.cache_path().exists()
    again = CarDomain(n_reference=60, workers=0, cache_dir=cache_dir, **SHORT)
    ref2 = again.reference_data()
    assert again.reference_from_cache
    assert again._oracle is None or again.oracle.n_evaluations == 0  # nothing re-simulated
    np.testing.assert_array_equal(ref.y, ref2.y)
    np.testing.assert_array_equal(ref.designs, ref2.designs)
    other = CarDomain(
        n_reference=60, workers=0, cache_dir=cache_dir, sim_time=3.0, track_seeds=(0,)
    )
    assert other.cache_path() != small.cache_path()


def test_design_columns_and_pictures(small, tmp_path):
    xs = np.stack([GOOD, _with(w0_radius=0.05, w1_radius=0.5)])
    cols = small.design_columns(xs)
    np.testing.assert_allclose(cols["wheel1_radius"], [0.3, 0.5])
    np.testing.assert_allclose(cols["top_speed"], [8.0 * 0.3, 8.0 * 0.5])
    assert (cols["mass_kg"] > 0).all()
    png = tmp_path / "grid.png"
    assert small.render_designs(xs, ["good", "odd"], str(png)) is True
    assert png.stat().st_size > 1000
    drive = tmp_path / "drive.png"
    assert small.render_drive(GOOD, str(drive), renderer="matplotlib") == "matplotlib"
    assert drive.stat().st_size > 1000
    res = small.drive(GOOD)
    assert res.trajectory.shape[1] == 6 and res.trajectory[-1, 1] > 3.0


def test_end_to_end_gradient_ascent_audit(small):
    from mbo import GradientAscent, random_direction_control
    from mbo.evaluation import audit
    from mbo.evaluation.metrics import summarize
    from mbo.evaluation.objective import SurrogateObjective
    from mbo.registry import SURROGATES
    from surrogates._base import spread

    off = small.offline()
    sur = SURROGATES.make("mlp", epochs=5, width=32, seed=0).fit(off.x, torch.as_tensor(off.y))
    sur.eval()
    starts = off.top(8)
    loc, scale = off.x.mean(0), spread(off.x)
    obj = SurrogateObjective(
        sur, small.space.features, loc=float(off.y.mean()), scale=float(off.y.std() or 1.0)
    )
    before = small.oracle.counts()["evaluations"]
    traj = GradientAscent(steps=5, checkpoint_every=5).run(obj, starts.x, small.space, loc, scale)
    assert small.oracle.counts()["evaluations"] == before
    control = random_direction_control(traj, small.space, loc, scale)
    table = audit(small, sur, traj, control)
    assert len(table) == 8 * 2 + 8
    assert {"wheel0_radius", "motor_speed", "bound"} <= set(table.columns)
    assert (table["true"].dropna() <= table["bound"][table["true"].notna()] + 1e-9).all()
    summary = summarize(table, d_best=float(small.normalize(off.y.max())))
    assert summary["k"] == 8 and 0.0 <= summary["invalid_rate"] <= 1.0


def test_run_study_on_car(cache_dir, tmp_path):
    study = pytest.importorskip("mbo.study")
    spec = study.StudySpec(
        domain="car",
        domain_options={"n_reference": 60, "workers": 0, "cache_dir": str(cache_dir), **SHORT},
        surrogate_options={"epochs": 5, "width": 32},
        optimizer_options={"steps": 5, "checkpoint_every": 5},
        k=8,
    )
    result = study.run_study(spec, out_dir=tmp_path / "run")
    assert result.summary["k"] == 8
    assert result.summary["oracle_calls_while_optimizing"] == 0
    result.domain.close()


def test_car_and_car_control_differ_only_in_the_ascent_horizon():
    from mbo.registry import DOMAINS

    car, control = (
        DOMAINS.make("car", n_reference=20, cache_dir=False),
        DOMAINS.make("car-control", n_reference=20, cache_dir=False),
    )
    assert car.default_offline_fraction == control.default_offline_fraction == 0.8
    assert control.name == "car-control" and car.name == "car"
    assert control.optimizer_defaults == {"gradient_ascent": {"steps": 20, "checkpoint_every": 2}}
    assert car.optimizer_defaults == {"gradient_ascent": {"steps": 100}}
    # the same reference cars: one simulated set serves both tasks
    assert torch.equal(
        torch.as_tensor(car.reference_data().x), torch.as_tensor(control.reference_data().x)
    )
