import torch
from graphdiff.states import GraphState
from graphdiff.testing import random_graph_state


def test_pyg_round_trip_basic():
    s = random_graph_state()
    s2 = GraphState.from_pyg(s.to_pyg(), max_nodes=s.max_nodes)
    assert torch.equal(s.A, s2.A) and torch.equal(s.X, s2.X) and torch.equal(s.node_mask, s2.node_mask)
