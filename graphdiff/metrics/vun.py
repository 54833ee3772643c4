# Over 450 lines on purpose: SPECTRE's validity rules (planar, tree, SBM with both block-model fits) and V.U.N. counting are one protocol.
"""Validity, uniqueness, novelty and V.U.N. of generated graphs (SPECTRE / DiGress protocol).

Validity (SPECTRE ``spectre_utils.py``):

- ``"planar"``: connected and planar (``nx.is_connected`` and ``nx.check_planarity``).
- ``"tree"``: ``nx.is_tree``.
- ``"sbm"``: a stochastic block model is fitted to the graph, then SPECTRE's ``is_sbm_graph``
  statistic is applied unchanged to the fitted blocks: with ``n_r`` nodes per block and ``e``
  the block edge-count matrix counted as in graph-tool on the doubly-listed edge list (``e_rr``
  = twice the edges inside block r, ``e_rs`` = edges between r and s),
  ``p_intra_r = e_rr / (n_r (n_r - 1) + 1e-6)``, ``p_inter_rs = e_rs / (n_r n_s + 1e-6)``,
  ``W = (p_hat - p)^2 / (p_hat (1 - p_hat) + 1e-6)`` against ``p_intra = 0.3`` on the diagonal and
  ``p_inter = 0.005`` off it, and the score is the mean over all ``B x B`` entries of
  ``1 - chi2.cdf(|W|, df=1)``. With ``strict=True`` a graph is valid iff ``2 <= B <= 5``, every
  block has 20 to 40 nodes, and the score is > 0.9.

  **Block inference.** SPECTRE uses graph-tool's ``minimize_blockmodel_dl`` (degree-corrected
  SBM, minimum description length, merge-split MCMC refinement). :func:`vun_metrics` does too when
  graph-tool can be run (:mod:`graphdiff.metrics.sbm_graphtool`: in-process, or Debian's
  ``python3-graph-tool`` through the system Python), and says so in its card. graph-tool is not
  a pip package; without it, and in :func:`is_sbm_graph` by default, :func:`fit_sbm` is our own: for each
  ``B = 1..max_blocks`` a spectral partition (top-B eigenvectors of ``D^-1/2 A D^-1/2``, rows
  normalised, k-means with k-means++ restarts) refined by greedy single-node moves, scored by the
  exact integrated complete-data likelihood of a *non*-degree-corrected Bernoulli SBM with uniform
  Beta(1, 1) edge priors and a Dirichlet(1) prior on block proportions (Come & Latouche 2015);
  the ``B`` with the highest score wins. For the benchmark's well-separated blocks (0.3 vs 0.005)
  both procedures recover the planted partition; they can differ on ambiguous graphs.

Uniqueness and novelty use exact isomorphism: graphs are bucketed by
``nx.weisfeiler_lehman_graph_hash`` (isomorphic graphs always share a hash) and compared with
``nx.is_isomorphic`` inside a bucket only. Definitions follow SPECTRE's
``eval_fraction_unique_non_isomorphic_valid``: a generated graph is *unique* if it is not
isomorphic to an earlier generated graph; *novel* if it is not isomorphic to any training graph;
V.U.N. = fraction of all generated graphs that are unique, novel and valid.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import networkx as nx
import numpy as np

from ..errors import unknown_name
from ..registry import Registry
from .cards import CardTable, MetricCard, cards_to_markdown
from .graph_stats import adjacency, single_threaded_blas

__all__ = [
    "VALIDITY",
    "is_planar_graph",
    "is_tree_graph",
    "SBMFit",
    "fit_sbm",
    "sbm_wald_score",
    "is_sbm_graph",
    "SBM_BACKENDS",
    "resolve_sbm_backend",
    "sbm_block_counts",
    "IsomorphismIndex",
    "VUNResult",
    "vun_metrics",
]


# ----------------------------------------------------------------------------- simple validity
def is_planar_graph(G: nx.Graph) -> bool:
    """Connected and planar (SPECTRE ``is_planar_graph``); the null graph is invalid."""
    if G.number_of_nodes() == 0:
        return False
    return nx.is_connected(G) and nx.check_planarity(G)[0]


def is_tree_graph(G: nx.Graph) -> bool:
    """``nx.is_tree`` (connected, ``n - 1`` edges); the null graph is invalid."""
    if G.number_of_nodes() == 0:
        return False
    return nx.is_tree(G)


# ----------------------------------------------------------------------------- SBM fit
@dataclass(frozen=True)
class SBMFit:
    """A fitted block model: ``blocks (n,)`` labels ``0..B-1`` (contiguous), ``node_counts (B,)``,
    ``edge_counts (B, B)`` with graph-tool's convention (diagonal = 2 x intra-block edges), and
    the log integrated complete-data likelihood ``score`` of the chosen partition."""

    blocks: np.ndarray
    node_counts: np.ndarray
    edge_counts: np.ndarray
    score: float

    @property
    def n_blocks(self) -> int:
        return int(self.node_counts.shape[0])


def _block_counts(A: np.ndarray, z: np.ndarray, B: int) -> tuple[np.ndarray, np.ndarray]:
    Z = np.zeros((A.shape[0], B))
    Z[np.arange(A.shape[0]), z] = 1.0
    return Z.sum(0), Z.T @ A @ Z  # node counts (B,), M (B, B): M_rr = 2 m_rr, M_rs = m_rs


_TRIU: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _triu(B: int) -> tuple[np.ndarray, np.ndarray]:
    if B not in _TRIU:
        _TRIU[B] = np.triu_indices(B)
    return _TRIU[B]


def _icl_terms(nc: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Log ICL of partitions given node counts ``nc (..., B)`` and block matrices ``M (..., B, B)``
    (``M_rr`` = 2 x intra edges): Beta(1,1)-Bernoulli marginal likelihood of every block pair
    plus Dirichlet(1)-multinomial of the labels."""
    from scipy.special import betaln, gammaln

    B = nc.shape[-1]
    iu = _triu(B)
    pairs = nc[..., :, None] * nc[..., None, :]
    diag = np.arange(B)
    pairs[..., diag, diag] = nc * (nc - 1) / 2.0
    edges = M.copy()
    edges[..., diag, diag] = M[..., diag, diag] / 2.0
    e = edges[..., iu[0], iu[1]]
    N = pairs[..., iu[0], iu[1]]
    lik = betaln(e + 1.0, N - e + 1.0).sum(-1)
    n = nc.sum(-1)
    prior = gammaln(B) - gammaln(n + B) + gammaln(nc + 1.0).sum(-1)
    return lik + prior


