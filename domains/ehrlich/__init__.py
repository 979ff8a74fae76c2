"""Ehrlich functions (Stanton et al. 2024): closed-form biological sequence design.

``EhrlichDomain`` scores sequences of ``length`` states out of ``v`` by ``c`` spaced motifs
of length ``k`` (quantized to ``q`` levels, optional epistasis) under a feasibility
constraint from a discrete Markov process; definitions in ``_function.py``. Build it by
import path (``domains.ehrlich:EhrlichDomain``) or through the registry.
"""

from ._domain import BASE, PRESETS, EhrlichDomain
from ._function import ALPHABET, EhrlichFunction

__all__ = ["ALPHABET", "BASE", "PRESETS", "EhrlichDomain", "EhrlichFunction"]
