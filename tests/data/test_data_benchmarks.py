"""The benchmark datasets on the shared data folder: exact split counts and content checks
(skipped without ``GRAPHDIFF_DATA``)."""

from __future__ import annotations

import json
import pickle
import re

import networkx as nx
import numpy as np
import pytest
import torch

from graphdiff.data import files as F
from graphdiff.data import get_card, load


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # no download lands in the real cache
    monkeypatch.delenv("GRAPHDIFF_CACHE", raising=False)  # it would take precedence over XDG_CACHE_HOME


def _counts_match_card(ds, name):
    assert ds.counts() == get_card(name).splits


# ----------------------------------------------------------------------------- molecules
def test_qm9_split(shared_data):
    ds = load("qm9", root=shared_data, download=False)
    _counts_match_card(ds, "qm9")
    assert len(ds) == 133885 and ds.max_atoms == 9
    idx = [int(i) for i in json.loads((shared_data / "molecules/qm9/valid_idx_qm9.json").read_text())["valid_idxs"]]
    import pandas as pd

    ref = pd.read_csv(shared_data / "molecules/qm9/qm9.csv.gz", index_col=0)["SMILES1"].tolist()
    assert ds.test == [ref[i] for i in idx]  # test in the order of the index file
    test_set = set(idx)
    assert ds.train == [s for i, s in enumerate(ref) if i not in test_set]
    assert ds.train[0] == "C" and "[NH3+]CC([O-])=O" in ds.train  # gdb_80 (row 79) is the glycine zwitterion
    assert ds.val == [] and ds.splits == ("train", "test")


def test_zinc250k_split_matches_the_derived_csv(shared_data):
    ds = load("zinc250k", root=shared_data, download=False)
    _counts_match_card(ds, "zinc250k")
    assert ds.max_atoms == 38
    import pandas as pd

    ref = pd.read_csv(shared_data / "molecules/zinc250k/zinc250k.csv.gz", index_col=0)["smiles"].tolist()
    idx = json.loads((shared_data / "molecules/zinc250k/valid_idx_zinc250k.json").read_text())
    assert ds.test == [ref[i] for i in idx]
    test_set = set(idx)
    assert ds.train == [s for i, s in enumerate(ref) if i not in test_set]


def test_moses_splits(shared_data):
    ds = load("moses", root=shared_data, download=False)
    _counts_match_card(ds, "moses")
    assert ds.splits == ("train", "test", "test_scaffolds") and ds.max_atoms == 27
    assert ds.vocabulary.tokens == ("C", "N", "O", "F", "S", "Cl", "Br")
    assert all(s and " " not in s for s in ds.smiles("test_scaffolds")[:1000])
    pytest.importorskip("rdkit")
    assert _roundtrip_failures(_sample(ds.test, 300) + _sample(ds.smiles("test_scaffolds"), 300), ds.vocabulary) == []


def _sample(rows: list[str], k: int) -> list[str]:
    return [rows[i] for i in np.linspace(0, len(rows) - 1, k).astype(int)]


def _roundtrip_failures(smiles: list[str], vocab) -> list[tuple[str, str | None]]:
    from rdkit import Chem

    from graphdiff.data.molecules import canonical_smiles, graph_to_mol, smiles_to_graph

    bad = []
    for s in smiles:
        g = smiles_to_graph(s, vocab)
        r = graph_to_mol(g.x, g.adj, vocab)
        got = None if r.mol is None else Chem.MolToSmiles(r.mol, isomericSmiles=False)
        if got != canonical_smiles(s, isomeric=False):
            bad.append((s, got))
    return bad


_CHARGED = re.compile(r"\[[^\]]*[+-]\d*\]")


def test_qm9_roundtrip_sample_and_all_charged(shared_data):
    pytest.importorskip("rdkit")
    ds = load("qm9", root=shared_data, download=False)
    rows = ds.train + ds.test
    charged = [s for s in rows if _CHARGED.search(s) or "N(=O)=O" in s or "O=N(=O)" in s]
    assert len(charged) == 1705 + 140  # written charged + nitro groups RDKit writes as [N+](=O)[O-]
    assert _roundtrip_failures(_sample(rows, 2000) + charged, ds.vocabulary) == []


@pytest.mark.slow
def test_zinc250k_roundtrip_sample(shared_data):
    pytest.importorskip("rdkit")
    ds = load("zinc250k", root=shared_data, download=False)
    rows = ds.train + ds.test
    charged = [s for s in rows if _CHARGED.search(s) and re.search(r"\[(O\+|P\+|S[+-]|C-|CH-)\]", s)]
    assert _roundtrip_failures(_sample(rows, 2000) + charged, ds.vocabulary) == []