def _kmeans(X: np.ndarray, k: int, rng: np.random.Generator, n_init: int = 5, iters: int = 30) -> np.ndarray:
    best, best_inertia = None, np.inf
    n = X.shape[0]
    for _ in range(n_init):
        centers = [X[rng.integers(n)]]
        for _ in range(1, k):  # k-means++ seeding
            d2 = np.min(((X[:, None, :] - np.asarray(centers)[None]) ** 2).sum(-1), axis=1)
            p = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1.0 / n)
            centers.append(X[rng.choice(n, p=p)])
        C = np.asarray(centers)
        for _ in range(iters):
            lab = ((X[:, None, :] - C[None]) ** 2).sum(-1).argmin(1)
            newC = np.array([X[lab == j].mean(0) if np.any(lab == j) else C[j] for j in range(k)])
            if np.allclose(newC, C):
                break
            C = newC
        inertia = ((X - C[lab]) ** 2).sum()
        if inertia < best_inertia:
            best, best_inertia = lab, inertia
    return best  # type: ignore[return-value]


def _refine(A: np.ndarray, z: np.ndarray, B: int, max_sweeps: int = 20) -> np.ndarray:
    """Greedy single-node moves that increase the ICL, until no move helps."""
    z = z.copy()
    n = A.shape[0]
    nc, M = _block_counts(A, z, B)
    eye = np.eye(B)
    for _ in range(max_sweeps):
        moved = False
        for v in range(n):
            a = z[v]
            k = np.bincount(z, weights=A[v], minlength=B)  # edges from v into each block
            # candidate states for every target block t (vectorised over t): (B, B) each
            nc_c = nc[None, :] - eye[a][None, :] + eye  # (T, B)
            # removing v from a: M_ab -= k_b, M_ba -= k_b, M_aa gets -2 k_a (symmetric form)
            ea = eye[a]
            M_rm = M - np.outer(ea, k) - np.outer(k, ea)
            # adding to t: M_tb += k'_b where k' counts v's edges after removal (same k; no loops)
            M_c = M_rm[None] + eye[:, :, None] * k[None, None, :] + eye[:, None, :] * k[None, :, None]
            scores = _icl_terms(nc_c, M_c)
            t = int(np.argmax(scores))
            if t != a and scores[t] > scores[a] + 1e-9:
                z[v] = t
                nc, M = nc_c[t], M_c[t]
                moved = True
        if not moved:
            break
    return z


