"""The audit: decode every checkpoint, ask the sealed oracle, tabulate predicted vs true.

This is the only place (besides dataset construction and reporting) that calls the oracle.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from domains import Domain
from surrogates import Surrogate

from ..optimizers import Trajectory
from .geometry import Geometry


def surrogate_device(surrogate: Surrogate) -> torch.device:
    """The device a fitted surrogate lives on (CPU if it holds no tensors)."""
    for t in itertools.chain(surrogate.buffers(), surrogate.parameters()):
        return t.device
    return torch.device("cpu")


@torch.no_grad()
def predict_batched(surrogate: Surrogate, features: Tensor, batch_size: int = 4096) -> np.ndarray:
    """Surrogate mean at features ``(N, d)`` in batches on its own device, float64 ``(N,)``."""
    device = surrogate_device(surrogate)
    out = [
        surrogate(features[i : i + batch_size].to(device)).float().cpu()
        for i in range(0, features.shape[0], batch_size)
    ]
    return torch.cat(out).numpy().astype(np.float64)


@torch.no_grad()
def predict_std_batched(
    surrogate: Surrogate, features: Tensor, batch_size: int = 4096
) -> np.ndarray:
    """Surrogate std at features ``(N, d)``, float64 ``(N,)``; ``nan`` without a std."""
    if not surrogate.has_std:
        return np.full(features.shape[0], np.nan)
    device = surrogate_device(surrogate)
    out = [
        surrogate.predict(features[i : i + batch_size].to(device))[1].float().cpu()
        for i in range(0, features.shape[0], batch_size)
    ]
    return torch.cat(out).numpy().astype(np.float64)


def audit_designs(
    domain: Domain,
    surrogate: Surrogate,
    x: Tensor,
    batch_size: int = 4096,
    designs: Any = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Audit a flat batch of design tensors ``(N, *shape)`` (``designs``: their decoding, if known).

    Returns one row per design: ``predicted`` (surrogate at the decoded design's features),
    ``predicted_relaxed`` (at the design tensor itself; differs for categorical spaces),
    ``true`` (oracle, ``nan`` if invalid or on an oracle error), ``valid``, ``oracle_error``
    (the evaluation failed: no outcome; never counted as invalid), ``bound`` (exact upper bound or
    ``nan``), ``predicted_std`` (the surrogate's std at the decoded design, ``nan`` for
    surrogates without one), their normalized versions ``*_norm`` and the domain's design
    columns.
    """
    space = domain.space
    space.check(x)
    x = x.detach().cpu().float()
    designs = domain.decode(x) if designs is None else designs
    hard = space.features(x, hard=True)
    predicted = predict_batched(surrogate, hard, batch_size)
    relaxed = predict_batched(surrogate, space.features(x, hard=False), batch_size)
    std = predict_std_batched(surrogate, hard, batch_size)
    result = domain.oracle.query(designs, progress="oracle audit" if progress else None)
    true = result.values
    bound = domain.upper_bound(designs)
    bound = np.full(len(true), np.nan) if bound is None else np.asarray(bound, dtype=np.float64)
    table = pd.DataFrame(
        {
            "predicted": predicted,
            "predicted_relaxed": relaxed,
            "true": true,
            "valid": np.isfinite(true),
            "oracle_error": result.error,
            "bound": bound,
            "predicted_std": std,
        }
    )
    for col in ("predicted", "predicted_relaxed", "true", "bound"):
        table[f"{col}_norm"] = domain.normalize(table[col].to_numpy())
    table["predicted_std_norm"] = domain.normalize(std) - domain.normalize(np.zeros_like(std))
    for name, values in domain.design_columns(designs).items():
        table[name] = values
    return table


def check_start(trajectory: Trajectory, starts: Tensor, atol: float = 1e-6) -> None:
    """Raise ``ValueError`` unless the trajectory's step 0 holds ``starts`` ``(K, *shape)``
    (the top-k offline designs, projected) in order: every optimizer must start there."""
    x0 = trajectory.start.detach().cpu().float()
    starts = starts.detach().cpu().float()
    if x0.shape != starts.shape:
        raise ValueError(
            f"the optimizer's step 0 has shape {tuple(x0.shape)}, the top-k offline designs "
            f"{tuple(starts.shape)}"
        )
    off = (x0 - starts).abs().flatten(1).amax(1)
    bad = (off > atol).nonzero().flatten()
    if len(bad):
        raise ValueError(
            f"the optimizer's step 0 is not the top-k offline designs: {len(bad)} of "
            f"{len(x0)} differ (first: design {int(bad[0])}, by {float(off[bad[0]]):.3g})"
        )


