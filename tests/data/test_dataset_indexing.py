"""Datasets have ``len()`` and are indexed by split name, int or slice over their ``len()`` items."""

from __future__ import annotations

import networkx as nx
import pytest

from graphdiff.data.dataset import GraphDataset


def test_graph_dataset_indexing_matches_len():
    tr = [nx.path_graph(n) for n in range(2, 6)]
    te = [nx.cycle_graph(n) for n in range(3, 5)]
    ds = GraphDataset("toy", {"train": tr, "test": te})
    assert len(ds) == 6 and len(ds[:]) == 6
    assert ds["test"] == te and ds[0] is tr[0] and ds[-1] is te[-1] and ds[3:5] == [tr[3], te[0]]
    with pytest.raises(IndexError):
        ds[6]
    with pytest.raises(KeyError, match="valid splits: train, test"):
        ds["val"]
    with pytest.raises(TypeError):
        ds[1.5]


def test_molecule_dataset_indexing():
    pytest.importorskip("rdkit")
    from graphdiff.data import from_smiles

    ds = from_smiles(["CCO", "CCN", "CCC", "c1ccccc1"], test_fraction=0.5)
    assert len(ds) == 4 and [ds[i] for i in range(len(ds))] == ds["train"] + ds["test"]