def fit_sbm(G: nx.Graph | np.ndarray, max_blocks: int = 8, seed: int = 0, refine_top: int = 2) -> SBMFit:
    """Fit a Bernoulli SBM by maximising the exact ICL over ``B = 1..max_blocks`` (see module doc).

    Returns an :class:`SBMFit` with contiguous labels (empty blocks removed)."""
    A = np.asarray(G, dtype=np.float64) if isinstance(G, np.ndarray) else adjacency(G)
    n = A.shape[0]
    if n == 0:
        return SBMFit(np.zeros(0, dtype=int), np.zeros(0), np.zeros((0, 0)), 0.0)
    rng = np.random.default_rng(seed)
    d = A.sum(1)
    with np.errstate(divide="ignore"):
        dh = np.where(d > 0, 1.0 / np.sqrt(np.maximum(d, 1e-300)), 0.0)
    S = dh[:, None] * A * dh[None, :]
    with single_threaded_blas():
        w, V = np.linalg.eigh(S)
    order = np.argsort(-w)
    # 1) spectral + k-means partition for every B, scored by ICL; 2) greedy refinement of the
    # `refine_top` best candidates only (the refinement rarely changes the ranking).
    cands: list[tuple[float, np.ndarray, int]] = []
    for B in range(1, min(max_blocks, n) + 1):
        if B == 1:
            z = np.zeros(n, dtype=int)
        else:
            X = V[:, order[:B]]
            norms = np.linalg.norm(X, axis=1, keepdims=True)
            X = np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)
            z = _kmeans(X, B, rng)
        nc, M = _block_counts(A, z, B)
        cands.append((float(_icl_terms(nc, M)), z, B))
    cands.sort(key=lambda c: -c[0])
    best: tuple[float, np.ndarray, int] | None = None
    for s0, z, B in cands[:refine_top]:
        if B > 1:
            z = _refine(A, z, B)
            nc, M = _block_counts(A, z, B)
            s0 = float(_icl_terms(nc, M))
        if best is None or s0 > best[0] + 1e-9:
            best = (s0, z, B)
    score, z, B = best  # type: ignore[misc]
    used = np.unique(z)
    z = np.searchsorted(used, z)
    nc, M = _block_counts(A, z, len(used))
    return SBMFit(blocks=z, node_counts=nc, edge_counts=M, score=score)


def sbm_wald_score(node_counts: np.ndarray, edge_counts: np.ndarray, p_intra: float = 0.3, p_inter: float = 0.005) -> float:
    """SPECTRE's mean Wald p-value of the block densities against ``p_intra`` / ``p_inter``
    (formula in the module doc; ``edge_counts`` diagonal = 2 x intra-block edges)."""
    from scipy.stats import chi2

    node_counts = np.asarray(node_counts, dtype=np.float64)
    e = np.array(edge_counts, dtype=np.float64)
    max_intra = node_counts * (node_counts - 1)
    est_intra = np.diagonal(e) / (max_intra + 1e-6)
    max_inter = node_counts.reshape(-1, 1) @ node_counts.reshape(1, -1)
    np.fill_diagonal(e, 0)
    est_inter = e / (max_inter + 1e-6)
    W_intra = (est_intra - p_intra) ** 2 / (est_intra * (1 - est_intra) + 1e-6)
    W_inter = (est_inter - p_inter) ** 2 / (est_inter * (1 - est_inter) + 1e-6)
    W = W_inter.copy()
    np.fill_diagonal(W, W_intra)
    return float((1 - chi2.cdf(np.abs(W), 1)).mean())


#: block-model fits for SBM validity: ``graph-tool`` (SPECTRE's, :mod:`graphdiff.metrics.sbm_graphtool`),
#: ``icl`` (ours, :func:`fit_sbm`), ``auto`` (graph-tool when available, else ours)
SBM_BACKENDS = ("auto", "graph-tool", "icl")


def resolve_sbm_backend(backend: str = "auto") -> str:
    """``"graph-tool"`` or ``"icl"``: ``auto`` picks graph-tool when it can be run."""
    if backend not in SBM_BACKENDS:
        raise unknown_name("SBM backend", backend, SBM_BACKENDS)
    if backend == "auto":
        from .sbm_graphtool import graph_tool_python

        return "graph-tool" if graph_tool_python() else "icl"
    return backend


