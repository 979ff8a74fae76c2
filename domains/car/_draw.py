"""Pictures: blueprint grids and drives (MuJoCo renderer where GL works, else matplotlib)."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from . import _blueprint as bp
from ._sim import SimResult, _start_height, build, simulate
from ._track import TILE_THICKNESS, make_track


def _rot(theta: float) -> np.ndarray:
    # hinge about +y: a positive angle tilts +x downward; points are (x, z)
    c, s = math.cos(theta), math.sin(theta)
    return np.array([[c, s], [-s, c]])


def _draw_car(
    ax,
    blueprint: np.ndarray,
    origin=(0.0, 0.0),
    pitch: float = 0.0,
    wheel_angles=(0.0, 0.0),
    alpha: float = 1.0,
    ok: bool = True,
) -> None:
    from matplotlib.patches import Circle, Polygon

    b = bp.clip(blueprint[None])
    rot = _rot(pitch)
    o = np.asarray(origin, dtype=float)
    verts = bp.vertices(b)[0] @ rot.T + o
    color = "tab:blue" if ok else "tab:red"
    ax.add_patch(Polygon(verts, closed=True, fc=color, ec="k", lw=0.8, alpha=0.55 * alpha))
    w = bp.wheel_params(b)
    for i in range(2):
        c = w["axle"][0, i] @ rot.T + o
        r = float(w["radius"][0, i])
        shade = 0.15 + 0.6 * (
            1 - (w["density"][0, i] - bp.LOWER[10]) / (bp.UPPER[10] - bp.LOWER[10])
        )
        ax.add_patch(
            Circle(c, r, fc=str(round(float(shade), 3)), ec="k", lw=0.8, alpha=0.8 * alpha)
        )
        phi = wheel_angles[i] + pitch
        d = np.array([math.cos(phi), -math.sin(phi)]) * r
        ax.plot([c[0] - d[0], c[0] + d[0]], [c[1] - d[1], c[1] + d[1]], "w-", lw=0.8, alpha=alpha)
        ax.plot(*c, "k.", ms=3, alpha=alpha)


def draw_blueprints(
    designs: np.ndarray, labels: list[str], path: str, ncols: int | None = None
) -> bool:
    """A PNG grid of blueprints (chassis polygon, wheels shaded by density, the ground line
    at the car's resting height) with one label under each; returns ``True``."""
    designs = bp.as_blueprints(designs)
    n = len(designs)
    labels = list(labels) if labels is not None else [""] * n
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} designs")
    ncols = ncols or min(max(n, 1), 6)
    nrows = max(1, math.ceil(n / ncols))
    fig = Figure(figsize=(2.2 * ncols, 2.4 * nrows))  # no pyplot: the caller's backend stays
    axes = fig.subplots(nrows, ncols, squeeze=False)
    valid = bp.in_bounds(designs) if n else np.zeros(0, bool)
    for i, ax in enumerate(axes.flat):
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        row = np.nan_to_num(designs[i], nan=0.0)
        _draw_car(ax, row, ok=bool(valid[i]))
        ground = -_start_height(bp.clip(row[None])[0]) + 0.01
        ax.axhline(ground, color="0.4", lw=1.5)
        ax.set_xlim(-1.55, 1.55)
        ax.set_ylim(min(-1.55, ground - 0.1), 1.25)
        ax.set_xlabel(labels[i], fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def _track_patch(ax, track, x_lo: float, x_hi: float) -> None:
    from matplotlib.patches import Polygon

    for a, b in zip(track.start, track.end, strict=True):
        if b[0] < x_lo or a[0] > x_hi:
            continue
        d = b - a
        nrm = np.array([-d[1], d[0]]) / max(np.hypot(*d), 1e-12)
        poly = [a, b, b - nrm * TILE_THICKNESS, a - nrm * TILE_THICKNESS]
        ax.add_patch(Polygon(poly, closed=True, fc="0.55", ec="0.3", lw=0.5))


def _poses(res: SimResult, blueprint: np.ndarray) -> np.ndarray:
    """Trajectory rows -> (t, world x, world z, pitch, wheel0, wheel1)."""
    tr = res.trajectory.copy()
    tr[:, 2] += _start_height(blueprint)
    return tr


def render_drive(
    blueprint: np.ndarray,
    path: str,
    track_seed: int = 0,
    sim_time: float = 15.0,
    timestep: float = 0.01,
    stall_time: float = 3.0,
    n_frames: int = 6,
    renderer: str = "auto",
    title: str | None = None,
) -> str:
    """Draw one drive to ``path`` (PNG strip of frames over a track overview, or a GIF).

    ``renderer``: ``"auto"`` tries MuJoCo's offscreen renderer when ``MUJOCO_GL`` is set
    and falls back to matplotlib; ``"mujoco"`` tries it regardless; ``"matplotlib"``
    never tries it. Returns the backend used.
    """
    blueprint = np.asarray(blueprint, dtype=np.float64).reshape(-1)
    res = simulate(blueprint, track_seed, sim_time, timestep, stall_time, record=True)
    if res.trajectory is None or len(res.trajectory) < 2:
        raise ValueError(f"nothing to draw: the drive ended as {res.outcome!r}")
    blueprint = bp.clip(blueprint[None])[0]
    title = title or f"{res.score:.2f} m ({res.outcome} at {res.time:.1f} s), track {track_seed}"
    if renderer == "mujoco" or (renderer == "auto" and os.environ.get("MUJOCO_GL")):
        try:
            _render_mujoco(blueprint, res, path, track_seed, sim_time, timestep, n_frames, title)
            return "mujoco"
        except Exception:
            pass
    _render_matplotlib(blueprint, res, path, track_seed, n_frames, title)
    return "matplotlib"


def _frame_rows(n_rows: int, n_frames: int) -> np.ndarray:
    return np.unique(np.linspace(0, n_rows - 1, max(n_frames, 2)).round().astype(int))


def _render_matplotlib(blueprint, res, path, track_seed, n_frames, title) -> None:
    tr = _poses(res, blueprint)
    track = make_track(int(track_seed), length=max(120.0, float(tr[:, 1].max()) + 20.0))
    span = 3.5
    if str(path).lower().endswith(".gif"):
        from matplotlib.animation import FuncAnimation, PillowWriter

        fig = Figure(figsize=(6, 3))
        ax = fig.subplots()
        rows = _frame_rows(len(tr), max(n_frames, 40))

        def frame(k: int) -> None:
            ax.clear()
            t, x, z, th, a0, a1 = tr[rows[k]]
            _track_patch(ax, track, x - span, x + span)
            _draw_car(ax, blueprint, (x, z), th, (a0, a1))
            ax.set_xlim(x - span, x + span)
            ax.set_ylim(z - 1.8, z + 1.8)
            ax.set_aspect("equal")
            ax.set_title(f"t = {t:.1f} s, x = {x:.1f} m — {title}", fontsize=7)

        anim = FuncAnimation(fig, frame, frames=len(rows))
        anim.save(path, writer=PillowWriter(fps=10))
        return
    rows = _frame_rows(len(tr), n_frames)
    fig = Figure(figsize=(2.4 * len(rows), 5.2))
    gs = fig.add_gridspec(2, len(rows), height_ratios=[1.2, 1])
    for j, r in enumerate(rows):
        ax = fig.add_subplot(gs[0, j])
        t, x, z, th, a0, a1 = tr[r]
        _track_patch(ax, track, x - span, x + span)
        _draw_car(ax, blueprint, (x, z), th, (a0, a1))
        ax.set_xlim(x - 1.8, x + 1.8)
        ax.set_ylim(z - 1.8, z + 1.8)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"t={t:.1f} s  x={x:.1f} m", fontsize=7)
    ax = fig.add_subplot(gs[1, :])
    x_lo, x_hi = min(-2.0, tr[:, 1].min() - 1), max(10.0, tr[:, 1].max() + 3)
    _track_patch(ax, track, x_lo, x_hi)
    ax.plot(tr[:, 1], tr[:, 2], "-", color="tab:blue", lw=1, label="chassis origin")
    for r in rows:
        _draw_car(ax, blueprint, tr[r, 1:3], tr[r, 3], tr[r, 4:6], alpha=0.6)
    ax.set_xlim(x_lo, x_hi)
    zs = np.concatenate([tr[:, 2], track.height(np.linspace(x_lo, x_hi, 200))])
    zs = zs[np.isfinite(zs)]
    ax.set_ylim(zs.min() - 1.5, zs.max() + 1.5)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("z (m)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _render_mujoco(blueprint, res, path, track_seed, sim_time, timestep, n_frames, title) -> Any:
    import mujoco
    from PIL import Image

    model, _, _ = build(blueprint, track_seed, sim_time, timestep)
    model.vis.headlight.ambient[:] = (0.6, 0.6, 0.6)
    model.vis.headlight.diffuse[:] = (0.5, 0.5, 0.5)
    data = mujoco.MjData(model)
    tr = res.trajectory
    rows = _frame_rows(len(tr), n_frames if not str(path).lower().endswith(".gif") else 60)
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.azimuth, cam.elevation, cam.distance = 90.0, -5.0, 4.5
    images = []
    with mujoco.Renderer(model, height=240, width=320) as renderer:
        for r in rows:
            data.qpos[:5] = tr[r, 1:6]
            mujoco.mj_forward(model, data)
            cam.lookat[:] = data.xpos[1]
            renderer.update_scene(data, camera=cam)
            images.append(Image.fromarray(renderer.render()))
    if str(path).lower().endswith(".gif"):
        images[0].save(path, save_all=True, append_images=images[1:], duration=100, loop=0)
    else:
        strip = Image.new("RGB", (320 * len(images), 240))
        for j, im in enumerate(images):
            strip.paste(im, (320 * j, 0))
        strip.save(path)
    return None
