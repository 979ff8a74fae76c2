"""SELFIES tokens, the vocabulary, canonical SMILES and SELFIES decoding with truncation.

SELFIES decoding (selfies 2.x) stops the main chain at an atom with no free valence
(``[F]``, ``[Cl]``, ``[=O]`` after a single-bonded chain end ...) and ignores the rest of
that fragment; ``[nop]`` is skipped anywhere. :func:`is_truncated` replays selfies'
derivation rules (from ``selfies.grammar_rules``) without building the molecule to tell
whether any token was ignored that way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

import selfies as sf
from rdkit import Chem, RDLogger

RDLogger.DisableLog("rdApp.*")

PAD = "[nop]"

try:  # selfies internals; only used for the truncation diagnostic
    from selfies.grammar_rules import (
        get_index_from_selfies,
        next_atom_state,
        next_branch_state,
        next_ring_state,
        process_atom_symbol,
        process_branch_symbol,
        process_ring_symbol,
    )

    _HAVE_RULES = True
except ImportError:  # pragma: no cover - other selfies versions
    _HAVE_RULES = False


@lru_cache(maxsize=200_000)
def canonical_smiles(smiles: str) -> str:
    """RDKit canonical SMILES; the input unchanged where RDKit rejects it (it scores nan).

    Also the oracle's cache key, so ``"OCC"`` and ``"CCO"`` share one evaluation.
    """
    if not smiles:
        return ""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return smiles
    return Chem.MolToSmiles(mol)


def split_tokens(selfies: str) -> list[str]:
    return list(sf.split_selfies(selfies))


_ATOM_TOKEN = re.compile(r"^\[[=#/\\]?([A-Z][a-z]?)")


def token_element(token: str) -> str | None:
    """The element a SELFIES token writes when read as an atom (``"[=S]"`` -> ``"S"``,
    ``"[C@@H1]"`` -> ``"C"``, ``"[Cl]"`` -> ``"Cl"``); ``None`` for ``[nop]`` and the ring and
    branch tokens, which never write an atom."""
    if token == PAD or token.lstrip("[=#").startswith(("Ring", "Branch")):
        return None
    m = _ATOM_TOKEN.match(token)
    return m.group(1) if m else None


def _walk(it: Iterator[str], state: int | None, max_derive: float) -> tuple[int, bool]:
    """Replay ``selfies.decoder``'s derivation; return (symbols consumed, main chain cut)."""
    n = 0
    cut = False
    while n < max_derive:
        try:
            symbol = next(it)
        except StopIteration:
            break
        n += 1
        if symbol[-4:-2] == "ch":  # [Branch1] ...
            out = process_branch_symbol(symbol)
            if out is None:
                raise sf.DecoderError(f"invalid symbol {symbol!r}")
            btype, k = out
            if state <= 1:
                next_state = state
            else:
                binit, next_state = next_branch_state(btype, state)
                q = get_index_from_selfies(*[next(it, None) for _ in range(k)])
                n += k + _walk(it, binit, q + 1)[0]
        elif symbol[-4:-2] == "ng":  # [Ring1] ...
            out = process_ring_symbol(symbol)
            if out is None:
                raise sf.DecoderError(f"invalid symbol {symbol!r}")
            ring_type, k, _ = out
            if state == 0:
                next_state = state
            else:
                _, next_state = next_ring_state(ring_type, state)
                for _ in range(k):
                    next(it, None)
                n += k
        elif "eps" in symbol:
            next_state = 0 if state == 0 else None
        else:
            out = process_atom_symbol(symbol)
            if out is None:
                raise sf.DecoderError(f"invalid symbol {symbol!r}")
            (bond_order, _), atom = out
            _, next_state = next_atom_state(bond_order, atom.bonding_capacity, state)
        if next_state is None:
            cut = True
            break
        state = next_state
    remaining = 0
    while n < max_derive and next(it, None) is not None:
        n += 1
        remaining += 1
    return n, cut and remaining > 0


def is_truncated(tokens: Sequence[str]) -> bool | None:
    """Whether SELFIES decoding ignores tokens after a main-chain atom with no free valence.

    ``None`` where it cannot be told (selfies internals unavailable or a malformed string).
    """
    if not _HAVE_RULES:  # pragma: no cover
        return None
    fragment: list[str] = []
    fragments = [fragment]
    for t in tokens:
        if t == PAD:
            continue
        if t == ".":
            fragment = []
            fragments.append(fragment)
        else:
            fragment.append(t)
    try:
        return any(_walk(iter(f), 0, float("inf"))[1] for f in fragments)
    except Exception:
        return None


@lru_cache(maxsize=200_000)
def decode_tokens(tokens: tuple[str, ...]) -> tuple[str, bool | None, int, int]:
    """Token tuple -> (canonical SMILES, truncated, heavy atoms, non-[nop] tokens).

    An all-``[nop]`` sequence decodes to ``""`` (an invalid design: the oracle gives nan).
    A SMILES that RDKit rejects is returned as SELFIES wrote it (the oracle gives nan).
    """
    used = sum(t != PAD for t in tokens)
    try:
        smiles = sf.decoder("".join(tokens))
    except Exception:  # malformed: treat as invalid
        return "", None, 0, used
    if not smiles:
        return "", False, 0, used
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return smiles, is_truncated(tokens), 0, used
    return Chem.MolToSmiles(mol), is_truncated(tokens), mol.GetNumHeavyAtoms(), used


def heavy_atoms(smiles: str) -> int:
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    return 0 if mol is None else mol.GetNumHeavyAtoms()


class Vocabulary:
    """SELFIES tokens <-> indices; index 0 is the padding token ``[nop]``."""

    def __init__(self, tokens: Sequence[str]) -> None:
        rest = sorted(set(tokens) - {PAD})
        self.tokens: list[str] = [PAD, *rest]
        self.index: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def __repr__(self) -> str:
        return f"Vocabulary(V={len(self)})"
