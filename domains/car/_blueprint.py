"""The car blueprint: a flat vector of 19 continuous parameters, and its geometry.

A blueprint is a row of a float64 array ``(n, 19)``; every column is continuous so that
gradient ascent on the design tensor applies. The car lives in the x-z plane (x forward,
z up): a star-shaped chassis polygon with 8 vertices at fixed angles, and two wheels
attached to points on or inside it, both driven by the same motor.

=====  ==================  ========  =============  ==============================================
col    name                unit      range          meaning
=====  ==================  ========  =============  ==============================================
0-7    ``r0`` .. ``r7``    m         [0.1, 1.0]     distance of chassis vertex k from the chassis
                                                    origin, at angle 45°·k (k=0 points forward
                                                    (+x), k=2 up (+z), k=4 backward, k=6 down)
8      ``chassis_density`` kg/m³     [100, 1000]    chassis density (chassis is 0.1 m thick in y)
9      ``w0_radius``       m         [0.05, 0.5]    radius of wheel 0
10     ``w0_density``      kg/m³     [100, 1000]    density of wheel 0 (a 0.1 m wide disc)
11     ``w0_vertex``       vertex    [0, 8]         where wheel 0's axle sits along the outline:
                                                    integer part = vertex k, fraction = share of
                                                    the way to vertex k+1 (8 wraps to vertex 0)
12     ``w0_inset``        1         [0, 1]         axle pulled from the outline towards the
                                                    origin: 0 on the outline, 1 at the origin
13-16  ``w1_*``            as above  as above       the same four parameters for wheel 1
17     ``motor_speed``     rad/s     [0, 12]        target angular speed of both wheels
18     ``motor_torque``    N·m       [0, 60]        torque limit of each wheel's motor
=====  ==================  ========  =============  ==============================================

Both wheels spin forward at up to ``motor_speed`` (a stiff velocity servo saturating at
``motor_torque``), so no part of the car can roll faster than
``motor_speed * max(w0_radius, w1_radius)`` — the exact per-design bound of the score.
"""

from __future__ import annotations

import numpy as np

from .._space import BOX_RTOL, in_box

N_VERTICES = 8
#: chassis thickness along y (m); the chassis is a prism of the polygon.
CHASSIS_THICKNESS = 0.1
#: wheel width along y (m); wheels are discs of this width for their mass and inertia.
WHEEL_WIDTH = 0.1

#: (name, unit, lower, upper, description) for every column.
PARAMETERS: list[tuple[str, str, float, float, str]] = [
    *[(f"r{k}", "m", 0.1, 1.0, f"chassis vertex {k} distance at {45 * k} deg") for k in range(8)],
    ("chassis_density", "kg/m^3", 100.0, 1000.0, "chassis density"),
    *[
        row
        for w in range(2)
        for row in (
            (f"w{w}_radius", "m", 0.05, 0.5, f"wheel {w} radius"),
            (f"w{w}_density", "kg/m^3", 100.0, 1000.0, f"wheel {w} density"),
            (f"w{w}_vertex", "vertex", 0.0, 8.0, f"wheel {w} axle position along the outline"),
            (f"w{w}_inset", "1", 0.0, 1.0, f"wheel {w} axle inset towards the chassis origin"),
        )
    ],
    ("motor_speed", "rad/s", 0.0, 12.0, "wheel motor target speed"),
    ("motor_torque", "N*m", 0.0, 60.0, "wheel motor torque limit (each wheel)"),
]

NAMES: list[str] = [p[0] for p in PARAMETERS]
UNITS: list[str] = [p[1] for p in PARAMETERS]
LOWER = np.array([p[2] for p in PARAMETERS], dtype=np.float64)
UPPER = np.array([p[3] for p in PARAMETERS], dtype=np.float64)
DIM = len(PARAMETERS)
INDEX = {name: i for i, name in enumerate(NAMES)}

ANGLES = np.arange(N_VERTICES) * (2 * np.pi / N_VERTICES)


def parameter_table() -> str:
    """The parameters as a plain-text table (name, unit, range, meaning)."""
    lines = [f"{'col':>3}  {'name':<16} {'unit':<7} {'range':<14} meaning"]
    for i, (name, unit, lo, hi, desc) in enumerate(PARAMETERS):
        rng = f"[{lo:g}, {hi:g}]"
        lines.append(f"{i:>3}  {name:<16} {unit:<7} {rng:<14} {desc}")
    return "\n".join(lines)


