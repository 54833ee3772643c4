"""Minimal reproducers of the bugs the fuzz suite found. Each is a strict xfail: it fails today
and turns the suite red (XPASS) once fixed, as a reminder to drop the ``xfail`` and the matching
``known=`` entry in the fuzz test. The proposed fix is in each ``reason``."""

from __future__ import annotations

import json

import networkx as nx
import pytest
import torch

from graphdiff.errors import CheckpointError, GraphdiffError, InvalidGraphError, VocabularyError
from graphdiff.states import GraphState


def _bug(reason: str):
    return pytest.mark.xfail(strict=True, reason="bug: " + reason)


def test_from_pyg_flat_edge_index():
    from torch_geometric.data import Data

    with pytest.raises(InvalidGraphError):
        GraphState.from_pyg([Data(edge_index=torch.zeros(0, dtype=torch.long), num_nodes=0)])


def test_from_pyg_negative_edge_index():
    from torch_geometric.data import Data

    with pytest.raises(InvalidGraphError):
        GraphState.from_pyg([Data(edge_index=torch.tensor([[0], [-1]]), num_nodes=2)])


def test_from_pyg_conflicting_directions():
    from torch_geometric.data import Data

    with pytest.raises(InvalidGraphError):
        GraphState.from_pyg([Data(edge_index=torch.tensor([[0, 1], [1, 0]]), edge_attr=torch.tensor([1.0, 2.0]), num_nodes=2)])


def test_from_pyg_float_edge_index():
    from torch_geometric.data import Data

    with pytest.raises(InvalidGraphError):
        GraphState.from_pyg([Data(edge_index=torch.tensor([[0.0], [1.0]]), num_nodes=2)])


def test_from_pyg_x_rows():
    from torch_geometric.data import Data

    with pytest.raises(InvalidGraphError):
        GraphState.from_pyg([Data(x=torch.randn(2, 2), edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=1)])


def test_from_pyg_edge_attr_length():
    from torch_geometric.data import Data

    with pytest.raises(InvalidGraphError):
        GraphState.from_pyg([Data(edge_index=torch.tensor([[0], [1]]), edge_attr=torch.ones(2), num_nodes=2)])


def test_from_networkx_missing_edge_attr():
    g = nx.Graph()
    g.add_edge(0, 1, w=1.0)
    g.add_edge(1, 2)
    with pytest.raises(InvalidGraphError):
        GraphState.from_networkx([g], edge_attr="w")


def test_from_networkx_ragged_node_attr():
    g = nx.Graph()
    g.add_node(0, x=[1.0])
    g.add_node(1, x=[1.0, 2.0])
    with pytest.raises(InvalidGraphError, match="x"):
        GraphState.from_networkx([g])


def test_vocabulary_non_string_token():
    from graphdiff.data.molecules import AtomVocabulary

    with pytest.raises(VocabularyError):
        AtomVocabulary([123])


def test_vocabulary_unknown_element():
    from graphdiff.data.molecules import AtomVocabulary, graph_to_mol

    with pytest.raises(VocabularyError):
        graph_to_mol([0], [[0]], AtomVocabulary(["Xx"]))


def test_smiles_to_state_bare_string():
    from graphdiff.data.molecules import AtomVocabulary, smiles_to_state

    with pytest.raises(TypeError):
        smiles_to_state("CCO", AtomVocabulary.qm9())


def test_graph_to_mol_float_ids():
    from graphdiff.data.molecules import AtomVocabulary, graph_to_mol

    with pytest.raises((VocabularyError, InvalidGraphError)):
        graph_to_mol([0.7], [[0]], AtomVocabulary.qm9())


def test_continuous_to_state_shapes():
    from graphdiff.data.molecules import continuous_to_state

    with pytest.raises(InvalidGraphError):
        continuous_to_state(torch.randn(1, 3), torch.randn(1, 3, 3))


