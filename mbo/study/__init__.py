"""Studies: the spec, running one (data, fit, optimize, audit, metrics), its result, run
folders, and the device and precision it runs at."""

from .device import resolve_device
from .folder import RunFolderError, atomic_write, jsonable, load_run, load_surrogate, write_run
from .precision import PRECISIONS, check_precision, precision_context
from .result import StudyResult
from .run import (
    MAX_ORACLE_ERROR_SHARE,
    Fitted,
    OracleFailureError,
    SealedOracleError,
    make_domain,
    make_surrogate,
    run_study,
)
from .spec import StudySpec

__all__ = [
    "MAX_ORACLE_ERROR_SHARE",
    "OracleFailureError",
    "PRECISIONS",
    "RunFolderError",
    "Fitted",
    "SealedOracleError",
    "StudyResult",
    "StudySpec",
    "atomic_write",
    "check_precision",
    "jsonable",
    "load_run",
    "load_surrogate",
    "make_domain",
    "make_surrogate",
    "precision_context",
    "resolve_device",
    "run_study",
    "write_run",
]