def test_molecule_state_encoding(shared_data):
    pytest.importorskip("rdkit")
    ds = load("qm9", root=shared_data, download=False)
    s = ds.to_state("test", indices=range(64))
    assert s.X.shape == (64, 9) and s.A.shape == (64, 9, 9) and s.X.dtype == s.A.dtype == torch.long
    s.validate()
    assert int(s.A.max()) <= 3 and int(s.X.max()) < ds.vocabulary.num_types
    small = load("qm9", root=shared_data, download=False)
    small._smiles = {"train": small.train[:500]}
    d = small.node_count_distribution("train")
    assert d.max_nodes <= 9 and abs(float(d.probs.sum()) - 1) < 1e-6


# ----------------------------------------------------------------------------- generic graphs
@pytest.mark.parametrize("name,file,n_test,n_train,min_n,max_n", [
    ("community_small", "community_small", 20, 80, 12, 20),
    ("ego_small", "ego_small", 40, 160, 4, 17),
    ("enzymes", "ENZYMES", 117, 470, 10, 125),
    ("grid", "grid", 20, 80, 110, 361),
])
def test_gdss_graph_splits(shared_data, name, file, n_test, n_train, min_n, max_n):
    ds = load(name, root=shared_data, download=False)
    assert ds.counts() == {"train": n_train, "test": n_test} == get_card(name).splits
    sizes = [g.number_of_nodes() for g in ds.train + ds.test]
    assert (min(sizes), max(sizes)) == (min_n, max_n)
    with open(shared_data / f"graphs/gdss/{file}.pkl", "rb") as fh:  # sha256 already checked by load()
        raw = pickle.load(fh)
    assert [g.number_of_edges() for g in ds.test] == [g.number_of_edges() for g in raw[:n_test]]
    assert [g.number_of_edges() for g in ds.train] == [g.number_of_edges() for g in raw[n_test:]]
    for g in ds.test[:5] + ds.train[:5]:
        assert list(g.nodes) == list(range(g.number_of_nodes())) and not nx.is_frozen(g)
        assert all(not d for _, d in g.nodes(data=True)) and all(not d for *_, d in g.edges(data=True)) and not g.graph
    st = ds.to_state("test")
    assert st.max_nodes == max(g.number_of_nodes() for g in ds.test) and st.X.shape[-1] == 0
    st.validate()
    assert ds.node_count_distribution().max_nodes == max(g.number_of_nodes() for g in ds.train)


def test_enzymes_node_labels_on_request(shared_data):
    ds = load("enzymes", root=shared_data, download=False, node_attributes=True)
    labels = {d["label"] for g in ds.test for _, d in g.nodes(data=True)}
    assert labels == {1, 2, 3} and all(type(v) is int for v in labels)
    assert sum(nx.is_connected(g) for g in ds.train + ds.test) == 562


@pytest.mark.parametrize("name", ["planar", "sbm", "tree"])
def test_spectre_graph_splits(shared_data, name):
    ds = load(name, root=shared_data, download=False)
    assert ds.counts() == {"train": 128, "val": 32, "test": 40} == get_card(name).splits
    graphs = ds.train + ds.val + ds.test
    if name == "planar":
        assert all(g.number_of_nodes() == 64 for g in graphs)
        assert all(nx.is_connected(g) and nx.check_planarity(g)[0] for g in ds.test)
    elif name == "tree":
        assert all(nx.is_tree(g) and g.number_of_nodes() == 64 for g in graphs)
    else:
        sizes = [g.number_of_nodes() for g in graphs]
        assert (min(sizes), max(sizes)) == (44, 187) and sum(nx.is_connected(g) for g in graphs) == 196
    assert all(not d for g in graphs[:3] for *_, d in g.edges(data=True))
    assert load(name, root=shared_data, split="val", download=False)[0].number_of_edges() == ds.val[0].number_of_edges()


def test_shared_pickles_are_verified_on_every_load(shared_data, monkeypatch):
    """Pickles are hashed by content on each load (no path/size/mtime stamp can skip the check)."""
    load("community_small", root=shared_data, download=False)
    calls = []
    orig = F.hashlib.sha256
    monkeypatch.setattr(F.hashlib, "sha256", lambda *a, **k: calls.append(a) or orig(*a, **k))
    load("community_small", root=shared_data, download=False)
    assert len(calls) == 1
