"""Fuzz the molecule entry points: SMILES parsing and encoding, vocabularies, graph -> molecule
decoding, SMILES files and the validity / uniqueness / novelty metrics. Nothing may be dropped
without being counted."""

from __future__ import annotations

import gzip
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from graphdiff.data import from_smiles_file, read_smiles_file
from graphdiff.data.molecules import AtomVocabulary, decode_molecules, graph_to_mol, smiles_to_graph, smiles_to_state
from graphdiff.metrics.molecules import molecule_metrics
from graphdiff.states import GraphState

from ._harness import SKIPS, classify, fuzz_settings

QM9 = AtomVocabulary.qm9()
ZINC = AtomVocabulary.zinc250k()
_VOCABS = [QM9, ZINC, AtomVocabulary.qm9(charges=False)]

# SMILES-like text: real fragments spliced with syntax characters, plus arbitrary unicode
_TOKENS = ["C", "c", "N", "n", "O", "o", "F", "Cl", "Br", "S", "P", "I", "[NH4+]", "[O-]", "[Na+]", "[2H]",
           "[C@@H]", "=", "#", "(", ")", "1", "2", "%10", ".", "/", "\\", "[", "]", "+", "-", "*", "$", " ",
           "[Fe+2]", "B", "[Si]", "[se]", "c1ccccc1", "C(=O)O", "\n", "\t", "[H]", "\x00"]
