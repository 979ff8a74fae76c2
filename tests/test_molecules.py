"""The molecule domain: RDKit oracles, SELFIES designs, reference data, end to end."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch

pytest.importorskip("rdkit")
pytest.importorskip("selfies")

from rdkit import Chem  # noqa: E402
from rdkit.Chem import QED, Crippen, Descriptors  # noqa: E402

from domains.molecules import (
    DRUGS,
    ELEMENTS,
    INVALID_REASONS,
    OBJECTIVES,
    MoleculeControlDomain,
    MoleculeDomain,
    MoleculeObjective,
    MoleculeRules,
    MoleculeTaskDomain,
    canonical_smiles,
    count_invalid,
    is_truncated,
)
from domains.molecules._oracles import _sascorer  # noqa: E402
from mbo.registry import DOMAINS  # noqa: E402

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
CAFFEINE = "Cn1c(=O)c2c(ncn2C)n(C)c1=O"
IBUPROFEN = "CC(C)Cc1ccc(C(C)C(=O)O)cc1"
KNOWN = [ASPIRIN, CAFFEINE, IBUPROFEN, "c1ccc2ccccc2c1", "C1CCCCCCCC1"]  # last: 9-ring
PHENETOLE = "CCOc1ccccc1"  # a small valid molecule: 9 heavy atoms

# a small user file: known drugs plus rows that must be reported, not lost
USER_ROWS = [
    ("aspirin", ASPIRIN),
    ("caffeine", CAFFEINE),
    ("ibuprofen", IBUPROFEN),
    ("ethanol", "CCO"),
    ("ethanol again", "OCC"),  # duplicate after canonicalization
    ("formaldehyde", "C=O"),
    ("propane", "CCC"),
    ("toluene", "Cc1ccccc1"),
    ("fluoroethane", "CCF"),
    ("bad ring", "C1CC"),  # unparsable
    ("bad valence", "C(C)(C)(C)(C)C"),  # unparsable (5-valent carbon)
    ("missing", ""),  # unreadable
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("molcache")


@pytest.fixture(scope="module")
def tiny(cache_dir):
    """60 molecules from RDKit's bundled sets, labeled with QED."""
    return MoleculeDomain("qed", n_reference=60, seed=1, cache_dir=cache_dir)


@pytest.fixture(scope="module")
def user_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("user") / "mols.csv"
    path.write_text("name,smiles\n" + "".join(f'"{n}","{s}"\n' for n, s in USER_ROWS))
    return path


@pytest.fixture(scope="module")
def user_domain(user_csv):
    # min_heavy_atoms=1: the file's small molecules (ethanol, propane) test the file reading
    return MoleculeDomain(
        "qed",
        source=str(user_csv),
        smiles_column="smiles",
        cache=False,
        max_len=30,
        min_heavy_atoms=1,
    )


# --- oracles -------------------------------------------------------------------------------
def test_oracle_values_equal_rdkit_functions():
    sascorer = _sascorer()
    mols = [Chem.MolFromSmiles(s) for s in KNOWN]
    qed = MoleculeObjective("qed")(KNOWN)
    logp = MoleculeObjective("logp")(KNOWN)
    sa = MoleculeObjective("sa")(KNOWN)
    plogp = MoleculeObjective("plogp")(KNOWN)
    for i, m in enumerate(mols):
        assert qed[i] == pytest.approx(QED.qed(m), abs=1e-12)
        assert logp[i] == pytest.approx(Crippen.MolLogP(m), abs=1e-12)
        assert sa[i] == pytest.approx(-sascorer.calculateScore(m), abs=1e-12)
        ring = max(max((len(r) for r in m.GetRingInfo().AtomRings()), default=0) - 6, 0)
        assert plogp[i] == pytest.approx(
            Crippen.MolLogP(m) - sascorer.calculateScore(m) - ring, abs=1e-12
        )
    assert 0.5 < qed[0] < 0.6  # aspirin's QED is about 0.55
    # the 9-membered ring pays a penalty of 3
    assert plogp[4] == pytest.approx(logp[4] + sa[4] - 3.0)
    z = MoleculeObjective("plogp_zinc")(KNOWN)
    assert np.all(np.isfinite(z)) and not np.allclose(z, plogp)


def test_mpo_objectives_are_bounded_and_reward_their_drug():
    for name in ("mpo_celecoxib", "mpo_fexofenadine", "mpo_osimertinib"):
        drug = name.split("_")[1]
        v = MoleculeObjective(name)([DRUGS[drug], ASPIRIN, CAFFEINE])
        assert np.all((v >= 0) & (v <= 1)), name
        assert v[0] > v[1] and v[0] > v[2], name
        assert OBJECTIVES[name].bound == 1.0
    # celecoxib: similarity 1, TPSA desirability exp(-0.5 ((TPSA - 100) / 20)^2)
    tpsa = Descriptors.TPSA(Chem.MolFromSmiles(DRUGS["celecoxib"]))
    expected = math.sqrt(math.exp(-0.5 * ((tpsa - 100) / 20) ** 2))
    assert MoleculeObjective("mpo_celecoxib")([DRUGS["celecoxib"]])[0] == pytest.approx(expected)


