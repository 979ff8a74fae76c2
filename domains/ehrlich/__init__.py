"""Ehrlich functions (Stanton et al. 2024): closed-form biological sequence design.

``EhrlichDomain`` scores sequences of ``length`` states out of ``v`` by ``c`` spaced motifs
of length ``k`` (quantized to ``q`` levels, optional epistasis) under a feasibility
constraint from a discrete Markov process; definitions in ``_function.py``. Build it by
import path (``domains.ehrlich:EhrlichDomain``) or through the registry.

The default task ``ehrlich`` is Stanton et al.'s ``v = 32, L = 32, c = 4, k = 4`` function
with 2000 DMP samples (bottom 90 % visible), climbed by 200 plain gradient steps of size 200
on the logits (:data:`ASCENT`): Adam's normalized steps changed nearly every token of every
design at once, so every proposal became infeasible whatever the surrogate. ``ehrlich-control``
runs the same ascent on a small, densely sampled function, where it truly improves.
"""

from ._domain import ASCENT, BASE, PRESETS, EhrlichDomain
from ._function import ALPHABET, EhrlichFunction

__all__ = ["ALPHABET", "ASCENT", "BASE", "PRESETS", "EhrlichDomain", "EhrlichFunction"]
