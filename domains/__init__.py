"""Design spaces, sealed ground-truth oracles and reference data (knows nothing of surrogates)."""

from ._base import Domain, ReferenceData
from ._oracle import Oracle, OracleError
from ._registry import list_domains, make_domain, register_domain
from ._space import BoxSpace, CategoricalSpace, Space

__all__ = [
    "BoxSpace",
    "CategoricalSpace",
    "Domain",
    "Oracle",
    "OracleError",
    "ReferenceData",
    "Space",
    "list_domains",
    "make_domain",
    "register_domain",
]
