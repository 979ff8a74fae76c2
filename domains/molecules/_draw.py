"""2-D drawings of molecules (RDKit's Cairo drawer: headless, no display or PIL needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from rdkit import Chem, RDLogger
from rdkit.Chem import rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D

RDLogger.DisableLog("rdApp.*")


def draw_grid(
    smiles: Sequence[str],
    labels: Sequence[str],
    path: str | Path,
    per_row: int = 4,
    size: tuple[int, int] = (300, 260),
) -> None:
    """A grid of 2-D structures with ``labels[i]`` under molecule ``i``, saved as PNG.

    Designs RDKit rejects (and empty ones) are drawn as a lone dummy atom ``*`` with their
    label (RDKit's grid drawer skips 0-atom molecules, legend included), so every label shows.
    """
    if len(labels) != len(smiles):
        raise ValueError(f"got {len(labels)} labels for {len(smiles)} designs")
    if not len(smiles):
        raise ValueError("nothing to draw")
    mols = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s) if s else None
        if mol is None or mol.GetNumAtoms() == 0:
            mol = Chem.MolFromSmiles("*")
        rdDepictor.Compute2DCoords(mol)
        mols.append(mol)
    cols = max(1, min(per_row, len(mols)))
    rows = math.ceil(len(mols) / cols)
    w, h = size
    drawer = rdMolDraw2D.MolDraw2DCairo(cols * w, rows * h, w, h)
    drawer.drawOptions().legendFontSize = 16
    drawer.DrawMolecules(mols, legends=[str(x) for x in labels])
    drawer.FinishDrawing()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(drawer.GetDrawingText())
