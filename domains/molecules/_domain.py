"""The molecule domain: SELFIES token sequences moved as logits, scored by RDKit."""

from __future__ import annotations

import functools
import logging
import multiprocessing as mp
import os
from pathlib import Path
from typing import Any

import numpy as np
import rdkit
import selfies as sf
import torch
from rdkit import Chem
from torch import Tensor

from .. import _options as opt
from .._base import CheckedOracle, Domain, ReferenceData
from .._cache import cache_lock
from .._oracle import Oracle
from .._space import CategoricalSpace
from ._data import (
    cache_path,
    default_cache_dir,
    load_cache,
    load_source,
    mutate,
    prepare,
    save_cache,
    source_fingerprint,
)
from ._draw import draw_grid
from ._oracles import OBJECTIVES, MoleculeObjective
from ._rules import (
    CHARGES,
    ELEMENTS,
    INVALID_REASONS,
    MIN_HEAVY_ATOMS,
    MoleculeRules,
    count_invalid,
)
from ._vocab import PAD, Vocabulary, canonical_smiles, heavy_atoms, split_tokens
from ._vocab import decode_tokens as _decode_tokens

log = logging.getLogger(__name__)

#: bump when the cleaning pipeline or the cache layout changes (2: parent compounds, i.e.
#: salts stripped, mixtures reduced and charges neutralized; blank lines counted; 3: the
#: validity rules filter the reference data, so the vocabulary is organic; 4: a token of a
#: disallowed element, e.g. a [S]/[P] ring-size index in a C/N/O set, drops the molecule).
_CACHE_VERSION = 4
#: the ``charges`` option's names of the allowed charged atoms
_CHARGE_NAMES = {f"{e}{'+' if q > 0 else '-'}": (e, q) for e, q in CHARGES}


def check_smiles_batch(designs: Any, name: str = "molecules") -> None:
    """``ValueError`` (one line) unless ``designs`` is a list (or sequence) of SMILES strings.

    One string is refused (it would be read as one design per character); so is any design
    that is not a string (``None``, a number). An unparsable or empty SMILES is a valid
    *question*: the oracle scores it ``nan`` (invalid).
    """
    if isinstance(designs, str | bytes):
        raise ValueError(
            f"{name}: expected a list of SMILES strings, got one string {opt.show(designs)} "
            f"(pass [{opt.show(designs)}])"
        )
    try:
        items = list(designs)
    except TypeError:
        raise ValueError(
            f"{name}: expected a list of SMILES strings, got {type(designs).__name__}"
        ) from None
    for i, s in enumerate(items):
        if not isinstance(s, str):
            raise ValueError(
                f"{name}: expected a list of SMILES strings; design {i} is "
                f"{type(s).__name__} {opt.show(s)}"
            )


class DecodedMolecules(list):
    """Canonical SMILES decoded from design tensors (a ``list[str]``), with per-design facts.

    Attributes:
        truncated: whether SELFIES decoding ignored tokens after a main-chain atom with no
            free valence (``None`` where it could not be told).
        heavy_atoms: heavy-atom counts (0 where RDKit rejects the molecule).
        n_tokens: non-``[nop]`` tokens in the sequence.
        invalid_reason: the first validity rule each design breaks (``""`` if valid; see
            ``domains/molecules/_rules.py``); ``None`` where the decoder did not check.
    """

    def __init__(
        self,
        smiles: list[str],
        truncated: list,
        heavy: list[int],
        n_tokens: list[int],
        invalid_reason: list[str] | None = None,
    ):
        super().__init__(smiles)
        self.truncated = truncated
        self.heavy_atoms = heavy
        self.n_tokens = n_tokens
        self.invalid_reason = invalid_reason


