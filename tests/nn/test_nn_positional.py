"""Structural features checked against hand-computed values and brute force."""

from __future__ import annotations

import math

import networkx as nx
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.nn.positional import (
    StructuralFeatures,
    binarize_adjacency,
    cycle_counts,
    distance_onehot,
    node_cycle_counts,
    random_walk_matrix,
    return_probabilities,
    rrwp,
    shortest_path_distance,
    soft_adjacency,
    spectral_features,
)
from graphdiff.states import GraphState
from graphdiff.testing import assert_permutation_equivariant, random_graph_state

D = torch.float64


def graphs(*gs: nx.Graph, max_nodes: int | None = None) -> GraphState:
    return GraphState.from_networkx(list(gs), max_nodes=max_nodes).to(D)


def test_return_probabilities_triangle_path_cycle():
    s = graphs(nx.complete_graph(3), nx.path_graph(3), nx.cycle_graph(4), max_nodes=5)
    K = 6
    rw = return_probabilities(s.A, s.node_mask, K)
    assert rw.shape == (3, 5, K)
    # triangle: (M^k)_ii = (1 + 2 (-1/2)^k) / 3
    tri = torch.tensor([(1 + 2 * (-0.5) ** k) / 3 for k in range(1, K + 1)], dtype=D)
    for i in range(3):
        torch.testing.assert_close(rw[0, i], tri)
    # path 0-1-2: odd powers return 0; even powers 1/2 at the ends, 1 in the middle
    for k in range(1, K + 1):
        exp = [0.0, 0.0, 0.0] if k % 2 else [0.5, 1.0, 0.5]
        torch.testing.assert_close(rw[1, :3, k - 1], torch.tensor(exp, dtype=D))
    # 4-cycle: spectrum of M is {1, 0, 0, -1} -> (1 + (-1)^k) / 4
    c4 = torch.tensor([(1 + (-1) ** k) / 4 for k in range(1, K + 1)], dtype=D)
    for i in range(4):
        torch.testing.assert_close(rw[2, i], c4)
    # padding is zero
    assert rw[0, 3:].abs().sum() == 0 and rw[1, 3:].abs().sum() == 0 and rw[2, 4:].abs().sum() == 0


def test_isolated_node_gives_zeros_not_nan():
    g = nx.path_graph(3)
    g.add_node(3)  # isolated
    s = graphs(g, max_nodes=6)
    M = random_walk_matrix(s.A, s.node_mask)
    assert M[0, 3].abs().sum() == 0
    torch.testing.assert_close(M.sum(-1)[0, :3], torch.ones(3, dtype=D))
    rw = return_probabilities(s.A, s.node_mask, 4)
    assert torch.isfinite(rw).all() and rw[0, 3].abs().sum() == 0
    R = rrwp(s.A, s.node_mask, 3)
    assert torch.isfinite(R).all()
    assert R[0, 3, 3, 0] == 1 and R[0, 3, :, 1:].abs().sum() == 0  # identity channel only
    f = StructuralFeatures(K=4, cycles=True, spectral=3)(s.A, s.node_mask)
    assert all(torch.isfinite(x).all() for x in (f.node, f.edge, f.graph))


def test_rrwp_channels_are_matrix_powers():
    s = random_graph_state(3, 6, 2, p=0.5, generator=torch.Generator().manual_seed(3)).to(D)
    K = 4
    R = rrwp(s.A, s.node_mask, K)
    M = random_walk_matrix(s.A, s.node_mask)
    eye = torch.diag_embed(s.node_mask.to(D))
    torch.testing.assert_close(R[..., 0], eye)
    torch.testing.assert_close(R[..., 1], M)
    torch.testing.assert_close(R[..., 3], M @ M @ M)


def test_distance_onehot_on_a_path():
    s = graphs(nx.path_graph(5), max_nodes=6)
    dist = shortest_path_distance(s.A, s.node_mask, 10)
    idx = torch.arange(5)
    torch.testing.assert_close(dist[0, :5, :5], (idx[:, None] - idx[None]).abs())
    assert (dist[0, 5] == -1).all() and (dist[0, :, 5] == -1).all()
    K = 2
    oh = distance_onehot(s.A, s.node_mask, K)
    assert oh.shape == (1, 6, 6, K + 1)
    for i in range(5):
        for j in range(5):
            d = abs(i - j)
            exp = torch.zeros(K + 1, dtype=D)
            if d <= K:
                exp[d] = 1
            torch.testing.assert_close(oh[0, i, j], exp)
    assert oh[0, 5].abs().sum() == 0


