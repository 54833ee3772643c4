"""Fuzz GraphState: construction + validate on arbitrary tensors, networkx / PyG conversions on
arbitrary inputs. Valid inputs must round-trip exactly; invalid ones must raise typed errors."""

from __future__ import annotations

import networkx as nx
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from graphdiff.states import GraphState, edge_present

from ._harness import classify, fuzz_settings

_DTYPES = [torch.float32, torch.float64, torch.long, torch.int32, torch.bool, torch.float16]
_SPECIAL = [0.0, 1.0, -1.0, float("nan"), float("inf"), 1e30]


@st.composite
def raw_states(draw):
    """Arbitrary (X, A, node_mask): random shapes near or off the contract, random dtypes and
    values, symmetric or not, masks with holes."""
    B = draw(st.integers(0, 3))
    N = draw(st.integers(0, 5))
    F = draw(st.integers(0, 3))

    def shape(base):
        if draw(st.integers(0, 9)) == 0:  # occasionally a wrong shape
            return tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=4)))
        return base

    xs = shape(draw(st.sampled_from([(B, N), (B, N, F)])))
    as_ = shape(draw(st.sampled_from([(B, N, N), (B, N, N, 2)])))
    ms = shape((B, N))
    seed = draw(st.integers(0, 2**31 - 1))
    g = torch.Generator().manual_seed(seed)

    def tensor(shp, dtype):
        t = torch.randint(0, 3, shp, generator=g)
        if dtype.is_floating_point:
            t = t.to(dtype)
            if t.numel() and draw(st.integers(0, 5)) == 0:
                t.view(-1)[draw(st.integers(0, t.numel() - 1))] = draw(st.sampled_from(_SPECIAL))
            return t
        return t.to(dtype)

    X = tensor(xs, draw(st.sampled_from(_DTYPES)))
    A = tensor(as_, draw(st.sampled_from(_DTYPES)))
    if draw(st.booleans()) and A.dim() >= 3 and A.shape[1] == A.shape[2]:
        A = torch.triu(A, 1) + torch.triu(A, 1).transpose(1, 2)  # symmetric, zero diagonal
    if draw(st.booleans()):
        n = torch.randint(0, max(N, 0) + 1, (B,), generator=g)
        M = torch.arange(N)[None, :] < n[:, None] if ms == (B, N) else torch.zeros(ms, dtype=torch.bool)
        if draw(st.booleans()) and X.shape[:2] == (B, N) and A.shape[:3] == (B, N, N) and M.shape == (B, N):
            st_ = GraphState(X, A, M).masked() if X.dtype != torch.bool and A.dtype != torch.bool else None
            if st_ is not None:
                X, A = st_.X, st_.A
    else:
        M = tensor(ms, draw(st.sampled_from([torch.bool, torch.long, torch.float32])))
    return X, A, M


def _same(a: GraphState, b: GraphState) -> bool:
    return (a.X.shape == b.X.shape and a.A.shape == b.A.shape and torch.equal(a.node_mask, b.node_mask)
            and torch.equal(a.X.to(b.X.dtype), b.X) and torch.equal(a.A.to(b.A.dtype), b.A))


@pytest.mark.slow
@fuzz_settings(1200)
@given(raw_states())
def test_validate_and_roundtrip(parts):
    """validate() accepts a state or raises InvalidGraphError; an accepted state survives
    GraphState -> networkx -> GraphState and GraphState -> PyG -> GraphState with the same mask,
    node features and edge values."""
    X, A, M = parts
    s = classify("GraphState.validate", lambda: GraphState(X, A, M).validate())
    if s is None or s.batch_size == 0:
        return
    nxg = classify("GraphState.to_networkx", s.to_networkx)
    back = classify("GraphState.from_networkx", lambda: GraphState.from_networkx(nxg, max_nodes=s.max_nodes))
    assert back is not None and torch.equal(back.node_mask, s.node_mask)
    assert torch.equal(edge_present(back.A), edge_present(s.A)), "edges changed in the networkx round trip"
    pyg = classify("GraphState.to_pyg", s.to_pyg)
    back2 = classify("GraphState.from_pyg", lambda: GraphState.from_pyg(pyg, max_nodes=s.max_nodes))
    assert back2 is not None and torch.equal(back2.node_mask, s.node_mask)
    assert torch.equal(edge_present(back2.A), edge_present(s.A)), "edges changed in the PyG round trip"


