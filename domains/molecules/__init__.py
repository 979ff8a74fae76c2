"""Molecules: SELFIES token sequences (categorical designs) scored by RDKit oracles.

``MoleculeTaskDomain`` (QED over neutral C/N/O molecules, a 50-step Adam horizon) is
registered as ``"molecules"`` and its control ``MoleculeControlDomain`` (logP, same space and
horizon) as ``"molecules-control"``; the general ``MoleculeDomain`` (every objective, the
organic vocabulary, 200 steps) as ``"molecules-any"``. Objectives, their ranges and
directions: :data:`OBJECTIVES` and ``_oracles.py``. Validity rules (what a design must be to be scored): ``_rules.py``.
"""

from ._data import rdkit_sources, read_smiles_file
from ._domain import (
    DecodedMolecules,
    MoleculeControlDomain,
    MoleculeDomain,
    MoleculeTaskDomain,
)
from ._oracles import DRUGS, OBJECTIVES, MoleculeObjective
from ._rules import (
    CHARGES,
    ELEMENTS,
    INVALID_REASONS,
    MIN_HEAVY_ATOMS,
    MoleculeRules,
    count_invalid,
)
from ._vocab import PAD, canonical_smiles, is_truncated

__all__ = [
    "CHARGES",
    "DRUGS",
    "ELEMENTS",
    "INVALID_REASONS",
    "MIN_HEAVY_ATOMS",
    "OBJECTIVES",
    "PAD",
    "DecodedMolecules",
    "MoleculeControlDomain",
    "MoleculeDomain",
    "MoleculeObjective",
    "MoleculeTaskDomain",
    "MoleculeRules",
    "canonical_smiles",
    "count_invalid",
    "is_truncated",
    "rdkit_sources",
    "read_smiles_file",
]
