"""Reference molecules: RDKit's bundled sets or a user's SMILES/CSV file, cleaned for SELFIES.

Pipeline (:func:`prepare`): parse with RDKit -> reduce to the parent compound
(:func:`parent_compound`: salts and mixtures to their largest organic fragment, charges
neutralized where RDKit's ``Uncharger`` can) -> the domain's validity rules
(:class:`~._rules.MoleculeRules`: allowed elements and charges, no radicals, ordinary
valences, a minimum size; a row is dropped by the rule it breaks) -> canonical SMILES ->
drop duplicates ->
SELFIES-encode (drops what SELFIES cannot encode, e.g. RDKit 2026's dative bonds ``->``)
-> decode back and require the same canonical SMILES (so every reference design is exactly
what its design tensor decodes to) -> drop sequences longer than ``max_len`` tokens.
Every dropped row is counted by reason in a report (``dropped``), and every kept molecule
that the parent step changed is counted by what was done (``changed``), with a few examples.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import selfies as sf
from rdkit import Chem, RDConfig, RDLogger
from rdkit.Chem.MolStandardize import rdMolStandardize

from ._rules import MoleculeRules
from ._vocab import PAD, split_tokens, token_element

RDLogger.DisableLog("rdApp.*")

#: the reasons a row can be dropped, in pipeline order.
DROP_REASONS = (
    "blank_line",  # a blank line of the file (or a blank CSV row)
    "unreadable",  # an empty cell or a line with no SMILES
    "unparsable",  # RDKit rejects the SMILES
    "empty",  # parses to a molecule with no atoms
    "no_organic_parent",  # a mixture with no carbon-containing fragment ([Na+].[Cl-])
    # the parent breaks a validity rule (see _rules.py; the same names as the designs')
    "fragments",  # more than one molecule (cannot happen after the parent step)
    "element",  # an atom outside the allowed elements (metals, Si, Se, B, ...)
    "charge",  # a charged atom other than N+ or an O- on an N+ (oxonium, sulfonium, azide)
    "radical",  # unpaired electrons
    "valence",  # a hypervalent halogen, S or P that no drug has
    "too_small",  # fewer heavy atoms than the minimum
    "duplicate",  # same canonical SMILES (of the parent compound) as an earlier row
    "selfies_unencodable",  # SELFIES cannot encode it (dative bonds, odd valences, ...)
    "roundtrip_changed",  # SELFIES decodes it to a different molecule
    "too_long",  # more than max_len SELFIES tokens
    # a token that writes an element the rules do not allow: with elements C/N/O, the [S] and
    # [P] that SELFIES uses as ring/branch-size index symbols (sizes 14-15); in the
    # vocabulary such a token could only ever put an invalid atom into a design
    "foreign_token",
)
#: what the parent step can do to a molecule that is kept (see :func:`parent_compound`).
CHANGE_REASONS = (
    "salt_stripped",  # counter-ions, water or known salt/solvent fragments removed
    "mixture_reduced",  # other organic components removed: the largest one kept
    "neutralized",  # one fragment, charges neutralized (e.g. a zwitterion, a carboxylate)
)
_N_EXAMPLES = 5

_STANDARDIZERS: dict[str, Any] = {}


def _standardizer(name: str) -> Any:
    """RDKit's standardizers, built once per process."""
    if name not in _STANDARDIZERS:
        _STANDARDIZERS[name] = {
            "chooser": lambda: rdMolStandardize.LargestFragmentChooser(preferOrganic=True),
            "uncharger": lambda: rdMolStandardize.Uncharger(),
            "salts": lambda: rdMolStandardize.FragmentRemover("", False),  # leave_last=False
        }[name]()
    return _STANDARDIZERS[name]


def _has_carbon(mol: Chem.Mol) -> bool:
    return any(a.GetAtomicNum() == 6 for a in mol.GetAtoms())


def _is_salt_fragment(frag: Chem.Mol) -> bool:
    """No carbon (a metal ion, a halide, water, HCl...) or one of RDKit's known salt and
    solvent fragments (``FragmentRemover``'s list: acetate, TFA, tosylate...)."""
    if not _has_carbon(frag):
        return True
    return _standardizer("salts").remove(frag).GetNumAtoms() == 0