def test_distance_on_disconnected_graph():
    g = nx.disjoint_union(nx.path_graph(2), nx.path_graph(2))
    s = graphs(g)
    dist = shortest_path_distance(s.A, s.node_mask, 4)
    assert dist[0, 0, 1] == 1 and dist[0, 0, 2] == -1 and dist[0, 3, 2] == 1


def _brute_cycles(g: nx.Graph) -> tuple[list[list[int]], list[int]]:
    cyc = list(nx.simple_cycles(g, length_bound=6))
    node = [[sum(1 for c in cyc if len(c) == L and v in c) for L in (3, 4, 5, 6)] for v in g.nodes]
    graph = [sum(1 for c in cyc if len(c) == L) for L in (3, 4, 5, 6)]
    return node, graph


def test_cycle_counts_known_graphs():
    s = graphs(nx.complete_graph(3), nx.cycle_graph(4), nx.cycle_graph(5), nx.cycle_graph(6),
               nx.complete_graph(5), nx.complete_graph(6), max_nodes=7)
    node, graph = cycle_counts(s.A, s.node_mask)
    assert node[0, :3].tolist() == [[1, 0, 0, 0]] * 3
    assert node[1, :4].tolist() == [[0, 1, 0, 0]] * 4
    assert node[2, :5].tolist() == [[0, 0, 1, 0]] * 5
    assert node[3, :6].tolist() == [[0, 0, 0, 1]] * 6
    assert node[4, :5].tolist() == [[6, 12, 12, 0]] * 5
    assert node[5, :6].tolist() == [[10, 30, 60, 60]] * 6  # K6: every 6-cycle uses every node
    assert graph.tolist() == [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [10, 15, 12, 0], [20, 45, 72, 60]]
    assert node[:, -1].abs().sum() == 0  # padding


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 8), p=st.floats(0.1, 0.9), seed=st.integers(0, 10_000))
def test_cycle_counts_match_brute_force(n, p, seed):
    g = nx.gnp_random_graph(n, p, seed=seed)
    s = graphs(g, max_nodes=9)
    node, graph = cycle_counts(s.A, s.node_mask)
    bn, bg = _brute_cycles(g)
    assert node[0, :n].tolist() == bn
    assert graph[0].tolist() == bg
    # the general Möbius-inversion counter agrees with the closed formulas for k = 3, 4, 5
    for k in (3, 4, 5):
        assert node_cycle_counts(s.A, s.node_mask, k)[0].round().tolist() == node[0, :, k - 3].tolist()


def test_node_cycle_counts_range():
    s = graphs(nx.cycle_graph(3))
    with pytest.raises(ValueError):
        node_cycle_counts(s.A, s.node_mask, 7)


def test_spectral_features_cycle_and_components():
    s = graphs(nx.cycle_graph(4), nx.disjoint_union(nx.complete_graph(3), nx.complete_graph(3)), max_nodes=7)
    times = (0.5, 2.0)
    node, graph = spectral_features(s.A, s.node_mask, num_eigenvalues=4, heat_times=times)
    # C4 normalised Laplacian spectrum {0, 1, 1, 2}; K3 spectrum {0, 1.5, 1.5}
    torch.testing.assert_close(graph[0], torch.tensor([1 / 4, 1, 1, 2, 2], dtype=D))
    torch.testing.assert_close(graph[1], torch.tensor([2 / 6, 1.5, 1.5, 1.5, 1.5], dtype=D))
    for j, s_ in enumerate(times):  # vertex-transitive: diag = trace / n
        exp4 = (1 + 2 * math.exp(-s_) + math.exp(-2 * s_)) / 4
        exp3 = (1 + 2 * math.exp(-1.5 * s_)) / 3
        torch.testing.assert_close(node[0, :4, j], torch.full((4,), exp4, dtype=D))
        torch.testing.assert_close(node[1, :6, j], torch.full((6,), exp3, dtype=D))
    assert node[0, 4:].abs().sum() == 0 and node[1, 6:].abs().sum() == 0


