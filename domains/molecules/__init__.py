"""Molecules: SELFIES token sequences (categorical designs) scored by RDKit oracles.

``MoleculeDomain`` is registered as ``"molecules"`` (``make_domain("molecules",
objective="qed")``). Objectives, their ranges and directions: :data:`OBJECTIVES` and
``_oracles.py``.
"""

from ._data import rdkit_sources, read_smiles_file
from ._domain import DecodedMolecules, MoleculeDomain
from ._oracles import DRUGS, OBJECTIVES, MoleculeObjective
from ._vocab import PAD, canonical_smiles, is_truncated

__all__ = [
    "DRUGS",
    "OBJECTIVES",
    "PAD",
    "DecodedMolecules",
    "MoleculeDomain",
    "MoleculeObjective",
    "canonical_smiles",
    "is_truncated",
    "rdkit_sources",
    "read_smiles_file",
]