_ATTR = st.one_of(st.integers(-3, 5), st.floats(allow_nan=True, allow_infinity=True, width=32),
                  st.lists(st.floats(-5, 5, width=32), min_size=0, max_size=3), st.text(max_size=3), st.none(),
                  st.booleans())


@st.composite
def nx_graphs(draw):
    g = nx.Graph()
    n = draw(st.integers(0, 6))
    labels = draw(st.lists(st.one_of(st.integers(-10, 10), st.text(max_size=2), st.tuples(st.integers(0, 2))),
                           min_size=n, max_size=n, unique=True))
    for v in labels:
        if draw(st.integers(0, 2)) == 0:
            g.add_node(v)
        else:
            g.add_node(v, **{draw(st.sampled_from(["x", "y"])): draw(_ATTR)})
    if labels:
        for _ in range(draw(st.integers(0, 8))):
            u, v = draw(st.sampled_from(labels)), draw(st.sampled_from(labels))
            if draw(st.booleans()):
                g.add_edge(u, v, **{draw(st.sampled_from(["edge_attr", "w"])): draw(_ATTR)})
            else:
                g.add_edge(u, v)
    return g


@pytest.mark.slow
@fuzz_settings(1000)
@given(st.lists(nx_graphs(), min_size=0, max_size=3), st.sampled_from([None, "x", "y"]),
       st.sampled_from([None, "edge_attr", "w"]), st.sampled_from([None, 0, 3, 10]))
def test_from_networkx(graphs, node_attr, edge_attr, max_nodes):
    """Any list of networkx graphs (odd labels, missing / ragged / text / NaN attributes,
    self-loops) gives a valid GraphState with one real node per graph node, or a typed error."""
    s = classify("GraphState.from_networkx",
                 lambda: GraphState.from_networkx(graphs, node_attr=node_attr, edge_attr=edge_attr, max_nodes=max_nodes))
    if s is None:
        return
    assert s.num_nodes.tolist() == [g.number_of_nodes() for g in graphs]
    finite = not (s.X.is_floating_point() and not torch.isfinite(s.X).all()) and not (
        s.A.is_floating_point() and not torch.isfinite(s.A).all())
    if finite:
        s.validate()


@st.composite
def pyg_data(draw):
    from torch_geometric.data import Data

    n = draw(st.integers(0, 5))
    E = draw(st.integers(0, 6))
    hi = draw(st.sampled_from([n, n + 2]))
    lo = draw(st.sampled_from([0, -2]))
    ei = torch.tensor(draw(st.lists(st.integers(lo, max(hi - 1, lo)), min_size=2 * E, max_size=2 * E)), dtype=torch.long).view(2, E)
    if draw(st.integers(0, 9)) == 0:
        ei = ei.float()
    if draw(st.integers(0, 9)) == 0:
        ei = ei.view(-1)
    kw = {}
    xk = draw(st.sampled_from(["none", "float", "long", "long1", "wrong"]))
    if xk == "float":
        kw["x"] = torch.randn(n, draw(st.integers(0, 3)))
    elif xk == "long":
        kw["x"] = torch.randint(0, 4, (n,))
    elif xk == "long1":
        kw["x"] = torch.randint(0, 4, (n, 1))
    elif xk == "wrong":
        kw["x"] = torch.randn(n + 1, 2)
    ek = draw(st.sampled_from(["none", "float", "long", "matrix", "wrong"]))
    if ek == "float":
        kw["edge_attr"] = torch.rand(ei.shape[-1])
    elif ek == "long":
        kw["edge_attr"] = torch.randint(1, 4, (ei.shape[-1],))
    elif ek == "matrix":
        kw["edge_attr"] = torch.rand(ei.shape[-1], 2)
    elif ek == "wrong":
        kw["edge_attr"] = torch.rand(ei.shape[-1] + 1)
    return Data(edge_index=ei, num_nodes=n, **kw)


@pytest.mark.slow
@fuzz_settings(1000)
@given(st.lists(pyg_data(), min_size=0, max_size=3), st.sampled_from([None, 0, 2, 8]))
def test_from_pyg(datas, max_nodes):
    """Any list of PyG ``Data`` (edge indices out of range or negative, float or flat edge_index,
    ragged x / edge_attr) gives a valid GraphState or a typed error."""
    s = classify("GraphState.from_pyg", lambda: GraphState.from_pyg(datas, max_nodes=max_nodes))
    if s is None:
        return
    assert s.num_nodes.tolist() == [int(d.num_nodes) for d in datas]
    s.validate()
