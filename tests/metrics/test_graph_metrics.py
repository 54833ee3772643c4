"""graph_metrics: presets, hand values, empty-graph accounting, ratios, reference equality."""

from __future__ import annotations

import math
import pickle

import networkx as nx
import numpy as np
import pytest
from scipy.linalg import eigvalsh
from scipy.stats import wasserstein_distance

from graphdiff.metrics.graph import GDSS_PROTOCOL, SPECTRE_PROTOCOL, get_protocol, graph_metrics
from graphdiff.states import GraphState


def test_presets_and_unknown_protocol():
    assert get_protocol("gdss") is GDSS_PROTOCOL
    assert GDSS_PROTOCOL.clustering.distance_scaling == 100.0 and GDSS_PROTOCOL.clustering.sigma == 0.1
    assert GDSS_PROTOCOL.orbit.kernel == "gaussian" and GDSS_PROTOCOL.orbit.sigma == 30.0
    assert not GDSS_PROTOCOL.orbit.is_hist
    assert {SPECTRE_PROTOCOL.spec(s).kernel for s in ("degree", "clustering", "orbit", "spectral")} == {"gaussian_tv"}
    with pytest.raises(ValueError, match="gdss, spectre"):
        get_protocol("graphrnn2")
    with pytest.raises(ValueError, match="degree"):
        graph_metrics([nx.path_graph(3)], [nx.path_graph(3)], metrics=("motif",))
    with pytest.raises(ValueError, match="include"):
        graph_metrics([nx.path_graph(3)], [nx.path_graph(3)], empty="ignore")


def test_hand_value_degree_and_clustering():
    star, tri = nx.star_graph(4), nx.complete_graph(3)
    # degree pmfs [0,.8,0,0,.2] vs [0,0,1]: EMD 1.2, TV 1.0 (see test_mmd)
    r = graph_metrics([star], [tri], metrics=("degree",))
    assert r["degree"] == pytest.approx(2 - 2 * math.exp(-1.44 / 2))
    r = graph_metrics([star], [tri], protocol="spectre", metrics=("degree",))
    assert r["degree"] == pytest.approx(2 - 2 * math.exp(-1.0 / 2))
    # clustering: star all in bin 0, triangle all in bin 99 -> EMD = 99 bins / 100 = 0.99
    r = graph_metrics([star], [tri], metrics=("clustering",))
    assert r["clustering"] == pytest.approx(2 - 2 * math.exp(-(0.99**2) / (2 * 0.01)))
    # spectre clustering: TV = 1 with sigma 0.1
    r = graph_metrics([star], [tri], protocol="spectre", metrics=("clustering",))
    assert r["clustering"] == pytest.approx(2 - 2 * math.exp(-1.0 / 0.02))


def test_identical_sets_give_zero_and_cards_describe_value():
    gs = [nx.gnp_random_graph(10, 0.3, seed=s) for s in range(6)]
    r = graph_metrics(gs, list(reversed(gs)))
    for k in ("degree", "clustering", "orbit", "spectral"):
        assert r[k] == pytest.approx(0.0, abs=1e-12)
        card = r.cards[k]
        assert card.estimator == "biased MMD^2" and card.protocol == "gdss"
        assert card.n_generated == 6 and card.n_reference == 6 and card.n_empty == 0
    assert r.cards["clustering"].distance_scaling == 100.0
    assert "| degree |" in r.to_markdown()
    assert set(r) == {"degree", "clustering", "orbit", "spectral"}