def test_binarize_and_soft_adjacency():
    A = torch.tensor([[[0.0, 0.7, -0.3], [0.7, 0.0, 0.2], [-0.3, 0.2, 0.0]]], dtype=D)
    nm = torch.tensor([[True, True, True]])
    assert binarize_adjacency(A, nm, 0.5).tolist() == [[[0, 1, 0], [1, 0, 0], [0, 0, 0]]]
    assert binarize_adjacency(A, nm, 0.0).tolist() == [[[0, 1, 0], [1, 0, 1], [0, 1, 0]]]
    w = soft_adjacency(A * 2, nm, threshold=0.3)
    torch.testing.assert_close(w, torch.tensor([[[0, 1, 0], [1, 0, 0.4], [0, 0.4, 0]]], dtype=D))
    nm2 = torch.tensor([[True, True, False]])
    assert binarize_adjacency(A, nm2, 0.0)[0, 1, 2] == 0


def _features_fn(feat: StructuralFeatures):
    def fn(state: GraphState):
        f = feat(state.A, state.node_mask)
        return f.node, f.edge
    return fn


@pytest.mark.parametrize("soft", [False, True])
def test_features_permutation_equivariant_and_invariant_graph_features(soft):
    g = torch.Generator().manual_seed(1)
    s = random_graph_state(4, 8, 1, p=0.4, generator=g, min_nodes=2).to(D)
    w = torch.rand(s.A.shape, generator=g, dtype=D).triu(1)
    s = s.replace(A=s.A * (0.2 + 0.8 * (w + w.transpose(1, 2))))  # weighted, some entries below threshold
    feat = StructuralFeatures(K=5, soft=soft, threshold=0.3, cycles=True, spectral=3)
    assert_permutation_equivariant(_features_fn(feat), s, atol=1e-10)
    gfeat = lambda st: (feat(st.A, st.node_mask).graph.unsqueeze(1).expand(-1, st.max_nodes, -1), None)  # noqa: E731
    assert_permutation_equivariant(gfeat, s, atol=1e-10)


def test_padding_never_influences_real_features():
    g = torch.Generator().manual_seed(2)
    s = random_graph_state(3, 6, 1, p=0.5, generator=g).to(D)
    feat = StructuralFeatures(K=4, cycles=True, spectral=2, soft=True, threshold=0.1)
    ref = feat(s.A, s.node_mask)
    # junk at padded positions (symmetric, so it would look like edges to padded nodes)
    junk = torch.rand(s.A.shape, generator=g, dtype=D)
    junk = junk + junk.transpose(1, 2)
    em = s.edge_mask
    A2 = torch.where(em, s.A, junk)
    out = feat(A2, s.node_mask)
    # and more padding
    big = GraphState.cat([s, GraphState(torch.zeros(1, 9, 1, dtype=D), torch.zeros(1, 9, 9, dtype=D),
                                        torch.zeros(1, 9, dtype=torch.bool))])
    out_big = feat(big.A, big.node_mask)
    nm = s.node_mask
    pm = nm[:, :, None] & nm[:, None, :]
    for o in (out, out_big):
        torch.testing.assert_close(o.node[:3, :6][nm], ref.node[nm])
        torch.testing.assert_close(o.edge[:3, :6, :6][pm], ref.edge[pm])
        torch.testing.assert_close(o.graph[:3], ref.graph)
    assert out.node[~nm].abs().sum() == 0 and out.edge[~pm].abs().sum() == 0
    assert torch.isfinite(out_big.graph).all()  # the empty graph in the batch


def test_feature_widths_match_outputs():
    s = random_graph_state(2, 5, 1)
    for kw in [dict(K=0, distance=False), dict(K=3), dict(K=3, cycles=True, spectral=2), dict(K=2, degree=False, graph_size=False)]:
        f = StructuralFeatures(**kw)
        out = f(s.A, s.node_mask)
        assert out.node.shape[-1] == f.node_dim and out.edge.shape[-1] == f.edge_dim and out.graph.shape[-1] == f.graph_dim
    with pytest.raises(ValueError):
        StructuralFeatures(K=-1)


@pytest.mark.parametrize("n", [10, 30])
def test_node_cycle_counts_exact_on_both_precision_paths(n):
    # K_n: 6-cycles through a node = C(n-1, 5) * 5! / 2; n = 10 runs the float32 path (dmax^5 < 2^24),
    # n = 30 (dmax = 29) the float64 one; both must give the exact integer
    s = graphs(nx.complete_graph(n))
    got = node_cycle_counts(s.A, s.node_mask, 6)[0]
    assert got.dtype == torch.float64
    assert got.tolist() == [math.comb(n - 1, 5) * 60] * n
