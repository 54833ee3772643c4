"""NSPDK features and the NSPDK MMD used by GDSS for molecules.

The Neighbourhood Subgraph Pairwise Distance Kernel (Costa & De Grave, ICML 2010) as implemented
by EDeN's ``Vectorizer`` (``eden/graph.py``), which GDSS calls as
``vectorize(graphs, complexity=4, discrete=True)`` followed by a linear kernel
(``evaluation/mmd.py: compute_nspdk_mmd``). This module re-implements that vectoriser step by step
so that, given the same hash of the node/edge labels, it yields EDeN's feature vectors exactly:

1. edges become vertices (the *expanded* graph): an edge ``(u, v)`` of the input becomes a vertex
   ``w`` joined to ``u`` and ``v`` and carrying the edge label;
2. every vertex gets ``hlabel = (hash(label) & bitmask) + 1`` with ``bitmask = 2**nbits - 1``;
3. for every original vertex ``v`` a breadth-first visit up to depth ``2 * max(r, d)`` gives the
   vertex sets at each distance; the rooted neighbourhood hash at radius ``rho`` hashes the sorted
   ``(hlabel, degree)`` hashes of the sets at distances ``0..rho`` (a running hash);
4. for each pair of original vertices ``(v, u)`` at expanded distance ``2 delta`` (``delta <= d``)
   and each radius ``2 rho`` (``rho <= r``) two features are counted: the pair
   ``hash(sorted(h_v, h_u), 2 rho, 2 delta)`` and the "half" feature ``hash(h_u, 2 rho, 2 delta)``;
5. each ``(rho, delta)`` block is scaled to unit norm (a later block *overwrites* an earlier one on
   a colliding feature id, as in EDeN), then the whole vector is scaled to unit norm.

Feature ids live in ``[1, 2**nbits]``; vectors have ``2**nbits + 1`` columns, as in EDeN.

Only the label hash differs from EDeN. EDeN hashes string labels with Python's ``hash``, which is
salted per process (``PYTHONHASHSEED``), so GDSS's NSPDK values change by about 1-2% from run to
run through different hash collisions. Here string labels are hashed with BLAKE2b (64 bits), so
results are identical in every process; all other hashes are Python's hashes of integers and
tuples of integers, which are not salted. Pass ``label_hash=hash`` to reproduce EDeN bit for bit
under a given ``PYTHONHASHSEED`` (see ``tests/metrics/test_nspdk.py``).

Molecules become graphs as in GDSS ``utils/mol_utils.py: mols_to_nx``: node label = atom symbol,
edge label = ``int(bond.GetBondTypeAsDouble())`` (aromatic 1.5 -> 1).
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable, Sequence

import numpy as np

__all__ = [
    "LabeledGraph",
    "stable_label_hash",
    "mol_to_graph",
    "nx_to_graph",
    "as_labeled_graphs",
    "nspdk_features",
    "nspdk_mean_embedding",
    "nspdk_mmd",
    "nspdk_mmd_pairwise",
]

_M32 = 0xFFFFFFFF  # EDeN's default bitmask for neighbourhood hashes (eden/__init__.py: _bitmask_)


@dataclass(frozen=True)
class LabeledGraph:
    """A small undirected labelled graph in the layout the NSPDK vectoriser walks.

    Attributes:
        node_labels: one label per node (node ``i`` is the i-th entry).
        edges: ``(u, v, label)`` triples in the order networkx's ``Graph.edges()`` would list them
            (this order fixes the ids of the edge vertices, which only matters for EDeN's
            tie-breaking when hash collisions occur).
    """

    node_labels: tuple[Hashable, ...]
    edges: tuple[tuple[int, int, Hashable], ...]

    @property
    def num_nodes(self) -> int:
        return len(self.node_labels)


def stable_label_hash(label: Hashable) -> int:
    """A process-independent 64-bit signed hash of a node/edge label.

    Strings and bytes use BLAKE2b; integers, floats and booleans use Python's ``hash`` (which is
    not salted for numbers); tuples hash their elements' stable hashes."""
    if isinstance(label, str):
        label = label.encode("utf-8")
    if isinstance(label, (bytes, bytearray)):
        return int.from_bytes(hashlib.blake2b(bytes(label), digest_size=8).digest(), "little", signed=True)
    if isinstance(label, (int, float)) or label is None:
        return hash(label) if label is not None else 0
    if isinstance(label, tuple):
        return hash(tuple(stable_label_hash(x) for x in label))
    raise TypeError(f"cannot hash NSPDK label of type {type(label).__name__}; use str, int, float or tuples")


