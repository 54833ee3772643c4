"""Both graph families: size-grouped training batches and size-sorted sampling."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.pipelines.continuous import ContinuousGraphDiffusion
from graphdiff.pipelines.bucketing import size_batches
from graphdiff.pipelines.discrete import DiscreteGraphDiffusion
from graphdiff.states import GraphState

TINY = dict(hidden=16, edge_hidden=8, global_hidden=8, depth=1, heads=2, time_dim=16, K=4)
FAMILIES = {"continuous": (ContinuousGraphDiffusion, "ode_heun"), "discrete": (DiscreteGraphDiffusion, "ancestral")}


def _graphs() -> list[nx.Graph]:
    return [nx.cycle_graph(n) for n in (3, 4, 11, 12)] * 3 + [nx.path_graph(n) for n in (3, 4, 11, 12)] * 3


def _pipe(family: str):
    torch.manual_seed(0)
    cls, _ = FAMILIES[family]
    return cls.create(train_state=GraphState.from_networkx(_graphs()), dataset="toy", network=dict(TINY))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_sort_sizes_returns_graphs_in_draw_order(family: str):
    pipe = _pipe(family)
    _, sampler = FAMILIES[family]
    sizes = torch.tensor([11, 3, 12, 4, 3, 12])
    out = pipe.sample(6, num_nodes=sizes, steps=3, sampler=sampler, seed=4, batch_size=2, sort_sizes=True)
    assert torch.equal(out.state.node_mask.sum(-1), sizes) and out.info["sort_sizes"] is True
    A = out.state.A
    assert torch.equal(A, A.transpose(1, 2)) and (torch.diagonal(A, dim1=1, dim2=2) == 0).all()
    # it is exactly the run over the sorted sizes, put back in draw order
    order = torch.sort(sizes, stable=True).indices
    direct = pipe.sample(6, num_nodes=sizes[order], steps=3, sampler=sampler, seed=4, batch_size=2, sort_sizes=False).state
    inv = torch.argsort(order)
    N = direct.max_nodes
    assert torch.equal(out.state.A[:, :N, :N], direct.A[inv]) and torch.equal(out.state.X[:, :N], direct.X[inv])
    drawn = pipe.sample(5, steps=2, sampler=sampler, seed=1, batch_size=2, sort_sizes=True)
    plain = pipe.sample(5, steps=2, sampler=sampler, seed=1, batch_size=2, sort_sizes=False)
    assert torch.equal(drawn.state.node_mask.sum(-1), plain.state.node_mask.sum(-1))  # same drawn sizes, same order


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_group_by_size_trains_on_similar_sized_batches(family: str):
    pipe = _pipe(family)
    data = GraphState.from_networkx(_graphs())
    seen: list[tuple[int, int]] = []
    loss = pipe.loss

    def recording_loss(network, state, generator=None):
        n = state.node_mask.sum(-1)
        seen.append((int(n.min()), int(n.max())))
        return loss(network, state, generator)

    pipe.loss = recording_loss
    res = pipe.fit(data, steps=6, batch_size=6, lr=1e-3, progress=False, group_by_size=True, log_every=1000)
    assert res.final_step == 6 and pipe.card["training"]["group_by_size"] is True
    assert all(hi - lo <= 1 for lo, hi in seen), seen  # sizes 3/4 or 11/12, never mixed


def test_sample_refuses_a_batch_size_below_one():
    with pytest.raises(ValueError, match="batch_size must be >= 1.*got 0"):
        _pipe("continuous").sample(3, steps=2, batch_size=0)


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 12), min_size=0, max_size=80), batch_size=st.integers(1, 20),
       min_batch=st.integers(1, 10))
def test_size_batches_partition_sorted_and_cut_at_size_changes(sizes, batch_size, min_batch):
    s = torch.tensor(sizes, dtype=torch.long)
    plain = size_batches(s, batch_size)
    assert [b.tolist() for b in plain] == [list(range(i, min(i + batch_size, len(sizes)))) for i in range(0, len(sizes), batch_size)]
    batches = size_batches(s, batch_size, sort_sizes=True, min_batch=min_batch)
    flat = torch.cat(batches).tolist() if batches else []
    assert sorted(flat) == list(range(len(sizes)))  # every graph exactly once
    assert [sizes[i] for i in flat] == sorted(sizes)  # increasing sizes
    assert all(1 <= len(b) <= batch_size for b in batches)
    for b, nxt in zip(batches, batches[1:]):
        # a batch closes at the size limit, or at a change of size once it holds min_batch graphs
        full = len(b) == batch_size
        assert full or (len(b) >= min_batch and sizes[int(b[-1])] != sizes[int(nxt[0])])
        # and never splits a size run unless it is full
        assert full or sizes[int(b[-1])] != sizes[int(nxt[0])]
