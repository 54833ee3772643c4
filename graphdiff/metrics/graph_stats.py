"""Per-graph statistics of the GraphRNN / GDSS / SPECTRE evaluation, computed from the binary
adjacency matrix with numpy and bit-identical to the networkx-based reference code.

Each function takes one ``networkx.Graph`` (node order = ``G.nodes()``; edge weights ignored,
i.e. every edge counts 1, which is what the references see for 0/1 adjacency graphs):

- :func:`degree_histogram`: counts of degree ``0..max`` (= ``nx.degree_histogram``).
- :func:`clustering_histogram`: histogram of ``nx.clustering`` values, ``bins`` bins on [0, 1],
  counts (``np.histogram(..., range=(0, 1), density=False)``). Local clustering is computed as
  ``diag(A^3)_i / (d_i (d_i - 1))`` (0 when there is no triangle), exactly networkx's formula.
- :func:`spectral_histogram`: eigenvalues of the normalised Laplacian
  ``I - D^{-1/2} A D^{-1/2}`` (isolated nodes: zero row, as networkx), ``scipy.linalg.eigvalsh``,
  histogram of 200 bins on (-1e-5, 2) divided by its sum (a pmf).
- :func:`orbit_counts` / :func:`mean_orbit_counts`: ORCA (Hocevar & Demsar 2014) counts of the
  15 node orbits of graphlets with up to 4 nodes, per node ``(n, 15)``; the graph statistic is the
  sum over nodes divided by the number of nodes ``(15,)`` (GDSS ``orbit_stats_all``). ORCA (the
  ``orbit_count`` package) rejects graphs without edges; their counts are all zero by definition
  (every orbit, including orbit 0 = degree, needs an edge), so we return zeros without calling it.

Graphs with self-loops raise :class:`~graphdiff.errors.InvalidGraphError` (ORCA cannot count them
and networkx would count a loop twice in the degree). Graphs with zero nodes have no statistic:
callers (``graphdiff.metrics.graph``) count and handle them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Iterable, Iterator, Sequence

import networkx as nx
import numpy as np

from .._optional import require
from ..errors import InvalidGraphError, unknown_name

__all__ = [
    "STATISTICS",
    "N_ORBITS",
    "adjacency",
    "degree_histogram",
    "clustering_histogram",
    "spectral_histogram",
    "normalized_laplacian",
    "orbit_counts",
    "mean_orbit_counts",
    "compute_statistics",
    "single_threaded_blas",
]

STATISTICS = ("degree", "clustering", "orbit", "spectral")
N_ORBITS = 15  # node orbits of the graphlets on 2, 3 and 4 nodes


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit BLAS/LAPACK to one thread while computing many small eigen-decompositions (threaded
    BLAS is 10-60x slower on matrices of ~100 nodes on a busy machine). Uses ``threadpoolctl``
    when installed (it comes with scikit-learn); otherwise does nothing."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is optional
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def adjacency(G: nx.Graph) -> np.ndarray:
    """Binary symmetric adjacency ``(n, n)`` float64 in ``G.nodes()`` order (weights ignored)."""
    n = G.number_of_nodes()
    index = {v: i for i, v in enumerate(G.nodes())}
    A = np.zeros((n, n), dtype=np.float64)
    for u, v in G.edges():
        if u == v:
            raise InvalidGraphError(f"self-loop at node {u!r}: graph statistics need simple graphs")
        i, j = index[u], index[v]
        A[i, j] = A[j, i] = 1.0
    return A


def _check_adj(A: np.ndarray) -> np.ndarray:
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise InvalidGraphError(f"adjacency must be square (n, n), got {A.shape}")
    return A


def degree_histogram(G: nx.Graph | np.ndarray) -> np.ndarray:
    """``(max_degree + 1,)`` int counts of each degree (``nx.degree_histogram``); ``(0,)`` for the
    null graph."""
    A = _check_adj(G) if isinstance(G, np.ndarray) else adjacency(G)
    if A.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return np.bincount(A.sum(axis=1).astype(np.int64))


def local_clustering(A: np.ndarray) -> np.ndarray:
    """``(n,)`` local clustering coefficients ``2 T_i / (d_i (d_i - 1))`` (networkx's formula)."""
    A = _check_adj(A)
    d = A.sum(axis=1)
    t = ((A @ A) * A).sum(axis=1)  # = diag(A^3) = 2 * triangles at i (exact in float64)
    out = np.zeros_like(d)
    nz = t > 0
    out[nz] = t[nz] / (d[nz] * (d[nz] - 1))
    return out


def clustering_histogram(G: nx.Graph | np.ndarray, bins: int = 100) -> np.ndarray:
    """``(bins,)`` int counts of local clustering coefficients on [0, 1] (GDSS ``clustering_worker``)."""
    A = _check_adj(G) if isinstance(G, np.ndarray) else adjacency(G)
    hist, _ = np.histogram(local_clustering(A), bins=bins, range=(0.0, 1.0), density=False)
    return hist


def normalized_laplacian(A: np.ndarray) -> np.ndarray:
    """``(n, n)`` normalised Laplacian with networkx's operation order
    (``DH @ ((D - A) @ DH)``, ``DH = diag(d^{-1/2})``, zero for isolated nodes)."""
    A = _check_adj(A)
    d = A.sum(axis=1)
    with np.errstate(divide="ignore"):
        dh = 1.0 / np.sqrt(d)
    dh[np.isinf(dh)] = 0.0
    L = np.diag(d) - A
    return dh[:, None] * (L * dh[None, :])


def spectral_histogram(G: nx.Graph | np.ndarray, bins: int = 200) -> np.ndarray:
    """``(bins,)`` pmf of the normalised-Laplacian eigenvalues on (-1e-5, 2) (GDSS
    ``spectral_worker``). Eigenvalues outside the range (e.g. ``2 + 4e-16`` from rounding on a
    bipartite graph) are not counted, exactly as in the reference."""
    from scipy.linalg import eigvalsh

    A = _check_adj(G) if isinstance(G, np.ndarray) else adjacency(G)
    eigs = eigvalsh(normalized_laplacian(A)) if A.shape[0] else np.zeros(0)
    hist, _ = np.histogram(eigs, bins=bins, range=(-1e-5, 2), density=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hist / hist.sum()


def _edge_array(A: np.ndarray) -> np.ndarray:
    i, j = np.nonzero(np.triu(A, k=1))
    return np.stack([i, j], axis=1).astype(int)


def orbit_counts(G: nx.Graph | np.ndarray) -> np.ndarray:
    """``(n, 15)`` int ORCA node-orbit counts for graphlets of 2-4 nodes (zeros if no edges)."""
    A = _check_adj(G) if isinstance(G, np.ndarray) else adjacency(G)
    return _orbit_counts_many([A])[0]


def _orbit_counts_many(adjs: Sequence[np.ndarray]) -> list[np.ndarray]:
    out: list[np.ndarray | None] = [None] * len(adjs)
    todo, edges, sizes = [], [], []
    for k, A in enumerate(adjs):
        e = _edge_array(A)
        if e.shape[0] == 0:
            out[k] = np.zeros((A.shape[0], N_ORBITS), dtype=np.int64)
        else:
            todo.append(k)
            edges.append(e)
            sizes.append(A.shape[0])
    if todo:
        orca = require("orbit_count")._orca
        counts = orca.batched_motif_counts("node", 4, np.asarray(sizes, dtype=int), edges)
        for k, c in zip(todo, counts):
            out[k] = np.asarray(c, dtype=np.int64)
    return out  # type: ignore[return-value]


def mean_orbit_counts(G: nx.Graph | np.ndarray) -> np.ndarray:
    """``(15,)`` float orbit counts summed over nodes / number of nodes (GDSS ``orbit_stats_all``)."""
    c = orbit_counts(G)
    return c.sum(axis=0) / c.shape[0]


def _stats_worker(args: tuple[list[np.ndarray], tuple[str, ...], int, int]) -> dict[str, list[np.ndarray]]:
    adjs, stats, clustering_bins, spectral_bins = args
    with single_threaded_blas():
        return _stats_loop(adjs, stats, clustering_bins, spectral_bins)


def _stats_loop(
    adjs: list[np.ndarray], stats: tuple[str, ...], clustering_bins: int, spectral_bins: int
) -> dict[str, list[np.ndarray]]:
    res: dict[str, list[np.ndarray]] = {}
    for s in stats:
        if s == "degree":
            res[s] = [degree_histogram(A) for A in adjs]
        elif s == "clustering":
            res[s] = [clustering_histogram(A, clustering_bins) for A in adjs]
        elif s == "spectral":
            res[s] = [spectral_histogram(A, spectral_bins) for A in adjs]
        elif s == "orbit":
            res[s] = [c.sum(axis=0) / max(c.shape[0], 1) for c in _orbit_counts_many(adjs)]
        else:
            raise unknown_name("graph statistic", s, STATISTICS)
    return res


def compute_statistics(
    graphs: Iterable[nx.Graph | np.ndarray],
    stats: Sequence[str] = STATISTICS,
    clustering_bins: int = 100,
    spectral_bins: int = 200,
    n_jobs: int = 1,
    min_graphs_per_job: int = 64,
) -> dict[str, list[np.ndarray]]:
    """Statistics of every graph: ``{stat: [array per graph]}`` for ``stat`` in ``stats``.

    ``n_jobs > 1`` splits the graphs over that many processes (only when there are at least
    ``min_graphs_per_job`` graphs per process; below that, process start-up costs more than it
    saves; workers are spawned, which costs about a second). ``n_jobs=-1`` uses
    ``os.cpu_count()``. The results do not depend on ``n_jobs``.
    """
    for s in stats:
        if s not in STATISTICS:
            raise unknown_name("graph statistic", s, STATISTICS)
    adjs = [_check_adj(g) if isinstance(g, np.ndarray) else adjacency(g) for g in graphs]
    stats = tuple(stats)
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    n_jobs = max(1, min(n_jobs, len(adjs) // max(1, min_graphs_per_job)))
    if n_jobs == 1:
        return _stats_worker((adjs, stats, clustering_bins, spectral_bins))
    chunks = np.array_split(np.arange(len(adjs)), n_jobs)
    jobs = [([adjs[i] for i in c], stats, clustering_bins, spectral_bins) for c in chunks]
    out: dict[str, list[np.ndarray]] = {s: [] for s in stats}
    # "spawn": forking a process that already runs BLAS / torch threads can deadlock the children
    with ProcessPoolExecutor(max_workers=n_jobs, mp_context=multiprocessing.get_context("spawn")) as ex:
        for part in ex.map(_stats_worker, jobs):
            for s in stats:
                out[s].extend(part[s])
    return out