def test_invalid_and_empty_molecules_score_nan():
    for name in OBJECTIVES:
        v = MoleculeObjective(name)(["", "C1CC", "not a molecule", "CCO"])
        assert np.isnan(v[:3]).all(), name
        assert np.isfinite(v[3]), name


def test_objective_rejects_unknown_name():
    with pytest.raises(ValueError, match=r"objective must be one of \['logp', .*got 'nope'"):
        MoleculeDomain("nope")
    with pytest.raises(ValueError, match="unknown molecule objective"):
        MoleculeObjective("nope")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"max_len": 30.5}, "max_len must be an integer >= 2, got 30.5"),
        ({"max_len": True}, "max_len must be an integer >= 2, got True"),
        ({"n_reference": True}, "n_reference must be an integer >= 2 or None, got True"),
        ({"n_reference": 20.0}, "n_reference must be an integer >= 2 or None, got 20.0"),
        ({"augment": 1.5}, "augment must be an integer >= 0, got 1.5"),
        ({"seed": -1}, "seed must be an integer >= 0, got -1"),
        ({"workers": True}, "workers must be an integer >= 0, got True"),
        ({"chunk_size": 0}, "chunk_size must be an integer >= 1, got 0"),
        ({"logit_bound": float("inf")}, "logit_bound must be a finite number > 0, got inf"),
        ({"offline_fraction": 0}, r"offline_fraction must be a number in \(0, 1\], got 0"),
        ({"cache": "no"}, "cache must be true or false, got 'no'"),
        ({"cache_dir": 5}, "cache_dir must be a folder path or None, got 5"),
        ({"smiles_column": 1.5}, "smiles_column must be a column name, a 0-based column index"),
        ({"smiles_column": -1}, "smiles_column must be a column name, a 0-based column index"),
        ({"mp_context": "thread"}, r"mp_context must be one of \[.*'spawn'\] \(or None\)"),
        ({"objective": 3}, r"objective must be one of \[.*\], got 3"),
        ({"source": 3}, "source must be a non-empty string, got 3"),
    ],
)
def test_options_are_checked_not_coerced(options, message):
    with pytest.raises(ValueError, match=message) as err:
        MoleculeDomain(**{"cache": False, **options})
    assert "\n" not in str(err.value)


def test_oracle_refuses_a_bare_string_and_non_strings(tiny):
    """One SMILES string is not a batch of one design per character."""
    before = tiny.oracle.counts()
    for bad, message in (
        ("CCO", r"expected a list of SMILES strings, got one string 'CCO' \(pass \['CCO'\]\)"),
        (["CCO", None], "design 1 is NoneType None"),
        ([3], "design 0 is int 3"),
    ):
        with pytest.raises(ValueError, match=message):
            tiny.oracle(bad)
    assert tiny.oracle.counts() == before
    # unparsable and empty SMILES are invalid designs: nan, not an oracle error
    res = tiny.oracle.query(["", "C1CC", "not a molecule", PHENETOLE])
    assert res.invalid[:3].all() and not res.error.any() and np.isfinite(res.values[3])


# --- designs -------------------------------------------------------------------------------
def test_encode_decode_round_trip(tiny):
    ref = tiny.reference_data()
    assert ref.x.shape == (len(ref), 60, tiny.space.vocab_size)
    assert tiny.space.length == 60 and tiny.vocabulary.tokens[0] == "[nop]"
    x = tiny.encode(ref.designs)
    assert torch.equal(x, ref.x)
    assert list(tiny.decode(x)) == list(ref.designs)
    # a non-canonical spelling encodes to the same tensor
    some = ref.designs[0]
    other = Chem.MolToSmiles(Chem.MolFromSmiles(some), canonical=False, doRandom=True)
    assert torch.equal(tiny.encode([other]), x[:1])


def test_relaxed_and_hard_features_agree_on_encoded_designs(tiny):
    x = tiny.reference_data().x[:20]
    relaxed = tiny.space.features(x)
    hard = tiny.space.features(x, hard=True)
    assert relaxed.shape == (20, tiny.space.dim)
    torch.testing.assert_close(relaxed, hard, atol=1e-2, rtol=0)
    assert torch.equal(
        hard.view(20, tiny.space.length, -1).sum(-1), torch.ones(20, tiny.space.length)
    )


def test_encode_rejects_bad_input(tiny):
    with pytest.raises(ValueError, match="parse"):
        tiny.encode(["C1CC"])
    with pytest.raises(ValueError, match="vocabulary"):
        tiny.encode(["[Xe]"])
    with pytest.raises(ValueError, match="max_len"):
        tiny.encode(["C" * 80])
    with pytest.raises(TypeError):
        tiny.encode("CCO")


