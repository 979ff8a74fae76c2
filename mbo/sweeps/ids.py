"""Identities and labels of studies in sweeps and leaderboards."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ..registry import DOMAINS, OPTIMIZERS, SURROGATES
from ..study import StudySpec


def parse_variant(entry: str) -> tuple[str, str]:
    """``"ensemble+min"`` -> (surrogate ``ensemble``, objective ``min``); plain names use ``mean``."""
    name, _, objective = entry.partition("+")
    return name.strip(), (objective.strip() or "mean")


def canonical(spec: StudySpec) -> dict[str, Any]:
    """The spec as a dict whose option mappings leave out values equal to the defaults, so
    ``branin`` and ``branin`` with ``n_reference: 2000`` (its default) are one study; the
    optimizer options are those the study runs with, the domain's ``optimizer_defaults``
    included."""
    data = spec.to_dict()
    data.pop("name")
    if data.get("audit_subsample") is None:  # the domain's default: ids from before the field
        data.pop("audit_subsample", None)
    data["domain_options"] = DOMAINS.canonical(spec.domain, spec.domain_options)
    data["surrogate_options"] = SURROGATES.canonical(spec.surrogate, spec.surrogate_options)
    # the optimizer options the study runs with: the domain's task defaults (a control's
    # horizon, the molecules' Adam) under the spec's own, so a task whose horizon changes
    # gets new ids instead of reusing finished studies of the old definition
    factory, _ = DOMAINS.resolve(spec.domain)
    task = (getattr(factory, "optimizer_defaults", None) or {}).get(spec.optimizer, {})
    opts = OPTIMIZERS.canonical(spec.optimizer, {**task, **spec.optimizer_options})
    data["optimizer_options"] = opts
    return data


def _safe(name: str) -> str:
    """A name usable in a folder name on every system (import paths hold ``:`` and ``.``)."""
    return re.sub(r"[^A-Za-z0-9_+-]", "_", name)


def study_id(spec: StudySpec) -> str:
    """Stable id of a resolved spec: readable prefix + hash of every field but ``name``, with
    options equal to their defaults left out (see :func:`canonical`)."""
    blob = json.dumps(canonical(spec), sort_keys=True, default=str).encode()
    digest = hashlib.sha256(blob).hexdigest()
    obj = "" if spec.objective == "mean" else f"+{spec.objective}"
    prefix = f"{_safe(spec.domain)}-{_safe(spec.surrogate)}{obj}-{_safe(spec.optimizer)}"
    return f"{prefix}-s{spec.seed}-{digest[:10]}"


def task_label(spec: StudySpec) -> str:
    """``domain`` plus the options that differ from its defaults and the offline fraction,
    e.g. ``styblinski_tang(dim=16)``; ``branin(n_reference=2000)`` is plain ``branin``."""
    options = DOMAINS.canonical(spec.domain, spec.domain_options)
    opts = ",".join(f"{k}={v}" for k, v in sorted(options.items()))
    if spec.offline_fraction is not None:
        opts += ("," if opts else "") + f"offline={spec.offline_fraction}"
    return f"{spec.domain}({opts})" if opts else spec.domain


def method_label(spec: StudySpec) -> str:
    """``surrogate[+objective] / optimizer``; ``D(best)`` for the top offline designs."""
    if spec.optimizer == "dbest":
        return "D(best)"
    obj = "" if spec.objective == "mean" else f"+{spec.objective}"
    return f"{spec.surrogate}{obj} / {spec.optimizer}"