def test_empty_and_edgeless_generated_graphs_are_counted():
    ref = [nx.cycle_graph(5), nx.path_graph(6), nx.star_graph(4)]
    good = [nx.cycle_graph(6), nx.path_graph(4)]
    gen = good + [nx.Graph(), nx.Graph(), nx.empty_graph(3)]
    r = graph_metrics(ref, gen)
    assert r.n_empty == 2 and r.n_edgeless == 1
    for k in r:
        card = r.cards[k]
        assert card.n_empty == 2 and card.n_dropped == 2 and card.n_edgeless == 1
        assert card.n_used_generated == 3 and "dropped" in card.notes
    # "drop" reproduces the reference: the value equals the one on the non-empty graphs only
    r_ok = graph_metrics(ref, good + [nx.empty_graph(3)])
    for k in r:
        assert r[k] == r_ok[k]
    r_inc = graph_metrics(ref, gen, empty="include")
    for k in r:
        assert r_inc.cards[k].n_dropped == 0 and r_inc.cards[k].n_used_generated == 5
    # "include": an empty graph is an extra point with kernel 0 to every graph; reference {G},
    # generated {G, empty}: kxx = 1, kyy = (1 + 1) / 4, kxy = 1 / 2 -> MMD^2 = 1/2 for every statistic
    g = nx.cycle_graph(5)
    r_inc = graph_metrics([g], [g, nx.Graph()], empty="include")
    assert all(v == pytest.approx(0.5) for v in r_inc.values())
    assert all(v == pytest.approx(0.0) for v in graph_metrics([g], [g, nx.Graph()]).values())


def test_graphstate_input_is_converted():
    gs = [nx.cycle_graph(5), nx.path_graph(4)]
    state = GraphState.from_networkx(gs)
    a = graph_metrics(gs, state)
    assert all(v == pytest.approx(0.0, abs=1e-12) for v in a.values())


def test_spectre_ratios():
    test = [nx.gnp_random_graph(12, 0.3, seed=s) for s in range(5)]
    train = [nx.gnp_random_graph(12, 0.3, seed=100 + s) for s in range(6)]
    gen = [nx.gnp_random_graph(12, 0.6, seed=200 + s) for s in range(5)]
    r = graph_metrics(test, train, protocol="spectre", train_graphs=train)
    for k in ("degree", "clustering", "orbit", "spectral"):
        assert r[f"{k}_ratio"] == pytest.approx(1.0)
    r = graph_metrics(test, gen, protocol="spectre", train_graphs=train)
    ratios = [r[f"{k}_ratio"] for k in ("degree", "clustering", "orbit", "spectral")]
    assert r["mean_ratio"] == pytest.approx(np.mean(ratios))
    assert r["degree_ratio"] > 1.0
    assert r.cards["degree"].extra["mmd2_train_vs_reference"] == pytest.approx(r.train_values["degree"])
    # the gdss preset has no ratios
    assert "degree_ratio" not in graph_metrics(test, gen, train_graphs=train)


def _reference_gdss(ref, gen):
    """GDSS's stats.py definitions written with networkx, scipy EMD and python loops."""
    import orbit_count

    def k_emd(x, y, sigma, scale):
        L = max(len(x), len(y))
        x, y = np.pad(x, (0, L - len(x))), np.pad(y, (0, L - len(y)))
        d = wasserstein_distance(np.arange(L), np.arange(L), x, y) / scale
        return math.exp(-d * d / (2 * sigma * sigma))

    def k_l2(x, y, sigma):
        d = np.linalg.norm(x - y)
        return math.exp(-d * d / (2 * sigma * sigma))

    def mmd(a, b, k, is_hist=True):
        if is_hist:
            a, b = [x / x.sum() for x in a], [x / x.sum() for x in b]
        disc = lambda p, q: sum(k(x, y) for x in p for y in q) / (len(p) * len(q))  # noqa: E731
        return disc(a, a) + disc(b, b) - 2 * disc(a, b)

    deg = lambda gs: [np.array(nx.degree_histogram(g), float) for g in gs]  # noqa: E731
    clu = lambda gs: [np.histogram(list(nx.clustering(g).values()), bins=100, range=(0, 1))[0].astype(float) for g in gs]  # noqa: E731

    def spec(gs):
        out = []
        for g in gs:
            h, _ = np.histogram(eigvalsh(nx.normalized_laplacian_matrix(g).todense()), bins=200, range=(-1e-5, 2))
            out.append(h / h.sum())
        return out

    orb = lambda gs: [orbit_count.node_orbit_counts(g, 4).sum(0) / g.number_of_nodes() for g in gs]  # noqa: E731
    return {
        "degree": mmd(deg(ref), deg(gen), lambda x, y: k_emd(x, y, 1.0, 1.0)),
        "clustering": mmd(clu(ref), clu(gen), lambda x, y: k_emd(x, y, 0.1, 100.0)),
        "orbit": mmd(orb(ref), orb(gen), lambda x, y: k_l2(x, y, 30.0), is_hist=False),
        "spectral": mmd(spec(ref), spec(gen), lambda x, y: k_emd(x, y, 1.0, 1.0)),
    }


