"""A component with zero coordinates (e.g. the edges of a batch of single-node graphs) is a valid
CTMC state: posteriors, rates and samplers return empty tensors instead of failing to reshape."""

from __future__ import annotations

import networkx as nx
import pytest
import torch

from graphdiff.processes.ctmc import AbsorbingCTMC, MarginalCTMC, UniformCTMC
from graphdiff.states import GraphState


@pytest.mark.parametrize("process", [UniformCTMC(3), AbsorbingCTMC(3), MarginalCTMC(torch.tensor([0.5, 0.3, 0.2]))])
def test_zero_coordinates(process):
    xt = torch.zeros(2, 0, dtype=torch.long)
    probs = torch.zeros(2, 0, 3)
    S = process.num_states
    assert process.posterior(xt, probs, 0.3, 0.5).shape == (2, 0, S)
    assert process.forward_rates(xt, 0.5).shape == (2, 0, S)
    assert process.reverse_rate(xt, probs, 0.5).shape == (2, 0, S)


@pytest.mark.parametrize("sampler", ["ancestral", "tau_leaping", "pc"])
def test_single_node_batch_samples(sampler):
    from graphdiff.pipelines.discrete import DiscreteGraphDiffusion

    graphs = [nx.path_graph(3), nx.cycle_graph(4)]
    pipe = DiscreteGraphDiffusion.create(train_state=GraphState.from_networkx(graphs),
                                         network=dict(hidden=16, edge_hidden=8, global_hidden=8, depth=1, heads=2, K=3, time_dim=8))
    out = pipe.sample(3, steps=3, sampler=sampler, num_nodes=[1, 1, 1])
    assert out.state.num_nodes.tolist() == [1, 1, 1]
    out.state.validate()
