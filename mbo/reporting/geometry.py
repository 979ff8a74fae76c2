"""Geometry of the teaching views: the optimizer's coordinates, directions, distances.

**Coordinates.** Sweeps and maps move in the optimizer's own coordinates: for a box the
design tensor standardized per entry by the offline data (``z = (x - loc) / scale``, as
gradient ascent does), for sequences the raw logits. Distances (``t``, the map axes ``a`` and
``b``) are Euclidean in those coordinates, so ``t = 1`` on a box is "one offline standard
deviation" spread over the entries. The standardization is the one the study used
(:attr:`mbo.study.StudyResult.x_loc` / ``x_scale``), recomputed from the offline data only
for a result that does not carry it.

Distances to the offline data are :class:`mbo.evaluation.Geometry`'s (the audit's own), in
the same coordinates (:func:`study_geometry`). Every function here is a computation: no
drawing, no files. :func:`score_points` is the one that calls the oracle (one batched call,
for reporting, after the designs were chosen).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch
from torch import Tensor

from surrogates._base import spread

from ..evaluation import Geometry, audit_designs, surrogate_device
from ..study import StudyResult

#: a projection that moves a point by more than this (raw design units) counts as clipping.
CLIP_TOL = 1e-6


def study_coordinates(result: StudyResult) -> tuple[Tensor, Tensor]:
    """``(loc, scale)`` of the optimizer's coordinates ``z = (x - loc) / scale`` (CPU).

    The study's own standardization where the result carries it; otherwise the offline data's
    per-entry mean and spread for spaces that standardize (boxes), zeros and ones otherwise
    (logits), exactly as :func:`mbo.study.run_study` sets them up.
    """
    if result.x_loc is not None and result.x_scale is not None:
        return result.x_loc.cpu(), result.x_scale.cpu()
    space, x = result.domain.space, result.offline.x.float()
    if space.standardize:
        return x.mean(0), spread(x)
    return torch.zeros(space.shape), torch.ones(space.shape)


def coordinates_note(result: StudyResult) -> str:
    """One line saying what the views' coordinates are (kept in each view's metadata)."""
    if result.domain.space.standardize:
        return "design tensor standardized by the offline data (offline standard deviations)"
    return "raw logits (the optimizer's coordinates); each point decoded by per-position argmax"


def pick_design(
    result: StudyResult, design_id: int = 0, step: str | int = "start"
) -> tuple[Tensor, int]:
    """The design tensor ``(*shape)`` of one design at a checkpoint, and that step number.

    ``step`` is ``"start"``, ``"final"`` or a checkpoint step number.
    """
    traj = result.trajectory
    k = traj.x.shape[1]
    if not 0 <= design_id < k:
        raise ValueError(f"design_id must be in [0, {k}), got {design_id}")
    if step == "start":
        c = 0
    elif step == "final":
        c = len(traj.steps) - 1
    elif step in traj.steps:
        c = traj.steps.index(step)
    else:
        raise ValueError(f"step must be 'start', 'final' or one of {traj.steps}, got {step!r}")
    return traj.x[c, design_id].detach().cpu().float(), int(traj.steps[c])


def input_gradient(result: StudyResult, x0: Tensor) -> Tensor:
    """Unit-length gradient of the surrogate's prediction w.r.t. the optimizer's coordinates
    at design tensor ``x0`` ``(*shape)`` (relaxed features, as the optimizer sees them).

    Returns zeros where the gradient vanishes (a flat region of the surrogate).
    """
    _, scale = study_coordinates(result)
    dev = surrogate_device(result.surrogate)
    x0, scale = x0.to(dev), scale.to(dev)
    dz = torch.zeros_like(x0, requires_grad=True)
    with torch.enable_grad():
        value = result.surrogate(result.domain.space.features((x0 + scale * dz)[None], hard=False))
        (g,) = torch.autograd.grad(value.sum(), dz)
    g = g.detach().cpu().double()
    norm = float(g.norm())
    return (g / norm).float() if norm > 0 and math.isfinite(norm) else torch.zeros_like(g).float()


def random_unit(shape: Sequence[int], seed: int, orthogonal_to: Tensor | None = None) -> Tensor:
    """A seeded random unit vector of ``shape`` (orthogonal to a unit vector if given)."""
    g = torch.Generator().manual_seed(int(seed))
    u = torch.randn(tuple(shape), generator=g, dtype=torch.float64)
    if orthogonal_to is not None and float(orthogonal_to.norm()) > 0:
        o = orthogonal_to.double()
        u = u - (u * o).sum() * o
    return (u / u.norm()).float()


def default_span(result: StudyResult, design_id: int) -> float:
    """1.25 x how far the optimizer moved this design (optimizer coordinates); 1 if it didn't."""
    _, scale = study_coordinates(result)
    traj = result.trajectory
    dist = float(((traj.x[-1, design_id] - traj.x[0, design_id]) / scale).norm())
    return 1.25 * dist if dist > 1e-6 else 1.0


def displace(x0: Tensor, scale: Tensor, steps: Tensor) -> Tensor:
    """``x0 + scale * steps`` for a batch of displacements ``(N, *shape)`` in optimizer
    coordinates; a zero displacement gives ``x0`` exactly."""
    return x0[None] + scale[None] * steps


def study_geometry(result: StudyResult) -> Geometry:
    """Distances in the study's coordinates (:class:`mbo.evaluation.Geometry`): Euclidean in
    optimizer coordinates for boxes (offline standard deviations), changed tokens (Hamming)
    for sequences; ``offline_distance(x)`` to the nearest offline design and
    ``offline_spacing()``, the offline data's typical nearest-neighbour distance."""
    loc, scale = study_coordinates(result)
    return Geometry(result.domain.space, loc, scale, result.offline.x)


def score_points(result: StudyResult, x_raw: Tensor) -> pd.DataFrame:
    """Project design tensors ``(N, *shape)`` into the space, decode them and score them: the
    surrogate (decoded and relaxed) and the oracle in one batched call (reporting only).

    Returns the columns of :func:`mbo.evaluation.audit_designs` plus ``clipped`` (the
    projection moved the point) and ``offline_distance``.
    """
    space = result.domain.space
    x = space.project(x_raw)
    clipped = (x - x_raw).abs().flatten(1).amax(1) > CLIP_TOL
    table = audit_designs(result.domain, result.surrogate, x)
    table["clipped"] = clipped.numpy()
    table["offline_distance"] = study_geometry(result).offline_distance(x)
    return table