def parent_compound(mol: Chem.Mol) -> tuple[Chem.Mol | None, str]:
    """The parent compound of a parsed molecule, and what was done to get it.

    A molecule of several fragments (a salt, a hydrate, a mixture) is reduced to its largest
    organic fragment (RDKit's ``LargestFragmentChooser(preferOrganic=True)``); then charges
    are neutralized where possible (RDKit's ``Uncharger``: a carboxylate gets its proton
    back, a quaternary ammonium stays). Returns ``(parent, change)`` with ``change`` one of
    :data:`CHANGE_REASONS`, or ``""`` when the molecule is its own parent; ``(None,
    "no_organic_parent")`` for a mixture none of whose fragments has a carbon atom. A single
    carbon-free molecule (water, ``[Na+]``) is left as it is: it is its own parent.

    ``salt_stripped`` means every removed fragment is carbon-free or one of RDKit's known salt
    and solvent fragments (or another copy of the parent); ``mixture_reduced`` means at least
    one other organic component was removed.
    """
    change = ""
    if len(Chem.GetMolFrags(mol)) > 1:
        frags = Chem.GetMolFrags(mol, asMols=True)
        if not any(_has_carbon(f) for f in frags):
            return None, "no_organic_parent"
        parent = _standardizer("chooser").choose(mol)
        kept = Chem.MolToSmiles(parent)
        salt = all(Chem.MolToSmiles(f) == kept or _is_salt_fragment(f) for f in frags)
        change = "salt_stripped" if salt else "mixture_reduced"
        mol = parent
    if any(a.GetFormalCharge() for a in mol.GetAtoms()):
        neutral = _standardizer("uncharger").uncharge(mol)
        if Chem.MolToSmiles(neutral) != Chem.MolToSmiles(mol):
            mol = neutral
            change = change or "neutralized"
    return mol, change


def rdkit_sources() -> list[Path]:
    """RDKit's bundled molecule sets: the NCI first-5K SMILES and the WEHI test molecules."""
    data = Path(RDConfig.RDDataDir)
    paths = [data / "NCI" / "first_5K.smi", data / "Pains" / "test_data" / "wehi_mols.csv"]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"RDKit's bundled molecule sets are missing: {missing}")
    return paths


def _looks_like_smiles(text: str) -> bool:
    return bool(text) and Chem.MolFromSmiles(text) is not None