def _graph_from_adjacency(labels: Sequence[Hashable], adj_order: list[list[tuple[int, Hashable]]]) -> LabeledGraph:
    """Build a :class:`LabeledGraph` listing edges in networkx ``Graph.edges()`` order.

    ``adj_order[u]`` lists ``(v, label)`` in the order edges touching ``u`` were inserted."""
    seen: set[int] = set()
    edges: list[tuple[int, int, Hashable]] = []
    for u, nbrs in enumerate(adj_order):
        for v, lab in nbrs:
            if v not in seen and v != u:
                edges.append((u, v, lab))
        seen.add(u)
    return LabeledGraph(tuple(labels), tuple(edges))


def mol_to_graph(mol: Any) -> LabeledGraph:
    """RDKit ``Mol`` -> graph with atom symbols on nodes and ``int(bond order)`` on edges
    (GDSS ``mols_to_nx``; an aromatic bond, 1.5, becomes 1)."""
    labels = [atom.GetSymbol() for atom in mol.GetAtoms()]
    adj: list[list[tuple[int, Hashable]]] = [[] for _ in labels]
    for bond in mol.GetBonds():
        i, j = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
        lab = int(bond.GetBondTypeAsDouble())
        if j not in (v for v, _ in adj[i]):
            adj[i].append((j, lab))
            adj[j].append((i, lab))
    return _graph_from_adjacency(labels, adj)


def nx_to_graph(graph: Any, *, node_label: str = "label", edge_label: str = "label") -> LabeledGraph:
    """networkx graph with ``label`` attributes -> :class:`LabeledGraph` (nodes renumbered
    ``0..n-1`` in ``graph.nodes`` order; a missing edge label is ``None``)."""
    nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    try:
        labels = [graph.nodes[n][node_label] for n in nodes]
    except KeyError as exc:
        raise ValueError(f"every node needs a {node_label!r} attribute for NSPDK") from exc
    adj: list[list[tuple[int, Hashable]]] = [[] for _ in nodes]
    for n in nodes:
        i = index[n]
        for m, data in graph.adj[n].items():
            adj[i].append((index[m], data.get(edge_label)))
    return _graph_from_adjacency(labels, adj)


def as_labeled_graphs(items: Iterable[Any]) -> list[LabeledGraph]:
    """Convert RDKit Mols, SMILES strings (parsed with ``Chem.MolFromSmiles``), networkx graphs
    or :class:`LabeledGraph` objects to :class:`LabeledGraph` (invalid SMILES raise ``ValueError``)."""
    out: list[LabeledGraph] = []
    for item in items:
        if isinstance(item, LabeledGraph):
            out.append(item)
        elif isinstance(item, str):
            from .._optional import require

            Chem = require("rdkit.Chem")
            mol = Chem.MolFromSmiles(item)
            if mol is None:
                raise ValueError(f"invalid SMILES for NSPDK: {item!r}")
            out.append(mol_to_graph(mol))
        elif hasattr(item, "GetAtoms"):
            out.append(mol_to_graph(item))
        elif hasattr(item, "nodes") and hasattr(item, "adj"):
            out.append(nx_to_graph(item))
        else:
            raise TypeError(f"cannot build an NSPDK graph from {type(item).__name__}")
    return out


