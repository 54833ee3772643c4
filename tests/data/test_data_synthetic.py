"""Synthetic generators: deterministic for a seed, and valid for their family."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from graphdiff.data import load
from graphdiff.data.synthetic import (community_class_graphs, community_graphs, grid_graphs, planar_graphs, sbm_graphs,
                                      split_graphs)


def _edges(graphs):
    return [sorted(g.edges()) for g in graphs]


@pytest.mark.parametrize("gen,kw", [
    (grid_graphs, {"max_side": 12}), (planar_graphs, {"n_nodes": 20}), (sbm_graphs, {"max_size": 22}), (community_graphs, {}),
    (community_class_graphs, {}),
])
def test_deterministic_for_a_seed(gen, kw):
    a, b, c = gen(6, seed=7, **kw), gen(6, seed=7, **kw), gen(6, seed=8, **kw)
    assert _edges(a) == _edges(b) and [g.number_of_nodes() for g in a] == [g.number_of_nodes() for g in b]
    assert _edges(a) != _edges(c)
    for g in a:
        assert list(g.nodes) == list(range(g.number_of_nodes())) and nx.number_of_selfloops(g) == 0


def test_grid_graphs_are_grids():
    for g in grid_graphs(8, seed=0, min_side=3, max_side=6):
        n, m = g.number_of_nodes(), g.number_of_edges()
        degs = sorted(d for _, d in g.degree())
        # an a x b grid: 4 corners of degree 2, ab nodes, 2ab - a - b edges
        sides = [(a, n // a) for a in range(3, 7) if n % a == 0 and 3 <= n // a <= 6 and 2 * n - a - n // a == m]
        assert sides and degs[:4] == [2, 2, 2, 2] and max(degs) <= 4 and nx.is_connected(g)


def test_planar_graphs_are_planar_connected_triangulations():
    gs = planar_graphs(10, n_nodes=64, seed=0)
    for g in gs:
        assert g.number_of_nodes() == 64 and nx.is_connected(g) and nx.check_planarity(g)[0]
        # Delaunay triangulation with h hull points has 3n - 3 - h edges, between 2n - 3 and 3n - 6
        assert 2 * 64 - 3 <= g.number_of_edges() <= 3 * 64 - 6
    assert 170 < np.mean([g.number_of_edges() for g in gs]) < 185  # SPECTRE planar: mean 177.8


def test_sbm_graphs_follow_the_block_model():
    gs = sbm_graphs(30, seed=0)
    sizes = [g.number_of_nodes() for g in gs]
    assert 40 <= min(sizes) and max(sizes) <= 200
    # the density of a 2..5-block model with p_intra 0.3, p_inter 0.005 lies between these bounds
    for g in gs:
        assert 0.005 < nx.density(g) < 0.3
    one = sbm_graphs(1, seed=1, min_communities=3, max_communities=3, min_size=30, max_size=30, p_inter=0.0)[0]
    assert nx.number_connected_components(one) == 3
    assert sorted(len(c) for c in nx.connected_components(one)) == [30, 30, 30]


def test_community_graphs_have_two_bridged_communities():
    for g in community_graphs(20, seed=0):
        n = g.number_of_nodes()
        c = n // 2
        assert n % 2 == 0 and 12 <= n <= 20
        cross = [(u, v) for u, v in g.edges() if (u < c) != (v < c)]
        assert len(cross) >= 1
        h = g.copy()
        h.remove_edges_from(cross)
        assert all(set(comp) <= set(range(c)) or set(comp) <= set(range(c, n)) for comp in nx.connected_components(h))


def test_split_rule_and_registry_datasets():
    gs = list(range(10))
    assert split_graphs(gs) == {"train": list(range(2, 10)), "test": [0, 1]}
    assert split_graphs(gs, val_fraction=0.25) == {"train": list(range(4, 10)), "val": [2, 3], "test": [0, 1]}
    ds = load("synthetic_planar", n_graphs=20, seed=0, n_nodes=16)
    assert ds.counts() == {"train": 13, "val": 3, "test": 4}
    again = load("synthetic_planar", n_graphs=20, seed=0, n_nodes=16)
    assert _edges(ds.test) == _edges(again.test)
    st = ds.to_state("train")
    assert st.X.shape == (13, 16, 0) and st.A.shape == (13, 16, 16)
    assert load("synthetic_community", n_graphs=10, seed=2).counts() == {"train": 8, "test": 2}
    with pytest.raises(TypeError):
        load("synthetic_grid", n_graphs=2, colour="red")


def test_community_class_graphs_closed_form_and_balanced_labels():
    # cliques (p_intra 1) joined only by the forced bridge between consecutive communities (p_inter 0)
    gs = community_class_graphs(8, seed=3, min_nodes=20, max_nodes=30, p_intra=1.0, p_inter=0.0)
    assert [g.graph["communities"] for g in gs] == [2, 3, 4, 5] * 2
    assert [g.graph["label"] for g in gs] == [0, 1, 2, 3] * 2
    for g in gs:
        n, k = g.number_of_nodes(), g.graph["communities"]
        assert 20 <= n <= 30 and nx.is_connected(g)
        sizes = [len(b) for b in np.array_split(np.arange(n), k)]
        assert g.number_of_edges() == sum(c * (c - 1) // 2 for c in sizes) + k - 1
    again = community_class_graphs(8, seed=3, min_nodes=20, max_nodes=30, p_intra=1.0, p_inter=0.0)
    assert all(nx.utils.graphs_equal(a, b) for a, b in zip(gs, again))
    ds = load("synthetic_community_classes", n_graphs=40, seed=0)
    assert ds.counts() == {"train": 32, "test": 8}
    assert sorted(g.graph["label"] for g in ds.split("test")) == [0, 0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(ValueError, match="min_communities"):
        community_class_graphs(2, min_communities=3, max_communities=2)