def test_empty_design_is_invalid_not_a_crash(tiny):
    ref = tiny.reference_data()
    x = torch.full((3, *tiny.space.shape), -5.0)
    x[:, :, 0] = 5.0  # all [nop]
    x[1, 0, tiny.vocabulary.index["[C]"]] = 9.0  # methane
    x[2] = ref.x[0]
    designs = tiny.decode(x)
    assert list(designs) == ["", "C", ref.designs[0]]
    y = tiny.oracle(designs)
    assert np.isnan(y[0]) and np.isnan(y[1]) and np.isfinite(y[2])
    cols = tiny.design_columns(designs)
    assert list(cols["heavy_atoms"][:2]) == [0, 1] and list(cols["n_tokens"][:2]) == [0, 1]
    assert cols["invalid_reason"] == ["empty", "too_small", ""]


def test_truncation_is_tracked(user_domain):
    assert is_truncated(["[C]", "[=O]", "[C]"]) is True
    assert is_truncated(["[C]", "[=O]"]) is False
    assert is_truncated(["[C]", "[Branch1]", "[C]", "[F]", "[C]"]) is False  # F ends a branch only
    assert is_truncated(["[nop]", "[C]", "[F]", "[nop]", "[C]"]) is True
    idx = user_domain.vocabulary.index
    x = torch.full((2, *user_domain.space.shape), -5.0)
    x[:, :, 0] = 5.0
    for pos, tok in enumerate(["[C]", "[=O]", "[C]", "[C]"]):  # C=O, then C C ignored
        x[0, pos, idx[tok]] = 9.0
    for pos, tok in enumerate(["[C]", "[C]", "[O]"]):
        x[1, pos, idx[tok]] = 9.0
    designs = user_domain.decode(x)
    assert list(designs) == ["C=O", "CCO"]
    cols = user_domain.design_columns(designs)
    assert cols["truncated"] == [True, False]
    assert list(cols["heavy_atoms"]) == [2, 3]
    assert list(cols["smiles"]) == ["C=O", "CCO"]


def test_upper_bound(tiny, cache_dir):
    b = tiny.upper_bound(["CCO", ""])
    assert b.tolist() == [1.0, 1.0]
    assert np.all(tiny.reference_data().y <= 1.0)
    assert MoleculeDomain("plogp", n_reference=5, cache_dir=cache_dir).upper_bound(["CCO"]) is None


def test_render_designs_writes_png(tiny, tmp_path):
    path = tmp_path / "grid.png"
    designs = list(tiny.reference_data().designs[:5]) + [""]
    assert tiny.render_designs(designs, [f"d{i}" for i in range(6)], str(path)) is True
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="labels"):
        tiny.render_designs(designs, ["one"], str(path))


# --- validity rules ------------------------------------------------------------------------
OCTANE_TOKENS = ["[C]"] * 8


def _check_invalid(domain, designs, reasons):
    """Decoded designs carry the rule they break, the oracle scores exactly those nan."""
    assert designs.invalid_reason == reasons
    y = domain.oracle(designs)
    np.testing.assert_array_equal(np.isnan(y), [bool(r) for r in reasons])
    assert domain.design_columns(designs)["invalid_reason"] == reasons


def test_a_metal_containing_decode_is_invalid(tiny):
    tokens = [
        ["[C]"] * 4 + ["[Cu]"] + ["[C]"] * 4,  # CCCC[Cu]CCCC: 9 heavy atoms, one molecule
        ["[C]"] * 4 + ["[Ti]"] + ["[C]"] * 4,
        ["[C]"] * 4 + ["[Si]"] + ["[C]"] * 4,  # a metalloid
        ["[C]"] * 4 + ["[S]"] + ["[C]"] * 4,  # the organic analogue is fine
    ]
    designs = tiny.decode_tokens(tokens)
    assert "[Cu]" in designs[0] and "[Ti]" in designs[1] and "[Si]" in designs[2]
    assert all(h >= 8 for h in designs.heavy_atoms)
    _check_invalid(tiny, designs, ["element", "element", "element", ""])


def test_a_disconnected_decode_is_invalid(tiny):
    # "." separates fragments in SELFIES as in SMILES
    tokens = [OCTANE_TOKENS + ["."] + ["[C]", "[C]", "[O]"], OCTANE_TOKENS + ["[O]"]]
    designs = tiny.decode_tokens(tokens)
    assert list(designs) == ["CCCCCCCC.CCO", "CCCCCCCCO"]
    _check_invalid(tiny, designs, ["fragments", ""])
    # a salt given as SMILES is one design of two fragments: invalid too
    assert tiny.invalid_reason(["CCCCCCCCN.Cl", "CCCCCCCCN"]) == ["fragments", ""]


def test_a_too_small_decode_is_invalid(tiny):
    tokens = [["[C]", "[C]", "[O]"], ["[C]"] * 7, OCTANE_TOKENS, ["[nop]"] * 5]
    designs = tiny.decode_tokens(tokens)
    assert list(designs) == ["CCO", "CCCCCCC", "CCCCCCCC", ""]
    _check_invalid(tiny, designs, ["too_small", "too_small", "", "empty"])
    assert tiny.min_heavy_atoms == 8 and tiny.rules.min_heavy_atoms == 8


