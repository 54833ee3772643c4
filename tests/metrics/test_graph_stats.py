"""Per-graph statistics: hand-counted cases and bit-equality with the networkx reference code."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import eigvalsh

from graphdiff.errors import InvalidGraphError
from graphdiff.metrics.graph_stats import (
    clustering_histogram,
    compute_statistics,
    degree_histogram,
    mean_orbit_counts,
    orbit_counts,
    spectral_histogram,
)


def test_triangle_and_star_histograms():
    tri = nx.complete_graph(3)
    np.testing.assert_array_equal(degree_histogram(tri), [0, 0, 3])
    h = clustering_histogram(tri)
    assert h.shape == (100,) and h[99] == 3 and h.sum() == 3  # c = 1 falls in the last bin
    star = nx.star_graph(3)  # centre 0 with 3 leaves
    np.testing.assert_array_equal(degree_histogram(star), [0, 3, 0, 1])
    h = clustering_histogram(star)
    assert h[0] == 4 and h.sum() == 4
    # a triangle with a pendant: node clustering 1, 1, 1/3, 0
    g = nx.complete_graph(3)
    g.add_edge(2, 3)
    h = clustering_histogram(g)
    assert h[99] == 2 and h[33] == 1 and h[0] == 1


def test_orbit_counts_by_hand():
    # 4-cycle: every node has degree 2 (orbit 0), ends two induced 3-paths (orbit 1), is the
    # middle of one (orbit 2) and lies on one 4-cycle (orbit 8)
    expected = np.zeros(15, dtype=int)
    expected[[0, 1, 2, 8]] = [2, 2, 1, 1]
    oc = orbit_counts(nx.cycle_graph(4))
    assert oc.shape == (4, 15)
    assert (oc == expected).all()
    # path 0-1-2-3: ends are orbit 4 (end of P4), inner nodes orbit 5 (middle of P4)
    p = orbit_counts(nx.path_graph(4))
    end = np.zeros(15, dtype=int)
    end[[0, 1, 4]] = 1
    mid = np.zeros(15, dtype=int)
    mid[[0, 1, 2, 5]] = [2, 1, 1, 1]
    np.testing.assert_array_equal(p, np.stack([end, mid, mid, end]))
    np.testing.assert_allclose(mean_orbit_counts(nx.path_graph(4)), (2 * end + 2 * mid) / 4)


def test_edgeless_graphs_have_zero_orbits_and_defined_stats():
    g = nx.empty_graph(5)
    np.testing.assert_array_equal(orbit_counts(g), np.zeros((5, 15)))
    np.testing.assert_array_equal(degree_histogram(g), [5])
    assert clustering_histogram(g)[0] == 5
    s = spectral_histogram(g)
    assert s[0] == 1.0 and s.sum() == 1.0
    # an isolated node next to edges contributes a zero row
    h = nx.path_graph(3)
    h.add_node(10)
    assert (orbit_counts(h)[3] == 0).all()


def test_spectral_histogram_of_k2():
    s = spectral_histogram(nx.complete_graph(2))  # eigenvalues 0 and 2
    assert s[0] == 0.5 and s[199] == 0.5


def test_self_loops_rejected():
    g = nx.path_graph(3)
    g.add_edge(1, 1)
    with pytest.raises(InvalidGraphError, match="self-loop"):
        degree_histogram(g)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 16), st.floats(0.0, 1.0), st.integers(0, 10_000))
def test_bit_identical_to_networkx_reference(n, p, seed):
    g = nx.gnp_random_graph(n, p, seed=seed)
    g = nx.relabel_nodes(g, {v: f"v{(7 * v) % 13}_{v}" for v in g})  # arbitrary node ids
    np.testing.assert_array_equal(degree_histogram(g), np.array(nx.degree_histogram(g)))
    ref, _ = np.histogram(list(nx.clustering(g).values()), bins=100, range=(0.0, 1.0), density=False)
    np.testing.assert_array_equal(clustering_histogram(g), ref)
    eigs = eigvalsh(nx.normalized_laplacian_matrix(g).todense())
    ref, _ = np.histogram(eigs, bins=200, range=(-1e-5, 2), density=False)
    np.testing.assert_array_equal(spectral_histogram(g), ref / ref.sum())
    if g.number_of_edges():
        import orbit_count

        np.testing.assert_array_equal(orbit_counts(g), orbit_count.node_orbit_counts(g, graphlet_size=4))


def test_parallel_statistics_equal_serial():
    graphs = [nx.gnp_random_graph(12, 0.3, seed=s) for s in range(12)]
    a = compute_statistics(graphs, n_jobs=1)
    b = compute_statistics(graphs, n_jobs=2, min_graphs_per_job=4)
    for k in a:
        for x, y in zip(a[k], b[k]):
            np.testing.assert_array_equal(x, y)


def test_unknown_statistic():
    with pytest.raises(ValueError, match="clustering"):
        compute_statistics([nx.path_graph(3)], stats=("betweenness",))
