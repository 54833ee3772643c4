"""Synthetic graph generators with fixed seeds (our own implementations of the published recipes).

* :func:`grid_graphs`: 2-D grids ``m x n`` with sides drawn from ``min_side..max_side`` (GraphRNN grid: 10..19).
* :func:`planar_graphs`: Delaunay triangulations of uniform random points in the unit square (SPECTRE:
  64 nodes); always planar and connected.
* :func:`sbm_graphs`: stochastic block models with 2-5 communities of 20-40 nodes, ``p_intra=0.3``,
  ``p_inter=0.005`` (SPECTRE).
* :func:`community_graphs`: two Erdos-Renyi communities (``p=0.7``) of ``n // 2`` nodes each, ``n`` in
  12..20, joined by bridge edges with probability ``2 * p_inter / (n // 2)`` per cross pair and at least one
  bridge (GraphRNN / GDSS community-small recipe).
* :func:`community_class_graphs`: labelled community graphs, ``k`` in 2..5 communities (graph attribute
  ``communities``; ``label = k - 2``, the class), classes interleaved (graph ``i`` has ``2 + i % 4``) so every
  split is balanced; ``n`` uniform in 20..30 nodes whatever ``k`` (the size does not give the class away),
  cut into ``k`` near-equal Erdos-Renyi communities (``p=0.7``), bridges as in :func:`community_graphs`
  (probability ``2 * p_inter / (n / k)`` per cross pair) plus one between communities ``j`` and ``j + 1``
  when they have none (so ``k = 2`` is the community-small rule on 20..30 nodes).

Every generator draws from ``numpy.random.default_rng(seed)`` only, so the same arguments give the same
graphs on every machine. The registry exposes them as ``synthetic_grid``, ``synthetic_planar``,
``synthetic_sbm`` and ``synthetic_community`` (e.g. ``load("synthetic_planar", n_graphs=200, seed=0)``),
split like their benchmark counterparts: test = first ``int(test_fraction * n)``, val = next
``int(val_fraction * (n - n_test))``, train = rest.
"""

from __future__ import annotations

from typing import Callable

import networkx as nx
import numpy as np

from ..errors import unknown_name
from .dataset import GraphDataset
from .registry import DatasetCard

__all__ = ["grid_graphs", "planar_graphs", "sbm_graphs", "community_graphs", "community_class_graphs", "split_graphs",
           "load", "CARDS"]


def _er_edges(rng: np.random.Generator, nodes: np.ndarray, p: float) -> list[tuple[int, int]]:
    n = len(nodes)
    iu, ju = np.triu_indices(n, 1)
    keep = rng.random(len(iu)) < p
    return list(zip(nodes[iu[keep]].tolist(), nodes[ju[keep]].tolist()))


def grid_graphs(n_graphs: int, *, seed: int = 0, min_side: int = 10, max_side: int = 19) -> list[nx.Graph]:
    """``n_graphs`` 2-D grid graphs ``m x n``, ``m, n`` uniform in ``min_side..max_side``; nodes ``0..mn-1`` row-major."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_graphs):
        m, n = (int(v) for v in rng.integers(min_side, max_side + 1, size=2))
        out.append(nx.convert_node_labels_to_integers(nx.grid_2d_graph(m, n)))
    return out


def planar_graphs(n_graphs: int, *, n_nodes: int = 64, seed: int = 0) -> list[nx.Graph]:
    """``n_graphs`` Delaunay triangulations of ``n_nodes`` uniform points in the unit square (SPECTRE planar)."""
    from scipy.spatial import Delaunay

    if n_nodes < 3:
        raise ValueError("planar_graphs needs n_nodes >= 3")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_graphs):
        tri = Delaunay(rng.random((n_nodes, 2)))
        g = nx.Graph()
        g.add_nodes_from(range(n_nodes))
        for a, b, c in tri.simplices.tolist():
            g.add_edges_from(((a, b), (b, c), (a, c)))
        out.append(g)
    return out


def sbm_graphs(
    n_graphs: int,
    *,
    seed: int = 0,
    min_communities: int = 2,
    max_communities: int = 5,
    min_size: int = 20,
    max_size: int = 40,
    p_intra: float = 0.3,
    p_inter: float = 0.005,
) -> list[nx.Graph]:
    """``n_graphs`` stochastic-block-model graphs (SPECTRE SBM); nodes of community ``k`` are consecutive."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_graphs):
        k = int(rng.integers(min_communities, max_communities + 1))
        sizes = rng.integers(min_size, max_size + 1, size=k)
        n = int(sizes.sum())
        block = np.repeat(np.arange(k), sizes)
        iu, ju = np.triu_indices(n, 1)
        p = np.where(block[iu] == block[ju], p_intra, p_inter)
        keep = rng.random(len(iu)) < p
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from(zip(iu[keep].tolist(), ju[keep].tolist()))
        out.append(g)
    return out