def test_charges_radicals_and_valences_a_chemist_would_not_draw(tiny):
    tokens = [
        ["[Br]", "[S]", "[Branch1]", "[C]", "[Br]", "[I]"],  # Br[SH](Br)I: S(IV), no oxo
        OCTANE_TOKENS + ["[S]", "[Branch1]", "[C]", "[Cl]", "[Cl]"],  # S(IV) with halogens
        OCTANE_TOKENS + ["[P]", "[Branch1]", "[C]", "[Cl]", "[Branch1]", "[C]", "[Cl]", "[Cl]"],
        OCTANE_TOKENS + ["[N+1]", "[C]"],  # N+ with two bonds: a radical
        OCTANE_TOKENS + ["[O-1]"],  # an alkoxide
        OCTANE_TOKENS + ["[S]", "[=Branch1]", "[C]", "[=O]", "[=O]"],  # a sulfonic acid: fine
    ]
    designs = tiny.decode_tokens(tokens)
    _check_invalid(tiny, designs, ["valence", "valence", "valence", "radical", "charge", ""])
    rules = tiny.rules
    assert rules.check("O=[N+]([O-])c1ccccc1C") == ""  # nitro: N+ and O- on it
    assert rules.check("C[n+]1ccccc1CCC") == ""  # pyridinium
    assert rules.check("CCOP(=O)(OCC)OCC") == ""  # a phosphate
    assert rules.check("CS(=O)(=O)Nc1ccccc1") == ""  # a sulfonamide
    assert rules.check("CCCCCCC(=O)[O-]") == "charge"  # a carboxylate is drawn neutral
    assert rules.check("CCCC[S+](C)CCCC") == "charge"
    assert rules.check("C1CCCC1.") != ""
    assert rules.check("not a molecule") == "sanitize"


def test_invalid_designs_are_counted_per_rule(tiny):
    tokens = [
        ["[C]"] * 4 + ["[Cu]"] + ["[C]"] * 4,
        OCTANE_TOKENS + ["."] + ["[C]", "[C]", "[O]"],
        ["[C]", "[C]", "[O]"],
        ["[C]", "[C]", "[O]"],
        ["[nop]"],
        OCTANE_TOKENS,
    ]
    designs = tiny.decode_tokens(tokens)
    counts = tiny.invalid_counts(designs)
    assert list(counts) == list(INVALID_REASONS)  # every rule, zeros included
    assert counts == {r: 0 for r in INVALID_REASONS} | {
        "element": 1,
        "fragments": 1,
        "too_small": 2,
        "empty": 1,
    }
    assert sum(counts.values()) == int(np.isnan(tiny.oracle(designs)).sum())
    # from an audit-like table (the design column), and from plain SMILES
    cols = tiny.design_columns(designs)
    assert count_invalid(cols["invalid_reason"]) == counts
    assert tiny.invalid_counts(list(designs)) == counts
    with pytest.raises(ValueError, match="unknown invalid reasons"):
        count_invalid(["nope"])


def _token_element(token):
    """The element of an atom token (``[=N+1]`` -> N), ``None`` for structure tokens."""
    import re

    body = token.strip("[]").lstrip("=#/\\")
    if token == "[nop]" or token == "." or re.match(r"(Branch|Ring)\d", body):
        return None
    return re.match(r"[A-Z][a-z]?", body).group(0)


def test_reference_data_and_vocabulary_hold_only_allowed_elements(cache_dir):
    d = MoleculeDomain("qed", n_reference=400, seed=2, cache_dir=cache_dir)
    ref = d.reference_data()
    allowed = set(ELEMENTS)
    for smi in ref.designs:
        mol = Chem.MolFromSmiles(smi)
        assert {a.GetSymbol() for a in mol.GetAtoms()} <= allowed, smi
        assert len(Chem.GetMolFrags(mol)) == 1 and mol.GetNumHeavyAtoms() >= 8, smi
        assert d.rules.check(smi) == "", smi
    elements = {_token_element(t) for t in d.vocabulary.tokens} - {None}
    assert elements <= allowed, elements
    charged = {t for t in d.vocabulary.tokens if "+" in t or "-" in t}
    assert charged <= {"[N+1]", "[=N+1]", "[O-1]"}, charged
    assert "." not in d.vocabulary
    # the rows the rules dropped are counted by rule, and nothing vanishes
    rep = d.data_report_
    assert rep["dropped"]["element"] > 0 and rep["dropped"]["too_small"] > 0
    assert rep["rows_examined"] == rep["kept"] + sum(rep["dropped"].values())
    assert rep["rules"]["elements"] == list(ELEMENTS) and d.describe()["rules"] == rep["rules"]
    assert np.isfinite(d.oracle(list(ref.designs[:20]))).all()