def test_equals_reference_definitions_on_random_graphs():
    rng = np.random.default_rng(0)
    ref = [nx.gnp_random_graph(int(rng.integers(6, 16)), 0.3, seed=s) for s in range(8)]
    gen = [nx.barabasi_albert_graph(int(rng.integers(6, 16)), 2, seed=s) for s in range(7)]
    ours = graph_metrics(ref, gen)
    expected = _reference_gdss(ref, gen)
    for k, v in expected.items():
        assert ours[k] == pytest.approx(v, abs=1e-12), k


def test_community_small_train_vs_test_gdss(shared_data):
    """Train-vs-test MMD^2 on GDSS's community_small split (test = first 20 graphs). The numbers
    were cross-checked against the loop implementation above (agreement < 1e-13)."""
    with open(shared_data / "graphs/gdss/community_small.pkl", "rb") as f:
        graphs = pickle.load(f)
    test, train = graphs[:20], graphs[20:]
    r = graph_metrics(test, train)
    assert r["degree"] == pytest.approx(0.003384, abs=5e-7)
    assert r["clustering"] == pytest.approx(0.009235, abs=5e-7)
    assert r["orbit"] == pytest.approx(0.000972, abs=5e-7)
    assert r["spectral"] == pytest.approx(0.034050, abs=5e-7)


def test_community_small_data_reference(shared_data):
    """The data-reference row of BENCHMARKS.md's community-small block: 20 subsets of 20 training
    graphs score 0.0168 / 0.0239 / 0.0034 on average, 5x to 3x the all-train values above."""
    from graphdiff.metrics import data_reference

    with open(shared_data / "graphs/gdss/community_small.pkl", "rb") as f:
        graphs = pickle.load(f)
    test, train = graphs[:20], graphs[20:]
    ref = data_reference(test, train, metrics=("degree", "clustering", "orbit"))
    assert ref.n == 20 and ref.subsets == 20
    assert ref.mean["degree"] == pytest.approx(0.0168, abs=5e-5)
    assert ref.mean["clustering"] == pytest.approx(0.0239, abs=5e-5)
    assert ref.mean["orbit"] == pytest.approx(0.0034, abs=5e-5)


@pytest.mark.parametrize(
    "name,published",
    # "Training set" rows of the SPECTRE / DiGress / DeFoG tables (degree, clustering, orbit,
    # spectral MMD^2 of the train split vs the test split, Gaussian-TV kernels), 4 decimals
    [("planar", (0.0002, 0.0310, 0.0005, 0.0038)), ("sbm", (0.0008, 0.0332, 0.0255, 0.0027))],
)
def test_spectre_train_vs_test_matches_published_training_rows(shared_data, name, published):
    with open(shared_data / f"graphs/esgg/{name}.pkl", "rb") as f:
        split = pickle.load(f)
    r = graph_metrics(split["test"], split["train"], protocol="spectre")
    ours = tuple(round(r[k], 4) for k in ("degree", "clustering", "orbit", "spectral"))
    assert ours == published


def test_ratio_with_zero_train_mmd_is_nan():
    trees = [nx.random_labeled_tree(12, seed=s) for s in range(4)]
    r = graph_metrics(trees[:2], trees[2:], protocol="spectre", metrics=("clustering",), train_graphs=trees[2:])
    assert r["clustering"] == 0.0 and math.isnan(r["clustering_ratio"]) and math.isnan(r["mean_ratio"])
    assert "nan" in r.cards["clustering_ratio"].notes