#: salt of the seeded audit subsample (keeps its draw apart from the study's other streams)
_SUBSAMPLE_SALT = 1717


def audit_ids(k: int, subsample: int | None, seed: int) -> np.ndarray | None:
    """The design ids audited at the intermediate checkpoints: ``subsample`` of the ``k``
    designs, drawn without replacement with ``seed`` alone (never from any score), sorted.

    ``None`` (every design) when ``subsample`` is ``None`` or at least ``k``.
    """
    if subsample is None:
        return None
    if isinstance(subsample, bool) or not isinstance(subsample, int | np.integer) or subsample < 1:
        raise ValueError(f"audit_subsample must be a positive integer or None, got {subsample!r}")
    if subsample >= k:
        return None
    rng = np.random.default_rng([int(seed), _SUBSAMPLE_SALT])
    return np.sort(rng.choice(k, size=int(subsample), replace=False))


def audit(
    domain: Domain,
    surrogate: Surrogate,
    trajectory: Trajectory,
    control: Tensor | None = None,
    batch_size: int = 4096,
    geometry: Geometry | None = None,
    progress: bool = False,
    subsample: Any = None,
) -> pd.DataFrame:
    """The tidy audit table of a trajectory (and of the random-direction control).

    Columns: ``arm`` (``"ascent"`` or ``"control"``), ``step``, ``design_id`` (index of the
    design within the batch of K), those of :func:`audit_designs`, and ``changed`` (the
    decoded design differs from its start design). The control rows
    sit at the final step. Every audited design is decoded and scored in one oracle call.
    With a ``geometry``, ``moved`` (distance from the design's start) and
    ``offline_distance`` (to the nearest offline design), in :class:`Geometry` units.

    ``subsample``: the design ids audited at the intermediate checkpoints (e.g.
    :func:`audit_ids`); every design is audited at the first and the last checkpoint and in
    the control whatever it says. ``None`` audits every design at every checkpoint.
    """
    c, k = trajectory.x.shape[:2]
    every = np.arange(k)
    if subsample is None:
        middle = every
    else:
        middle = np.asarray(subsample, dtype=np.int64).reshape(-1)
        if (
            len(middle) == 0
            or len(np.unique(middle)) != len(middle)
            or not ((middle >= 0) & (middle < k)).all()
        ):
            raise ValueError(
                f"subsample must hold distinct design ids in [0, {k}), got {middle.tolist()}"
            )
        middle = np.sort(middle)
    per_step = [every if i in (0, c - 1) else middle for i in range(c)]
    rows = torch.as_tensor(np.concatenate([i * k + ids for i, ids in enumerate(per_step)]))
    xs = [trajectory.x.reshape(c * k, *trajectory.x.shape[2:])[rows].detach().cpu().float()]
    arms = ["ascent"] * len(rows)
    steps = np.concatenate(
        [np.full(len(ids), s) for s, ids in zip(trajectory.steps, per_step, strict=True)]
    ).tolist()
    ids = np.concatenate(per_step).tolist()
    if control is not None:
        xs.append(control.detach().cpu().float())
        arms += ["control"] * control.shape[0]
        steps += [trajectory.steps[-1]] * control.shape[0]
        ids += list(range(control.shape[0]))
    x = torch.cat(xs)
    designs = domain.decode(x)
    table = audit_designs(
        domain, surrogate, x, batch_size=batch_size, designs=designs, progress=progress
    )
    table.insert(0, "design_id", ids)
    table.insert(0, "step", steps)
    table.insert(0, "arm", arms)
    # did the decoded design change from its start? (same oracle cache key = same design)
    keys = [domain.oracle.key(designs[i]) for i in range(len(x))]
    start_key = dict(zip(ids[:k], keys[:k], strict=True))
    table["changed"] = [kk != start_key[i] for i, kk in zip(ids, keys, strict=True)]
    if geometry is not None:
        starts = trajectory.start.detach().cpu().float()[torch.as_tensor(ids)]
        table["moved"] = geometry.moved(x, starts)
        table["offline_distance"] = geometry.offline_distance(x)
    return table
