"""GraphState contract and lossless round trips GraphState <-> PyG <-> networkx (property tests)."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.errors import InvalidGraphError
from graphdiff.states import GraphState, NodeCountDistribution, edge_present
from graphdiff.testing import assert_symmetric, permute_state, random_graph_state, random_node_permutation


@st.composite
def graph_lists(draw, max_graphs: int = 5, max_n: int = 8, weighted: bool = False, categorical: bool = False):
    """Lists of networkx graphs, including empty graphs (0 nodes) and isolated nodes."""
    graphs = []
    for _ in range(draw(st.integers(1, max_graphs))):
        n = draw(st.integers(0, max_n))
        g = nx.Graph()
        for i in range(n):
            if categorical:
                g.add_node(i, x=draw(st.integers(0, 4)))
            else:
                g.add_node(i)
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs))) if pairs else []
        for i, j in chosen:
            if weighted:
                g.add_edge(i, j, edge_attr=draw(st.integers(1, 3)))
            else:
                g.add_edge(i, j)
        graphs.append(g)
    return graphs


def _same_graph(g: nx.Graph, h: nx.Graph, node_attr: str | None = None, edge_attr: str | None = None) -> bool:
    if sorted(g.nodes) != sorted(h.nodes):
        return False
    if {frozenset(e) for e in g.edges} != {frozenset(e) for e in h.edges}:
        return False
    if node_attr and any(g.nodes[v][node_attr] != h.nodes[v][node_attr] for v in g.nodes):
        return False
    if edge_attr and any(g.edges[e][edge_attr] != h.edges[e][edge_attr] for e in g.edges):
        return False
    return True


def _assert_state_equal(a: GraphState, b: GraphState) -> None:
    assert torch.equal(a.node_mask, b.node_mask)
    assert a.X.dtype == b.X.dtype and torch.equal(a.X, b.X)
    assert a.A.dtype == b.A.dtype and torch.equal(a.A, b.A)


@settings(max_examples=60, deadline=None)
@given(graph_lists())
def test_networkx_round_trip_plain(graphs):
    state = GraphState.from_networkx(graphs)
    state.validate()
    assert state.num_nodes.tolist() == [g.number_of_nodes() for g in graphs]
    back = state.to_networkx()
    assert all(_same_graph(g, h) for g, h in zip(graphs, back))


@settings(max_examples=60, deadline=None)
@given(graph_lists(weighted=True, categorical=True))
def test_networkx_round_trip_categorical(graphs):
    state = GraphState.from_networkx(graphs)
    state.validate()
    back = state.to_networkx()
    for g, h in zip(graphs, back):
        assert _same_graph(g, h, node_attr="x" if g.number_of_nodes() else None, edge_attr="edge_attr")


@settings(max_examples=60, deadline=None)
@given(graph_lists(weighted=True, categorical=True))
def test_state_pyg_state_round_trip(graphs):
    state = GraphState.from_networkx(graphs)
    # batch and list of Data both round trip
    _assert_state_equal(state, GraphState.from_pyg(state.to_pyg(), max_nodes=state.max_nodes))
    _assert_state_equal(state, GraphState.from_pyg(state.to_data_list(), max_nodes=state.max_nodes))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 9), st.sampled_from([None, 2]), st.integers(0, 10_000))
def test_random_states_round_trip_through_pyg_and_networkx(B, N, C, seed):
    g = torch.Generator().manual_seed(seed)
    s = random_graph_state(batch_size=B, max_nodes=N, edge_channels=C, generator=g)
    s.validate()
    _assert_state_equal(s, GraphState.from_pyg(s.to_pyg(), max_nodes=N))
    s2 = GraphState.from_networkx(s.to_networkx(), max_nodes=N)
    assert torch.equal(s.node_mask, s2.node_mask)
    assert torch.allclose(s.X, s2.X)
    assert torch.equal(edge_present(s.A), edge_present(s2.A))
    if edge_present(s.A).any():  # networkx carries no shape for edge channels of edgeless batches
        assert torch.allclose(s.A, s2.A)


def test_isolated_nodes_survive():
    g = nx.Graph()
    g.add_nodes_from(range(5))
    g.add_edge(0, 1)
    s = GraphState.from_networkx([g, nx.empty_graph(3), nx.Graph()])
    assert s.num_nodes.tolist() == [5, 3, 0]
    assert [h.number_of_nodes() for h in s.to_networkx()] == [5, 3, 0]
    data = s.to_data_list()
    assert [d.num_nodes for d in data] == [5, 3, 0]
    back = GraphState.from_pyg(s.to_pyg())
    assert back.num_nodes.tolist() == [5, 3, 0]


def test_node_mask_is_stored_not_inferred():
    s = GraphState.from_networkx([nx.empty_graph(4)])
    assert s.node_mask.all() and not edge_present(s.A).any()


def test_arbitrary_node_ids_are_relabelled_in_order():
    g = nx.Graph()
    g.add_edge("a", "c")
    g.add_node("b")
    s = GraphState.from_networkx([g])
    h = s.to_networkx()[0]
    assert h.number_of_nodes() == 3 and set(h.edges) == {(0, 1)}


def test_self_loops_and_oversize_raise():
    g = nx.path_graph(3)
    g.add_edge(1, 1)
    with pytest.raises(InvalidGraphError, match="self-loop"):
        GraphState.from_networkx([g])
    with pytest.raises(InvalidGraphError, match="10 nodes, more than max_nodes=5"):
        GraphState.from_networkx([nx.path_graph(10)], max_nodes=5)


def test_validate_catches_contract_violations():
    s = random_graph_state()
    bad = s.replace(A=s.A.clone())
    bad.A[0, 0, 1] = 5.0
    with pytest.raises(InvalidGraphError, match="symmetric"):
        bad.validate()
    bad = s.replace(A=s.A.clone())
    bad.A[0, 2, 2] = 1.0
    with pytest.raises(InvalidGraphError, match="diagonal"):
        bad.validate()
    bad = s.replace(X=s.X.clone())
    bad.X[0, 0, 0] = float("nan")
    with pytest.raises(InvalidGraphError, match="NaN"):
        bad.validate()
    m = s.node_mask.clone()
    m[0, 0] = False
    with pytest.raises(InvalidGraphError):
        s.replace(node_mask=m).validate()


def test_masked_zeroes_padding_and_cat_pads():
    s = random_graph_state(batch_size=4, max_nodes=6)
    noisy = s.replace(X=s.X + 1.0, A=s.A + 1.0)
    m = noisy.masked()
    assert (m.X[~s.node_mask] == 0).all()
    assert (m.A[~s.edge_mask] == 0).all()
    small = random_graph_state(batch_size=2, max_nodes=3)
    c = GraphState.cat([small, s])
    assert c.max_nodes == 6 and c.batch_size == 6
    c.validate()
    assert torch.equal(c.node_mask[:2, :3], small.node_mask)


def test_permute_state_keeps_validity():
    s = random_graph_state(batch_size=3, max_nodes=6)
    p = random_node_permutation(s.node_mask, torch.Generator().manual_seed(1))
    ps = permute_state(s, p)
    ps.validate()
    assert_symmetric(ps.A)
    assert torch.equal(ps.node_mask, s.node_mask)


def test_node_count_distribution_fit_and_sample():
    graphs = [nx.path_graph(n) for n in [3, 3, 5, 5, 5, 7]]
    d = NodeCountDistribution.fit(graphs)
    assert d.max_nodes == 7
    assert torch.allclose(d.probs[[3, 5, 7]], torch.tensor([2 / 6, 3 / 6, 1 / 6]))
    k = d.sample(20_000, generator=torch.Generator().manual_seed(0))
    assert set(k.unique().tolist()) <= {3, 5, 7}
    assert abs((k == 5).float().mean().item() - 0.5) < 0.02
    assert d.log_prob(torch.tensor([4])).item() == float("-inf")
    assert torch.equal(NodeCountDistribution.from_dict(d.to_dict()).probs, d.probs)
    mask = d.mask(torch.tensor([3, 7]))
    assert mask.sum(1).tolist() == [3, 7]
    with pytest.raises(ValueError):
        NodeCountDistribution.fit([])