def test_rule_options_are_checked(tmp_path):
    with pytest.raises(ValueError, match="min_heavy_atoms must be an integer >= 1, got 0"):
        MoleculeDomain(cache=False, min_heavy_atoms=0)
    with pytest.raises(ValueError, match="elements must be a list of element symbols"):
        MoleculeDomain(cache=False, elements="CNO")
    with pytest.raises(ValueError, match="'Xx' is not an element symbol"):
        MoleculeDomain(cache=False, elements=["C", "Xx"])
    with pytest.raises(ValueError, match="must include carbon"):
        MoleculeRules(("N", "O"))
    # without P, a phosphate is an element violation
    path = tmp_path / "p.smi"
    path.write_text(f"CCOP(=O)(OCC)OCC\n{PHENETOLE}\n{ASPIRIN}\n")
    d = MoleculeDomain("qed", source=str(path), cache=False, elements=["C", "N", "O"])
    assert list(d.reference_data().designs) == [PHENETOLE, ASPIRIN]
    assert d.data_report_["dropped"]["element"] == 1
    for bad, message in (
        ("N+", "charges must be a list"),
        (["S+"], "'S\\+' is not one of"),
        ([("N", 1)], "is not one of"),
    ):
        with pytest.raises(ValueError, match=message):
            MoleculeDomain(cache=False, charges=bad)


def test_neutral_only_rules_reject_nitro_groups_and_n_oxides(tmp_path):
    neutral = MoleculeRules(charges=())
    assert neutral.check("O=[N+]([O-])c1ccccc1C") == "charge"
    assert neutral.check("C[n+]1ccccc1CCC") == "charge"
    assert neutral.check("CCOc1ccccc1C(C)C") == ""
    assert neutral.describe()["charges"] == [] and MoleculeRules().describe()["charges"] == [
        "N+",
        "O-",
    ]
    path = tmp_path / "n.smi"
    path.write_text(f"O=[N+]([O-])c1ccccc1CCC\n{PHENETOLE}\n{ASPIRIN}\n")
    d = MoleculeDomain("logp", source=str(path), cache=False, charges=[])
    assert list(d.reference_data().designs) == [PHENETOLE, ASPIRIN]
    assert d.data_report_["dropped"]["charge"] == 1
    assert "[N+1]" not in d.vocabulary.tokens and "[O-1]" not in d.vocabulary.tokens


# --- oracle mechanics ------------------------------------------------------------------------
def test_oracle_caches_by_canonical_smiles(cache_dir):
    d = MoleculeDomain("qed", n_reference=5, cache_dir=cache_dir)
    oracle = d.oracle
    before = oracle.counts()["evaluations"]
    y1 = oracle([PHENETOLE, "c1ccccc1OCC", ASPIRIN, ""])
    assert y1[0] == y1[1] and np.isnan(y1[3])
    assert oracle.counts()["evaluations"] - before == 3  # phenetole once
    y2 = oracle([ASPIRIN, "O(CC)c1ccccc1", ""])
    assert oracle.counts()["evaluations"] - before == 3  # nothing new evaluated
    np.testing.assert_array_equal(y2[:2], [y1[2], y1[0]])
    assert canonical_smiles("OCC") == "CCO"


def test_oracle_with_worker_processes_matches_serial(tiny):
    smiles = list(tiny.reference_data().designs[:30]) + ["", "C1CC"]
    d = MoleculeDomain("plogp", workers=2, chunk_size=4, cache=False, source="rdkit", n_reference=3)
    try:
        parallel = d.oracle(smiles)
        assert d.oracle._pool is not None  # the pool was used
    finally:
        d.close()
    serial = MoleculeObjective("plogp")(smiles)
    np.testing.assert_array_equal(parallel, serial)
    assert np.isnan(parallel[-2:]).all() and np.isfinite(parallel[:-2]).all()


# --- reference data --------------------------------------------------------------------------
def test_user_file_reports_and_skips_invalid_rows(user_csv, caplog):
    with caplog.at_level(logging.WARNING, logger="domains.molecules"):
        d = MoleculeDomain(
            "qed",
            source=str(user_csv),
            smiles_column="smiles",
            cache=False,
            max_len=30,
            min_heavy_atoms=1,
        )
        ref = d.reference_data()
    rep = d.data_report_
    dropped = rep["dropped"]
    assert rep["rows"] == len(USER_ROWS)
    assert dropped["unparsable"] == 2 and dropped["unreadable"] == 1 and dropped["duplicate"] == 1
    assert rep["kept"] == len(ref) == 8
    assert rep["kept"] + sum(dropped.values()) == rep["rows"]  # nothing silently vanishes
    assert any("C1CC" in e for e in rep["examples"]["unparsable"])
    assert "unparsable" in caplog.text
    assert set(ref.designs) == {canonical_smiles(s) for _, s in USER_ROWS[:9]}
    assert d.describe()["n_reference"] == 8