@pytest.mark.parametrize("name,data", [("x.smi", b"C\xff\xfeC\n"), ("x.smi.gz", b"notgzip"), ("x.csv.gz", b"\x1f\x8b\x08\x00trunc")])
def test_read_smiles_file_unreadable(tmp_path, name, data):
    from graphdiff.data import read_smiles_file

    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises((ValueError, GraphdiffError)) as info:
        read_smiles_file(p)
    assert not isinstance(info.value, UnicodeDecodeError)


@pytest.mark.parametrize("key,value", [("card", [1]), ("card", "ab"), ("weights_file", "")])
def test_load_weights_bad_card(tmp_path, key, value):
    from graphdiff.training import load_weights, save_weights

    save_weights(tmp_path, {"w": torch.zeros(2)}, {"a": 1})
    cfg = tmp_path / "config.json"
    obj = json.loads(cfg.read_text())
    obj[key] = value
    cfg.write_text(json.dumps(obj))
    with pytest.raises(CheckpointError):
        load_weights(tmp_path)


@pytest.mark.parametrize("where", ["X", "A"])
def test_score_network_padding_nan(where):
    from graphdiff.nn import GraphScoreNetwork

    torch.manual_seed(0)
    net = GraphScoreNetwork(num_node_features=2, K=2, hidden=8, edge_hidden=4, global_hidden=4, depth=1, heads=2, ff_mult=1).eval()
    m = torch.tensor([[True, True, False]])
    X, A = torch.randn(1, 3, 2), torch.zeros(1, 3, 3)
    A[0, 0, 1] = A[0, 1, 0] = 1.0
    t = torch.rand(1)
    with torch.no_grad():
        ref = net(GraphState(X, A, m), t).X[m]
        if where == "X":
            X = X.clone()
            X[~m] = float("nan")
        else:
            A = A.clone()
            A[~(m[:, :, None] & m[:, None, :])] = float("nan")
        out = net(GraphState(X, A, m), t).X[m]
    assert torch.allclose(ref, out, atol=1e-5)


@pytest.mark.parametrize("which", ["score", "denoiser"])
def test_network_long_mask(which):
    from graphdiff.nn import GraphScoreNetwork, GraphTransformerDenoiser

    tiny = dict(K=2, hidden=8, edge_hidden=4, global_hidden=4, depth=1, heads=2, ff_mult=1)
    m = torch.tensor([[1, 1, 0]])
    if which == "score":
        net, X, A = GraphScoreNetwork(num_node_features=2, **tiny), torch.randn(1, 3, 2), torch.zeros(1, 3, 3)
    else:
        net, X, A = GraphTransformerDenoiser(num_node_classes=3, **tiny), torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, 3, dtype=torch.long)
    with pytest.raises(InvalidGraphError):
        net(GraphState(X, A, m), torch.rand(1))


def test_network_inconsistent_shapes():
    from graphdiff.nn import GraphScoreNetwork

    net = GraphScoreNetwork(num_node_features=2, K=2, hidden=8, edge_hidden=4, global_hidden=4, depth=1, heads=2, ff_mult=1)
    with pytest.raises(InvalidGraphError):
        net(GraphState(torch.randn(1, 3, 2), torch.zeros(1, 4, 4), torch.ones(1, 3, dtype=torch.bool)), torch.rand(1))


def test_score_network_float64():
    from graphdiff.nn import GraphScoreNetwork

    net = GraphScoreNetwork(num_node_features=2, K=2, hidden=8, edge_hidden=4, global_hidden=4, depth=1, heads=2, ff_mult=1)
    m = torch.ones(1, 3, dtype=torch.bool)
    out = net(GraphState(torch.randn(1, 3, 2, dtype=torch.float64), torch.zeros(1, 3, 3, dtype=torch.float64), m), torch.rand(1))
    assert out.X.shape == (1, 3, 2)


def test_checkpoint_schema_version_text(tmp_path):
    from graphdiff.training import load_checkpoint, save_checkpoint

    save_checkpoint(tmp_path, model=torch.nn.Linear(2, 2), step=1, rng=False)
    rec = tmp_path / "last.json"
    obj = json.loads(rec.read_text())
    obj["schema_version"] = "a"
    rec.write_text(json.dumps(obj))
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path, model=torch.nn.Linear(2, 2))
