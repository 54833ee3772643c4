"""NSPDK: bit-equality with EDeN's vectoriser under the same label hash, determinism across
processes, and the mean-embedding form of the linear-kernel MMD."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from graphdiff.metrics.nspdk import (
    LabeledGraph,
    mol_to_graph,
    nspdk_features,
    nspdk_mean_embedding,
    nspdk_mmd,
    nspdk_mmd_pairwise,
    stable_label_hash,
)

Chem = pytest.importorskip("rdkit.Chem")

SMILES = [
    "C", "CC", "CCO", "CC(=O)O", "c1ccccc1", "c1ccncc1", "C1CCCCC1", "CC(C)(C)C", "C#N", "O=C=O",
    "[NH3+]CC([O-])=O", "FC(F)(F)Cl", "C1=CC=CN1", "c1ccc2ccccc2c1", "CC(=O)Nc1ccc(O)cc1",
    "OC1COC(O)C1O", "CN1C=NC2=C1C(=O)N(C)C(=O)N2C", "C1CC2CCC1C2", "C1N2C3C4C5OC13C2C54", "C.CC",
    "CC1=NCCC(C)O1", "N#CC1=CC=CC=C1", "OCC#CC1CC1", "c1ccsc1", "CCCCCCCCCC",
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]


def _gdss_nx(mol) -> nx.Graph:
    """GDSS ``utils/mol_utils.py: mols_to_nx`` for one molecule."""
    g = nx.Graph()
    for atom in mol.GetAtoms():
        g.add_node(atom.GetIdx(), label=atom.GetSymbol())
    for bond in mol.GetBonds():
        g.add_edge(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx(), label=int(bond.GetBondTypeAsDouble()))
    return g


def test_bit_identical_to_eden_with_the_same_label_hash() -> None:
    from eden.graph import vectorize

    mols = [Chem.MolFromSmiles(s) for s in SMILES]
    ref = vectorize([_gdss_nx(m) for m in mols], complexity=4, discrete=True)
    ours = nspdk_features(mols, label_hash=hash)  # EDeN hashes labels with this process's hash()
    assert ours.shape == ref.shape == (len(SMILES), 2**16 + 1)
    assert abs(ours - ref).max() == 0.0
    # other settings too, and networkx input with integer labels (hash(int) is not salted)
    rng = np.random.default_rng(0)
    graphs = []
    for k in range(6):
        g = nx.gnp_random_graph(8 + k, 0.3, seed=k)
        nx.set_node_attributes(g, {n: int(rng.integers(3)) for n in g}, "label")
        nx.set_edge_attributes(g, {e: int(rng.integers(2)) for e in g.edges}, "label")
        graphs.append(g)
    for kw in (dict(complexity=2, nbits=10), dict(complexity=3, nbits=16)):
        ref = vectorize(graphs, discrete=True, **kw)
        ours = nspdk_features(graphs, **kw)
        assert abs(ours - ref).max() == 0.0


def test_mol_and_networkx_inputs_agree_and_labels() -> None:
    mols = [Chem.MolFromSmiles(s) for s in SMILES]
    a = nspdk_features(mols)
    b = nspdk_features([_gdss_nx(m) for m in mols])
    c = nspdk_features(SMILES)
    assert abs(a - b).max() == 0.0 and abs(a - c).max() == 0.0
    g = mol_to_graph(Chem.MolFromSmiles("c1ccccc1O"))
    assert g.node_labels == ("C",) * 6 + ("O",)
    assert sorted(lab for _, _, lab in g.edges) == [1] * 7  # aromatic 1.5 -> int 1, as GDSS
    # unit norm rows, ids in [1, 2**16]
    norms = np.sqrt(np.asarray(a.multiply(a).sum(axis=1))).ravel()
    np.testing.assert_allclose(norms, 1.0, rtol=1e-12)
    assert a.indices.min() >= 1 and a.indices.max() <= 2**16


def test_single_atom_by_hand() -> None:
    # one vertex: only (r, d) = (0, 0) exists -> a pair feature and a half feature, 1/sqrt(2) each
    x = nspdk_features([LabeledGraph(("C",), ())]).toarray()[0]
    nz = np.sort(x[x != 0])
    np.testing.assert_allclose(nz, [2**-0.5, 2**-0.5])
    with pytest.raises(ValueError):
        nspdk_features([LabeledGraph((), ())])


def test_mmd_mean_form_equals_pairwise_form_and_identity() -> None:
    gen, ref = SMILES[:15], SMILES[8:]
    assert nspdk_mmd(gen, ref) == pytest.approx(nspdk_mmd_pairwise(gen, ref), rel=1e-10, abs=1e-14)
    assert nspdk_mmd(SMILES, list(reversed(SMILES))) == pytest.approx(0.0, abs=1e-15)
    mean, n = nspdk_mean_embedding(ref)
    assert n == len(ref) and nspdk_mmd(gen, mean) == pytest.approx(nspdk_mmd(gen, ref), rel=1e-12)


def test_stable_label_hash_values() -> None:
    assert stable_label_hash("C") == stable_label_hash("C") != stable_label_hash("N")
    assert stable_label_hash(3) == hash(3)
    with pytest.raises(TypeError):
        stable_label_hash(object())  # type: ignore[arg-type]


_CHILD = r"""
import json, sys, numpy as np
from rdkit import Chem
from eden.graph import vectorize
from graphdiff.metrics.nspdk import nspdk_mmd, nspdk_features
from tests.metrics.test_nspdk import SMILES, _gdss_nx
gen, ref = SMILES[:13], SMILES[12:]
ours = nspdk_mmd(gen, ref)
feat = nspdk_features(SMILES)
X = vectorize([_gdss_nx(Chem.MolFromSmiles(s)) for s in gen], complexity=4, discrete=True)
Y = vectorize([_gdss_nx(Chem.MolFromSmiles(s)) for s in ref], complexity=4, discrete=True)
eden = float((X @ X.T).mean() + (Y @ Y.T).mean() - 2 * (X @ Y.T).mean())
print(json.dumps({"ours": ours, "eden": eden, "nnz": int(feat.nnz), "sum": float(feat.sum()), "hash_C": hash("C")}))
"""


@pytest.mark.slow
def test_deterministic_across_processes() -> None:
    out = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        res = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
        out.append(json.loads(res.stdout.strip().splitlines()[-1]))
    assert out[0]["hash_C"] != out[1]["hash_C"]  # the salt really differs
    assert out[0]["ours"] == out[1]["ours"] and out[0]["sum"] == out[1]["sum"] and out[0]["nnz"] == out[1]["nnz"]
    for o in out:  # and ours lands next to EDeN's per-process values
        assert o["ours"] == pytest.approx(o["eden"], rel=0.1)


@pytest.mark.data
def test_close_to_eden_on_qm9(shared_data) -> None:
    """QM9 train sample vs test sample: our (stable-hash) MMD vs EDeN run in this process."""
    import json as _json

    import pandas as pd
    from eden.graph import vectorize

    df = pd.read_csv(shared_data / "molecules/qm9/qm9.csv.gz", index_col=0)
    test_idx = {int(i) for i in _json.loads((shared_data / "molecules/qm9/valid_idx_qm9.json").read_text())["valid_idxs"]}
    test = [s for i, s in enumerate(df.SMILES1) if i in test_idx][:400]
    train = [s for i, s in enumerate(df.SMILES1) if i not in test_idx][:400]
    X = vectorize([_gdss_nx(Chem.MolFromSmiles(s)) for s in train], complexity=4, discrete=True)
    Y = vectorize([_gdss_nx(Chem.MolFromSmiles(s)) for s in test], complexity=4, discrete=True)
    eden = float((X @ X.T).mean() + (Y @ Y.T).mean() - 2 * (X @ Y.T).mean())
    assert nspdk_mmd(train, test) == pytest.approx(eden, rel=0.05)