def test_gdss_isolated_node_postprocessing():
    ref = [nx.cycle_graph(5), nx.path_graph(4)]
    g = nx.cycle_graph(5)
    g.add_nodes_from([10, 11])  # two isolated nodes
    gen = [g, nx.empty_graph(3), nx.Graph()]
    r = graph_metrics(ref, gen, isolated="gdss")
    extra = r.cards["degree"].extra
    assert extra["n_isolated_nodes_removed"] == 5 and extra["n_graphs_made_single_node"] == 2
    assert r.n_empty == 0  # GDSS turns node-less graphs into one node
    expected = graph_metrics(ref, [nx.cycle_graph(5), nx.empty_graph(1), nx.empty_graph(1)])
    for k in r:
        assert r[k] == pytest.approx(expected[k], abs=1e-15)
    assert g.number_of_nodes() == 7  # inputs untouched
    with pytest.raises(ValueError, match="gdss, keep"):
        graph_metrics(ref, gen, isolated="drop")


def test_data_reference_equals_graph_metrics_on_each_subset():
    import random

    from graphdiff.metrics import DataReference, data_reference

    rng = np.random.default_rng(0)
    train = [nx.gnp_random_graph(int(rng.integers(5, 12)), 0.4, seed=int(rng.integers(1 << 30))) for _ in range(12)]
    train.append(nx.empty_graph(0))  # an empty training graph is dropped, as graph_metrics drops it
    test = [nx.gnp_random_graph(8, 0.3, seed=s) for s in range(4)]
    stats = ("degree", "clustering", "orbit")
    ref = data_reference(test, train, subsets=3, seed=5, metrics=stats)
    assert isinstance(ref, DataReference) and ref.n == len(test) and ref.subsets == 3 and ref.protocol == "gdss"
    for k in range(3):
        subset = random.Random(5 + k).sample(train, len(test))
        direct = graph_metrics(test, subset, metrics=stats)
        for s in stats:
            assert ref.values[s][k] == pytest.approx(direct[s], rel=1e-12, abs=1e-15)
    for s in stats:
        assert ref.mean[s] == pytest.approx(np.mean(ref.values[s]))
        assert ref.sd[s] == pytest.approx(np.std(ref.values[s], ddof=1))
    assert len(set(ref.values["degree"])) > 1  # the subsets differ
    # a small sample of real data scores above the all-training-graphs comparison (the 1/n term)
    full = graph_metrics(test, train, metrics=("degree",))
    assert ref.mean["degree"] > full["degree"]
    assert "subsets of 4 graphs" in repr(ref)
    assert ref.n_empty_train == 1 and ref.n_empty_reference == 0 and "1 train" in repr(ref)


def test_data_reference_rejects_bad_arguments():
    from graphdiff.metrics import data_reference

    g = [nx.path_graph(4), nx.cycle_graph(5)]
    with pytest.raises(ValueError, match="1..2"):
        data_reference(g, g, n=3)
    with pytest.raises(ValueError, match="subsets"):
        data_reference(g, g, subsets=0)
    with pytest.raises(ValueError, match="degree"):
        data_reference(g, g, metrics=("motif",))
    with pytest.raises(ValueError, match="metrics is empty"):
        data_reference(g, g, metrics=())
    one = data_reference(g, g, n=2, subsets=1, metrics=("degree",))
    assert one.sd == {"degree": 0.0} and one.mean["degree"] == pytest.approx(0.0, abs=1e-12)


def test_a_multigraph_with_parallel_edges_is_refused_not_merged():
    """Parallel edges were merged without a word while self-loops are refused; a MultiGraph with no
    parallel edge is an ordinary graph."""
    ref = [nx.cycle_graph(5) for _ in range(3)]
    multi = nx.MultiGraph(nx.cycle_graph(5))
    multi.add_edge(0, 1)
    with pytest.raises(TypeError, match="parallel edges"):
        graph_metrics(ref, [multi], metrics=("degree",))
    plain = graph_metrics(ref, [nx.MultiGraph(nx.cycle_graph(5))], metrics=("degree",))
    assert plain["degree"] == pytest.approx(0.0, abs=1e-12)