def test_user_smi_file_and_length_cap(tmp_path):
    path = tmp_path / "mols.smi"
    path.write_text(
        f"smiles name\n{ASPIRIN} a\n{CAFFEINE} c\n{PHENETOLE} p\nCCO e\n{'C' * 40} long\n"
        "\nC1CC bad\n"
    )
    d = MoleculeDomain("logp", source=str(path), cache=False, max_len=30)
    ref = d.reference_data()
    assert d.data_report_["dropped"]["too_long"] == 1
    assert d.data_report_["dropped"]["unparsable"] == 1
    assert d.data_report_["dropped"]["too_small"] == 1  # ethanol: 3 heavy atoms
    assert len(ref) == 3 and d.space.length == 30


SALTY_ROWS = [
    "CCO",
    "",  # blank line
    "CC(=O)O.[Na+]",  # sodium acetate, written with a neutral acid
    "CC(=O)[O-].[Na+]",  # sodium acetate: the same parent, a duplicate
    "CCN.Cl",  # ethylamine hydrochloride
    "[Cl-].[Na+]",  # table salt: nothing organic
    "   ",  # a blank line too
    "c1ccccc1CC(=O)O.CCCCCCCCCCN",  # a mixture of two organic compounds
    "[NH3+]CC(=O)[O-]",  # glycine as a zwitterion
    IBUPROFEN,
]


def test_salts_and_mixtures_are_reduced_to_their_parent_and_counted(tmp_path, caplog):
    path = tmp_path / "salty.smi"
    path.write_text("\n".join(SALTY_ROWS) + "\n# a comment line is not a row\n")
    with caplog.at_level(logging.WARNING, logger="domains.molecules"):
        # min_heavy_atoms=1: small salts show the parent step best
        d = MoleculeDomain("qed", source=str(path), cache=False, min_heavy_atoms=1)
        ref = d.reference_data()
    rep = d.data_report_
    assert list(ref.designs) == ["CCO", "CC(=O)O", "CCN", "CCCCCCCCCCN", "NCC(=O)O", IBUPROFEN]
    assert not any("." in s for s in ref.designs)
    assert rep["changed"] == {"salt_stripped": 2, "mixture_reduced": 1, "neutralized": 1}
    dropped = {k: v for k, v in rep["dropped"].items() if v}
    assert dropped == {"blank_line": 2, "no_organic_parent": 1, "duplicate": 1}
    assert rep["rows"] == len(SALTY_ROWS) == rep["kept"] + sum(rep["dropped"].values())
    assert "row 4: 'CCN.Cl' -> 'CCN'" in rep["examples"]["salt_stripped"]
    assert "no_organic_parent" in caplog.text and "salt_stripped" in caplog.text
    assert d.describe()["changed"] == rep["changed"]
    # the same in a CSV file, whose blank rows count too
    csv_path = tmp_path / "salty.csv"
    csv_path.write_text("smiles\n" + "\n".join(SALTY_ROWS) + "\n")
    c = MoleculeDomain("qed", source=str(csv_path), cache=False, min_heavy_atoms=1)
    assert list(c.reference_data().designs) == list(ref.designs)
    assert c.data_report_["dropped"] == rep["dropped"]


def test_parent_compound_of_bundled_salts():
    from domains.molecules._data import parent_compound, prepare

    # rows of RDKit's NCI set: a phosphate salt and a zinc complex with a thiocyanate
    salt = "CCCCN(CCCC)CCCNC1=C2CCCCC2=NC3=C1C=CC=C3.OP(O)(O)=O"
    parent, change = parent_compound(Chem.MolFromSmiles(salt))
    assert change == "salt_stripped" and Chem.MolToSmiles(parent) == canonical_smiles(
        salt.split(".")[0]
    )
    assert parent_compound(Chem.MolFromSmiles("N[Co+3](N)(N)(N)(N)N.Cl[Hg](Cl)Cl")) == (
        None,
        "no_organic_parent",
    )
    _, _, report = prepare([salt, "CCO"], max_len=60)
    assert report["changed"]["salt_stripped"] == 1 and report["kept"] == 2


def test_a_molecule_whose_selfies_needs_a_disallowed_index_token_is_dropped():
    """SELFIES writes ring and branch sizes with atom tokens: a 16-ring closes with
    ``[Ring1][S]``, a 17-ring with ``[Ring1][P]``. Under C/N/O rules such a token could only ever
    put an S or P atom into a design, so the molecule is dropped (``foreign_token``) and the
    vocabulary keeps no token of a disallowed element; the organic rules keep it."""
    from domains.molecules._data import prepare
    from domains.molecules._vocab import token_element

    ring16, ring17, ring12 = ("C1" + "C" * (n - 2) + "C1" for n in (16, 17, 12))
    cno = MoleculeRules(("C", "N", "O"), 8, ())
    kept, tokens, report = prepare([ring16, ring17, ring12], max_len=60, rules=cno)
    assert kept == [canonical_smiles(ring12)]
    assert report["dropped"]["foreign_token"] == 2
    assert all(token_element(t) in (None, "C", "N", "O") for t in tokens[0])
    kept, _, report = prepare([ring16, ring17], max_len=60, rules=MoleculeRules())
    assert len(kept) == 2 and report["dropped"]["foreign_token"] == 0
    assert [token_element(t) for t in ("[=S]", "[C@@H1]", "[Cl]", "[N+1]", "[Ring1]", "[nop]")] == [
        "S",
        "C",
        "Cl",
        "N",
        None,
        None,
    ]


