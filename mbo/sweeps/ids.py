"""Identities and labels of studies in sweeps and leaderboards."""

from __future__ import annotations

import hashlib
import json

from ..study import StudySpec


def parse_variant(entry: str) -> tuple[str, str]:
    """``"ensemble+min"`` -> (surrogate ``ensemble``, objective ``min``); plain names use ``mean``."""
    name, _, objective = entry.partition("+")
    return name.strip(), (objective.strip() or "mean")


def study_id(spec: StudySpec) -> str:
    """Stable id of a resolved spec: readable prefix + hash of every field but ``name``."""
    data = spec.to_dict()
    data.pop("name")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    obj = "" if spec.objective == "mean" else f"+{spec.objective}"
    return f"{spec.domain}-{spec.surrogate}{obj}-{spec.optimizer}-s{spec.seed}-{digest[:10]}"


def task_label(spec: StudySpec) -> str:
    """``domain`` plus its options and offline fraction, e.g. ``styblinski_tang(dim=16)``."""
    opts = ",".join(f"{k}={v}" for k, v in sorted(spec.domain_options.items()))
    if spec.offline_fraction is not None:
        opts += ("," if opts else "") + f"offline={spec.offline_fraction}"
    return f"{spec.domain}({opts})" if opts else spec.domain


def method_label(spec: StudySpec) -> str:
    """``surrogate[+objective] / optimizer``; ``D(best)`` for the top offline designs."""
    if spec.optimizer == "dbest":
        return "D(best)"
    obj = "" if spec.objective == "mean" else f"+{spec.objective}"
    return f"{spec.surrogate}{obj} / {spec.optimizer}"
