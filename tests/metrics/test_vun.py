"""Validity (planar / tree / SBM), uniqueness, novelty and V.U.N."""

from __future__ import annotations

import pickle
import warnings

import networkx as nx
import numpy as np
import pytest

from graphdiff.metrics.vun import (
    IsomorphismIndex,
    fit_sbm,
    is_planar_graph,
    is_sbm_graph,
    is_tree_graph,
    sbm_wald_score,
    vun_metrics,
)


def test_planar_and_tree_validity():
    assert is_planar_graph(nx.grid_2d_graph(5, 6))
    assert not is_planar_graph(nx.complete_graph(5))  # K5
    assert not is_planar_graph(nx.complete_bipartite_graph(3, 3))  # K3,3
    assert not is_planar_graph(nx.disjoint_union(nx.cycle_graph(4), nx.cycle_graph(4)))  # not connected
    assert not is_planar_graph(nx.Graph())
    assert is_tree_graph(nx.balanced_tree(2, 3))
    assert not is_tree_graph(nx.cycle_graph(5))
    assert not is_tree_graph(nx.Graph())


def test_wald_score_by_hand():
    # exact densities: intra 0.3, inter 0.005 -> W = 0 everywhere -> p-values 1
    n = np.array([20.0, 20.0])
    e = np.array([[0.3 * 20 * 19, 0.005 * 400], [0.005 * 400, 0.3 * 20 * 19]])
    assert sbm_wald_score(n, e) == pytest.approx(1.0, abs=1e-4)
    # no inter-block edges: W = 0.005^2 / 1e-6 = 25 on 2 of 4 entries -> mean p ~ 1/2
    e0 = e.copy()
    e0[0, 1] = e0[1, 0] = 0
    assert sbm_wald_score(n, e0) == pytest.approx(0.5, abs=1e-4)


def _sbm(sizes, seed):
    B = len(sizes)
    P = np.full((B, B), 0.005) + np.eye(B) * (0.3 - 0.005)
    return nx.stochastic_block_model(sizes, P.tolist(), seed=seed)


def test_sbm_fit_recovers_planted_blocks():
    sizes = [25, 35, 30]
    g = _sbm(sizes, seed=3)
    fit = fit_sbm(g)
    assert fit.n_blocks == 3
    planted = np.repeat(np.arange(3), sizes)
    # the partition equals the planted one up to relabelling
    pairs = set(zip(planted.tolist(), fit.blocks.tolist()))
    assert len(pairs) == 3
    assert sorted(fit.node_counts.tolist()) == sorted(sizes)


def test_sbm_validity_true_sbm_vs_erdos_renyi():
    rng = np.random.default_rng(0)
    sbm, er = [], []
    for s in range(10):
        B = int(rng.integers(2, 6))
        sizes = rng.integers(20, 41, size=B).tolist()
        g = _sbm(sizes, seed=s)
        sbm.append(g)
        n = g.number_of_nodes()
        er.append(nx.gnp_random_graph(n, 2 * g.number_of_edges() / (n * (n - 1)), seed=100 + s))
    valid_sbm = sum(bool(is_sbm_graph(g)) for g in sbm)
    valid_er = sum(bool(is_sbm_graph(g)) for g in er)
    # SPECTRE's statistic rejects true SBM graphs that have a block pair without edges, so not 10/10
    assert valid_sbm >= 7
    assert valid_er == 0


def test_isomorphism_index_handles_wl_collisions():
    # C6 and two disjoint triangles are both 2-regular on 6 nodes: same WL hash, not isomorphic
    c6, two_tri = nx.cycle_graph(6), nx.disjoint_union(nx.complete_graph(3), nx.complete_graph(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # networkx 3.5 changed unlabelled hashes
        assert nx.weisfeiler_lehman_graph_hash(c6) == nx.weisfeiler_lehman_graph_hash(two_tri)
    idx = IsomorphismIndex([c6])
    assert idx.find(nx.relabel_nodes(c6, {i: (i * 5) % 6 for i in range(6)}))
    assert not idx.find(two_tri)
    assert idx.add(two_tri) and len(idx) == 2


def test_vun_counts_by_hand():
    c4 = nx.cycle_graph(4)
    c4b = nx.relabel_nodes(c4, {0: "a", 1: "b", 2: "c", 3: "d"})
    p4, k3, tree = nx.path_graph(4), nx.complete_graph(3), nx.star_graph(3)
    gen = [c4, c4b, p4, k3, tree, nx.Graph()]
    train = [k3, nx.path_graph(5)]
    r = vun_metrics(gen, train, validity="tree")
    # unique: c4, p4, k3, star, empty (c4b duplicates c4) -> 5; novel: all but k3 -> 5
    # valid trees: p4, star -> 2; unique & novel & valid: p4, star -> 2
    assert r.counts == {"n": 6, "valid": 2, "unique": 5, "novel": 5, "unique_novel": 4, "vun": 2,
                        "empty": 1, "n_train": 2}
    assert r.valid == pytest.approx(2 / 6) and r.unique == pytest.approx(5 / 6)
    assert r.novel == pytest.approx(5 / 6) and r.vun == pytest.approx(2 / 6)
    assert r.cards["vun"].extra["count"] == 2
    with pytest.raises(ValueError, match="planar, sbm, tree"):
        vun_metrics(gen, train, validity="lobster")


def test_stored_spectre_graphs_are_valid(shared_data):
    with open(shared_data / "graphs/esgg/planar.pkl", "rb") as f:
        planar = pickle.load(f)
    r = vun_metrics(planar["test"], planar["train"], validity="planar")
    assert r.valid == 1.0 and r.unique == 1.0 and r.novel == 1.0
    with open(shared_data / "graphs/esgg/sbm.pkl", "rb") as f:
        sbm = pickle.load(f)
    rate = np.mean([bool(is_sbm_graph(g)) for g in sbm["test"]])
    # measured: 36 / 40 test graphs and 180 / 200 of all graphs (the rest: a block pair with no
    # edges, which SPECTRE's Wald statistic punishes, or a fitted block of 19 nodes)
    assert rate >= 0.85


def test_sbm_backends_and_card_note():
    from graphdiff.metrics.vun import resolve_sbm_backend

    with pytest.raises(ValueError, match="auto, graph-tool, icl"):
        resolve_sbm_backend("gt")
    assert resolve_sbm_backend("icl") == "icl" and resolve_sbm_backend("auto") in ("icl", "graph-tool")
    g = _sbm([25, 30], seed=1)
    r = vun_metrics([g, nx.path_graph(30)], [], validity="sbm", sbm_backend="icl")
    assert r.counts["valid"] == 1 and "our ICL block fit" in r.cards["valid"].notes


@pytest.mark.slow  # spawns processes (graph-tool / RDKit workers)
@pytest.mark.graph_tool
def test_graph_tool_fit_recovers_planted_blocks():
    from graphdiff.metrics.sbm_graphtool import graph_tool_block_counts, graph_tool_python

    if graph_tool_python() is None:
        pytest.skip("graph-tool is not available (Debian: apt-get install python3-graph-tool)")
    sizes = [25, 35]
    [(nc, ec)] = graph_tool_block_counts([_sbm(sizes, seed=3)], refinement_steps=5)
    assert sorted(nc.tolist()) == sizes
    assert ec.sum() == 2 * _sbm(sizes, seed=3).number_of_edges()  # graph-tool counts both directions