def _vectorize_one(
    g: LabeledGraph,
    *,
    r: int,
    d: int,
    bitmask: int,
    label_hash: Callable[[Hashable], int],
    normalization: bool,
    inner_normalization: bool,
) -> dict[int, float]:
    """EDeN ``Vectorizer._transform`` (discrete, unweighted) for one graph -> {feature id: value}."""
    n = g.num_nodes
    if n == 0:
        raise ValueError("NSPDK is undefined for a graph with no nodes")
    # expanded graph: vertices 0..n-1 are the nodes, n.. are the edges (eden: _edge_to_vertex_transform)
    labels: list[Hashable] = list(g.node_labels)
    adj: list[list[int]] = [[] for _ in range(n)]
    for u, v, lab in g.edges:
        w = len(labels)
        labels.append(lab)
        adj.append([u, v])
        adj[u].append(w)
        adj[v].append(w)
    # vertex hash of (hlabel, degree) (eden: _label_preprocessing + fast_hash_2)
    vh = [(hash((((label_hash(lab) & bitmask) + 1), len(a))) & _M32) + 1 for lab, a in zip(labels, adj)]
    max_depth = 2 * max(r, d)
    dist_lists: list[dict[int, set[int]]] = []
    neigh_hash: list[list[int]] = []
    for root in range(n):
        # breadth-first visit up to max_depth (eden: _single_vertex_breadth_first_visit)
        dist = {root: 0}
        dl: dict[int, set[int]] = {0: {root}}
        q = deque([root])
        while q:
            x = q.popleft()
            dx = dist[x] + 1
            if dx <= max_depth:
                for y in adj[x]:
                    if y not in dist:
                        dist[y] = dx
                        q.append(y)
                        if dx in dl:
                            dl[dx].add(y)
                        else:
                            dl[dx] = {y}
        dist_lists.append(dl)
        # rooted neighbourhood hashes at growing radius (eden: _compute_neighborhood_graph_hash)
        running = 0xAAAAAAAA
        hashes: list[int] = []
        for i, level in enumerate(dl.values()):
            h = (hash(tuple(sorted(vh[y] for y in level))) & _M32) + 1
            running ^= hash((running, h, i))
            hashes.append((running & _M32) + 1)
        neigh_hash.append(hashes)
    # pair features (eden: _transform_vertex, _transform_vertex_pair_valid). EDeN tests
    # radius < len(hashes) for both roots; slicing the even radii and zipping does the same.
    even = [h[0 : 2 * r + 1 : 2] for h in neigh_hash]
    n_r = r + 1
    slots: list[dict[int, float] | None] = [None] * (n_r * (d + 1))
    blocks: list[dict[int, float]] = []  # in order of first use, as EDeN's defaultdict
    for v in range(n):
        dl = dist_lists[v]
        ev = even[v]
        for di in range(d + 1):
            distance = 2 * di
            level = dl.get(distance)
            if level is None:
                continue
            for u in level:
                if u >= n:
                    continue
                for ri, (a, b) in enumerate(zip(ev, even[u])):
                    radius = 2 * ri
                    feature = (hash((a, b, radius, distance) if a < b else (b, a, radius, distance)) & bitmask) + 1
                    half = (hash((b, radius, distance)) & bitmask) + 1
                    block = slots[di * n_r + ri]
                    if block is None:
                        block = slots[di * n_r + ri] = {}
                        blocks.append(block)
                    block[feature] = block.get(feature, 0.0) + 1.0
                    block[half] = block.get(half, 0.0) + 1.0
    # normalisation (eden: _normalization): later blocks overwrite colliding ids, as in EDeN
    vec: dict[int, float] = {}
    for block in blocks:
        if inner_normalization:
            norm = math.sqrt(sum(c * c for c in block.values()))
            vec.update({f: c / norm for f, c in block.items()})
        else:
            vec.update(block)
    if normalization and vec:
        total = math.sqrt(sum(x * x for x in vec.values()))
        vec = {f: x / total for f, x in vec.items()}
    return vec