_VALID = ["CCO", "c1ccccc1", "C#N", "O=C=O", "[NH3+]CC([O-])=O", "C1CC1", "FC(F)(F)F", "CC(=O)Nc1ccc(O)cc1",
          "C1=CC=CN=C1", "OC1C2CC3C1N23", "CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "C[C@H](N)C(=O)O", "N#CC#N", "O=S(=O)(O)O"]


@st.composite
def mutated_smiles(draw):
    """A valid SMILES with a few token insertions / deletions / replacements."""
    s = list(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        i = draw(st.integers(0, len(s)))
        if op == "insert":
            s.insert(i, draw(st.sampled_from(_TOKENS)))
        elif s and i < len(s):
            if op == "delete":
                del s[i]
            else:
                s[i] = draw(st.sampled_from(_TOKENS))
    return "".join(s)


smiles_like = st.one_of(
    mutated_smiles(),
    st.lists(st.sampled_from(_TOKENS), min_size=0, max_size=14).map("".join),
    st.text(max_size=12),
    st.sampled_from(["CCO", "c1ccccc1", "C#N", "O=C=O", "[NH3+]CC([O-])=O", "C1CC1", "FC(F)(F)F", ""]),
)
_ANY = st.one_of(smiles_like, st.none(), st.integers(), st.floats(), st.binary(max_size=6))


@fuzz_settings(2000)
@given(st.one_of(mutated_smiles(), smiles_like, _ANY), st.sampled_from(_VOCABS))
def test_smiles_to_graph(s, vocab):
    """Any object gives a MolGraph whose ids lie in the vocabulary and whose bonds are symmetric
    classes 0-3 with zero diagonal, or a typed error."""
    g = classify("molecules.smiles_to_graph", lambda: smiles_to_graph(s, vocab))
    if g is None:
        return
    n = g.num_atoms
    assert g.adj.shape == (n, n) and torch.equal(g.adj, g.adj.T) and not g.adj.diagonal().any()
    assert n == 0 or (0 <= int(g.x.min()) and int(g.x.max()) < vocab.num_types)
    assert n == 0 or int(g.adj.max()) <= 3


@fuzz_settings(600)
@given(st.lists(_ANY, max_size=8), st.sampled_from(_VOCABS), st.sampled_from([None, 1, 3, 9]),
       st.sampled_from(["skip", "raise"]), st.sampled_from(["skip", "raise"]), st.sampled_from(["skip", "raise"]))
def test_smiles_to_state_counts_every_row(rows, vocab, max_atoms, on_invalid, on_unknown, on_too_large):
    """Every input row is either encoded or counted as skipped: ``len(indices) + n_skipped == n_input``."""
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return smiles_to_state(rows, vocab, max_atoms=max_atoms, on_invalid=on_invalid,
                                   on_unknown=on_unknown, on_too_large=on_too_large)
    out = classify("molecules.smiles_to_state", run)
    if out is None:
        return
    assert out.n_input == len(rows)
    assert len(out.indices) + out.n_skipped == out.n_input
    SKIPS["molecules.smiles_to_state"] += out.n_skipped
    assert out.state.batch_size == len(out.indices)
    out.state.validate()


_TOKEN_TEXT = st.one_of(st.sampled_from(["C", "N+", "O-", "Fe+2", "Cl", "c", "", "C+", "Xx", "Q", "N+1", "O--", "H"]),
                        st.text(max_size=4), st.integers(), st.none(),
                        st.tuples(st.sampled_from(["C", "N", "Xx", ""]), st.one_of(st.integers(-3, 3), st.floats(), st.text(max_size=1))))


@fuzz_settings(600)
@given(st.lists(_TOKEN_TEXT, max_size=5))
def test_atom_vocabulary(tokens):
    """A vocabulary built from arbitrary tokens either works end to end (every type decodes to an
    RDKit atom) or raises a typed error naming the token."""
    v = classify("molecules.AtomVocabulary", lambda: AtomVocabulary(tokens),
                 known=())
    if v is None:
        return
    for i in range(v.num_types):
        classify("molecules.graph_to_mol(vocabulary)", lambda: graph_to_mol([i], [[0]], v),
                 known=())


@st.composite
def raw_graphs(draw):
    n = draw(st.integers(0, 7))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    hi_id = draw(st.sampled_from([4, 8, 12]))
    ids = rng.integers(-1 if draw(st.integers(0, 9)) == 0 else 0, hi_id, n)
    bonds = rng.integers(0, draw(st.sampled_from([2, 4, 4, 5])), (n, n))
    if draw(st.booleans()):
        bonds = np.tril(bonds, -1) + np.tril(bonds, -1).T
    shape_bad = draw(st.integers(0, 14)) == 0
    if shape_bad:
        bonds = rng.integers(0, 3, (n + 1, n))
    return ids, bonds


@pytest.mark.slow
@fuzz_settings(1500)
@given(raw_graphs(), st.sampled_from(_VOCABS), st.booleans(), st.booleans(), st.booleans(),
       st.sampled_from(["smiles_length", "atoms"]))
def test_graph_to_mol(g, vocab, gdss_charges, correct, largest, fragment_size):
    """Any atom-id / bond-class arrays decode to a molecule or to an invalid result with a named
    reason, or raise a typed error for out-of-range ids / classes / shapes."""
    ids, bonds = g
    r = classify("molecules.graph_to_mol", lambda: graph_to_mol(ids, bonds, vocab, gdss_charges=gdss_charges, correct=correct,
                                                                  largest_fragment=largest, fragment_size=fragment_size))
    if r is None:
        return
    assert (r.mol is None) == (r.smiles is None)
    assert r.valid or r.error in ("empty", "valence", "uncorrectable", "sanitize")
    if not correct:
        assert not r.corrected


@fuzz_settings(500)
@given(st.integers(0, 4), st.integers(0, 6), st.integers(0, 2**31 - 1), st.sampled_from(["strict", "gdss"]),
       st.sampled_from(["long", "float", "mask_long", "mask_holes"]))
def test_decode_molecules(B, N, seed, protocol, kind):
    """decode_molecules returns one result per graph (counts add up) or a typed error."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, QM9.num_types, (B, N), generator=g)
    A = torch.randint(0, 4, (B, N, N), generator=g)
    A = torch.tril(A, -1) + torch.tril(A, -1).transpose(1, 2)
    n = torch.randint(0, N + 1, (B,), generator=g)
    M = torch.arange(N)[None] < n[:, None]
    if kind == "float":
        A = A.float()
    elif kind == "mask_long":
        M = M.long()
    elif kind == "mask_holes":
        M = torch.randint(0, 2, (B, N), generator=g).bool()
    rep = classify("molecules.decode_molecules", lambda: decode_molecules(GraphState(X, A, M), QM9, protocol=protocol))
    if rep is None:
        return
    c = rep.counts()
    assert c["n_total"] == B and c["n_valid"] + sum(not r.valid for r in rep.results) == B
    assert c["n_empty"] == int((M.bool().sum(-1) == 0).sum())


_GEN = st.one_of(smiles_like, st.none(), st.integers(), st.floats(), st.binary(max_size=4))


@fuzz_settings(500)
@given(st.lists(_GEN, max_size=10), st.one_of(st.none(), st.lists(_GEN, max_size=6)), st.one_of(st.none(), st.integers(-2, 14)))
def test_molecule_metrics_vun(gen, train, n_total):
    """validity / uniqueness / novelty: every entry is counted (valid + invalid = n_total) and the
    fractions lie in [0, 1] (or are NaN when undefined), or a typed error."""
    metrics = ["validity", "uniqueness"] + (["novelty"] if train is not None else [])
    out = classify("metrics.molecule_metrics", lambda: molecule_metrics(gen, train_smiles=train, metrics=metrics, n_total=n_total, cache=False))
    if out is None:
        return
    c = out.counts
    assert c["n_valid"] + c["n_invalid"] == c["n_total"] >= len(gen)
    for k, v in out.values.items():
        assert v != v or 0.0 <= v <= 1.0, (k, v)


_LINES = st.lists(st.one_of(smiles_like, st.sampled_from(["smiles", "SMILES,label", "CCO,1", '"C,C",2', ",,,", "#comment"])),
                  max_size=6)


_FILE_BUGS: tuple = ()  # fixed: unreadable files now raise ValueError naming the file


@fuzz_settings(300)
@given(_LINES, st.sampled_from([".smi", ".txt", ".csv", ".tsv", ".csv.gz", ".smi.gz", ".json", ""]),
       st.sampled_from([None, "smiles", 0, 3, "nope"]), st.binary(max_size=20), st.booleans())
def test_smiles_files(lines, suffix, column, junk, use_junk):
    """read_smiles_file / from_smiles_file on arbitrary text or bytes: a list / dataset, or a
    typed error; the dataset counts what it skipped."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"mols{suffix}"
        data = junk if use_junk else "\n".join(lines).encode("utf-8", "surrogatepass")
        if suffix.endswith(".gz") and not (use_junk and junk[:1] == b"\x00"):
            data = gzip.compress(data)
        p.write_bytes(data)
        rows = classify("data.read_smiles_file", lambda: read_smiles_file(p, smiles_column=column),
                        known=_FILE_BUGS)
        if rows is not None:
            assert isinstance(rows, list) and all(isinstance(r, str) for r in rows)

        def ds():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return from_smiles_file(p, smiles_column=column)
        classify("data.from_smiles_file", ds, known=_FILE_BUGS)
