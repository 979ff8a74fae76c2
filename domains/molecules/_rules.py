"""Validity rules of a drug-like molecule: what a design must be to be scored at all.

A design (a SMILES string, or what a SELFIES design tensor decodes to) that breaks a rule is
*invalid*: the domain's oracle scores it ``nan`` and the audit counts it in ``invalid_rate``.
:meth:`MoleculeRules.check` names the first rule broken, in this order
(:data:`INVALID_REASONS`):

==========  =================================================================================
empty       no atoms (an all-``[nop]`` design decodes to ``""``, which RDKit parses to a
            0-atom molecule)
sanitize    RDKit rejects the SMILES (unparsable, or sanitization fails: valence, aromaticity)
fragments   more than one connected component (a salt, a mixture, a counter-ion): one
            molecule is designed, not a formulation
element     an atom outside ``elements`` (default :data:`ELEMENTS`: C N O S P F Cl Br I; a
            metal, a metalloid, boron, selenium, a noble gas, a dummy atom ``*``)
charge      a charged atom other than N+ (quaternary ammonium, pyridinium, the N of a nitro
            group or an N-oxide) or an O- that is not bonded to an N+ (the nitro / N-oxide
            partner); carboxylates, phenolates, S+, O+, C-, N- (azides) are not drawn that
            way in a drug-like parent compound
radical     an atom with unpaired electrons (SELFIES writes ``[N+1]`` with fewer than four
            bonds as a bracket atom without hydrogens, which RDKit reads as a radical)
valence     an atom in a valence state no drug has: a halogen with more than one bond, S(IV)
            or S(VI) whose extra valence is not double bonds to O or N (sulfoxide, sulfone,
            sulfonamide, sulfoximine are fine; ``Br[SH](Br)I`` is not), P(V) without a double
            bond to O, S or N (phosphates, phosphonates and phosphine oxides are fine;
            ``CP(Cl)(Cl)(Cl)Cl`` is not). SELFIES' default constraints allow S six bonds and
            P five, whatever the neighbours, so decoding alone does not keep these out
too_small   fewer than ``min_heavy_atoms`` heavy atoms (default :data:`MIN_HEAVY_ATOMS` = 8:
            solvents and reagents such as ethanol, DMSO, acetic acid, benzene or toluene
            are not drug candidates; the smallest oral drugs, e.g. 5-fluorouracil,
            pyrazinamide and metformin, have 9)
==========  =================================================================================

The same rules filter the reference data (``_data.prepare`` drops a row by the rule it
breaks and counts it), so the offline designs, the SELFIES vocabulary built from them and the
optimized designs all live in one space.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")

#: elements of drug-like organic molecules (the organic subset of ZINC250k and GuacaMol's
#: ChEMBL set without B, Si and Se): carbon, the heteroatoms N O S P of every drug class
#: (P: phosphates, phosphonates, prodrugs such as tenofovir or sofosbuvir) and the halogens.
ELEMENTS: tuple[str, ...] = ("C", "N", "O", "S", "P", "F", "Cl", "Br", "I")
#: the charged atoms allowed: (element, formal charge). O- only next to an N+ (see ``charge``).
CHARGES: tuple[tuple[str, int], ...] = (("N", 1), ("O", -1))
#: default minimum number of heavy atoms.
MIN_HEAVY_ATOMS = 8
#: the rules, in the order they are checked; ``""`` means valid.
INVALID_REASONS: tuple[str, ...] = (
    "empty",
    "sanitize",
    "fragments",
    "element",
    "charge",
    "radical",
    "valence",
    "too_small",
)

_HALOGENS = frozenset({"F", "Cl", "Br", "I"})
#: double-bond partners that make S(IV)/S(VI) and P(V) ordinary (sulfone, phosphate, ...).
_OXO = {"S": frozenset({"O", "N"}), "P": frozenset({"O", "S", "N"})}


@dataclass(frozen=True)
class MoleculeRules:
    """The validity rules (see the module docstring): allowed ``elements``, the minimum
    number of heavy atoms and the allowed ``charges`` (``(element, formal charge)`` pairs, a
    subset of :data:`CHARGES`; ``()`` allows neutral molecules only); the radical and
    valence rules are fixed."""

    elements: tuple[str, ...] = ELEMENTS
    min_heavy_atoms: int = MIN_HEAVY_ATOMS
    charges: tuple[tuple[str, int], ...] = CHARGES

    def __post_init__(self) -> None:
        elements = tuple(self.elements)
        table = Chem.GetPeriodicTable()
        for e in elements:
            if not isinstance(e, str) or not e:
                raise ValueError(f"elements must be element symbols, got {e!r}")
            try:
                ok = table.GetAtomicNumber(e) > 0
            except Exception:  # RDKit raises on an unknown symbol
                ok = False
            if not ok:
                raise ValueError(f"elements: {e!r} is not an element symbol")
        if "C" not in elements:
            raise ValueError("elements must include carbon 'C'")
        if isinstance(self.min_heavy_atoms, bool) or not isinstance(self.min_heavy_atoms, int):
            raise ValueError(
                f"min_heavy_atoms must be an integer >= 1, got {self.min_heavy_atoms!r}"
            )
        if self.min_heavy_atoms < 1:
            raise ValueError(f"min_heavy_atoms must be an integer >= 1, got {self.min_heavy_atoms}")
        charges = tuple(tuple(c) for c in self.charges)
        unknown = [c for c in charges if c not in CHARGES]
        if unknown:
            raise ValueError(
                f"charges: {unknown} not among the allowed charged atoms {list(CHARGES)}"
            )
        object.__setattr__(self, "elements", elements)
        object.__setattr__(self, "charges", charges)

    # --- checks ---------------------------------------------------------------------------
    def check(self, smiles: str) -> str:
        """The first rule ``smiles`` breaks (one of :data:`INVALID_REASONS`), ``""`` if none."""
        return _check_smiles(self, smiles)

    def check_mol(self, mol: Chem.Mol | None) -> str:
        """The first rule a parsed (sanitized) molecule breaks; ``None`` is ``"sanitize"``."""
        if mol is None:
            return "sanitize"
        if mol.GetNumAtoms() == 0:
            return "empty"
        if len(Chem.GetMolFrags(mol)) > 1:
            return "fragments"
        allowed = set(self.elements) | {"H"}
        charges = set(self.charges)
        atoms = list(mol.GetAtoms())
        if any(a.GetSymbol() not in allowed for a in atoms):
            return "element"
        for a in atoms:
            q = a.GetFormalCharge()
            if not q:
                continue
            if (a.GetSymbol(), q) not in charges:
                return "charge"
            if (a.GetSymbol(), q) == ("O", -1) and not any(
                n.GetSymbol() == "N" and n.GetFormalCharge() == 1 for n in a.GetNeighbors()
            ):
                return "charge"
        if any(a.GetNumRadicalElectrons() for a in atoms):
            return "radical"
        if any(not _ordinary_valence(a) for a in atoms):
            return "valence"
        if mol.GetNumHeavyAtoms() < self.min_heavy_atoms:
            return "too_small"
        return ""

    def is_valid(self, smiles: str) -> bool:
        return not self.check(smiles)

    def describe(self) -> dict[str, Any]:
        """The rules as data (reports, the cache key)."""
        return {
            "elements": list(self.elements),
            "charges": [
                f"{e}{'+' if q > 0 else '-'}{abs(q) if abs(q) > 1 else ''}" for e, q in self.charges
            ],
            "min_heavy_atoms": self.min_heavy_atoms,
            "rules": list(INVALID_REASONS),
        }


def _ordinary_valence(atom: Chem.Atom) -> bool:
    """Halogens monovalent; hypervalent S and P only through double bonds to O/N (S, N)."""
    sym = atom.GetSymbol()
    if sym in _HALOGENS:
        return atom.GetTotalValence() <= 1
    if sym not in _OXO or atom.GetFormalCharge():
        return True
    valence = atom.GetTotalValence()
    normal = 2 if sym == "S" else 3
    if valence <= normal:
        return True
    oxo = sum(
        1
        for b in atom.GetBonds()
        if b.GetBondType() == Chem.BondType.DOUBLE and b.GetOtherAtom(atom).GetSymbol() in _OXO[sym]
    )
    # each double bond to O/N adds two to the normal valence: S(=O) 4, S(=O)(=O) 6, P(=O) 5
    return valence - normal <= 2 * oxo


@lru_cache(maxsize=200_000)
def _check_smiles(rules: MoleculeRules, smiles: str) -> str:
    if not isinstance(smiles, str) or not smiles:
        return "empty"
    return rules.check_mol(Chem.MolFromSmiles(smiles))


def count_invalid(reasons: Iterable[str]) -> dict[str, int]:
    """Designs rejected by each rule: ``{rule: count}`` for every rule of
    :data:`INVALID_REASONS` (zeros included), from per-design reasons (the ``invalid_reason``
    design column, e.g. ``table.loc[final_rows, "invalid_reason"]``; ``""`` = valid)."""
    counts = Counter(str(r) for r in reasons if isinstance(r, str) and r)
    unknown = set(counts) - set(INVALID_REASONS)
    if unknown:
        raise ValueError(f"unknown invalid reasons {sorted(unknown)}; rules are {INVALID_REASONS}")
    return {r: counts[r] for r in INVALID_REASONS}