def _vectorize_chunk(args: tuple[list[LabeledGraph], dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    graphs, kw = args
    indptr = [0]
    idx: list[int] = []
    val: list[float] = []
    for g in graphs:
        vec = _vectorize_one(g, **kw)
        idx.extend(vec.keys())
        val.extend(vec.values())
        indptr.append(len(idx))
    return np.asarray(indptr, dtype=np.int64), np.asarray(idx, dtype=np.int64), np.asarray(val, dtype=np.float64)


def _vectorize(
    graphs: Sequence[LabeledGraph],
    *,
    complexity: int,
    nbits: int,
    label_hash: Callable[[Hashable], int] | None,
    normalization: bool,
    inner_normalization: bool,
    n_jobs: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR pieces ``(indptr, indices, data)`` of the ``(n_graphs, 2**nbits + 1)`` feature matrix."""
    if complexity < 0 or nbits < 1:
        raise ValueError(f"complexity must be >= 0 and nbits >= 1, got {complexity}, {nbits}")
    kw = dict(
        r=complexity,
        d=complexity,
        bitmask=(1 << nbits) - 1,
        label_hash=label_hash or stable_label_hash,
        normalization=normalization,
        inner_normalization=inner_normalization,
    )
    if n_jobs <= 1 or len(graphs) < 2000 or label_hash not in (None, stable_label_hash):
        return _vectorize_chunk((list(graphs), kw))
    from concurrent.futures import ProcessPoolExecutor

    size = math.ceil(len(graphs) / n_jobs)
    chunks = [(list(graphs[i : i + size]), kw) for i in range(0, len(graphs), size)]
    with ProcessPoolExecutor(max_workers=n_jobs) as ex:
        parts = list(ex.map(_vectorize_chunk, chunks))
    offsets = np.cumsum([0] + [p[2].size for p in parts[:-1]])
    indptr = np.concatenate([parts[0][0]] + [p[0][1:] + o for p, o in zip(parts[1:], offsets[1:])])
    return indptr, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])


def nspdk_features(
    graphs: Iterable[Any],
    *,
    complexity: int = 4,
    nbits: int = 16,
    label_hash: Callable[[Hashable], int] | None = None,
    normalization: bool = True,
    inner_normalization: bool = True,
    n_jobs: int = 1,
) -> Any:
    """NSPDK feature matrix, a ``scipy.sparse.csr_matrix`` of shape ``(n_graphs, 2**nbits + 1)``.

    Defaults are EDeN's ``vectorize(graphs, complexity=4, discrete=True)`` as GDSS calls it
    (``r = d = complexity``, ``nbits = 16``, inner and global normalisation). ``graphs``: RDKit
    Mols, SMILES, networkx graphs with ``label`` attributes, or :class:`LabeledGraph`.
    ``label_hash`` defaults to :func:`stable_label_hash`; ``hash`` reproduces EDeN."""
    from scipy.sparse import csr_matrix

    gs = as_labeled_graphs(graphs)
    indptr, idx, val = _vectorize(
        gs, complexity=complexity, nbits=nbits, label_hash=label_hash,
        normalization=normalization, inner_normalization=inner_normalization, n_jobs=n_jobs,
    )
    return csr_matrix((val, idx, indptr), shape=(len(gs), (1 << nbits) + 1))


def nspdk_mean_embedding(
    graphs: Iterable[Any],
    *,
    complexity: int = 4,
    nbits: int = 16,
    label_hash: Callable[[Hashable], int] | None = None,
    n_jobs: int = 1,
) -> tuple[np.ndarray, int]:
    """Mean NSPDK feature vector ``(2**nbits + 1,)`` float64 of ``graphs`` and their number."""
    gs = as_labeled_graphs(graphs)
    if not gs:
        raise ValueError("NSPDK needs at least one graph")
    indptr, idx, val = _vectorize(
        gs, complexity=complexity, nbits=nbits, label_hash=label_hash,
        normalization=True, inner_normalization=True, n_jobs=n_jobs,
    )
    mean = np.bincount(idx, weights=val, minlength=(1 << nbits) + 1) / len(gs)
    return mean, len(gs)


def nspdk_mmd(
    generated: Iterable[Any] | np.ndarray,
    reference: Iterable[Any] | np.ndarray,
    *,
    complexity: int = 4,
    nbits: int = 16,
    label_hash: Callable[[Hashable], int] | None = None,
    n_jobs: int = 1,
) -> float:
    """Biased MMD^2 with the linear NSPDK kernel (GDSS ``compute_nspdk_mmd``).

    With a linear kernel ``mean(K_XX) + mean(K_YY) - 2 mean(K_XY) = ||mu_X - mu_Y||^2`` exactly,
    where ``mu`` are the mean feature vectors, so only the means are computed. Either argument
    may be a precomputed mean vector (``nspdk_mean_embedding(...)[0]``)."""
    kw = dict(complexity=complexity, nbits=nbits, label_hash=label_hash, n_jobs=n_jobs)
    mx = generated if isinstance(generated, np.ndarray) else nspdk_mean_embedding(generated, **kw)[0]
    my = reference if isinstance(reference, np.ndarray) else nspdk_mean_embedding(reference, **kw)[0]
    if mx.shape != my.shape:
        raise ValueError(f"mean embeddings differ in size: {mx.shape} vs {my.shape}")
    diff = mx - my
    return float(diff @ diff)


def nspdk_mmd_pairwise(generated: Iterable[Any], reference: Iterable[Any], **kwargs: Any) -> float:
    """The same MMD^2 computed as GDSS writes it, from the three kernel matrices
    ``np.average(XX^T) + np.average(YY^T) - 2 np.average(XY^T)`` (quadratic cost; for tests)."""
    X = nspdk_features(generated, **kwargs)
    Y = nspdk_features(reference, **kwargs)
    return float((X @ X.T).mean() + (Y @ Y.T).mean() - 2 * (X @ Y.T).mean())