def community_graphs(
    n_graphs: int, *, seed: int = 0, min_nodes: int = 12, max_nodes: int = 20, p_intra: float = 0.7, p_inter: float = 0.05
) -> list[nx.Graph]:
    """``n_graphs`` two-community graphs (community-small recipe, see the module docstring)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_graphs):
        c = int(rng.integers(min_nodes, max_nodes + 1)) // 2
        a, b = np.arange(c), np.arange(c, 2 * c)
        g = nx.Graph()
        g.add_nodes_from(range(2 * c))
        g.add_edges_from(_er_edges(rng, a, p_intra))
        g.add_edges_from(_er_edges(rng, b, p_intra))
        bridge = rng.random((c, c)) < 2 * p_inter / c
        if not bridge.any():
            bridge[0, 0] = True
        ii, jj = bridge.nonzero()
        g.add_edges_from(zip(a[ii].tolist(), b[jj].tolist()))
        out.append(g)
    return out


def community_class_graphs(
    n_graphs: int, *, seed: int = 0, min_communities: int = 2, max_communities: int = 5, min_nodes: int = 20,
    max_nodes: int = 30, p_intra: float = 0.7, p_inter: float = 0.05
) -> list[nx.Graph]:
    """``n_graphs`` labelled community graphs (see the module docstring); graph ``i`` has
    ``min_communities + i % (max_communities - min_communities + 1)`` communities, stored as the
    graph attributes ``communities`` and ``label`` (``communities - min_communities``)."""
    if not 1 <= min_communities <= max_communities or min_nodes < max_communities or max_nodes < min_nodes:
        raise ValueError(f"need 1 <= min_communities <= max_communities <= min_nodes <= max_nodes, got "
                         f"{min_communities}, {max_communities}, {min_nodes}, {max_nodes}")
    rng = np.random.default_rng(seed)
    n_classes = max_communities - min_communities + 1
    out = []
    for i in range(n_graphs):
        k = min_communities + i % n_classes
        n = int(rng.integers(min_nodes, max_nodes + 1))
        blocks = np.array_split(np.arange(n), k)
        g = nx.Graph(communities=k, label=k - min_communities)
        g.add_nodes_from(range(n))
        for b in blocks:
            g.add_edges_from(_er_edges(rng, b, p_intra))
        p_cross = 2 * p_inter / (n / k)
        for a in range(k):
            for b in range(a + 1, k):
                x, y = blocks[a], blocks[b]
                bridge = rng.random((len(x), len(y))) < p_cross
                if b == a + 1 and not bridge.any():
                    bridge[rng.integers(len(x)), rng.integers(len(y))] = True
                ii, jj = bridge.nonzero()
                g.add_edges_from(zip(x[ii].tolist(), y[jj].tolist()))
        out.append(g)
    return out


def split_graphs(graphs: list[nx.Graph], *, test_fraction: float = 0.2, val_fraction: float = 0.0) -> dict[str, list[nx.Graph]]:
    """test = first ``int(test_fraction * n)``; val = next ``int(val_fraction * (n - n_test))``; train = rest."""
    n_test = int(test_fraction * len(graphs))
    n_val = int(val_fraction * (len(graphs) - n_test))
    out = {"train": graphs[n_test + n_val:]}
    if val_fraction > 0:
        out["val"] = graphs[n_test:n_test + n_val]
    out["test"] = graphs[:n_test]
    return out


# name -> (generator, default n_graphs, default val_fraction, recipe text, citation)
_SPECS: dict[str, tuple[Callable[..., list[nx.Graph]], int, float, str, str]] = {
    "synthetic_grid": (grid_graphs, 100, 0.0, "2-D grid graphs m x n with m, n uniform in 10..19 (GraphRNN grid recipe).",
                       "You et al., GraphRNN, ICML 2018."),
    "synthetic_planar": (planar_graphs, 200, 0.2, "Delaunay triangulations of 64 uniform random points in the unit square (SPECTRE recipe); planar and connected.",
                         "Martinkus et al., SPECTRE, ICML 2022."),
    "synthetic_sbm": (sbm_graphs, 200, 0.2, "Stochastic block models: 2-5 communities of 20-40 nodes, p_intra 0.3, p_inter 0.005 (SPECTRE recipe).",
                      "Martinkus et al., SPECTRE, ICML 2022."),
    "synthetic_community": (community_graphs, 100, 0.0, "Two Erdos-Renyi communities (p 0.7) of n // 2 nodes, n in 12..20, sparse bridges, at least one (GraphRNN / GDSS community-small recipe).",
                            "You et al., GraphRNN, ICML 2018; Jo et al., GDSS, ICML 2022."),
    "synthetic_community_classes": (community_class_graphs, 800, 0.0, "Labelled community graphs: 2-5 Erdos-Renyi communities (p 0.7, graph attribute `communities`, class `label` = communities - 2, classes interleaved so splits are balanced) on 20-30 nodes whatever the class, sparse bridges, consecutive communities always bridged.",
                                    "graphdiff (community-small recipe of You et al., GraphRNN, ICML 2018, with k communities)."),
}


def _counts(n: int, val_fraction: float) -> dict[str, int]:
    n_test = int(0.2 * n)
    n_val = int(val_fraction * (n - n_test))
    d = {"train": n - n_test - n_val}
    if val_fraction > 0:
        d["val"] = n_val
    d["test"] = n_test
    return d


CARDS: dict[str, DatasetCard] = {
    name: DatasetCard(
        name=name,
        kind="graphs",
        description=f"{text} Generated by graphdiff.data.synthetic.{gen.__name__} from a seed (default counts shown for n_graphs={n}).",
        files=(),
        splits=_counts(n, vf),
        split_rule="test = first int(0.2 n) generated graphs" + (f", val = next int({vf} (n - n_test))" if vf else "") + ", train = rest.",
        citation=cite,
        licence="generated locally (no data licence)",
        options={"n_graphs": f"number of graphs (default {n})", "seed": "random seed (default 0)",
                 "test_fraction": "default 0.2", "val_fraction": f"default {vf}",
                 "**generator options": f"keyword arguments of {gen.__name__}"},
    )
    for name, (gen, n, vf, text, cite) in _SPECS.items()
}


def load(name: str, *, n_graphs: int | None = None, seed: int = 0, test_fraction: float = 0.2,
         val_fraction: float | None = None, **generator_options: float) -> GraphDataset:
    """Generate the synthetic dataset ``name`` (see :data:`CARDS`) deterministically from ``seed``."""
    if name not in _SPECS:
        raise unknown_name("synthetic dataset", name, list(_SPECS))
    gen, n_default, vf_default, _, _ = _SPECS[name]
    graphs = gen(n_default if n_graphs is None else n_graphs, seed=seed, **generator_options)
    vf = vf_default if val_fraction is None else val_fraction
    return GraphDataset(name, split_graphs(graphs, test_fraction=test_fraction, val_fraction=vf), CARDS[name])
