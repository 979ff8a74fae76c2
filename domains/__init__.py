"""Design spaces, sealed ground-truth oracles and reference data (knows nothing of surrogates).

Domains are built by name through ``mbo.registry.DOMAINS`` (``mbo list``).
"""

from ._base import Domain, ReferenceData
from ._oracle import Oracle, OracleError, OracleFailure, OracleResult
from ._space import BoxSpace, CategoricalSpace, Space

__all__ = [
    "BoxSpace",
    "CategoricalSpace",
    "Domain",
    "Oracle",
    "OracleError",
    "OracleFailure",
    "OracleResult",
    "ReferenceData",
    "Space",
]
