"""MuJoCo simulation of one blueprint on one seeded track.

The model is generated as an MJCF string per car: the chassis body slides in x and z and
pitches about y (three joints), carries 8 capsules along its outline (collision only) and
an explicit ``<inertial>`` computed from the polygon (no meshes, so nothing is re-centred);
the two wheels are child bodies with a hinge about y, a sphere for contact (a disc in this
planar world) and an explicit disc inertia, each driven by a velocity servo
(``kv`` saturating at ``motor_torque``). Collision filtering: track tiles collide with
everything, wheels and chassis only with the track. Integrator ``implicitfast`` (stiff
servos) at a pinned time step.

Score = furthest forward progress of the chassis origin (m) until the time limit, a stall
(no new progress of ``STALL_DISTANCE`` within ``stall_time``), a flip (chassis pitched past
90°: the score is the progress at the flip) or a fall into a gap; credited progress is
capped at ``motor_speed * max wheel radius * elapsed time``, the rolling bound. A diverging
simulation (MuJoCo warnings, non-finite state) or an invalid blueprint scores ``nan``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import mujoco
import numpy as np

from . import _blueprint as bp
from ._track import make_track

#: version of the simulation recipe: bump on any change that alters scores (keys the cache).
SIM_VERSION = 1
STALL_DISTANCE = 0.1  # m of new progress needed within stall_time
CHECK_EVERY = 0.1  # s between progress/flip/fall checks
CAPSULE_RADIUS = 0.02
FRICTION = 1.0

OUTCOMES = ("time", "stall", "flip", "fall", "diverged", "invalid")


@dataclass
class SimResult:
    """One drive. ``score`` is nan for ``diverged``/``invalid``; ``trajectory`` if recorded.

    ``trajectory`` columns: time, chassis x, chassis z, chassis pitch (rad, positive tilts
    the nose down), wheel 0 angle, wheel 1 angle.
    """

    score: float
    outcome: str
    time: float
    distance: float
    trajectory: np.ndarray | None = field(default=None, repr=False)


def car_mjcf(blueprint: np.ndarray, track_xml: str, timestep: float, start_z: float) -> str:
    """The MJCF document of one car on a track (``blueprint`` already clipped, ``(DIM,)``)."""
    b = blueprint[None]
    verts = bp.vertices(b)[0]
    chassis = bp.chassis_mass_properties(b)
    wheels = bp.wheel_params(b)
    wmass = bp.wheel_mass_properties(b)
    speed = float(blueprint[bp.INDEX["motor_speed"]])
    torque = max(float(blueprint[bp.INDEX["motor_torque"]]), 1e-6)
    kv = torque / 0.5  # saturates at 0.5 rad/s of speed error
    m_c = float(chassis["mass"][0])
    i_c = max(float(chassis["inertia"][0]), 1e-9)
    com = chassis["com"][0]
    caps = []
    for k in range(bp.N_VERTICES):
        a, c = verts[k], verts[(k + 1) % bp.N_VERTICES]
        caps.append(
            f'<geom type="capsule" size="{CAPSULE_RADIUS}" class="chassis" '
            f'fromto="{a[0]:.6f} 0 {a[1]:.6f} {c[0]:.6f} 0 {c[1]:.6f}"/>'
        )
    wheel_xml, act_xml = [], []
    for w in range(2):
        r = float(wheels["radius"][0, w])
        ax = wheels["axle"][0, w]
        m = float(wmass["mass"][0, w])
        i = max(float(wmass["inertia"][0, w]), 1e-9)
        wheel_xml.append(
            f'<body name="wheel{w}" pos="{ax[0]:.6f} 0 {ax[1]:.6f}">'
            f'<inertial pos="0 0 0" mass="{m:.6g}" diaginertia="{i:.6g} {i:.6g} {i:.6g}"/>'
            f'<joint name="axle{w}" type="hinge" axis="0 1 0" armature="0.001"/>'
            f'<geom type="sphere" size="{r:.6f}" class="wheel"/>'
            "</body>"
        )
        act_xml.append(
            f'<velocity joint="axle{w}" kv="{kv:.6g}" forcelimited="true" '
            f'forcerange="{-torque:.6g} {torque:.6g}"/>'
        )
    _ = speed
    return f"""<mujoco model="car">
<compiler angle="radian" inertiafromgeom="false" autolimits="true"/>
<option timestep="{timestep}" integrator="implicitfast" gravity="0 0 -9.81">
  <flag energy="disable"/>
</option>
<default>
  <default class="track"><geom contype="1" conaffinity="1" friction="{FRICTION} 0.005 0.0001" rgba=".45 .4 .35 1"/></default>
  <default class="chassis"><geom contype="4" conaffinity="1" mass="0" friction="{FRICTION} 0.005 0.0001" rgba=".2 .5 .8 1"/></default>
  <default class="wheel"><geom contype="2" conaffinity="1" mass="0" friction="{FRICTION} 0.005 0.0001" rgba=".15 .15 .15 1"/></default>
</default>
<worldbody>
{track_xml}
<body name="chassis" pos="0 0 {start_z:.6f}">
  <inertial pos="{com[0]:.6f} 0 {com[1]:.6f}" mass="{m_c:.6g}" diaginertia="{i_c:.6g} {i_c:.6g} {i_c:.6g}"/>
  <joint name="x" type="slide" axis="1 0 0"/>
  <joint name="z" type="slide" axis="0 0 1"/>
  <joint name="pitch" type="hinge" axis="0 1 0"/>
  {"".join(caps)}
  {"".join(wheel_xml)}
