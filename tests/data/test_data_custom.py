"""Custom data in one line: SMILES files, networkx graphs, PyG datasets."""

from __future__ import annotations

import gzip

import networkx as nx
import pytest
import torch

from graphdiff.data import from_networkx, from_pyg, from_smiles_file, read_smiles_file
from graphdiff.errors import InvalidGraphError
from graphdiff.states import GraphState

pytest.importorskip("rdkit")


def test_csv_with_detected_column_and_invalid_rows(tmp_path):
    p = tmp_path / "mols.csv"
    p.write_text("id,Canonical_SMILES,logp\n1,CCO,0.1\n2,not_smiles,0\n3,c1ccccc1,2\n4,C[N+](C)(C)C,1\n")
    with pytest.warns(UserWarning, match="skipped 1 of 4 rows"):
        ds = from_smiles_file(p)
    assert ds.name == "mols" and ds.skipped == {"invalid_smiles": 1}
    assert ds.smiles("train") == ["CCO", "c1ccccc1", "C[N+](C)(C)C"]
    assert ds.vocabulary.tokens == ("C", "O", "N+") and ds.max_atoms == 6
    st = ds.to_state("train")
    assert st.X.shape == (3, 6) and st.num_nodes.tolist() == [3, 6, 5]
    parts = list(ds.batches("train", batch_size=2))
    assert [p.batch_size for p in parts] == [2, 1] and torch.equal(GraphState.cat(parts).A, st.A)
    assert ds.node_count_distribution().probs.tolist() == pytest.approx([0, 0, 0, 1 / 3, 0, 1 / 3, 1 / 3])


def test_csv_named_column_smi_and_gz(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("x,y\nCC,N\nCCC,O\n")
    with pytest.raises(ValueError, match="cannot tell which column"):
        from_smiles_file(p)
    assert from_smiles_file(p, smiles_column="y").smiles() == ["N", "O"]
    assert read_smiles_file(p, smiles_column=0) == ["CC", "CCC"]
    with pytest.raises(ValueError, match="column 'z' not in"):
        from_smiles_file(p, smiles_column="z")
    smi = tmp_path / "b.smi.gz"
    with gzip.open(smi, "wt") as fh:
        fh.write("SMILES\nCCO ethanol\nC1CC1\tcyclopropane\n\n")
    ds = from_smiles_file(smi, test_fraction=0.5)
    assert ds.smiles("train") == ["C1CC1"] and ds.smiles("test") == ["CCO"]
    shuffled = from_smiles_file(smi, test_fraction=0.5, seed=0)
    assert sorted(shuffled.train + shuffled.test) == ["C1CC1", "CCO"]
    with pytest.raises(FileNotFoundError):
        from_smiles_file(tmp_path / "none.csv")
    with pytest.raises(ValueError, match="unsupported"):
        (tmp_path / "c.xlsx").write_text("")
        from_smiles_file(tmp_path / "c.xlsx")


def test_from_networkx_relabels_and_splits():
    graphs = [nx.path_graph(["a", "b", "c"]), nx.empty_graph(2), nx.cycle_graph(4), nx.Graph(), nx.star_graph(3)]
    graphs[0].nodes["a"]["colour"] = "red"
    ds = from_networkx(graphs, test_fraction=0.4)
    assert ds.counts() == {"train": 3, "test": 2}
    assert list(ds.test[0].nodes) == [0, 1, 2] and sorted(ds.test[0].edges()) == [(0, 1), (1, 2)]
    assert ds.test[0].nodes[0] == {}
    st = ds.to_state("test", max_nodes=4)
    assert st.num_nodes.tolist() == [3, 2] and st.A[1].sum() == 0  # isolated nodes kept
    assert ds.train[1].number_of_nodes() == 0
    assert from_networkx({"train": graphs[:2], "test": graphs[2:]}).counts() == {"train": 2, "test": 3}
    with pytest.raises(InvalidGraphError, match="self-loops"):
        from_networkx([nx.Graph([(0, 0)])])
    with pytest.raises(InvalidGraphError, match="undirected"):
        from_networkx([nx.DiGraph([(0, 1)])])


def test_from_pyg_round_trip():
    from torch_geometric.data import Data

    datas = [
        Data(x=torch.tensor([[1], [2], [0]]), edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3),
        Data(x=torch.tensor([[3], [3]]), edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=2),  # isolated nodes
        Data(x=torch.tensor([[0], [1], [1], [2]]), edge_index=torch.tensor([[0, 3, 2], [3, 2, 2]]), num_nodes=4),  # one direction + self-loop
    ]
    ds = from_pyg(datas, test_fraction=0.0, node_attributes=True)
    assert ds.counts() == {"train": 3, "test": 0}
    st = ds.to_state("train")
    assert st.X.dtype == torch.long and st.X[0, :3].tolist() == [1, 2, 0] and st.num_nodes.tolist() == [3, 2, 4]
    assert sorted(ds.train[2].edges()) == [(0, 3), (2, 3)]
    ref = GraphState.from_pyg(datas[:2])
    assert torch.equal(ref.A.bool(), st.A[:2, :3, :3].bool()) and torch.equal(ref.X, st.X[:2, :3])
    plain = from_pyg(datas, test_fraction=0.0)
    assert plain.to_state().X.shape == (3, 4, 0)


def test_smi_reading_counts_every_line_and_reads_by_content(tmp_path):
    """Blank lines are counted and reported (they were dropped silently), ``smiles,name`` content
    in a .smi is read as CSV (it gave validity 0), a UTF-8 BOM is dropped (it made the header an
    invalid molecule)."""
    import warnings

    from graphdiff.data import read_smiles_file

    f = tmp_path / "blank.smi"
    f.write_text("CCO\n\n  \nCCN\n")
    counts: dict = {}
    with pytest.warns(UserWarning, match="skipped 2 blank lines of 4"):
        assert read_smiles_file(f, counts=counts) == ["CCO", "CCN"]
    assert counts == {"lines": 4, "blank": 2, "header": 0, "format": "smi"}
    f = tmp_path / "csv_inside.smi"
    f.write_text("smiles,name\nCCO,ethanol\nc1ccccc1,benzene\n")
    counts = {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_smiles_file(f, counts=counts) == ["CCO", "c1ccccc1"]
    assert counts["header"] == 1 and "comma-separated" in counts["format"]
    f = tmp_path / "csv_no_header.smi"
    f.write_text("CCO,ethanol\nCCN,ethylamine\n")
    assert read_smiles_file(f) == ["CCO", "CCN"]
    f = tmp_path / "bom.smi"
    f.write_bytes("\ufeffsmiles\nCCO\n".encode("utf-8"))
    counts = {}
    assert read_smiles_file(f, counts=counts) == ["CCO"] and counts["header"] == 1
    f = tmp_path / "bom.csv"
    f.write_bytes("\ufeffsmiles,name\nCCO,x\n".encode("utf-8"))
    assert read_smiles_file(f) == ["CCO"]
