"""The toy-car domain: 19-D blueprints driven by MuJoCo on a seeded rough track.

See :mod:`domains.car._blueprint` for the parameter table, :mod:`domains.car._sim` for the
simulation and score, :mod:`domains.car._track` for the track.
"""

from ._blueprint import DIM, NAMES, PARAMETERS, parameter_table
from ._domain import CarControlDomain, CarDomain, default_cache_dir, sample_prior
from ._sim import Evaluate, SimResult, simulate
from ._track import Track, make_track

__all__ = [
    "DIM",
    "NAMES",
    "PARAMETERS",
    "CarControlDomain",
    "CarDomain",
    "Evaluate",
    "SimResult",
    "Track",
    "default_cache_dir",
    "make_track",
    "parameter_table",
    "sample_prior",
    "simulate",
]
