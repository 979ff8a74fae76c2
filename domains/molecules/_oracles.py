"""RDKit ground-truth objectives for molecules (all: larger is better).

Every objective maps one RDKit molecule to a float. :class:`MoleculeObjective` evaluates a
batch of SMILES strings and gives ``nan`` for anything RDKit rejects (unparsable SMILES,
failed sanitization, an empty/0-atom molecule, an exception inside a descriptor) and, with
``rules`` (the molecule domain's oracle always has them), for any molecule that breaks a
validity rule (``_rules.py``: one molecule, allowed elements and charges, no radicals,
ordinary valences, a minimum size). It is a
module-level class holding only the objective's name, so it pickles cheaply to the oracle's
worker processes; fingerprints of target drugs and the SA-score fragment table are built
lazily once per process.

Objectives (``OBJECTIVES``):

=================  ==========================================  ==============  ==========
name               definition                                  range           bound
=================  ==========================================  ==============  ==========
qed                QED (Bickerton 2012), ``rdkit.Chem.QED``      [0, 1]          1
logp               Crippen logP (``Crippen.MolLogP``)          unbounded       none
sa                 minus the SA score (Ertl 2009, RDKit         [-10, -1]       -1
                   Contrib ``sascorer``): larger = easier
plogp              logP - SA - ring penalty (JT-VAE/GCPN),     unbounded       none
                   ring penalty = max(0, largest ring - 6)
plogp_zinc         the same with each term z-scored by ZINC250k unbounded      none
                   statistics (JT-VAE's ``penalized_logp``)
mpo_celecoxib      geometric mean of: Tanimoto to celecoxib    [0, 1]          1
                   thresholded at 0.8; TPSA >= 100 (Gaussian
                   below, sigma 20)
mpo_fexofenadine   GuacaMol-style: Tanimoto to fexofenadine    [0, 1]          1
                   thresholded at 0.8; TPSA >= 90 (sigma 10);
                   logP <= 4 (sigma 2)
mpo_osimertinib    GuacaMol-style: Tanimoto to osimertinib     [0, 1]          1
                   thresholded at 0.8; Tanimoto (radius 3) <=
                   0.85 (sigma 2); TPSA >= 100 (sigma 2);
                   logP <= 1 (sigma 2)
=================  ==========================================  ==============  ==========

Similarities are Tanimoto coefficients of Morgan bit fingerprints (2048 bits, radius 2 =
ECFP4-like unless stated). GuacaMol uses count fingerprints and, for some tasks, atom-pair
or FCFP fingerprints; these MPOs follow its *shape* (thresholded similarity times Gaussian
desirabilities, geometric mean) with Morgan bits only, so values are not GuacaMol's.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rdkit import Chem, DataStructs, RDConfig, RDLogger
from rdkit.Chem import QED, Crippen, Descriptors, rdFingerprintGenerator

from ._rules import MoleculeRules

RDLogger.DisableLog("rdApp.*")

# --- SA score (RDKit Contrib, shipped in the wheel) -------------------------------------
_SASCORER: Any = None


def _sascorer() -> Any:
    """Import RDKit's Contrib ``sascorer`` from ``RDConfig.RDContribDir`` (once per process)."""
    global _SASCORER
    if _SASCORER is None:
        path = os.path.join(RDConfig.RDContribDir, "SA_Score", "sascorer.py")
        if not os.path.exists(path):
            raise ImportError(f"RDKit's SA_Score contrib module was not found at {path}")
        spec = importlib.util.spec_from_file_location("_mbo_rdkit_sascorer", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        module.readFragmentScores()
        _SASCORER = module
    return _SASCORER


def sa_score(mol: Chem.Mol) -> float:
    """Ertl's synthetic accessibility score in [1 (easy), 10 (hard)]."""
    s = _sascorer().calculateScore(mol)
    return math.nan if s is None else float(s)


def ring_penalty(mol: Chem.Mol) -> float:
    """``max(0, size of the largest ring - 6)`` (the penalized-logP cycle term)."""
    rings = mol.GetRingInfo().AtomRings()
    largest = max((len(r) for r in rings), default=0)
    return float(max(largest - 6, 0))


# ZINC250k statistics used by JT-VAE's normalized penalized logP.
_LOGP_MEAN, _LOGP_STD = 2.4570953396190123, 1.434324401111988
_SA_MEAN, _SA_STD = -3.0525811293166134, 0.8335207024513095
_CYCLE_MEAN, _CYCLE_STD = -0.0485696876403053, 0.2860212110245455


def qed(mol: Chem.Mol) -> float:
    return float(QED.qed(mol))


def logp(mol: Chem.Mol) -> float:
    return float(Crippen.MolLogP(mol))


def neg_sa(mol: Chem.Mol) -> float:
    return -sa_score(mol)


def plogp(mol: Chem.Mol) -> float:
    """Penalized logP: ``logP - SA - max(0, largest ring - 6)``."""
    return logp(mol) - sa_score(mol) - ring_penalty(mol)


def plogp_zinc(mol: Chem.Mol) -> float:
    """Penalized logP with each term standardized by ZINC250k statistics (JT-VAE)."""
    return (
        (logp(mol) - _LOGP_MEAN) / _LOGP_STD
        + (-sa_score(mol) - _SA_MEAN) / _SA_STD
        + (-ring_penalty(mol) - _CYCLE_MEAN) / _CYCLE_STD
    )


# --- desirability functions (GuacaMol's score modifiers) --------------------------------
def thresholded(x: float, threshold: float) -> float:
    """``min(x, t) / t``: linear up to ``t``, then 1."""
    return min(x, threshold) / threshold


def max_gaussian(x: float, mu: float, sigma: float) -> float:
    """1 for ``x >= mu``, a Gaussian below (reward large values)."""
    return 1.0 if x >= mu else math.exp(-0.5 * ((x - mu) / sigma) ** 2)


def min_gaussian(x: float, mu: float, sigma: float) -> float:
    """1 for ``x <= mu``, a Gaussian above (reward small values)."""
    return 1.0 if x <= mu else math.exp(-0.5 * ((x - mu) / sigma) ** 2)


def geometric_mean(values: list[float]) -> float:
    if any(v <= 0.0 for v in values):
        return 0.0
    return float(math.exp(sum(math.log(v) for v in values) / len(values)))


#: named drugs for the similarity objectives.
DRUGS: dict[str, str] = {
    "celecoxib": "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1",
    "fexofenadine": "CC(C)(C(=O)O)c1ccc(C(O)CCCN2CCC(C(O)(c3ccccc3)c3ccccc3)CC2)cc1",
    "osimertinib": "C=CC(=O)Nc1cc(Nc2nccc(-c3cn(C)c4ccccc34)n2)c(OC)cc1N(C)CCN(C)C",
}

_GENERATORS: dict[int, Any] = {}
_TARGET_FPS: dict[tuple[str, int], Any] = {}


def morgan_fp(mol: Chem.Mol, radius: int = 2) -> Any:
    """Morgan bit fingerprint (2048 bits)."""
    gen = _GENERATORS.get(radius)
    if gen is None:
        gen = _GENERATORS[radius] = rdFingerprintGenerator.GetMorganGenerator(
            radius=radius, fpSize=2048
        )
    return gen.GetFingerprint(mol)


def similarity(mol: Chem.Mol, drug: str, radius: int = 2) -> float:
    """Tanimoto similarity of Morgan bit fingerprints to a drug in ``DRUGS``."""
    key = (drug, radius)
    target = _TARGET_FPS.get(key)
    if target is None:
        target = _TARGET_FPS[key] = morgan_fp(Chem.MolFromSmiles(DRUGS[drug]), radius)
    return float(DataStructs.TanimotoSimilarity(morgan_fp(mol, radius), target))


def mpo_celecoxib(mol: Chem.Mol) -> float:
    return geometric_mean(
        [
            thresholded(similarity(mol, "celecoxib"), 0.8),
            max_gaussian(Descriptors.TPSA(mol), 100.0, 20.0),
        ]
    )


def mpo_fexofenadine(mol: Chem.Mol) -> float:
    return geometric_mean(
        [
            thresholded(similarity(mol, "fexofenadine"), 0.8),
            max_gaussian(Descriptors.TPSA(mol), 90.0, 10.0),
            min_gaussian(Crippen.MolLogP(mol), 4.0, 2.0),
        ]
    )


def mpo_osimertinib(mol: Chem.Mol) -> float:
    return geometric_mean(
        [
            thresholded(similarity(mol, "osimertinib", 2), 0.8),
            min_gaussian(similarity(mol, "osimertinib", 3), 0.85, 2.0),
            max_gaussian(Descriptors.TPSA(mol), 100.0, 2.0),
            min_gaussian(Crippen.MolLogP(mol), 1.0, 2.0),
        ]
    )


@dataclass(frozen=True)
class ObjectiveInfo:
    """An objective: function of one molecule, its range and exact bound (larger is better)."""

    fn: Callable[[Chem.Mol], float]
    description: str
    range: tuple[float, float]
    bound: float | None


OBJECTIVES: dict[str, ObjectiveInfo] = {
    "qed": ObjectiveInfo(qed, "QED drug-likeness", (0.0, 1.0), 1.0),
    "logp": ObjectiveInfo(logp, "Crippen logP", (-math.inf, math.inf), None),
    "sa": ObjectiveInfo(
        neg_sa, "minus the SA score (larger = easier to make)", (-10.0, -1.0), -1.0
    ),
    "plogp": ObjectiveInfo(
        plogp, "penalized logP = logP - SA - ring penalty", (-math.inf, math.inf), None
    ),
    "plogp_zinc": ObjectiveInfo(
        plogp_zinc,
        "penalized logP, terms z-scored by ZINC250k statistics",
        (-math.inf, math.inf),
        None,
    ),
    "mpo_celecoxib": ObjectiveInfo(
        mpo_celecoxib,
        "similar to celecoxib (>= 0.8) and TPSA >= 100; geometric mean",
        (0.0, 1.0),
        1.0,
    ),
    "mpo_fexofenadine": ObjectiveInfo(
        mpo_fexofenadine,
        "similar to fexofenadine (>= 0.8), TPSA >= 90, logP <= 4; geometric mean",
        (0.0, 1.0),
        1.0,
    ),
    "mpo_osimertinib": ObjectiveInfo(
        mpo_osimertinib,
        "similar to osimertinib (>= 0.8) but not too similar (ECFP6 <= 0.85), TPSA >= 100, logP <= 1",
        (0.0, 1.0),
        1.0,
    ),
}


def to_mol(smiles: str) -> Chem.Mol | None:
    """An RDKit molecule, or ``None`` for unparsable, unsanitizable or 0-atom input."""
    if not isinstance(smiles, str) or not smiles:
        return None
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    return mol


class MoleculeObjective:
    """Picklable batch evaluation ``list[SMILES] -> (n,) float64`` of one objective.

    ``nan`` where RDKit rejects the SMILES, the molecule has no atoms, the descriptor raises
    or returns a non-finite value, or (with ``rules``) the molecule breaks a validity rule.
    """

    def __init__(self, objective: str, rules: MoleculeRules | None = None) -> None:
        if objective not in OBJECTIVES:
            raise ValueError(
                f"unknown molecule objective {objective!r}; choose from {sorted(OBJECTIVES)}"
            )
        if rules is not None and not isinstance(rules, MoleculeRules):
            raise ValueError(f"rules must be a MoleculeRules or None, got {rules!r}")
        self.objective = objective
        self.rules = rules

    def __call__(self, smiles: Any) -> np.ndarray:
        fn = OBJECTIVES[self.objective].fn
        out = np.full(len(smiles), np.nan)
        for i, s in enumerate(smiles):
            mol = to_mol(s)
            if mol is None:
                continue
            if self.rules is not None and self.rules.check_mol(mol):
                continue  # breaks a validity rule: invalid, not scored
            try:
                v = float(fn(mol))
            except Exception:  # RDKit rejects this molecule: invalid design
                continue
            if math.isfinite(v):
                out[i] = v
        return out

    def __repr__(self) -> str:
        rules = "" if self.rules is None else f", rules={self.rules!r}"
        return f"MoleculeObjective({self.objective!r}{rules})"
