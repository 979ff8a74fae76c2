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


def audit_designs(
    domain: Domain,
    surrogate: Surrogate,
    x: Tensor,
    batch_size: int = 4096,
    designs: Any = None,
) -> pd.DataFrame:
    """Audit a flat batch of design tensors ``(N, *shape)`` (``designs``: their decoding, if known).

    Returns one row per design: ``predicted`` (surrogate at the decoded design's features),
    ``predicted_relaxed`` (at the design tensor itself; differs for categorical spaces),
    ``true`` (oracle, ``nan`` if invalid), ``valid``, ``bound`` (exact upper bound or
    ``nan``), their normalized versions ``*_norm`` and the domain's design columns.
    """
    space = domain.space
    space.check(x)
    x = x.detach().cpu().float()
    designs = domain.decode(x) if designs is None else designs
    predicted = predict_batched(surrogate, space.features(x, hard=True), batch_size)
    relaxed = predict_batched(surrogate, space.features(x, hard=False), batch_size)
    true = domain.oracle(designs)
    bound = domain.upper_bound(designs)
    bound = np.full(len(true), np.nan) if bound is None else np.asarray(bound, dtype=np.float64)
    table = pd.DataFrame(
        {
            "predicted": predicted,
            "predicted_relaxed": relaxed,
            "true": true,
            "valid": np.isfinite(true),
            "bound": bound,
        }
    )
    for col in ("predicted", "predicted_relaxed", "true", "bound"):
        table[f"{col}_norm"] = domain.normalize(table[col].to_numpy())
    for name, values in domain.design_columns(designs).items():
        table[name] = values
    return table


def audit(
    domain: Domain,
    surrogate: Surrogate,
    trajectory: Trajectory,
    control: Tensor | None = None,
    batch_size: int = 4096,
) -> pd.DataFrame:
    """The tidy audit table of a trajectory (and of the random-direction control).

    Columns: ``arm`` (``"ascent"`` or ``"control"``), ``step``, ``design_id`` (index of the
    design within the batch of K), those of :func:`audit_designs`, and ``changed`` (the
    decoded design differs from its start design). The control rows
    sit at the final step. Every checkpoint is decoded and scored in one oracle call.
    """
    c, k = trajectory.x.shape[:2]
    xs = [trajectory.x.reshape(c * k, *trajectory.x.shape[2:])]
    arms = ["ascent"] * (c * k)
    steps = np.repeat(np.asarray(trajectory.steps), k).tolist()
    ids = np.tile(np.arange(k), c).tolist()
    if control is not None:
        xs.append(control.detach().cpu().float())
        arms += ["control"] * control.shape[0]
        steps += [trajectory.steps[-1]] * control.shape[0]
        ids += list(range(control.shape[0]))
    x = torch.cat(xs)
    designs = domain.decode(x)
    table = audit_designs(domain, surrogate, x, batch_size=batch_size, designs=designs)
    table.insert(0, "design_id", ids)
    table.insert(0, "step", steps)
    table.insert(0, "arm", arms)
    # did the decoded design change from its start? (same oracle cache key = same design)
    keys = [domain.oracle.key(designs[i]) for i in range(len(x))]
    start_key = dict(zip(ids[:k], keys[:k], strict=True))
    table["changed"] = [kk != start_key[i] for i, kk in zip(ids, keys, strict=True)]
    return table
