"""Running a study: data, fit, optimize (oracle sealed), audit, metrics."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from domains import Domain
from surrogates import Surrogate
from surrogates._base import spread

from ..evaluation import (
    Geometry,
    SurrogateObjective,
    audit,
    audit_ids,
    check_objective,
    check_start,
    curves,
    random_direction_control,
    summarize,
)
from ..registry import DOMAINS, SURROGATES
from .device import resolve_device
from .folder import write_run
from .precision import precision_context
from .result import StudyResult
from .spec import StudySpec


class SealedOracleError(RuntimeError):
    """Something that picks designs called the oracle: the study is invalid."""


class OracleFailureError(RuntimeError):
    """Too many audited designs could not be evaluated: the study publishes no numbers."""


#: the largest share of audited designs whose evaluation may fail (oracle errors) before a
#: study refuses to publish metrics; below it, errors are left out of every rate and counted
MAX_ORACLE_ERROR_SHARE = 0.05


@dataclass(frozen=True)
class Fitted:
    """A fitted surrogate and the :meth:`StudySpec.fit_key` of the fit that made it."""

    surrogate: Surrogate
    key: str


def make_domain(spec: StudySpec) -> Domain:
    """The spec's domain, built through the registry with its options."""
    return DOMAINS.make(spec.domain, **spec.domain_options)


def make_surrogate(spec: StudySpec) -> Surrogate:
    """The spec's unfitted surrogate (``seed`` defaults to the spec's seed)."""
    return SURROGATES.make(spec.surrogate, **{"seed": spec.seed, **spec.surrogate_options})


