"""``CarDomain``: toy car blueprints, a MuJoCo oracle, cached reference data."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import torch
from torch import Tensor

from .. import _options as opt
from .._base import CheckedOracle, Domain, ReferenceData
from .._cache import cache_lock
from .._oracle import Oracle
from .._space import BoxSpace, check_box_designs
from . import _blueprint as bp
from ._sim import SIM_VERSION, Evaluate, simulate
from ._track import TRACK_VERSION

#: version of the reference prior: bump when ``sample_prior`` changes (keys the cache).
PRIOR_VERSION = 1


def default_cache_dir() -> Path:
    """``$MBO_SANDBOX_CACHE`` or ``~/.cache/mbo-sandbox``."""
    env = os.environ.get("MBO_SANDBOX_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "mbo-sandbox"


def sample_prior(n: int, seed: int, plausible: float = 0.8) -> np.ndarray:
    """Seeded random blueprints ``(n, DIM)`` that give many drivable and many poor cars.

    Every blueprint starts uniform in the box; a ``plausible`` share then gets the
    "genetic cars" look: a small underside (``r5``-``r7``), one axle near the back-bottom
    and one near the front-bottom vertex, wheels of 0.1-0.5 m, a running motor. The rest
    stays uniform (mostly cars that drag their chassis, flip or never move).
    """
    rng = np.random.default_rng([int(seed), 2718])
    x = bp.LOWER + rng.random((n, bp.DIM)) * (bp.UPPER - bp.LOWER)
    mask = rng.random(n) < plausible
    m = int(mask.sum())
    ix = bp.INDEX
    for k in (5, 6, 7):
        x[mask, k] = rng.uniform(0.1, 0.45, m)
    for w, (lo, hi) in enumerate(((4.3, 5.7), (6.3, 7.7))):
        x[mask, ix[f"w{w}_vertex"]] = rng.uniform(lo, hi, m)
        x[mask, ix[f"w{w}_inset"]] = rng.uniform(0.0, 0.3, m)
        x[mask, ix[f"w{w}_radius"]] = rng.uniform(0.1, 0.5, m)
    x[mask, ix["motor_speed"]] = rng.uniform(2.0, 12.0, m)
    x[mask, ix["motor_torque"]] = rng.uniform(10.0, 60.0, m)
    return x


def _track_seeds(value: Any) -> tuple[int, ...]:
    """One track seed or a non-empty list of them: integers >= 0."""
    seeds = [value] if not isinstance(value, list | tuple | np.ndarray) else list(value)
    if not seeds:
        raise ValueError("track_seeds must be an integer >= 0 or a non-empty list of them, got []")
    try:
        return tuple(opt.integer("track_seeds", s, minimum=0) for s in seeds)
    except ValueError:
        raise ValueError(
            "track_seeds must be an integer >= 0 or a non-empty list of them, got "
            f"{opt.show(value)}"
        ) from None


def _row_key(design: np.ndarray) -> bytes:
    return np.asarray(design, dtype=np.float64).tobytes()


class CarDomain(Domain):
    """Toy car blueprints (a 19-D box, see ``domains.car._blueprint``) driven in MuJoCo.

    Score (raw, metres): furthest forward progress on a seeded rough track before the time
    limit, a stall, a flip or a fall, averaged over ``track_seeds``; ``nan`` for an invalid
    blueprint or a diverging simulation. Exact per-design bound: ``motor_speed * max wheel
    radius * sim_time``.

    Args:
        n_reference: size of the reference set (seeded prior, see :func:`sample_prior`).
        seed: seed of the reference sample.
        track_seeds: tracks every car drives; the score is their mean.
        sim_time: simulated seconds per drive (short for tests, e.g. 4).
        timestep: MuJoCo time step (pinned: scores depend on it).
        stall_time: a drive ends after this many seconds without 0.1 m of new progress.
        offline_fraction: share of the reference data visible offline (lowest scores).
        workers: oracle worker processes (``None``: up to 8, one per CPU core; 0: serial).
        chunk_size: designs per worker task.
        cache_dir: where the reference set is cached (``None``: :func:`default_cache_dir`;
            ``False``: no disk cache).
    """

    name = "car"
    score_unit = "m"
    #: bottom 80 % visible: with Design-Bench Ant's 40 % the visible cars barely move, their
    #: labels are all near 0 and no surrogate learns from them (see :class:`CarControlDomain`);
    #: at 80 % a plain MLP's predictions run past each car's physical cap (the classic
    #: failure) while the median design still drives further than D(best).
    default_offline_fraction = 0.8
    #: the simulation is the costly part of a study: audit 32 of the K designs at the
    #: intermediate checkpoints (every design at the start, the end and in the control)
    audit_subsample = 32
    #: a 100-step ascent (plain steps of the default lr): by step 100 the plain MLP's
    #: overestimation is 0.71 and 93 % of its predictions are physically impossible, the
    #: classic failure, while the task still tells surrogates apart. Past ~110 steps the
    #: plain MLP's seeds diverge (one seed's median falls from 0.51 to 0.38) and one GP seed
    #: collapses, so at the generic 200 steps the median's spread over {mlp, ensemble+min, COMs,
    #: grad-penalty, GP} was 0.9x the largest seed std (the discriminativeness check needs 3x).
    #: Chosen from full audits of every checkpoint of seeds 0-2 (ratio 7.7 at step 100, 0.9 at
    #: step 200) and checked on fresh seeds 3-5 (4.4): ``benchmarks/results/car-horizon.md``.
    optimizer_defaults = {"gradient_ascent": {"steps": 100}}

    def __init__(
        self,
        n_reference: int = 10000,
        seed: int = 0,
        track_seeds: tuple[int, ...] | list[int] | int = (0, 1),
        sim_time: float = 15.0,
        timestep: float = 0.01,
        stall_time: float = 3.0,
        offline_fraction: float = 0.8,
        workers: int | None = None,
        chunk_size: int = 16,
        cache_dir: str | os.PathLike | None | bool = None,
    ) -> None:
        super().__init__()
        self.track_seeds = _track_seeds(track_seeds)
        self.n_reference = opt.integer("n_reference", n_reference, minimum=10)
        self.seed = opt.integer("seed", seed, minimum=0)
        self.sim_time = opt.number("sim_time", sim_time, above=0.0)
        self.timestep = opt.number("timestep", timestep, above=0.0)
        self.stall_time = opt.number("stall_time", stall_time, above=0.0)
        if self.timestep > self.sim_time:
            raise ValueError(f"car: need timestep <= sim_time, got {timestep}, {sim_time}")
        self.default_offline_fraction = opt.fraction("offline_fraction", offline_fraction)
        workers = opt.integer("workers", workers, minimum=0, none=True)
        self.workers = min(os.cpu_count() or 1, 8) if workers is None else workers
        self.chunk_size = opt.integer("chunk_size", chunk_size, minimum=1)
        if cache_dir is False:
            self.cache_dir = None
        elif cache_dir is None or cache_dir is True:
            self.cache_dir = default_cache_dir()
        elif isinstance(cache_dir, str | os.PathLike) and str(cache_dir):
            self.cache_dir = Path(cache_dir)
        else:
            raise ValueError(
                f"cache_dir must be a folder path, true (the default folder) or false (no "
                f"disk cache), got {opt.show(cache_dir)}"
            )
        self.space = BoxSpace(torch.as_tensor(bp.LOWER), torch.as_tensor(bp.UPPER))
        self.parameter_names = list(bp.NAMES)
        #: whether the last reference_data() came from the disk cache.
        self.reference_from_cache = False

    # --- designs ----------------------------------------------------------------------
    def encode(self, designs: Any) -> Tensor:
        return torch.as_tensor(bp.as_blueprints(designs), dtype=torch.float32)

    def decode(self, x: Tensor) -> np.ndarray:
        self.space.check(x)
        x = self.space.project(x.detach().to("cpu", torch.float32))
        return x.numpy().astype(np.float64)

    def upper_bound(self, designs: Any) -> np.ndarray:
        """``motor_speed * max(wheel radii) * sim_time`` (m); nan for an invalid blueprint."""
        arr = bp.as_blueprints(designs)
        ok = bp.in_bounds(arr)
        bound = bp.max_rolling_speed(bp.clip(arr)) * self.sim_time
        return np.where(ok, bound, np.nan)

    def design_columns(self, designs: Any) -> dict[str, Any]:
        arr = bp.clip(bp.as_blueprints(designs))
        ix = bp.INDEX
        mass = bp.chassis_mass_properties(arr)["mass"] + bp.wheel_mass_properties(arr)["mass"].sum(
            1
        )
        return {
            "wheel0_radius": arr[:, ix["w0_radius"]],
            "wheel1_radius": arr[:, ix["w1_radius"]],
            "motor_speed": arr[:, ix["motor_speed"]],
            "motor_torque": arr[:, ix["motor_torque"]],
            "mass_kg": mass,
            "top_speed": bp.max_rolling_speed(arr),
        }

    def render_designs(self, designs: Any, labels: list[str], path: str) -> bool:
        from ._draw import draw_blueprints

        return draw_blueprints(bp.as_blueprints(designs), labels, path)

    def drive(self, design: Any, track_seed: int | None = None, record: bool = True):
        """Simulate one blueprint on one track (outside the sealed oracle; not counted).

        For pictures and debugging only: returns the :class:`~domains.car._sim.SimResult`
        with its trajectory.
        """
        row = bp.as_blueprints(design)[0]
        seed = self.track_seeds[0] if track_seed is None else int(track_seed)
        return simulate(row, seed, self.sim_time, self.timestep, self.stall_time, record=record)

    def render_drive(
        self, design: Any, path: str, track_seed: int | None = None, **kwargs: Any
    ) -> str:
        """Picture of one drive (PNG strip, or an animated GIF if ``path`` ends in .gif).

        Uses MuJoCo's offscreen renderer where a GL backend works (``MUJOCO_GL=egl`` or
        ``osmesa``) and ``renderer="mujoco"`` or ``"auto"``; otherwise draws the recorded
        trajectory with matplotlib. Returns the backend used (``"mujoco"`` or
        ``"matplotlib"``).
        """
        from ._draw import render_drive

        seed = self.track_seeds[0] if track_seed is None else int(track_seed)
        row = bp.as_blueprints(design)[0]
        return render_drive(
            row, path, seed, self.sim_time, self.timestep, self.stall_time, **kwargs
        )

    # --- oracle -----------------------------------------------------------------------
    def _evaluator(self) -> Evaluate:
        return Evaluate(self.track_seeds, self.sim_time, self.timestep, self.stall_time)

    def _make_oracle(self) -> Oracle:
        return CheckedOracle(
            self._evaluator(),
            key=_row_key,
            check=functools.partial(check_box_designs, dim=bp.DIM, name=self.name),
            workers=self.workers,
            chunk_size=self.chunk_size,
        )

    # --- reference data ---------------------------------------------------------------
    def cache_key(self) -> dict[str, Any]:
        """Everything the reference scores depend on (hashed into the cache file name)."""
        return {
            "domain": "car",
            "n_reference": self.n_reference,
            "seed": self.seed,
            "track_seeds": list(self.track_seeds),
            "sim_time": self.sim_time,
            "timestep": self.timestep,
            "stall_time": self.stall_time,
            "mujoco": mujoco.__version__,
            "sim_version": SIM_VERSION,
            "track_version": TRACK_VERSION,
            "prior_version": PRIOR_VERSION,
        }

    def cache_path(self) -> Path | None:
        if self.cache_dir is None:
            return None
        key = json.dumps(self.cache_key(), sort_keys=True)
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return self.cache_dir / "car" / f"reference-{digest}.npz"

    def _load_cached(self, path: Path) -> tuple[np.ndarray, np.ndarray] | None:
        try:
            with np.load(path, allow_pickle=False) as f:
                designs, y = f["designs"], f["y"]
                meta = json.loads(str(f["meta"]))
        except Exception:
            return None
        if meta != self.cache_key() or designs.shape != (self.n_reference, bp.DIM):
            return None
        return designs.astype(np.float64), y.astype(np.float64)

    def _save_cached(self, path: Path, designs: np.ndarray, y: np.ndarray) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh, designs=designs, y=y, meta=json.dumps(self.cache_key(), sort_keys=True)
                )
            os.replace(tmp, path)  # atomic: concurrent writers never leave a torn file
        except OSError:
            pass  # a read-only cache dir only costs a re-simulation next time

    def _make_reference(self) -> ReferenceData:
        path = self.cache_path()
        with cache_lock(path, self.name):  # one process of a sweep simulates, the rest read
            cached = self._load_cached(path) if path is not None and path.exists() else None
            if cached is not None:
                designs, y = cached
                self.reference_from_cache = True
            else:
                designs = sample_prior(self.n_reference, self.seed)
                res = self.oracle.query(
                    designs, progress=f"{self.name}: simulating {len(designs)} reference cars"
                )
                y = res.values
                self.reference_from_cache = False
                if res.error.any():  # dropped from the reference data; never cached
                    warnings.warn(
                        f"{self.name}: {int(res.error.sum())} of {len(y)} reference cars could "
                        "not be simulated (oracle errors); they are left out and the set is not "
                        "cached",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                elif path is not None:
                    self._save_cached(path, designs, y)
        return ReferenceData(designs, self.encode(designs), y)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "parameters": list(bp.NAMES),
            "track_seeds": list(self.track_seeds),
            "sim_time_s": self.sim_time,
            "timestep_s": self.timestep,
            "integrator": "implicitfast",
            "stall_time_s": self.stall_time,
            "mujoco": mujoco.__version__,
            "sim_version": SIM_VERSION,
            "n_reference": self.n_reference,
            "offline_fraction": self.default_offline_fraction,
            "score": "furthest forward progress (m), mean over track seeds",
            "upper_bound": "motor_speed * max wheel radius * sim_time",
        }


class CarControlDomain(CarDomain):
    """The car **control** task: the default split and a 20-step ascent horizon (the car
    task's is 100).

    Design-Bench Ant's bottom-40 % split (this task until now) failed as a control: the
    visible cars barely move, their labels are all near 0, the surrogate learns nothing
    (validation R^2 -0.02 on seed 0) and the median design stays on that floor (p50 0.010
    against D(best) 0.009); a 60 % split did no better (p50 0.004). Keeping the default 80 %
    split and stopping gradient ascent after 20 steps (a checkpoint every 2) is a task where
    the median design truly improves over its start and over D(best) (seed 0: p50 0.514
    against 0.417 and 0.425) while the full 200 steps overshoot (the mean true score peaks
    near step 20, then falls). Other optimizers keep their own budgets.
    """

    name = "car-control"
    optimizer_defaults = {"gradient_ascent": {"steps": 20, "checkpoint_every": 2}}
