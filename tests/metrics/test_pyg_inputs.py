"""PyTorch Geometric ``Data`` lists are accepted wherever networkx graph lists are."""

from __future__ import annotations

import networkx as nx
import pytest

from graphdiff.metrics import graph_metrics
from graphdiff.metrics.graph import as_networkx_list


def test_graph_metrics_give_the_same_numbers_for_pyg_and_networkx():
    from torch_geometric.utils import from_networkx

    ref = [nx.cycle_graph(n) for n in range(5, 11)]
    gen = [nx.path_graph(n) for n in range(5, 11)] + [nx.star_graph(4)]
    a = graph_metrics(ref, gen, metrics=("degree", "clustering"))
    b = graph_metrics([from_networkx(g) for g in ref], [from_networkx(g) for g in gen], metrics=("degree", "clustering"))
    assert a["degree"] == b["degree"] and a["clustering"] == b["clustering"] and a["degree"] > 0


def test_pyg_conversion_keeps_isolated_nodes_and_refuses_other_objects():
    from torch_geometric.data import Data
    import torch

    d = Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=4)  # nodes 2 and 3 isolated
    (g,) = as_networkx_list([d])
    assert g.number_of_nodes() == 4 and g.number_of_edges() == 1
    with pytest.raises(TypeError, match="torch_geometric Data"):
        as_networkx_list([object()])