def as_blueprints(designs) -> np.ndarray:
    """Designs as a float64 array ``(n, DIM)``; raises ``ValueError`` on a wrong shape."""
    arr = np.asarray(designs, dtype=np.float64)
    if arr.ndim == 1 and arr.shape[0] == DIM:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != DIM:
        raise ValueError(f"car: expected blueprints of shape (n, {DIM}), got {arr.shape}")
    return arr


def in_bounds(designs: np.ndarray, rtol: float = BOX_RTOL) -> np.ndarray:
    """Rows that are finite and inside the bounds, ``(n,)``: the same rule as every box domain
    (:func:`domains._space.in_box`: ``rtol`` of each range plus float32 rounding)."""
    return in_box(as_blueprints(designs), LOWER, UPPER, rtol)


def clip(designs: np.ndarray) -> np.ndarray:
    """Clamp blueprints into the bounds (nan stays nan)."""
    return np.clip(as_blueprints(designs), LOWER, UPPER)


def vertices(designs: np.ndarray) -> np.ndarray:
    """Chassis polygon vertices in the car frame ``(n, 8, 2)`` as (x, z)."""
    r = as_blueprints(designs)[:, :N_VERTICES]
    return np.stack([r * np.cos(ANGLES), r * np.sin(ANGLES)], axis=-1)


def wheel_params(designs: np.ndarray) -> dict[str, np.ndarray]:
    """Wheel radii, densities and axle positions: arrays ``(n, 2)`` and ``(n, 2, 2)``."""
    arr = as_blueprints(designs)
    verts = vertices(arr)
    n = len(arr)
    radius = np.empty((n, 2))
    density = np.empty((n, 2))
    axle = np.empty((n, 2, 2))
    for w in range(2):
        radius[:, w] = arr[:, INDEX[f"w{w}_radius"]]
        density[:, w] = arr[:, INDEX[f"w{w}_density"]]
        t = np.mod(arr[:, INDEX[f"w{w}_vertex"]], N_VERTICES)
        t = np.nan_to_num(t)
        k = np.floor(t).astype(int) % N_VERTICES
        frac = (t - np.floor(t))[:, None]
        a = verts[np.arange(n), k]
        b = verts[np.arange(n), (k + 1) % N_VERTICES]
        edge = (1 - frac) * a + frac * b
        inset = arr[:, INDEX[f"w{w}_inset"]][:, None]
        axle[:, w] = (1 - inset) * edge
    return {"radius": radius, "density": density, "axle": axle}


def chassis_mass_properties(designs: np.ndarray) -> dict[str, np.ndarray]:
    """Chassis area, mass, centre of mass ``(n, 2)`` and pitch inertia about the COM."""
    arr = as_blueprints(designs)
    v = vertices(arr)
    a, b = v, np.roll(v, -1, axis=1)
    cross = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]  # twice the triangle areas (> 0)
    tri_area = 0.5 * cross
    area = tri_area.sum(axis=1)
    centroid = (tri_area[..., None] * (a + b) / 3.0).sum(axis=1) / area[:, None]
    # polar second moment of each triangle (origin, a, b) about the origin
    j_origin = (tri_area / 6.0 * ((a * a).sum(-1) + (b * b).sum(-1) + (a * b).sum(-1))).sum(axis=1)
    rho = arr[:, INDEX["chassis_density"]] * CHASSIS_THICKNESS
    mass = rho * area
    inertia = rho * j_origin - mass * (centroid**2).sum(-1)
    return {"area": area, "mass": mass, "com": centroid, "inertia": inertia}


def wheel_mass_properties(designs: np.ndarray) -> dict[str, np.ndarray]:
    """Wheel masses and spin inertias ``(n, 2)`` (discs of width ``WHEEL_WIDTH``)."""
    w = wheel_params(designs)
    mass = w["density"] * np.pi * w["radius"] ** 2 * WHEEL_WIDTH
    return {"mass": mass, "inertia": 0.5 * mass * w["radius"] ** 2}


def max_rolling_speed(designs: np.ndarray) -> np.ndarray:
    """``motor_speed * max wheel radius`` (m/s), ``(n,)``."""
    arr = as_blueprints(designs)
    radius = np.maximum(arr[:, INDEX["w0_radius"]], arr[:, INDEX["w1_radius"]])
    return arr[:, INDEX["motor_speed"]] * radius