def read_smiles_file(path: str | os.PathLike, column: str | int | None = None) -> list[str | None]:
    """Read SMILES strings from a file, one entry per data row or blank line.

    An entry is the row's SMILES, ``None`` where a data row has none (an empty cell, a short
    row), or ``""`` for a blank line (a blank CSV row), so that :func:`prepare` counts it.

    ``.csv``/``.tsv`` (any delimiter ``csv.Sniffer`` recognizes): ``column`` is a header
    name or a 0-based index; by default the column named ``smiles`` (any case), else the
    first column. A header row is detected when the chosen cell of the first non-blank row
    is not a SMILES. Other extensions (``.smi``, ``.txt``): the first whitespace-separated
    field of each line not starting with ``#`` (comment lines are not rows); a first line
    whose field is ``smiles`` (any case) is a header.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no SMILES file at {path}")
    text = path.read_text(encoding="utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        delimiter = "\t" if suffix == ".tsv" else ","
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
        except csv.Error:
            pass
        rows = list(csv.reader(text.splitlines(), delimiter=delimiter))
        blank = [not any(c.strip() for c in r) for r in rows]
        if all(blank):
            return [""] * len(rows)
        head = blank.index(False)
        first = [c.strip() for c in rows[head]]
        lowered = [c.lower() for c in first]
        if isinstance(column, str):
            if column.lower() not in lowered:
                raise ValueError(f"{path}: no column {column!r}; the header is {first}")
            idx, skip = lowered.index(column.lower()), head
        else:
            if column is None:
                idx = lowered.index("smiles") if "smiles" in lowered else 0
            else:
                idx = int(column)
            if idx >= len(first):
                raise ValueError(
                    f"{path}: column index {idx} out of range for {len(first)} columns"
                )
            skip = -1 if _looks_like_smiles(first[idx]) else head
        return [
            "" if blank[i] else ((r[idx].strip() or None) if idx < len(r) else None)
            for i, r in enumerate(rows)
            if i != skip
        ]
    out: list[str | None] = []
    for i, line in enumerate(text.splitlines()):
        line = line.strip()
        if not line:
            out.append("")  # a blank line: counted by prepare()
            continue
        if line.startswith("#"):
            continue
        field = line.split()[0]
        if i == 0 and field.lower() == "smiles":
            continue
        out.append(field)
    return out


def load_source(source: str, column: str | int | None = None) -> tuple[list[str | None], str]:
    """Raw SMILES rows and a description of where they came from."""
    if source == "rdkit":
        rows: list[str | None] = []
        for p in rdkit_sources():
            rows += read_smiles_file(p, column=0)
        return rows, "rdkit (NCI first_5K.smi + PAINS test_data/wehi_mols.csv)"
    return read_smiles_file(source, column), str(Path(source).resolve())


def source_fingerprint(source: str) -> str:
    """A content hash of the source file(s), for the on-disk cache key."""
    h = hashlib.sha256()
    paths = rdkit_sources() if source == "rdkit" else [Path(source)]
    for p in paths:
        h.update(p.name.encode())
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def prepare(
    rows: Sequence[str | None],
    max_len: int,
    limit: int | None = None,
    row_ids: Sequence[int] | None = None,
    rules: MoleculeRules | None = None,
) -> tuple[list[str], list[list[str]], dict[str, Any]]:
    """Clean raw rows: returns canonical SMILES (of parent compounds), their SELFIES tokens and
    the report: rows ``dropped`` and kept molecules ``changed``, counted by reason.

    With ``rules``, a parent compound that breaks one of them is dropped under that rule's
    name (``element``, ``too_small``...); without, no rule is applied.

    Rows are visited in order; with ``limit`` the visit stops once that many are kept
    (``report["rows_examined"]`` says how far it got). ``row_ids`` name the rows in the
    report's examples (default: their position). ``""`` is a blank line (``blank_line``),
    ``None`` a row with no SMILES (``unreadable``).
    """
    counts: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    examples: dict[str, list[str]] = {r: [] for r in (*DROP_REASONS, *CHANGE_REASONS)}
    seen: set[str] = set()
    smiles_out: list[str] = []
    tokens_out: list[list[str]] = []

    def drop(reason: str, row: int, text: Any) -> None:
        counts[reason] += 1
        if len(examples[reason]) < _N_EXAMPLES:
            examples[reason].append(f"row {row}: {text!r}")

    examined = 0
    for pos, raw in enumerate(rows):
        if limit is not None and len(smiles_out) >= limit:
            break
        examined += 1
        i = pos if row_ids is None else int(row_ids[pos])
        if isinstance(raw, str) and not raw:
            drop("blank_line", i, raw)
            continue
        if not isinstance(raw, str) or not raw.strip():
            drop("unreadable", i, raw)
            continue
        mol = Chem.MolFromSmiles(raw)
        if mol is None:
            drop("unparsable", i, raw)
            continue
        if mol.GetNumAtoms() == 0:
            drop("empty", i, raw)
            continue
        mol, change = parent_compound(mol)
        if mol is None:
            drop(change, i, raw)
            continue
        smi = Chem.MolToSmiles(mol)
        broken = rules.check_mol(mol) if rules is not None else ""
        if broken:
            drop(broken, i, smi)
            continue
        if smi in seen:
            drop("duplicate", i, raw)
            continue
        seen.add(smi)
        try:
            encoded = sf.encoder(smi)
        except Exception:
            encoded = None
        if not encoded:
            drop("selfies_unencodable", i, smi)
            continue
        back = Chem.MolFromSmiles(sf.decoder(encoded))
        if back is None or Chem.MolToSmiles(back) != smi:
            drop("roundtrip_changed", i, smi)
            continue
        tokens = split_tokens(encoded)
        if len(tokens) > max_len or PAD in tokens:
            drop("too_long", i, f"{smi} ({len(tokens)} tokens)")
            continue
        if rules is not None and any(
            (e := token_element(t)) is not None and e not in rules.elements for t in tokens
        ):
            drop("foreign_token", i, smi)
            continue
        smiles_out.append(smi)
        tokens_out.append(tokens)
        if change:
            changed[change] += 1
            if len(examples[change]) < _N_EXAMPLES:
                examples[change].append(f"row {i}: {raw!r} -> {smi!r}")
    report = {
        "rows": len(rows),
        "rows_examined": examined,
        "kept": len(smiles_out),
        "dropped": {r: counts[r] for r in DROP_REASONS},
        "changed": {r: changed[r] for r in CHANGE_REASONS},
        "examples": {r: v for r, v in examples.items() if v},
        "max_len": max_len,
    }
    if rules is not None:
        report["rules"] = rules.describe()
    return smiles_out, tokens_out, report


def mutate(
    tokens_list: Sequence[Sequence[str]],
    alphabet: Sequence[str],
    n: int,
    max_len: int,
    seen: set[str],
    seed: int,
    max_edits: int = 3,
    rules: MoleculeRules | None = None,
) -> tuple[list[str], list[list[str]]]:
    """STONED-style augmentation: ``n`` new molecules from random SELFIES edits.

    Each new molecule takes a random reference sequence and applies 1..``max_edits`` random
    replacements, insertions or deletions of tokens from ``alphabet``; it is kept when it
    decodes to a new non-empty molecule whose own SELFIES round-trips within ``max_len`` (and,
    with ``rules``, whose parent compound keeps them).
    Gives up after ``50 * n`` attempts.
    """
    rng = np.random.default_rng(seed)
    alphabet = [t for t in alphabet if t != PAD]
    smiles_out: list[str] = []
    tokens_out: list[list[str]] = []
    attempts = 0
    while len(smiles_out) < n and attempts < 50 * n and tokens_list:
        attempts += 1
        toks = list(tokens_list[rng.integers(len(tokens_list))])
        for _ in range(rng.integers(1, max_edits + 1)):
            op = rng.integers(3)
            pos = int(rng.integers(len(toks) + (op == 1)))
            if op == 0 and toks:
                toks[pos] = alphabet[rng.integers(len(alphabet))]
            elif op == 1:
                toks.insert(pos, alphabet[rng.integers(len(alphabet))])
            elif len(toks) > 1:
                del toks[pos]
        try:
            mol = Chem.MolFromSmiles(sf.decoder("".join(toks)))
        except Exception:
            continue
        if mol is None or mol.GetNumAtoms() == 0:
            continue
        smi = Chem.MolToSmiles(mol)
        if smi in seen:
            continue
        new, new_tokens, _ = prepare([smi], max_len, rules=rules)
        if not new or new[0] in seen:  # its parent compound may be an old molecule
            continue
        seen.update((smi, new[0]))
        smiles_out.append(new[0])
        tokens_out.append(new_tokens[0])
    return smiles_out, tokens_out


def default_cache_dir() -> Path:
    """``$MBO_SANDBOX_CACHE/molecules`` or ``~/.cache/mbo-sandbox/molecules``."""
    root = os.environ.get("MBO_SANDBOX_CACHE") or os.path.join(Path.home(), ".cache", "mbo-sandbox")
    return Path(root) / "molecules"


def cache_path(cache_dir: Path, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    return cache_dir / f"reference-{key['objective']}-{digest}.json"


def load_cache(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if data.get("key") != key or not {"smiles", "tokens", "y", "report"} <= set(data):
        return None
    if not len(data["smiles"]) == len(data["tokens"]) == len(data["y"]):
        return None
    return data


def save_cache(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (a temporary file, then rename); failures only skip caching."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        pass