def _sbm_verdict(nc: np.ndarray, ec: np.ndarray, p_intra: float, p_inter: float, strict: bool) -> bool | float:
    if strict and ((nc > 40).any() or (nc < 20).any() or len(nc) > 5 or len(nc) < 2):
        return False
    p = sbm_wald_score(nc, ec, p_intra, p_inter)
    return p > 0.9 if strict else p


def sbm_block_counts(graphs: Sequence[nx.Graph], *, backend: str = "auto", seed: int = 0, max_blocks: int = 8) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Node counts and block edge-count matrices of each (non-empty) graph's fitted block model,
    with the backend used (:data:`SBM_BACKENDS`); graph-tool fits all graphs in one call."""
    used = resolve_sbm_backend(backend)
    if used == "graph-tool":
        from .sbm_graphtool import graph_tool_block_counts

        return graph_tool_block_counts(graphs, seed=seed), used
    fits = [fit_sbm(G, max_blocks=max_blocks, seed=seed) for G in graphs]
    return [(f.node_counts, f.edge_counts) for f in fits], used


def is_sbm_graph(
    G: nx.Graph,
    p_intra: float = 0.3,
    p_inter: float = 0.005,
    strict: bool = True,
    max_blocks: int = 8,
    seed: int = 0,
    backend: str = "icl",
) -> bool | float:
    """SPECTRE's SBM validity: ``strict`` -> bool (block-count and size rules, score > 0.9);
    otherwise the mean Wald p-value score. ``backend``: our ICL fit (default, fast) or
    ``"graph-tool"`` / ``"auto"`` (SPECTRE's fit; see :data:`SBM_BACKENDS`)."""
    if G.number_of_nodes() == 0:
        return False if strict else 0.0
    [(nc, ec)], _ = sbm_block_counts([G], backend=backend, seed=seed, max_blocks=max_blocks)
    return _sbm_verdict(nc, ec, p_intra, p_inter, strict)


#: graph validity checks by name
VALIDITY: Registry[Callable[[nx.Graph], bool]] = Registry("graph validity")
VALIDITY.register("planar", is_planar_graph)
VALIDITY.register("tree", is_tree_graph)
VALIDITY.register("sbm", lambda G: bool(is_sbm_graph(G)))


# ----------------------------------------------------------------------------- isomorphism classes
class IsomorphismIndex:
    """A set of graphs up to isomorphism: WL-hash buckets, exact ``nx.is_isomorphic`` inside."""

    def __init__(self, graphs: Sequence[nx.Graph] = (), wl_iterations: int = 3):
        self.wl_iterations = wl_iterations
        self._buckets: dict[tuple[int, int, str], list[nx.Graph]] = {}
        for g in graphs:
            self.add(g)

    def _key(self, g: nx.Graph) -> tuple[int, int, str]:
        # the hash only buckets graphs within this index, so networkx's warning that hashes of
        # unlabelled graphs changed in v3.5 does not matter here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            h = nx.weisfeiler_lehman_graph_hash(g, iterations=self.wl_iterations)
        return (g.number_of_nodes(), g.number_of_edges(), h)

    def find(self, g: nx.Graph) -> bool:
        """Whether a graph isomorphic to ``g`` is in the index."""
        return any(nx.is_isomorphic(g, h) for h in self._buckets.get(self._key(g), ()))

    def add(self, g: nx.Graph) -> bool:
        """Add ``g``; returns False if an isomorphic graph was already there (then not added)."""
        key = self._key(g)
        bucket = self._buckets.setdefault(key, [])
        if any(nx.is_isomorphic(g, h) for h in bucket):
            return False
        bucket.append(g)
        return True

    def __len__(self) -> int:
        return sum(len(b) for b in self._buckets.values())


@dataclass
class VUNResult(CardTable):
    """Fractions (over all generated graphs) and counts of valid, unique, novel and V.U.N. graphs."""

    valid: float
    unique: float
    novel: float
    unique_novel: float
    vun: float
    counts: dict[str, int]
    validity: str
    cards: dict[str, MetricCard] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "unique": self.unique,
            "novel": self.novel,
            "unique_novel": self.unique_novel,
            "vun": self.vun,
            "counts": dict(self.counts),
            "validity": self.validity,
        }

    def to_markdown(self, digits: int = 4) -> str:
        return cards_to_markdown(self.cards.values(), digits=digits)

    def _card_list(self) -> list[MetricCard]:
        return list(self.cards.values())

    def __repr__(self) -> str:
        return (f"VUNResult(valid={self.valid:.4f}, unique={self.unique:.4f}, novel={self.novel:.4f}, vun={self.vun:.4f}, "
                f"validity={self.validity!r}, n={self.counts.get('n_total', self.counts.get('n', '?'))})")