@pytest.mark.parametrize("version", [1, 2])
def test_old_reference_caches_are_not_reused(tmp_path, version):
    """A cache written before parent compounds (version 1) keeps salts, one written before the
    validity rules (version 2) keeps metals and tiny molecules: the version in the key makes
    the domain rebuild instead of reading them."""
    import json

    from domains.molecules._data import cache_path

    path = tmp_path / "mols.smi"
    path.write_text(f"{PHENETOLE}\nCCCCCCCCN.Cl\nCCO\nCCCCCC[Hg]Cl\n")
    d = MoleculeDomain("qed", source=str(path), cache_dir=tmp_path / "cache")
    old_key = {k: v for k, v in d._cache_key().items() if k != "rules"} | {"version": version}
    smiles = [PHENETOLE, "CCCCCCCCN.Cl", "CCO", "CCCCCC[Hg]Cl"]
    stale = {"key": old_key, "smiles": smiles, "y": [0.1, 0.2, 0.3, 0.4]}
    stale["tokens"] = [["[C]"]] * 4
    stale["report"] = {"rows": 4, "kept": 4, "dropped": {}}
    file = cache_path(tmp_path / "cache", old_key)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(stale))
    assert d._cache_key()["version"] >= 3 and "rules" in d._cache_key()
    ref = d.reference_data()
    assert "from_cache" not in d.data_report_ and list(ref.designs) == [PHENETOLE, "CCCCCCCCN"]
    dropped = {k: v for k, v in d.data_report_["dropped"].items() if v}
    assert dropped == {"too_small": 1, "element": 1}
    # options that change the rules change the key: another cache file, not a stale read
    other = MoleculeDomain("qed", source=str(path), cache_dir=tmp_path / "cache", min_heavy_atoms=3)
    assert other._cache_key() != d._cache_key()
    assert "CCO" in other.reference_data().designs


def test_csv_column_errors(user_csv):
    with pytest.raises(ValueError, match="no column"):
        MoleculeDomain(
            "qed", source=str(user_csv), smiles_column="SMILES_X", cache=False
        ).reference_data()
    with pytest.raises(FileNotFoundError):
        MoleculeDomain("qed", source="/nonexistent/file.csv")


def test_reference_is_cached_on_disk(tmp_path):
    d1 = MoleculeDomain("qed", n_reference=20, seed=3, cache_dir=tmp_path)
    r1 = d1.reference_data()
    assert d1.oracle.counts()["evaluations"] == 20
    assert len(list(tmp_path.glob("reference-qed-*.json"))) == 1
    d2 = MoleculeDomain("qed", n_reference=20, seed=3, cache_dir=tmp_path)
    r2 = d2.reference_data()
    assert d2.oracle.counts()["evaluations"] == 0  # labels came from disk
    assert "from_cache" in d2.data_report_
    assert list(r1.designs) == list(r2.designs) and np.array_equal(r1.y, r2.y)
    assert torch.equal(r1.x, r2.x)
    # another seed is another subset
    d3 = MoleculeDomain("qed", n_reference=20, seed=4, cache_dir=tmp_path)
    assert list(d3.reference_data().designs) != list(r1.designs)


def test_augmentation_adds_valid_new_molecules(tmp_path):
    d = MoleculeDomain("qed", n_reference=15, augment=10, seed=0, cache_dir=tmp_path)
    ref = d.reference_data()
    assert d.data_report_["augmented"] == 10
    assert len(ref) == 25 and len(set(ref.designs)) == 25
    assert list(d.decode(ref.x)) == list(ref.designs)