</body>
</worldbody>
<actuator>{"".join(act_xml)}</actuator>
</mujoco>"""


def _start_height(blueprint: np.ndarray) -> float:
    b = blueprint[None]
    low = (bp.vertices(b)[0, :, 1] - CAPSULE_RADIUS).min()
    w = bp.wheel_params(b)
    low = min(low, float((w["axle"][0, :, 1] - w["radius"][0]).min()))
    return -float(low) + 0.01


def build(blueprint: np.ndarray, track_seed: int, sim_time: float, timestep: float):
    """Compile the model of one (clipped) blueprint; returns ``(model, track, bound_speed)``."""
    speed = float(bp.max_rolling_speed(blueprint[None])[0])
    reach = speed * sim_time + 3.0
    track = make_track(int(track_seed), length=max(120.0, reach + 10.0))
    xml = car_mjcf(blueprint, track.mjcf(max_x=reach), timestep, _start_height(blueprint))
    return mujoco.MjModel.from_xml_string(xml), track, speed


def simulate(
    blueprint: np.ndarray,
    track_seed: int = 0,
    sim_time: float = 15.0,
    timestep: float = 0.01,
    stall_time: float = 3.0,
    record: bool = False,
    record_every: float = 0.05,
) -> SimResult:
    """Drive one blueprint ``(DIM,)`` on the track of ``track_seed``; never raises on bad input.

    Out-of-range values within a tiny tolerance are clamped; anything else invalid (nan,
    inf, far out of range) scores nan with outcome ``"invalid"``.
    """
    blueprint = np.asarray(blueprint, dtype=np.float64).reshape(-1)
    if blueprint.shape != (bp.DIM,) or not bp.in_bounds(blueprint[None])[0]:
        return SimResult(math.nan, "invalid", 0.0, math.nan)
    blueprint = bp.clip(blueprint[None])[0]
    try:
        model, track, speed = build(blueprint, track_seed, sim_time, timestep)
    except Exception:  # a compile error is a bad blueprint, not a crash
        return SimResult(math.nan, "invalid", 0.0, math.nan)
    data = mujoco.MjData(model)
    data.ctrl[:] = float(blueprint[bp.INDEX["motor_speed"]])
    mujoco.mj_forward(model, data)
    x0 = float(data.qpos[0])
    z_start = float(data.xpos[1, 2])
    nchunk = max(1, int(round(CHECK_EVERY / timestep)))
    nrec = max(1, int(round(record_every / timestep)))
    total = int(round(sim_time / timestep))
    best, best_t = 0.0, 0.0
    outcome = "time"
    rows: list[tuple[float, ...]] = []
    bad = (
        mujoco.mjtWarning.mjWARN_BADQACC,
        mujoco.mjtWarning.mjWARN_BADQPOS,
        mujoco.mjtWarning.mjWARN_BADQVEL,
    )
    step = 0
    if record:
        rows.append((0.0, *data.qpos[:5].tolist()))
    while step < total:
        n = min(nchunk, total - step)
        if record:
            for _ in range(n):
                mujoco.mj_step(model, data)
                step += 1
                if step % nrec == 0:
                    rows.append((data.time, *data.qpos[:5].tolist()))
        else:
            mujoco.mj_step(model, data, nstep=n)
            step += n
        qpos = data.qpos
        if any(data.warning[w].number for w in bad) or not np.isfinite(qpos).all():
            return SimResult(math.nan, "diverged", float(data.time), math.nan, _traj(rows))
        t = float(data.time)
        progress = float(qpos[0]) - x0
        progress = min(progress, speed * t)  # the rolling bound (exact by construction)
        if progress > best + STALL_DISTANCE:
            best, best_t = progress, t
        elif progress > best:
            best = progress
        if math.cos(float(qpos[2])) < 0.0:
            outcome = "flip"
            break
        z = float(qpos[1]) + z_start
        if z < track.ground_below(float(qpos[0])) - 2.0:
            outcome = "fall"
            break
        if t - best_t > stall_time:
            outcome = "stall"
            break
    score = max(best, 0.0)
    return SimResult(score, outcome, float(data.time), float(data.qpos[0]) - x0, _traj(rows))


def _traj(rows: list) -> np.ndarray | None:
    return np.asarray(rows, dtype=np.float64) if rows else None


class Evaluate:
    """Picklable batch oracle: mean score over ``track_seeds`` per blueprint, ``(n,)``.

    A blueprint that is nan on any track is nan. Wrong shapes raise ``ValueError``.
    """

    def __init__(
        self,
        track_seeds: tuple[int, ...] = (0,),
        sim_time: float = 15.0,
        timestep: float = 0.01,
        stall_time: float = 3.0,
    ) -> None:
        self.track_seeds = tuple(int(s) for s in track_seeds)
        self.sim_time, self.timestep, self.stall_time = (
            float(sim_time),
            float(timestep),
            float(stall_time),
        )

    def details(self, designs) -> list[list[SimResult]]:
        arr = bp.as_blueprints(designs)
        return [
            [
                simulate(row, s, self.sim_time, self.timestep, self.stall_time)
                for s in self.track_seeds
            ]
            for row in arr
        ]

    def __call__(self, designs) -> np.ndarray:
        out = [np.mean([r.score for r in rs]) for rs in self.details(designs)]
        return np.asarray(out, dtype=np.float64)
