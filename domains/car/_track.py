"""Seeded rough tracks: a chain of tilted box tiles whose roughness grows with distance.

The track starts with a flat pad from ``x = -START_PAD`` to ``x = FLAT_LENGTH`` (the car
starts at ``x = 0``). After it, tiles of 0.6-1.2 m follow each other; each tile's slope is
a slow hill wave plus random bumps, both scaled by a roughness that ramps from 0 to 1 over
``RAMP_LENGTH`` metres, and gaps (missing ground, 0.1-0.6 m wide, wider further on) open
with a probability that also grows with the roughness. Gaps have no floor: a car that drops
into one falls out of the run. Everything depends only on the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

START_PAD = 3.0
FLAT_LENGTH = 4.0
RAMP_LENGTH = 40.0
TILE_THICKNESS = 0.2
MAX_SLOPE = 0.65  # rad (~37 deg)
#: the generator's version: bump it when the track recipe changes (it keys the disk cache).
TRACK_VERSION = 1


@dataclass(frozen=True)
class Track:
    """Tiles as segments of the top surface: ``start`` and ``end`` ``(m, 2)`` as (x, z)."""

    seed: int
    start: np.ndarray
    end: np.ndarray

    @property
    def length(self) -> float:
        return float(self.end[-1, 0])

    def height(self, x: np.ndarray | float) -> np.ndarray:
        """Surface height at ``x`` (nan over gaps and beyond the ends)."""
        x = np.asarray(x, dtype=np.float64)
        out = np.full(x.shape, np.nan)
        i = np.searchsorted(self.start[:, 0], x, side="right") - 1
        ok = (i >= 0) & (i < len(self.start))
        ic = np.clip(i, 0, len(self.start) - 1)
        x0, z0 = self.start[ic, 0], self.start[ic, 1]
        x1, z1 = self.end[ic, 0], self.end[ic, 1]
        ok &= x <= x1
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(ok, z0 + (x - x0) * (z1 - z0) / np.maximum(x1 - x0, 1e-12), np.nan)
        return out

    def ground_below(self, x: float) -> float:
        """The lowest surface height within 3 m of ``x`` (for detecting a fall)."""
        lo = np.searchsorted(self.end[:, 0], x - 3.0)
        hi = np.searchsorted(self.start[:, 0], x + 3.0)
        if hi <= lo:
            return float(np.min(self.end[:, 1]))
        return float(min(self.start[lo:hi, 1].min(), self.end[lo:hi, 1].min()))

    def mjcf(self, max_x: float | None = None) -> str:
        """MJCF ``<geom>`` elements of the tiles (up to the tile that passes ``max_x``)."""
        return _mjcf(self.seed, float("inf") if max_x is None else float(np.ceil(max_x)))


@lru_cache(maxsize=64)
def make_track(seed: int, length: float = 120.0) -> Track:
    """The seeded track, at least ``length`` m long past the start."""
    rng = np.random.default_rng([int(seed), 7417])
    starts = [(-START_PAD, 0.0)]
    ends = [(FLAT_LENGTH, 0.0)]
    x, z = FLAT_LENGTH, 0.0
    wavelength = rng.uniform(6.0, 12.0)
    phase = rng.uniform(0, 2 * np.pi)
    last_gap = True
    while x < length:
        rough = min(1.0, (x - FLAT_LENGTH) / RAMP_LENGTH)
        if not last_gap and rng.random() < 0.12 * rough:
            gap = rng.uniform(0.1, 0.2 + 0.4 * rough)
            x += gap
            z += rng.uniform(-0.05, 0.15) * rough
            last_gap = True
            continue
        last_gap = False
        tile = rng.uniform(0.6, 1.2)
        slope = rough * (0.3 * np.sin(2 * np.pi * x / wavelength + phase) + 0.22 * rng.normal())
        slope = float(np.clip(slope, -MAX_SLOPE, MAX_SLOPE))
        x1, z1 = x + tile * np.cos(slope), z + tile * np.sin(slope)
        starts.append((x, z))
        ends.append((x1, z1))
        x, z = x1, z1
    return Track(int(seed), np.array(starts), np.array(ends))


@lru_cache(maxsize=256)
def _mjcf(seed: int, max_x: float) -> str:
    track = make_track(seed, length=max(120.0, max_x + 10.0) if np.isfinite(max_x) else 120.0)
    parts = []
    h = TILE_THICKNESS / 2
    for i, (a, b) in enumerate(zip(track.start, track.end, strict=True)):
        if a[0] > max_x:
            break
        d = b - a
        length = float(np.hypot(*d))
        slope = float(np.arctan2(d[1], d[0]))
        normal = np.array([-np.sin(slope), np.cos(slope)])
        c = (a + b) / 2 - normal * h
        # a positive rotation about +y tilts +x downward, so a rising tile gets -slope
        parts.append(
            f'<geom name="tile{i}" type="box" size="{length / 2 + 0.005:.6f} 0.6 {h:.6f}" '
            f'pos="{c[0]:.6f} 0 {c[1]:.6f}" euler="0 {-slope:.6f} 0" class="track"/>'
        )
    return "\n".join(parts)