def run_study(
    spec: StudySpec,
    out_dir: str | Path | None = None,
    progress: bool = False,
    domain: Domain | None = None,
    fitted: Fitted | None = None,
) -> StudyResult:
    """Run a study end to end; write its run folder to ``out_dir`` if given.

    ``domain`` reuses an already built domain (its reference data and oracle cache), e.g.
    across the studies of a comparison; it must match ``spec.domain``/``domain_options``.
    ``fitted`` skips the fit stage with the surrogate of an earlier study whose
    :meth:`StudySpec.fit_key` equals this spec's (the key travels beside the surrogate in
    :class:`Fitted`); the summary then says ``fit_shared: true`` and ``fit`` takes 0 s.
    Figures are drawn by ``mbo.reporting`` from the result or the run folder.

    Stages: data (reference set, offline split), fit (surrogate on offline features only),
    optimize (from the top-k offline designs; the oracle is sealed and its call counter is
    checked), audit (oracle on every checkpoint and on the random-direction control; at the
    intermediate checkpoints only a seeded subsample where ``audit_subsample`` or the domain
    says so), report (metrics, curves, files, plots).
    """
    spec.validate()
    device = resolve_device(spec.device)
    timings: dict[str, float] = {}
    t = time.perf_counter()

    if domain is None:
        domain = make_domain(spec)
    offline = domain.offline(spec.offline_fraction)
    starts = offline.top(spec.k)  # fails before fitting when k > len(offline)
    if not float(np.ptp(offline.y)) > 0:
        raise ValueError(
            f"{domain.name}: all {len(offline)} offline labels equal {float(offline.y[0]):g}; "
            "a surrogate has nothing to learn (show more of the data: a larger offline_fraction)"
        )
    space = domain.space
    ids = _audit_ids(spec, domain)  # checked before fitting, drawn from the seed alone
    timings["data"] = time.perf_counter() - t

    t = time.perf_counter()
    calls_before = domain.oracle.counts()  # sealed from here until the audit
    fit_key = spec.fit_key()
    if fitted is not None:
        if fitted.key != fit_key:
            raise ValueError("fitted surrogate was fit for another spec (fit_key differs)")
        if not fitted.surrogate.is_fitted:
            raise ValueError("fitted surrogate is not fitted")
        surrogate = fitted.surrogate
        check_objective(surrogate, spec.objective)
    else:
        surrogate = make_surrogate(spec)
        check_objective(surrogate, spec.objective)  # fail before fitting, not after
        feats = space.features(offline.x, hard=True).to(device)
        y = torch.as_tensor(offline.y, dtype=torch.float32, device=device)
        with precision_context(spec.precision, device):
            surrogate.fit(feats, y, progress=progress)
    surrogate.eval()
    timings["fit"] = time.perf_counter() - t

    t = time.perf_counter()
    if space.standardize:
        loc, scale = offline.x.mean(0), spread(offline.x)
    else:
        loc, scale = torch.zeros(space.shape), torch.ones(space.shape)
    y_loc, y_scale = float(offline.y.mean()), float(offline.y.std() or 1.0)
    objective = SurrogateObjective(
        surrogate, space.features, kind=spec.objective, kappa=spec.kappa, loc=y_loc, scale=y_scale
    )
    with (
        torch.random.fork_rng(devices=[device] if device.type == "cuda" else []),
        precision_context(spec.precision, device),
    ):
        torch.manual_seed(spec.seed)
        trajectory = spec.make_optimizer(domain.optimizer_defaults.get(spec.optimizer)).run(
            objective,
            starts.x.to(device),
            space,
            loc.to(device),
            scale.to(device),
            progress=progress,
        )
    check_start(trajectory, space.project(starts.x.float()))
    control = random_direction_control(trajectory, space, loc, scale, seed=spec.seed)
    if domain.oracle.counts() != calls_before:
        raise SealedOracleError(
            "the oracle was called while fitting or optimizing; the study is invalid"
        )
    timings["optimize"] = time.perf_counter() - t

    t = time.perf_counter()
    geometry = Geometry(space, loc, scale, offline.x)
    domain.oracle.drain_errors()  # failures of earlier calls (reference labelling) are not ours
    before = domain.oracle.counts()
    table = audit(
        domain,
        surrogate,
        trajectory,
        control,
        geometry=geometry,
        progress=progress,
        subsample=ids,
    )
    audit_counts = {k: v - before[k] for k, v in domain.oracle.counts().items()}
    oracle_errors = [dataclasses.asdict(e) for e in domain.oracle.drain_errors()]
    timings["audit"] = time.perf_counter() - t
    share = float(table["oracle_error"].mean())
    if share > MAX_ORACLE_ERROR_SHARE:
        if out_dir is not None:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            (Path(out_dir) / "oracle_errors.json").write_text(json.dumps(oracle_errors, indent=2))
        first = oracle_errors[0]["message"] if oracle_errors else "no message"
        raise OracleFailureError(
            f"{int(table['oracle_error'].sum())} of {len(table)} audited designs ({share:.1%}) "
            f"could not be evaluated by the oracle, more than the {MAX_ORACLE_ERROR_SHARE:.0%} "
            f"a study may lose; no metrics are published (first error: {first}"
            + (f"; all in {Path(out_dir) / 'oracle_errors.json'})" if out_dir else ")")
        )

    y_norm = domain.normalize(np.asarray(offline.y, dtype=np.float64))
    along = {
        "d_best": float(y_norm.max()),
        "label_sd": float(y_norm.std()),
        "spacing": geometry.offline_spacing(seed=spec.seed),
    }
    # start and final metrics use all K designs; the per-step means behind the peak, the
    # stopping rules and the curves use the designs audited at every checkpoint
    summary = summarize(table, spec.fooled_margin, columns=domain.summary_columns, **along)
    summary |= {
        "optimizer_options": spec.optimizer_kwargs(domain.optimizer_defaults.get(spec.optimizer)),
        "name": spec.label,
        "domain": domain.name,
        "surrogate": spec.surrogate,
        "optimizer": spec.optimizer,
        "seed": spec.seed,
        "device": str(device),
        "precision": spec.precision,
        "threads": torch.get_num_threads(),
        "fit_shared": fitted is not None,
        "n_reference": len(domain.reference_data()),
        "n_offline": len(offline),
        "val_loss": _num(getattr(surrogate, "val_loss_", None)),
        "val_r2": _num(getattr(surrogate, "val_r2_", None)),
        "bound_norm_mean": _num(table.loc[table["step"] == 0, "bound_norm"].mean()),
        "distance_unit": geometry.unit,
        "oracle_calls_while_optimizing": 0,
        "oracle": domain.oracle.counts(),
        "audit_subsample": None if ids is None else len(ids),
        "audit_schedule": _schedule(trajectory.steps, spec.k, ids),
        "audit_designs": audit_counts["queries"],
        "audit_evaluations": audit_counts["evaluations"],
        "timings_s": timings,
    }
    result = StudyResult(
        spec,
        table,
        summary,
        curves(table),
        domain,
        surrogate,
        offline,
        trajectory,
        x_loc=loc.cpu(),
        x_scale=scale.cpu(),
        y_loc=y_loc,
        y_scale=y_scale,
        control=control,
        fit_key=fit_key,
        oracle_errors=oracle_errors,
    )
    if out_dir is not None:
        result.run_dir = write_run(result, Path(out_dir))
    return result


def _audit_ids(spec: StudySpec, domain: Domain) -> np.ndarray | None:
    """The design ids audited at each intermediate checkpoint (:func:`audit_ids`) for the
    spec's ``audit_subsample``, else the domain's default (``None``: every design)."""
    n = spec.audit_subsample
    n = getattr(domain, "audit_subsample", None) if n is None else n
    try:
        return audit_ids(spec.k, n, spec.seed)
    except ValueError as err:
        raise ValueError(f"{domain.name}: {err}") from None


def _schedule(steps: Any, k: int, ids: np.ndarray | None) -> str:
    """The audit schedule in words, for the summary."""
    steps = [int(s) for s in steps]
    if ids is None or len(steps) <= 2:
        return f"every design at all {len(steps)} checkpoints and in the control"
    return (
        f"every design at steps {steps[0]} and {steps[-1]} and in the control; {len(ids)} of "
        f"{k} designs (seeded, the same ids) at the {len(steps) - 2} intermediate checkpoints"
    )


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)
