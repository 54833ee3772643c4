"""Shared loading code for the pickled graph benchmarks (GDSS and SPECTRE/ESGG files)."""

from __future__ import annotations

import os
import pickle
from typing import Any

import networkx as nx

from .dataset import GraphDataset
from .files import DataFile, read_verified
from .registry import DatasetCard

GDSS_COMMIT = "448acc3f67b358d1e61b15f53e2989b61d6fd0f2"
ESGG_COMMIT = "5f4c0c43b7dba233c1f224021c83c59718bd70c8"

GDSS_CITATION = "Jo, Lee, Hwang. Score-based Generative Modeling of Graphs via the System of Stochastic Differential Equations (GDSS), ICML 2022."
GRAPHRNN_CITATION = "You, Ying, Ren, Hamilton, Leskovec. GraphRNN: Generating Realistic Graphs with Deep Auto-regressive Models, ICML 2018."
SPECTRE_CITATION = "Martinkus, Loukas, Perraudin, Wattenhofer. SPECTRE: Spectral Conditioning Helps to Overcome the Expressivity Limits of One-shot Graph Generators, ICML 2022."
ESGG_CITATION = "Bergmeister, Martinkus, Perraudin, Wattenhofer. Efficient and Scalable Graph Generation through Iterative Local Expansion, ICLR 2024."

GDSS_SPLIT_RULE = "GDSS: test = the first int(0.2 * N) graphs of the stored list (no shuffle), train = the rest; no validation split."
ESGG_SPLIT_RULE = ("SPECTRE: the stored train/val/test lists (128/32/40), made by SPECTRE with "
                   "torch random_split(seed 1234); DiGress uses the same sizes with different membership.")


def gdss_file(name: str, sha256: str, size: int) -> DataFile:
    return DataFile(
        f"graphs/gdss/{name}.pkl", sha256, size,
        url=f"https://raw.githubusercontent.com/harryjo97/GDSS/{GDSS_COMMIT}/data/{name}.pkl",
        origin=f"GitHub harryjo97/GDSS, data/{name}.pkl, commit {GDSS_COMMIT} (verbatim)",
    )


def esgg_file(name: str, sha256: str, size: int) -> DataFile:
    return DataFile(
        f"graphs/esgg/{name}.pkl", sha256, size,
        url=f"https://raw.githubusercontent.com/AndreasBergmeister/graph-generation/{ESGG_COMMIT}/data/{name}.pkl",
        origin=f"GitHub AndreasBergmeister/graph-generation, data/{name}.pkl, commit {ESGG_COMMIT}",
    )


def load_verified_pickle(f: DataFile, root: str | os.PathLike | None, download: bool) -> Any:
    """Unpickle ``f`` only after its sha256 matched the card (unpickling runs code): the bytes are
    read once, hashed on every load and only those bytes are unpickled (:func:`read_verified`)."""
    return pickle.loads(read_verified(f, root, download=download))  # noqa: S301 - content verified above


def clean_graph(g: nx.Graph, node_attributes: bool = False) -> nx.Graph:
    """A mutable ``nx.Graph`` with nodes ``0..n-1`` (in stored order) and no graph/edge attributes;
    node attributes are kept only when ``node_attributes`` (numpy scalars become Python ints/floats)."""
    h = nx.Graph()
    nodes = list(g.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    for v in nodes:
        if node_attributes:
            h.add_node(index[v], **{k: (x.item() if hasattr(x, "item") else x) for k, x in g.nodes[v].items()})
        else:
            h.add_node(index[v])
    h.add_edges_from((index[u], index[v]) for u, v in g.edges())
    return h


def gdss_split(graphs: list[nx.Graph]) -> dict[str, list[nx.Graph]]:
    """GDSS's split: test = first ``int(0.2 * N)``, train = rest."""
    k = int(0.2 * len(graphs))
    return {"train": graphs[k:], "test": graphs[:k]}


def load_gdss(card: DatasetCard, root: str | os.PathLike | None, download: bool, node_attributes: bool = False) -> GraphDataset:
    graphs = [clean_graph(g, node_attributes) for g in load_verified_pickle(card.files[0], root, download)]
    return GraphDataset(card.name, gdss_split(graphs), card)


def load_esgg(card: DatasetCard, root: str | os.PathLike | None, download: bool) -> GraphDataset:
    d = load_verified_pickle(card.files[0], root, download)
    return GraphDataset(card.name, {k: [clean_graph(g) for g in d[k]] for k in ("train", "val", "test")}, card)