class MoleculeDomain(Domain):
    """Molecules as SELFIES token sequences; RDKit objectives as the sealed oracle.

    **Design tensor**: logits ``(K, L, V)`` over a vocabulary of the reference set's SELFIES
    tokens plus ``[nop]`` (index 0, padding), ``L = max_len``; the surrogate sees the softmax
    (relaxed one-hot) flattened to ``L * V`` features, or the one-hot of the argmax with
    ``hard=True``. ``encode`` gives each position's token the logit ``+logit_bound / 2`` and
    every other token ``-logit_bound / 2``, so the softmax puts ``1 / (1 + (V - 1) e^-bound)``
    on the token (0.9985 for the organic vocabulary's ``V = 33`` and the default bound 10;
    0.9991 for the C/N/O task's ``V = 20``):
    relaxed and decoded features agree to within 0.5 % on encoded designs. The flip side is a saturated softmax
    (small gradients) at encoded points; pass a smaller ``logit_bound`` for a softer start.
    ``decode`` takes the per-position argmax, drops ``[nop]``, decodes the SELFIES and
    returns canonical SMILES; an all-``[nop]`` design decodes to ``""``, which the oracle
    scores ``nan``.

    **Validity** (``domains/molecules/_rules.py``): SELFIES always decodes to *some*
    molecule, not to a drug-like one. A design is valid only if it is one connected molecule
    of the allowed ``elements`` (default C N O S P F Cl Br I), with no charged atom other
    than N+ and an O- on an N+ (nitro groups, N-oxides, quaternary ammonium), no radical,
    no hypervalent halogen and no S(IV)/S(VI)/P(V) without double bonds to O/N, at least
    ``min_heavy_atoms`` heavy atoms (default 8), and RDKit sanitizes it. A design that breaks
    a rule is *invalid*: the oracle scores it ``nan`` (the audit's ``invalid_rate``), and the
    design column ``invalid_reason`` names the rule (``count_invalid`` counts them). The
    reference data is filtered by the same rules, so the vocabulary built from it is organic.

    **Oracle**: ``objective`` is one of :data:`OBJECTIVES` (``qed``, ``logp``, ``sa``,
    ``plogp``, ``plogp_zinc``, ``mpo_celecoxib``, ``mpo_fexofenadine``, ``mpo_osimertinib``);
    all are maximized, see ``domains/molecules/_oracles.py`` for ranges. Cached by canonical
    SMILES, ``nan`` for anything RDKit rejects; ``workers > 0`` evaluates cache misses on a
    process pool in chunks of ``chunk_size``.

    **Reference data**: ``source="rdkit"`` uses RDKit's bundled NCI first-5K and WEHI sets
    (14,300 unique molecules keep the rules, V = 33 tokens); any other string is a path to
    a ``.smi``/``.txt``/``.csv``/``.tsv`` file (``smiles_column`` picks the CSV column). Every molecule is
    reduced to its parent compound (salts stripped, mixtures reduced to their largest organic
    fragment, charges neutralized: ``domains.molecules._data.parent_compound``), then
    canonicalized and deduplicated; rows are dropped when RDKit rejects them, a mixture has
    no organic fragment, the parent breaks a validity rule (counted by rule), SELFIES cannot
    encode them or change them, or they exceed
    ``max_len`` tokens; ``data_report_`` counts every drop (blank lines too) and every
    change by reason (logged too; a warning for a user's file). ``n_reference`` keeps a seeded random subset of that many molecules (rows
    are visited in a seeded random order until enough are kept); ``augment`` adds that many
    STONED-style random SELFIES mutants. The labeled set is cached as JSON under
    ``cache_dir`` (default ``$MBO_SANDBOX_CACHE/molecules`` or
    ``~/.cache/mbo-sandbox/molecules``), keyed by every option that changes it and by a hash
    of the source files; ``cache=False`` turns that off.

    Args:
        objective: the oracle (see above).
        source: ``"rdkit"`` or a path to a SMILES/CSV file.
        smiles_column: CSV column (name or 0-based index); default ``smiles`` or the first.
        max_len: sequence length ``L`` (longer molecules are dropped).
        n_reference: keep this many molecules (seeded subset); ``None`` keeps all.
        augment: number of STONED-style mutants to add.
        seed: seed of the subset and of the mutants.
        offline_fraction: share of the reference data visible offline (lowest scores).
        workers: oracle worker processes (0 evaluates in this process).
        chunk_size: designs per worker task.
        logit_bound: the space's logit clamp; ``encode`` uses ``+-logit_bound / 2``.
        cache: whether to read/write the labeled reference set on disk.
        cache_dir: where to cache it.
        mp_context: multiprocessing start method of the oracle's pool (default: platform's).
        elements: the allowed element symbols (default C N O S P F Cl Br I); must include C.
        min_heavy_atoms: the smallest valid molecule, in heavy atoms (default 8).
        charges: the charged atoms allowed, a subset of ``["N+", "O-"]`` (an O- only on an
            N+); ``[]`` keeps neutral molecules only (no nitro groups, no N-oxides).
    """

    #: plain gradient steps on saturated-softmax logits flip no argmax (every molecule stays
    #: unchanged, measured at L=60, V=94); Adam's normalized steps do move them.
    optimizer_defaults = {"gradient_ascent": {"method": "adam"}}
    summary_columns = ("heavy_atoms", "n_tokens", "truncated", "invalid_reason")
    #: the validity rules, in the order they are checked (``invalid_reason`` values).
    invalid_reasons = INVALID_REASONS

    def __init__(
        self,
        objective: str = "qed",
        source: str = "rdkit",
        smiles_column: str | int | None = None,
        max_len: int = 60,
        n_reference: int | None = None,
        augment: int = 0,
        seed: int = 0,
        offline_fraction: float = 0.5,
        workers: int = 0,
        chunk_size: int = 128,
        logit_bound: float = 10.0,
        cache: bool = True,
        cache_dir: str | Path | None = None,
        mp_context: str | None = None,
        elements: Any = ELEMENTS,
        min_heavy_atoms: int = MIN_HEAVY_ATOMS,
        charges: Any = ("N+", "O-"),
    ) -> None:
        super().__init__()
        objective = opt.choice("objective", objective, OBJECTIVES)
        if isinstance(source, os.PathLike):
            source = os.fspath(source)
        source = opt.string("source", source)
        if isinstance(smiles_column, str):
            smiles_column = opt.string("smiles_column", smiles_column)
        elif smiles_column is not None:
            try:
                smiles_column = opt.integer("smiles_column", smiles_column, minimum=0)
            except ValueError:
                raise ValueError(
                    "smiles_column must be a column name, a 0-based column index or None, "
                    f"got {opt.show(smiles_column)}"
                ) from None
        self.max_len = opt.integer("max_len", max_len, minimum=2)
        self.n_reference = opt.integer("n_reference", n_reference, minimum=2, none=True)
        self.augment = opt.integer("augment", augment, minimum=0)
        self.seed = opt.integer("seed", seed, minimum=0)
        self.default_offline_fraction = opt.fraction("offline_fraction", offline_fraction)
        self.workers = opt.integer("workers", workers, minimum=0)
        self.chunk_size = opt.integer("chunk_size", chunk_size, minimum=1)
        self.logit_bound = opt.number("logit_bound", logit_bound, above=0.0)
        self.cache = opt.boolean("cache", cache)
        if cache_dir is not None and not (
            isinstance(cache_dir, str | os.PathLike) and os.fspath(cache_dir)
        ):
            raise ValueError(f"cache_dir must be a folder path or None, got {opt.show(cache_dir)}")
        self.mp_context = opt.choice(
            "mp_context", mp_context, mp.get_all_start_methods(), none=True
        )
        if isinstance(elements, str | bytes) or not isinstance(elements, list | tuple):
            raise ValueError(
                f"elements must be a list of element symbols, got {opt.show(elements)}"
            )
        if isinstance(charges, str | bytes) or not isinstance(charges, list | tuple):
            raise ValueError(
                f"charges must be a list such as ['N+', 'O-'] (or [] for neutral molecules "
                f"only), got {opt.show(charges)}"
            )
        parsed = []
        for c in charges:
            if c not in _CHARGE_NAMES:
                raise ValueError(f"charges: {opt.show(c)} is not one of {sorted(_CHARGE_NAMES)}")
            parsed.append(_CHARGE_NAMES[c])
        self.rules = MoleculeRules(
            tuple(elements),
            opt.integer("min_heavy_atoms", min_heavy_atoms, minimum=1),
            tuple(parsed),
        )
        self.charges = tuple(charges)
        self.elements = self.rules.elements
        self.min_heavy_atoms = self.rules.min_heavy_atoms
        if source != "rdkit" and not Path(source).exists():
            raise FileNotFoundError(
                f"molecule source {source!r} is neither 'rdkit' nor an existing file"
            )
        self.objective = objective
        self.source = source
        self.smiles_column = smiles_column
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.name = f"molecules-{objective}"
        self._vocab: Vocabulary | None = None
        self._space: CategoricalSpace | None = None
        self._tokens: dict[str, list[str]] = {}
        #: what happened to the source rows (counts by drop reason, examples), set on load.
        self.data_report_: dict[str, Any] | None = None

    # --- space and vocabulary (built with the reference data) -----------------------------
    @property
    def vocabulary(self) -> Vocabulary:
        if self._vocab is None:
            self.reference_data()
        assert self._vocab is not None
        return self._vocab

    @property
    def space(self) -> CategoricalSpace:  # type: ignore[override]
        if self._space is None:
            self.reference_data()
        assert self._space is not None
        return self._space

    # --- designs --------------------------------------------------------------------------
    def tokens_of(self, smiles: str) -> list[str]:
        """SELFIES tokens of one SMILES (canonicalized first); ``ValueError`` if impossible."""
        if smiles in self._tokens:
            return self._tokens[smiles]
        mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles else None
        if mol is None or mol.GetNumAtoms() == 0:
            raise ValueError(f"RDKit cannot parse SMILES {smiles!r} (or it has no atoms)")
        canon = Chem.MolToSmiles(mol)
        if canon in self._tokens:
            return self._tokens[canon]
        try:
            return split_tokens(sf.encoder(canon))
        except Exception as err:
            raise ValueError(f"SELFIES cannot encode {smiles!r}: {err}") from err

    def _encode_tokens(self, token_lists: list[list[str]]) -> Tensor:
        vocab = self.vocabulary
        idx = np.zeros((len(token_lists), self.max_len), dtype=np.int64)  # 0 = [nop]
        for i, toks in enumerate(token_lists):
            if len(toks) > self.max_len:
                raise ValueError(
                    f"design {i} has {len(toks)} SELFIES tokens > max_len={self.max_len}"
                )
            unknown = [t for t in toks if t not in vocab.index]
            if unknown:
                raise ValueError(
                    f"design {i} uses tokens outside the vocabulary: {sorted(set(unknown))}"
                )
            idx[i, : len(toks)] = [vocab.index[t] for t in toks]
        one_hot = torch.nn.functional.one_hot(torch.as_tensor(idx), len(vocab)).bool()
        half = self.logit_bound / 2
        return torch.where(one_hot, half, -half).to(torch.float32)

    def encode(self, designs: Any) -> Tensor:
        """SMILES list -> logits ``(N, L, V)``: ``+logit_bound/2`` at each token, else ``-logit_bound/2``.

        Raises ``ValueError`` for a SMILES RDKit or SELFIES rejects, one longer than
        ``max_len`` tokens, or one using tokens outside the vocabulary.
        """
        if isinstance(designs, str):
            raise TypeError("encode takes a list of SMILES strings, not one string")
        return self._encode_tokens([self.tokens_of(s) for s in designs])

    def decode(self, x: Tensor) -> DecodedMolecules:
        """Logits ``(N, L, V)`` -> canonical SMILES (per-position argmax, then SELFIES)."""
        self.space.check(x)
        idx = x.detach().argmax(-1).cpu().numpy()
        tokens = self.vocabulary.tokens
        return self.decode_tokens([[tokens[j] for j in row] for row in idx])

    def decode_tokens(self, token_lists: Any) -> DecodedMolecules:
        """SELFIES token sequences -> canonical SMILES with per-design facts, checked against
        the validity rules (``invalid_reason``). Tokens need not be in the vocabulary."""
        smiles, truncated, heavy, used, reasons = [], [], [], [], []
        for row in token_lists:
            s, t, h, n = _decode_tokens(tuple(str(tok) for tok in row))
            smiles.append(s)
            truncated.append(t)
            heavy.append(h)
            used.append(n)
            reasons.append(self.rules.check(s))
        return DecodedMolecules(smiles, truncated, heavy, used, reasons)

    def invalid_reason(self, designs: Any) -> list[str]:
        """The first validity rule each design (SMILES) breaks, ``""`` where it is valid."""
        reasons = getattr(designs, "invalid_reason", None)
        if reasons is not None:
            return list(reasons)
        return [self.rules.check(s) if isinstance(s, str) else "empty" for s in designs]

    def invalid_counts(self, designs: Any) -> dict[str, int]:
        """How many ``designs`` each validity rule rejects (first rule broken; zeros kept)."""
        return count_invalid(self.invalid_reason(designs))

    def upper_bound(self, designs: Any) -> np.ndarray | None:
        bound = OBJECTIVES[self.objective].bound
        return None if bound is None else np.full(len(designs), bound, dtype=np.float64)

    def design_columns(self, designs: Any) -> dict[str, Any]:
        """``smiles``, ``heavy_atoms``, ``n_tokens``, ``truncated`` and ``invalid_reason`` per
        design.

        ``truncated`` (SELFIES decoding ignored trailing tokens) is known for decoded designs;
        plain SMILES lists get ``False`` (no tokens were ignored). ``invalid_reason`` is the
        first validity rule the design breaks (``""`` if valid): count them with
        ``count_invalid(table["invalid_reason"])`` or :meth:`invalid_counts`.
        """
        reasons = self.invalid_reason(designs)
        if isinstance(designs, DecodedMolecules):
            return {
                "smiles": list(designs),
                "heavy_atoms": np.asarray(designs.heavy_atoms, dtype=np.int64),
                "n_tokens": np.asarray(designs.n_tokens, dtype=np.int64),
                "truncated": list(designs.truncated),
                "invalid_reason": reasons,
            }
        smiles = [str(s) for s in designs]
        return {
            "smiles": smiles,
            "heavy_atoms": np.asarray([heavy_atoms(s) for s in smiles], dtype=np.int64),
            "n_tokens": np.asarray([self._n_tokens(s) for s in smiles], dtype=np.int64),
            "truncated": [False] * len(smiles),
            "invalid_reason": reasons,
        }

    def _n_tokens(self, smiles: str) -> int:
        try:
            return len(self.tokens_of(smiles))
        except ValueError:
            return 0

    def render_designs(self, designs: Any, labels: list[str], path: str) -> bool:
        """RDKit 2-D grid (4 per row) with ``labels[i]`` under molecule ``i``, saved as PNG."""
        draw_grid(list(designs), list(labels), path)
        return True

    # --- oracle ---------------------------------------------------------------------------
    def _make_oracle(self) -> Oracle:
        return CheckedOracle(
            MoleculeObjective(self.objective, rules=self.rules),
            key=canonical_smiles,
            check=functools.partial(check_smiles_batch, name=self.name),
            workers=self.workers,
            chunk_size=self.chunk_size,
            mp_context=self.mp_context,
        )

    # --- data -----------------------------------------------------------------------------
    def _cache_key(self) -> dict[str, Any]:
        return {
            "version": _CACHE_VERSION,
            "objective": self.objective,
            "source": self.source if self.source == "rdkit" else str(Path(self.source).resolve()),
            "source_hash": source_fingerprint(self.source),
            "smiles_column": self.smiles_column,
            "max_len": self.max_len,
            "n_reference": self.n_reference,
            "augment": self.augment,
            "seed": self.seed,
            "rdkit": rdkit.__version__,
            "selfies": sf.__version__,
            "rules": self.rules.describe(),
        }

    def _build(self) -> tuple[list[str], list[list[str]], np.ndarray, dict[str, Any]]:
        rows, where = load_source(self.source, self.smiles_column)
        if self.n_reference is not None:
            # visit rows in a seeded random order and stop once enough are kept
            order = np.random.default_rng(self.seed).permutation(len(rows))
            smiles, tokens, report = prepare(
                [rows[i] for i in order],
                self.max_len,
                limit=self.n_reference,
                row_ids=order,
                rules=self.rules,
            )
        else:
            smiles, tokens, report = prepare(rows, self.max_len, rules=self.rules)
        report["source"] = where
        report["rows"] = len(rows)
        if self.augment:
            new_s, new_t = mutate(
                tokens,
                sorted({t for ts in tokens for t in ts}),
                self.augment,
                self.max_len,
                set(smiles),
                self.seed,
                rules=self.rules,
            )
            smiles, tokens = smiles + new_s, tokens + new_t
            report["augmented"] = len(new_s)
        res = self.oracle.query(
            smiles, progress=f"{self.name}: labelling {len(smiles)} reference molecules"
        )
        y = res.values
        bad = ~np.isfinite(y)
        report["dropped"]["oracle_error"] = int(res.error.sum())
        report["dropped"]["oracle_nan"] = int((bad & ~res.error).sum())
        if bad.any():
            keep_idx = np.flatnonzero(~bad)
            smiles = [smiles[i] for i in keep_idx]
            tokens = [tokens[i] for i in keep_idx]
            y = y[keep_idx]
        report["kept"] = len(smiles)
        return smiles, tokens, y, report

    def _make_reference(self) -> ReferenceData:
        key = self._cache_key()
        path = cache_path(self.cache_dir, key) if self.cache else None
        with cache_lock(path, self.name):  # one process of a sweep labels, the rest read
            data = load_cache(path, key) if path is not None else None
            if data is not None:
                smiles, tokens, y, report = (
                    data["smiles"],
                    data["tokens"],
                    np.asarray(data["y"], float),
                    data["report"],
                )
                report = {**report, "from_cache": str(path)}
                self.oracle.prime(smiles, y)  # labels from an earlier run: no need to recompute
            else:
                smiles, tokens, y, report = self._build()
                if path is not None and not report["dropped"].get(
                    "oracle_error"
                ):  # never cache a failure
                    save_cache(
                        path,
                        {
                            "key": key,
                            "smiles": smiles,
                            "tokens": tokens,
                            "y": y.tolist(),
                            "report": report,
                        },
                    )
        self.data_report_ = report
        _log_report(report, user_file=self.source != "rdkit")
        if len(smiles) < 2:
            raise ValueError(
                f"{self.name}: only {len(smiles)} usable molecules in {self.source!r}; report: {report}"
            )
        self._tokens = dict(zip(smiles, tokens, strict=True))
        self._vocab = Vocabulary([PAD, *{t for ts in tokens for t in ts}])
        self._space = CategoricalSpace(self.max_len, len(self._vocab), logit_bound=self.logit_bound)
        x = self._encode_tokens(tokens)
        return ReferenceData(list(smiles), x, y)

    def describe(self) -> dict[str, Any]:
        info = OBJECTIVES[self.objective]
        report = self.data_report_ or {}
        return {
            **super().describe(),
            "objective": self.objective,
            "objective_description": info.description,
            "direction": "maximize",
            "objective_range": list(info.range),
            "L": self.space.length,
            "V": self.space.vocab_size,
            "n_reference": len(self.reference_data()),
            "max_len": self.max_len,
            "source": self.source,
            "offline_fraction": self.default_offline_fraction,
            "dropped": report.get("dropped"),
            "changed": report.get("changed"),
            "rules": self.rules.describe(),
        }


