"""The scikit-learn-style generators: ``fit(data) -> self``, ``generate(n)``, on the same pipelines."""

from __future__ import annotations

import networkx as nx
import pytest
import torch

import graphdiff
from graphdiff import GraphGenerator, MoleculeGenerator

TINY = {"hidden": 16, "edge_hidden": 8, "global_hidden": 8, "depth": 1, "heads": 2, "time_dim": 16, "K": 4}


def test_molecule_generator_fits_smiles_and_generates():
    pytest.importorskip("rdkit")
    smiles = ["CCO", "CC(=O)O", "c1ccccc1O", "CCN", "C[NH3+]", "CC(=O)[O-]", "FC(F)F", "OCCO", "not smiles"]
    gen = MoleculeGenerator(family="discrete", steps=3, batch_size=4, network=TINY, progress=False, device="cpu")
    assert "not fitted" in repr(gen)
    with pytest.raises(ValueError, match="not fitted"):
        gen.generate(2)
    with pytest.warns(UserWarning, match="skipped 1 of 9 SMILES"):
        assert gen.fit(smiles) is gen
    pipe = gen.pipeline_
    assert sorted(pipe.vocabulary.tokens) == ["C", "F", "N", "N+", "O", "O-"]  # from the data, not ZINC's
    assert pipe.card["training"]["steps"] == 3 and pipe.card["training"]["train_graphs"] == 8
    out = gen.generate(5, steps=2)
    assert len(out) == 5 and len(out.smiles) == 5
    assert gen.get_params()["steps"] == 3 and "fitted" in repr(gen)


def test_molecule_generator_is_reproducible_for_a_seed():
    pytest.importorskip("rdkit")
    smiles = ["CCO", "CCN", "CCC", "OCCO"]
    kw = dict(steps=2, batch_size=4, network=TINY, progress=False, device="cpu", seed=3)
    a = MoleculeGenerator(**kw).fit(smiles).pipeline_.network.state_dict()
    b = MoleculeGenerator(**kw).fit(smiles).pipeline_.network.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_graph_generator_on_networkx_and_pyg_lists(tmp_path):
    from torch_geometric.utils import from_networkx

    graphs = [nx.cycle_graph(n) for n in range(4, 8)] + [nx.path_graph(n) for n in range(4, 8)]
    kw = dict(steps=2, batch_size=4, network=TINY, progress=False, device="cpu")
    nx_gen = GraphGenerator(**kw).fit(graphs)
    pyg_gen = GraphGenerator(**kw).fit([from_networkx(g) for g in graphs])
    a, b = nx_gen.pipeline_.network.state_dict(), pyg_gen.pipeline_.network.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)  # the same data either way: the same model
    out = pyg_gen.generate(3, steps=2)
    assert len(out.graphs) == 3 and all(isinstance(g, nx.Graph) for g in out.graphs)
    path = pyg_gen.save(tmp_path / "m")
    assert graphdiff.load_pretrained(str(path)).family == "discrete"


def test_unknown_family_lists_the_valid_ones():
    with pytest.raises(ValueError, match="discrete"):
        GraphGenerator(family="diskrete")
    with pytest.raises(ValueError, match="at least one graph"):
        GraphGenerator().fit([])