def test_offline_split_hides_the_top(tiny):
    ref = tiny.reference_data()
    off = tiny.offline()
    assert len(off) == len(ref) // 2
    assert off.y.max() <= np.sort(ref.y)[len(ref) // 2]
    assert set(ref.top(5).designs).isdisjoint(off.designs)
    assert tiny.normalize(ref.y).min() == 0 and tiny.normalize(ref.y).max() == 1


def test_describe_and_registry(cache_dir):
    d = DOMAINS.make(
        "molecules-any", objective="mpo_celecoxib", n_reference=10, cache_dir=cache_dir
    )
    assert type(d) is MoleculeDomain and d.rules.elements == ELEMENTS
    info = d.describe()
    assert info["objective"] == "mpo_celecoxib" and info["n_reference"] == 10
    assert info["L"] == 60 and info["V"] == d.space.vocab_size and info["dim"] == 60 * info["V"]


def test_the_molecule_task_and_control_share_neutral_cno_molecules_and_a_short_horizon(
    cache_dir,
):
    d = DOMAINS.make("molecules-control", n_reference=40, cache_dir=cache_dir)
    assert isinstance(d, MoleculeControlDomain) and d.objective == "logp"
    assert d.rules.elements == ("C", "N", "O") and d.rules.charges == ()
    assert d.name == "molecules-control-logp"
    assert d.optimizer_defaults["gradient_ascent"] == {"method": "adam", "lr": 0.1, "steps": 50}
    assert MoleculeDomain.optimizer_defaults["gradient_ascent"] == {"method": "adam"}
    smiles = d.reference_data().designs
    assert all(d.rules.check(s) == "" for s in smiles)
    assert not {"[N+1]", "[O-1]", "[F]", "[Cl]", "[Br]", "[I]"} & set(d.vocabulary.tokens)
    # the registered task shares the control's space and ascent; only the property differs
    task = DOMAINS.make("molecules", n_reference=40, cache_dir=cache_dir)
    assert isinstance(task, MoleculeTaskDomain) and task.objective == "qed"
    assert task.name == "molecules-qed"
    assert (task.rules, task.optimizer_defaults) == (d.rules, d.optimizer_defaults)
    assert task.vocabulary.tokens == d.vocabulary.tokens
    assert not {"[P]", "[S]"} & set(task.vocabulary.tokens)
    # the user's options still win over the control's
    assert (
        DOMAINS.make(
            "molecules-control", objective="qed", n_reference=40, cache_dir=cache_dir
        ).objective
        == "qed"
    )


# --- end to end ----------------------------------------------------------------------------
def test_end_to_end_gradient_ascent_audit(tiny):
    from mbo import GradientAscent, random_direction_control
    from mbo.evaluation import audit
    from mbo.evaluation.metrics import summarize
    from mbo.evaluation.objective import SurrogateObjective
    from mbo.registry import SURROGATES
    from surrogates._base import spread

    space = tiny.space
    off = tiny.offline()
    surrogate = SURROGATES.make("mlp", epochs=5, width=32)
    surrogate.fit(space.features(off.x, hard=True), torch.as_tensor(off.y, dtype=torch.float32))
    surrogate.eval()
    starts = off.top(8)
    loc, scale = off.x.mean(0), spread(off.x)
    objective = SurrogateObjective(
        surrogate, space.features, loc=float(off.y.mean()), scale=float(off.y.std())
    )
    traj = GradientAscent(steps=5, checkpoint_every=1).run(objective, starts.x, space, loc, scale)
    control = random_direction_control(traj, space, loc, scale, seed=0)
    table = audit(tiny, surrogate, traj, control)
    assert len(table) == 6 * 8 + 8
    assert {"smiles", "heavy_atoms", "truncated", "n_tokens", "predicted", "true", "bound"} <= set(
        table
    )
    start = table[(table.arm == "ascent") & (table.step == 0)]
    np.testing.assert_allclose(start["true"].to_numpy(), starts.y)  # step 0 decodes the starts
    summary = summarize(table, d_best=float(tiny.normalize(off.y.max())))
    for key in ("p100", "p50", "gap", "invalid_rate", "impossible_rate", "gradient_advantage"):
        assert key in summary
    assert 0.0 <= summary["invalid_rate"] <= 1.0


def test_run_study_on_molecules(cache_dir, tmp_path):
    study = pytest.importorskip("mbo.study")
    spec = study.StudySpec(
        domain="molecules",
        domain_options={
            "objective": "qed",
            "n_reference": 60,
            "seed": 1,
            "cache_dir": str(cache_dir),
        },
        surrogate="mlp",
        surrogate_options={"epochs": 5, "width": 32},
        optimizer_options={"steps": 5},
        k=8,
    )
    result = study.run_study(spec, out_dir=tmp_path)
    assert result.summary["k"] == 8
    table = result.table
    assert "smiles" in table and "invalid_reason" in table
    ok = ~table["oracle_error"].astype(bool)
    # a design is invalid exactly when it breaks a rule, and the audit counts it
    np.testing.assert_array_equal(
        (table.loc[ok, "invalid_reason"] != "").to_numpy(), ~table.loc[ok, "valid"].to_numpy()
    )
    final = table[(table["arm"] == "ascent") & (table["step"] == table["step"].max()) & ok]
    counts = count_invalid(final["invalid_reason"])
    assert sum(counts.values()) / len(final) == pytest.approx(result.summary["invalid_rate"])


def test_the_control_changes_as_many_tokens_as_ascent_on_the_molecule_space(tiny):
    """The random-direction control moves each molecule exactly as far (changed tokens)."""
    from mbo import Trajectory, random_direction_control
    from mbo.evaluation import distance_ratio

    off = tiny.offline()
    x0 = off.top(16).x
    g = torch.Generator().manual_seed(0)
    x1 = tiny.space.project(x0 + 6.0 * torch.randn(x0.shape, generator=g))  # flips tokens
    traj = Trajectory([0, 1], torch.stack([x0, x1]), torch.zeros(2, 16))
    ctrl = random_direction_control(traj, tiny.space, seed=0)
    ratio = distance_ratio(traj, ctrl, tiny.space)
    ratio = ratio[np.isfinite(ratio)]
    assert len(ratio) > 8 and np.abs(ratio - 1).max() <= 0.01