def _log_report(report: dict[str, Any], user_file: bool) -> None:
    dropped = {k: v for k, v in report.get("dropped", {}).items() if v}
    changed = {k: v for k, v in report.get("changed", {}).items() if v}
    msg = (
        f"molecule reference data from {report.get('source')}: {report.get('kept')} kept of "
        f"{report.get('rows')} rows; dropped {dropped or 'none'}; changed to their parent "
        f"compound {changed or 'none'}"
    )
    bad = sum(
        report.get("dropped", {}).get(r, 0)
        for r in ("unreadable", "unparsable", "empty", "no_organic_parent", *INVALID_REASONS)
    )
    if user_file and (bad or changed):
        log.warning("%s; examples: %s", msg, report.get("examples"))
    else:
        log.info(msg)


class MoleculeTaskDomain(MoleculeDomain):
    """The registered molecule **task** (``"molecules"``): QED over neutral C/N/O molecules,
    climbed by a 50-step Adam horizon, the same space and ascent as its control.

    The task and its control (:class:`MoleculeControlDomain`) differ in one thing, the
    property: QED, which a per-position token model learns poorly (validation R^2 about 0.3-0.5),
    against Crippen logP, which it learns (0.6-0.7). So whatever separates their outcomes is the
    objective, not the vocabulary or the optimizer. Two changes from :class:`MoleculeDomain`'s
    defaults, each a change of the *task*:

    - **Neutral C/N/O molecules** (``elements=("C", "N", "O")``, ``charges=()``).
    - **A 50-step horizon** (Adam, lr 0.1, ``optimizer_defaults``): the generic domain's
      200 steps of lr ``0.01 sqrt(d)`` move every logit ~90 units and rewrite every token;
      50 steps of 0.1 flip only the tokens whose gradient keeps its sign, a few per molecule.

    Why: on the generic domain's defaults (the organic vocabulary, 200 steps) every neural
    surrogate ended with 89-100 % invalid designs on every seed, so all of them scored p50 = 0
    and the task could not tell them apart (``benchmarks/results/suite-medium.md``, before this
    change). SELFIES writes ring and branch sizes 14-15 with ``[S]``/``[P]``; in a C/N/O space
    such a token could only ever put an S or P atom into a design, so the molecules that need
    one are dropped from the data (``foreign_token``, counted in ``data_report_``) and the
    vocabulary has none. What the 50 steps do, step by step:
    ``benchmarks/results/molecules-horizon.md``.
    """

    optimizer_defaults = {"gradient_ascent": {"method": "adam", "lr": 0.1, "steps": 50}}

    def __init__(
        self,
        objective: str = "qed",
        *,
        elements: Any = ("C", "N", "O"),
        charges: Any = (),
        **options: Any,
    ) -> None:
        super().__init__(objective, elements=elements, charges=charges, **options)


class MoleculeControlDomain(MoleculeTaskDomain):
    """The molecule **control** task: the molecule task's space and horizon with a property
    the surrogate can learn, Crippen logP.

    Crippen logP is a sum of atom contributions, so a per-position token model learns it
    (validation R^2 about 0.6-0.7 against 0.3-0.5 for QED). With halogens in the vocabulary the
    surrogate would learn that Cl/Br/I raise logP and the ascent would write them mid-chain,
    where SELFIES ends the molecule at the halogen (``too_small``); with N+/O- tokens it would
    write charged atoms no rule accepts: hence neutral C/N/O (shared with the task). With the
    ``[S]``/``[P]`` size tokens out of the vocabulary 2-3 % of the plain MLP's designs end
    invalid (about 25 % while they were in), counted at the floor score by ``p50``. Measured
    in ``benchmarks/results/suite-medium.md``.
    """

    def __init__(self, objective: str = "logp", **options: Any) -> None:
        super().__init__(objective, **options)
        self.name = f"molecules-control-{self.objective}"