def vun_metrics(
    generated: Any,
    train_graphs: Any,
    validity: str | Callable[[nx.Graph], bool] = "planar",
    sbm_backend: str = "auto",
) -> VUNResult:
    """Valid / unique / novel / V.U.N. fractions of ``generated`` (SPECTRE definitions, module doc).

    Args:
        generated: list of ``networkx.Graph`` or a ``GraphState``.
        train_graphs: list of ``networkx.Graph`` (or ``GraphState``) for novelty.
        validity: ``"planar"``, ``"tree"``, ``"sbm"`` or a callable ``G -> bool``.
        sbm_backend: block-model fit for ``"sbm"`` (:data:`SBM_BACKENDS`; default graph-tool
            when available, else ours); the ``valid`` card names the one used.

    Returns:
        :class:`VUNResult`; ``valid`` = valid / N, ``unique`` = (N - duplicates) / N, ``novel`` =
        graphs not isomorphic to a training graph / N, ``unique_novel`` = unique and novel / N,
        ``vun`` = unique, novel and valid / N. Empty (0-node) graphs count in N, are invalid,
        and are counted in ``counts["empty"]``.
    """
    from .graph import as_networkx_list

    if isinstance(validity, str):
        vname, vfn = validity, VALIDITY.get(validity)
    else:
        vname, vfn = getattr(validity, "__name__", "custom"), validity
    gen = as_networkx_list(generated)
    train = IsomorphismIndex(as_networkx_list(train_graphs))
    seen = IsomorphismIndex()
    N = len(gen)
    n_valid = n_unique = n_novel = n_un = n_vun = 0
    sbm_used = ""
    verdicts: dict[int, bool] = {}
    if vname == "sbm" and isinstance(validity, str):  # one batched fit (one graph-tool process)
        nonempty = [i for i, g in enumerate(gen) if g.number_of_nodes()]
        counts_, sbm_used = sbm_block_counts([gen[i] for i in nonempty], backend=sbm_backend)
        verdicts = {i: bool(_sbm_verdict(nc, ec, 0.3, 0.005, True)) for i, (nc, ec) in zip(nonempty, counts_)}
    for i, g in enumerate(gen):
        ok = (verdicts[i] if i in verdicts else bool(vfn(g))) if g.number_of_nodes() else False
        unique = seen.add(g)
        novel = not train.find(g)
        n_valid += ok
        n_unique += unique
        n_novel += novel
        n_un += unique and novel
        n_vun += unique and novel and ok
    frac = (lambda c: c / N) if N else (lambda c: float("nan"))
    counts = {
        "n": N,
        "valid": n_valid,
        "unique": n_unique,
        "novel": n_novel,
        "unique_novel": n_un,
        "vun": n_vun,
        "empty": sum(1 for g in gen if g.number_of_nodes() == 0),
        "n_train": len(train),
    }
    res = VUNResult(
        valid=frac(n_valid), unique=frac(n_unique), novel=frac(n_novel), unique_novel=frac(n_un),
        vun=frac(n_vun), counts=counts, validity=vname,
    )
    note_v = {
        "sbm": (("graph-tool minimize_blockmodel_dl + 1000 merge-split sweeps (SPECTRE's fit)" if sbm_used == "graph-tool"
                 else "our ICL block fit (graph-tool not available)")
                + " + SPECTRE Wald test, p_intra 0.3 / p_inter 0.005, p > 0.9; see benchmarks/results/sbm_validity.md"),
        "planar": "connected and planar",
        "tree": "nx.is_tree",
    }.get(vname, "custom validity function")
    for name, val, note in (
        ("valid", res.valid, note_v),
        ("unique", res.unique, "not isomorphic to an earlier generated graph"),
        ("novel", res.novel, f"not isomorphic to any of {len(train)} distinct training graphs"),
        ("vun", res.vun, "valid, unique and novel"),
    ):
        res.cards[name] = MetricCard(
            name=name, value=val, protocol="spectre", estimator="fraction of generated graphs",
            n_generated=N, n_reference=len(train), n_empty=counts["empty"], notes=note,
            extra={"count": counts[name]},
        )
    return res
