# Over 450 lines on purpose: every structural feature of the noisy graph (random walks, cycles, spectra) shares one batched, masked set of helpers.
"""Structural / positional graph features computed on the fly from a (possibly noisy) adjacency.

Every function is batched over dense, padded graphs: an adjacency ``(B, N, N)`` and a boolean
``node_mask`` ``(B, N)`` (real nodes first). Entries touching padded nodes are ignored on input
and zero on output, so the amount of padding never changes the features of real nodes, and every
feature is permutation-equivariant (node / pair features) or invariant (graph features).

Features (all from powers of small dense matrices, no graph library):

* random-walk return probabilities ``diag(M^k)``, ``k = 1..K`` with ``M = D^-1 A`` (RWSE,
  Dwivedi et al. 2022, "Graph neural networks with learnable structural and positional
  representations"; used as node positions by GraphGDP's PGSN, Huang et al. 2022);
* relative random-walk probabilities ``[I, M, ..., M^(K-1)]`` as pair features (RRWP, GRIT,
  Ma et al. 2023, eq. 2; DeFoG uses them as extra features);
* shortest-path distances up to ``K`` as a one-hot from powers of the boolean adjacency;
* exact 3..6-cycle counts per node and per graph from closed walks (adjacency powers as DiGress,
  Vignac et al. 2023, App. B, and Möbius inversion over walk patterns for 6-cycles);
* spectral features of the normalised Laplacian: the smallest non-zero eigenvalues and heat-kernel
  diagonals ``diag(exp(-s L)) = sum_k exp(-s lambda_k) v_k^2``, which are invariant to the sign and
  to the basis of every eigenspace (so exactly permutation-equivariant, unlike raw eigenvectors).

:class:`StructuralFeatures` bundles them with explicit switches and reports output widths.
All features are computed without gradients (they are functions of a thresholded graph).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from ..states import pair_mask

__all__ = [
    "pair_mask",
    "binarize_adjacency",
    "soft_adjacency",
    "random_walk_matrix",
    "random_walk_powers",
    "return_probabilities",
    "rrwp",
    "shortest_path_distance",
    "distance_onehot",
    "cycle_counts",
    "node_cycle_counts",
    "laplacian_spectrum",
    "spectral_features",
    "StructuralFeatures",
    "FeatureBundle",
]


# ---------------------------------------------------------------------------------- helpers
def _eye_like(node_mask: Tensor, dtype: torch.dtype) -> Tensor:
    """``(B, N, N)`` identity restricted to real nodes."""
    N = node_mask.shape[1]
    eye = torch.eye(N, dtype=dtype, device=node_mask.device)
    return eye * node_mask[:, :, None].to(dtype)


def binarize_adjacency(A: Tensor, node_mask: Tensor, threshold: float = 0.5) -> Tensor:
    """Hard adjacency ``1[A_ij > threshold]`` ``(B, N, N)`` float, symmetrised (an edge if either
    direction passes), zero diagonal and zero at padding.

    Use ``threshold=0.5`` for a noisy ``{0, 1}`` adjacency and ``threshold=0`` for one centred on
    ``{-1, 1}`` (GraphGDP's discretisation ``A >= 0``)."""
    a = A > threshold
    a = (a | a.transpose(1, 2)) & pair_mask(node_mask)
    return a.to(A.dtype if A.is_floating_point() else torch.get_default_dtype())


def soft_adjacency(A: Tensor, node_mask: Tensor, threshold: float = 0.0) -> Tensor:
    """Soft weighted adjacency ``clamp(A, 0, 1)`` with entries ``< threshold`` zeroed (GraphGDP's
    continuous adjacency for the random-walk features), symmetrised by averaging, zero diagonal
    and zero at padding. ``(B, N, N)`` float."""
    w = A.clamp(0.0, 1.0)
    if threshold > 0:
        w = torch.where(w < threshold, torch.zeros_like(w), w)
    w = 0.5 * (w + w.transpose(1, 2))
    return w * pair_mask(node_mask).to(w.dtype)


def random_walk_matrix(adj: Tensor, node_mask: Tensor) -> Tensor:
    """Row-stochastic ``M = D^-1 A`` ``(B, N, N)``; rows of isolated or padded nodes are zero."""
    adj = adj * pair_mask(node_mask).to(adj.dtype)
    deg = adj.sum(-1, keepdim=True)
    inv = torch.where(deg > 0, 1.0 / deg.clamp_min(torch.finfo(adj.dtype).tiny), torch.zeros_like(deg))
    return adj * inv


def random_walk_powers(M: Tensor, node_mask: Tensor, K: int) -> list[Tensor]:
    """``[I, M, M^2, ..., M^K]`` (``K + 1`` tensors ``(B, N, N)``), ``I`` on real nodes only."""
    out = [_eye_like(node_mask, M.dtype)]
    for _ in range(K):
        out.append(out[-1] @ M)
    return out


@torch.no_grad()
def return_probabilities(adj: Tensor, node_mask: Tensor, K: int) -> Tensor:
    """Random-walk return probabilities ``diag(M^k)``, ``k = 1..K``: ``(B, N, K)`` (RWSE).

    An isolated node has all zeros (its walk cannot move). ``adj`` is a weighted or 0/1
    adjacency ``(B, N, N)``."""
    if K == 0:
        return adj.new_zeros(adj.shape[:2] + (0,))
    M = random_walk_matrix(adj, node_mask)
    P = random_walk_powers(M, node_mask, K)[1:]
    return torch.stack([torch.diagonal(p, dim1=1, dim2=2) for p in P], -1)


@torch.no_grad()
def rrwp(adj: Tensor, node_mask: Tensor, K: int) -> Tensor:
    """Relative random-walk probabilities ``[I, M, ..., M^(K-1)]`` stacked last: ``(B, N, N, K)``
    (GRIT, Ma et al. 2023, eq. 2). Zero on pairs touching a padded node."""
    if K == 0:
        return adj.new_zeros(adj.shape + (0,))
    M = random_walk_matrix(adj, node_mask)
    return torch.stack(random_walk_powers(M, node_mask, K - 1), -1)


@torch.no_grad()
def shortest_path_distance(adj: Tensor, node_mask: Tensor, max_distance: int) -> Tensor:
    """Shortest-path distances ``(B, N, N)`` long, capped: ``d`` for ``d <= max_distance``,
    ``-1`` for pairs farther than ``max_distance``, unreachable, or touching a padded node.

    Computed by expanding the reachable set with powers of the boolean adjacency ``(A > 0)``."""
    a = ((adj > 0) & pair_mask(node_mask)).to(torch.float32 if not adj.is_floating_point() else adj.dtype)
    reach = _eye_like(node_mask, a.dtype) > 0
    dist = torch.full(adj.shape, -1, dtype=torch.long, device=adj.device)
    dist[reach] = 0
    frontier = reach.to(a.dtype)
    for d in range(1, max_distance + 1):
        nxt = (frontier @ a) > 0
        new = nxt & ~reach
        dist[new] = d
        reach = reach | nxt
        frontier = new.to(a.dtype)
    return dist


@torch.no_grad()
def distance_onehot(adj: Tensor, node_mask: Tensor, K: int) -> Tensor:
    """One-hot shortest-path distance ``(B, N, N, K + 1)``: channel ``d`` is 1 iff
    ``dist(i, j) = d`` (``d = 0..K``; channel 0 is the diagonal). Pairs farther than ``K``,
    unreachable pairs and padded pairs are all-zero. Channel ``k`` summed over ``<= k`` is the
    ``k``-step reachability."""
    dist = shortest_path_distance(adj, node_mask, K)
    dtype = adj.dtype if adj.is_floating_point() else torch.get_default_dtype()
    oh = torch.nn.functional.one_hot(dist.clamp_min(0), K + 1).to(dtype)
    return oh * (dist >= 0).unsqueeze(-1).to(dtype)


def _diag(X: Tensor) -> Tensor:
    return torch.diagonal(X, dim1=-2, dim2=-1)


def _set_partitions(n: int):
    """All set partitions of ``range(n)`` as lists of blocks."""
    if n == 0:
        yield []
        return
    for p in _set_partitions(n - 1):
        for i in range(len(p)):
            yield p[:i] + [p[i] + [n - 1]] + p[i + 1:]
        yield p + [[n - 1]]


@functools.lru_cache(maxsize=None)
def _closed_walk_patterns(k: int) -> tuple[tuple[int, int, tuple[tuple[int, int], ...]], ...]:
    """Möbius-inversion terms for counting closed walks of length ``k`` with distinct vertices.

    A closed walk is a homomorphism of the ``k``-cycle rooted at position 0; walks with all
    vertices distinct are obtained by Möbius inversion over the partition lattice of the walk
    positions (Lovász, "Large networks and graph limits", Sec. 5.2.3):
    ``inj = sum_P mu(P) hom(C_k / P)`` with ``mu(P) = prod_blocks (-1)^(|b|-1) (|b|-1)!``.
    Partitions joining two consecutive positions give a loop (zero for a simple graph) and are
    dropped; isomorphic rooted quotients are merged. Returns ``(coefficient, num_vertices,
    edges)`` with the root relabelled 0."""
    merged: dict[tuple[int, tuple[tuple[int, int], ...]], int] = {}
    for part in _set_partitions(k):
        block = {pos: b for b, blk in enumerate(part) for pos in blk}
        if any(block[i] == block[(i + 1) % k] for i in range(k)):
            continue
        coef = 1
        for blk in part:
            coef *= (-1) ** (len(blk) - 1) * math.factorial(len(blk) - 1)
        edges = {tuple(sorted((block[i], block[(i + 1) % k]))) for i in range(k)}
        nv, root = len(part), block[0]
        others = [v for v in range(nv) if v != root]
        best = None
        for perm in itertools.permutations(range(1, nv)):  # canonical form with the root fixed at 0
            m = {root: 0, **dict(zip(others, perm))}
            key = tuple(sorted(tuple(sorted((m[a], m[b]))) for a, b in edges))
            best = key if best is None or key < best else best
        merged[(nv, best)] = merged.get((nv, best), 0) + coef
    return tuple((c, nv, e) for (nv, e), c in sorted(merged.items()) if c)


def _rooted_homomorphisms(A: Tensor, num_vertices: int, edges: tuple[tuple[int, int], ...]) -> Tensor:
    """``(B, N)``: number of homomorphisms of the pattern (root 0) into each graph with the root
    mapped to node ``i``, by variable elimination (min-degree order) with ``einsum``."""
    factors: list[tuple[tuple[int, ...], Tensor]] = [((a, b), A) for a, b in edges]
    letters = "abcdefghijklmnop"
    todo = list(range(1, num_vertices))
    while todo:
        def scope(v: int) -> set[int]:
            return set().union(*[set(vs) for vs, _ in factors if v in vs]) - {v}
        v = min(todo, key=lambda u: len(scope(u)))
        todo.remove(v)
        used = [f for f in factors if v in f[0]]
        factors = [f for f in factors if v not in f[0]]
        out = tuple(sorted(set().union(*[set(vs) for vs, _ in used]) - {v}))
        spec = ",".join("z" + "".join(letters[u] for u in vs) for vs, _ in used) + "->z" + "".join(letters[u] for u in out)
        factors.append((out, torch.einsum(spec, *[t for _, t in used])))
    res = factors[0][1]
    for _, t in factors[1:]:
        res = res * t
    return res


@torch.no_grad()
def node_cycle_counts(adj: Tensor, node_mask: Tensor, k: int) -> Tensor:
    """Number of simple ``k``-cycles through each node, ``(B, N)`` float64, for ``3 <= k <= 6``.

    Closed ``k``-walks with distinct vertices, counted by Möbius inversion over the walk-position
    partitions (:func:`_closed_walk_patterns`), divided by the 2 walk directions. General but
    slower than the closed formulas used by :func:`cycle_counts` for ``k <= 5``."""
    if not 3 <= k <= 6:
        raise ValueError(f"node_cycle_counts supports 3 <= k <= 6, got {k}")
    A = ((adj > 0) & pair_mask(node_mask)).to(torch.float64)
    # Every einsum term (and each partial sum inside it) counts maps of at most k - 1 pattern vertices
    # into neighbourhoods, so it is at most dmax^(k-1); below 2^24 float32 holds it exactly and is
    # ~3x faster than float64 (always so for molecules). Terms are combined in float64.
    dmax = float(A.sum(-1).max()) if A.numel() else 0.0
    work = A.to(torch.float32) if dmax ** (k - 1) < 2.0 ** 24 else A
    total = torch.zeros(A.shape[:2], dtype=torch.float64, device=A.device)
    for coef, nv, edges in _closed_walk_patterns(k):
        total = total + coef * _rooted_homomorphisms(work, nv, edges).to(torch.float64)
    return (total / 2) * node_mask


@torch.no_grad()
def cycle_counts(adj: Tensor, node_mask: Tensor) -> tuple[Tensor, Tensor]:
    """Exact simple-cycle counts of a 0/1 symmetric adjacency (zero diagonal).

    Returns ``(node, graph)``: ``node`` ``(B, N, 4)`` = number of 3-, 4-, 5- and 6-cycles through
    each node; ``graph`` ``(B, 4)`` = number of 3-, 4-, 5- and 6-cycles in the graph.
    For ``k <= 5``: closed-walk counts ``diag(A^k)`` minus the non-simple walks (DiGress App. B
    for ``k = 3, 4``; for ``k = 5`` our inclusion-exclusion over the pentagon's diagonals, which
    differs from DiGress's formula on graphs with triangles and matches brute force);
    ``k = 6`` by :func:`node_cycle_counts`. Padded nodes get zeros. Computed in float64 so the
    counts are exact integers."""
    A = ((adj > 0) & pair_mask(node_mask)).to(torch.float64)
    d = A.sum(-1)  # (B, N)
    A2 = A @ A
    A3 = A2 @ A
    A4 = A3 @ A
    A5 = A4 @ A
    t = _diag(A3)  # 2 * triangles through i
    c3 = t / 2
    c4 = (_diag(A4) - d * (d - 1) - (A @ d.unsqueeze(-1)).squeeze(-1)) / 2
    # closed 5-walks at i that are not cycles = a triangle plus a back-and-forth step; inclusion-
    # exclusion over the five diagonals of the pentagon of walk positions
    c5 = (_diag(A5) - 2 * d * t - 2 * (A * A2 * d[:, None, :]).sum(-1) - (A @ t.unsqueeze(-1)).squeeze(-1) + 5 * t) / 2
    c6 = node_cycle_counts(A, node_mask, 6)
    node = torch.stack([c3, c4, c5, c6], -1) * node_mask.unsqueeze(-1)
    graph = node.sum(1) / torch.tensor([3.0, 4.0, 5.0, 6.0], dtype=torch.float64, device=A.device)
    dtype = adj.dtype if adj.is_floating_point() else torch.get_default_dtype()
    return node.round().to(dtype), graph.round().to(dtype)


@torch.no_grad()
def laplacian_spectrum(adj: Tensor, node_mask: Tensor) -> tuple[Tensor, Tensor]:
    """Eigen-decomposition of the symmetric normalised Laplacian ``L = I - D^-1/2 A D^-1/2`` of
    every graph (``L_ii = 0`` for an isolated node, so zero eigenvalues count components).

    Returns ``(eigvals (B, N), eigvecs (B, N, N))`` (columns), ascending. Padded nodes are
    decoupled with diagonal value 3 (> 2, the largest possible real eigenvalue), so the first
    ``n`` eigenpairs of each graph belong to its real nodes and are supported on them."""
    A = adj * pair_mask(node_mask).to(adj.dtype)
    A = 0.5 * (A + A.transpose(1, 2))
    deg = A.sum(-1)
    inv_sqrt = torch.where(deg > 0, deg.clamp_min(torch.finfo(A.dtype).tiny).rsqrt(), torch.zeros_like(deg))
    L = -inv_sqrt[:, :, None] * A * inv_sqrt[:, None, :]
    diag = (deg > 0).to(A.dtype) + 3.0 * (~node_mask).to(A.dtype)
    L = L + torch.diag_embed(diag)
    return torch.linalg.eigh(L)


@torch.no_grad()
def spectral_features(
    adj: Tensor, node_mask: Tensor, num_eigenvalues: int = 4, heat_times: Sequence[float] = (0.5, 1.0, 2.0, 4.0)
) -> tuple[Tensor, Tensor]:
    """Sign- and basis-invariant spectral features of the normalised Laplacian.

    Returns ``(node, graph)``:

    * ``node`` ``(B, N, len(heat_times))``: heat-kernel diagonals
      ``diag(exp(-s L))_i = sum_k exp(-s lambda_k) v_k(i)^2`` (invariant to eigenvector sign and
      to rotations inside repeated eigenspaces);
    * ``graph`` ``(B, 1 + num_eigenvalues)``: the number of connected components divided by the
      number of nodes, then the ``num_eigenvalues`` smallest non-zero eigenvalues (as DiGress's
      extra features), padded with 2 when the graph has fewer.
    """
    B, N = node_mask.shape
    dtype = adj.dtype if adj.is_floating_point() else torch.get_default_dtype()
    evals, evecs = laplacian_spectrum(adj.to(dtype), node_mask)
    real = torch.arange(N, device=adj.device)[None] < node_mask.sum(-1, keepdim=True)  # first n eigenpairs
    # heat kernel diagonal over real eigenpairs only
    times = torch.as_tensor(list(heat_times), dtype=dtype, device=adj.device)
    w = torch.exp(-times[None, None, :] * evals.clamp_min(0)[:, :, None]) * real[:, :, None].to(dtype)  # (B, N_eig, T)
    node = torch.einsum("bik,bkt->bit", evecs.pow(2), w) * node_mask[:, :, None].to(dtype)
    zero = (evals < 1e-5) & real
    n_comp = zero.sum(-1)
    n = node_mask.sum(-1).clamp_min(1)
    # smallest non-zero eigenvalues: sort with zeros and padding pushed to the end
    nz = torch.where(real & ~zero, evals, torch.full_like(evals, 2.0))
    nz = torch.sort(nz, -1).values
    k = num_eigenvalues
    if k > N:
        nz = torch.cat([nz, nz.new_full((B, k - N), 2.0)], -1)
    graph = torch.cat([(n_comp.to(dtype) / n.to(dtype)).unsqueeze(-1), nz[:, :k]], -1)
    return node, graph


# ----------------------------------------------------------------------------- the bundle
@dataclass
class FeatureBundle:
    """Features of one batch: ``node`` ``(B, N, Fn)``, ``edge`` ``(B, N, N, Fe)``, ``graph`` ``(B, Fg)``."""

    node: Tensor
    edge: Tensor
    graph: Tensor


class StructuralFeatures:
    """Computes the chosen structural features of a (noisy) adjacency at every call.

    Args:
        K: random-walk length: node return probabilities ``k = 1..K`` and RRWP ``[I..M^(K-1)]``
            (``K = 0`` turns both off).
        threshold: edges are ``A > threshold`` for the hard graph (distances, cycles, spectrum,
            and the random walks unless ``soft``).
        soft: random walks on the soft adjacency ``clamp(A, 0, 1)`` with entries below
            ``threshold`` zeroed (GraphGDP), instead of the hard graph.
        distance: add the shortest-path one-hot ``(K + 1)`` pair channels (distances ``0..K``).
        cycles: add 3..6-cycle counts per node and per graph, as ``log1p``.
        spectral: number of smallest non-zero normalised-Laplacian eigenvalues to add as graph
            features (with the component fraction) plus heat-kernel node features; 0 = off.
        heat_times: diffusion times ``s`` of the heat-kernel node features.
        degree: add the (soft or hard) degree ``log1p(d_i)`` as a node feature.
        graph_size: add ``log(n)`` as a graph feature.

    Widths: :attr:`node_dim`, :attr:`edge_dim`, :attr:`graph_dim`.
    """

    def __init__(
        self,
        K: int = 8,
        threshold: float = 0.5,
        soft: bool = False,
        distance: bool = True,
        cycles: bool = False,
        spectral: int = 0,
        heat_times: Sequence[float] = (0.5, 1.0, 2.0, 4.0),
        degree: bool = True,
        graph_size: bool = True,
    ) -> None:
        if K < 0:
            raise ValueError(f"K must be >= 0, got {K}")
        if spectral < 0:
            raise ValueError(f"spectral must be >= 0, got {spectral}")
        self.K = int(K)
        self.threshold = float(threshold)
        self.soft = bool(soft)
        self.distance = bool(distance)
        self.cycles = bool(cycles)
        self.spectral = int(spectral)
        self.heat_times = tuple(float(s) for s in heat_times)
        self.degree = bool(degree)
        self.graph_size = bool(graph_size)

    @property
    def node_dim(self) -> int:
        return self.K + int(self.degree) + 4 * int(self.cycles) + (len(self.heat_times) if self.spectral else 0)

    @property
    def edge_dim(self) -> int:
        return self.K + (self.K + 1 if self.distance else 0)

    @property
    def graph_dim(self) -> int:
        return int(self.graph_size) + 4 * int(self.cycles) + (1 + self.spectral if self.spectral else 0)

    @torch.no_grad()
    def __call__(self, A: Tensor, node_mask: Tensor, hard: Tensor | None = None) -> FeatureBundle:
        """Features of the weighted / noisy adjacency ``A`` ``(B, N, N)``.

        ``hard`` optionally gives the 0/1 graph directly (the discrete family passes
        ``E != 0``); otherwise it is ``A > threshold``. Computed in at least float32 with autocast
        off (half-precision matrix powers and eigensolvers are unreliable); callers cast back."""
        with torch.autocast(device_type=A.device.type, enabled=False):
            return self._compute(A, node_mask, hard)

    def _compute(self, A: Tensor, node_mask: Tensor, hard: Tensor | None) -> FeatureBundle:
        A = A.detach()
        dtype = torch.promote_types(A.dtype, torch.float32) if A.is_floating_point() else torch.get_default_dtype()
        A = A.to(dtype)
        hard_adj = binarize_adjacency(A, node_mask, self.threshold) if hard is None else (
            (hard.detach() != 0) & pair_mask(node_mask)).to(dtype)
        walk_adj = soft_adjacency(A, node_mask, self.threshold) if self.soft else hard_adj
        nodes: list[Tensor] = []
        edges: list[Tensor] = []
        graphs: list[Tensor] = []
        B, N = node_mask.shape
        if self.K:
            M = random_walk_matrix(walk_adj, node_mask)
            P = random_walk_powers(M, node_mask, self.K)
            nodes.append(torch.stack([_diag(p) for p in P[1:]], -1))
            edges.append(torch.stack(P[:-1], -1))
        if self.distance:
            edges.append(distance_onehot(hard_adj, node_mask, self.K))
        if self.degree:
            nodes.append(torch.log1p(walk_adj.sum(-1, keepdim=True)))
        if self.cycles:
            cn, cg = cycle_counts(hard_adj, node_mask)
            nodes.append(torch.log1p(cn))
            graphs.append(torch.log1p(cg))
        if self.spectral:
            sn, sg = spectral_features(hard_adj, node_mask, self.spectral, self.heat_times)
            nodes.append(sn)
            graphs.append(sg)
        if self.graph_size:
            graphs.insert(0, torch.log(node_mask.sum(-1, keepdim=True).to(dtype).clamp_min(1)))
        nm = node_mask[:, :, None].to(dtype)
        node = torch.cat(nodes, -1) * nm if nodes else A.new_zeros(B, N, 0)
        edge = torch.cat(edges, -1) if edges else A.new_zeros(B, N, N, 0)
        graph = torch.cat(graphs, -1) if graphs else A.new_zeros(B, 0)
        return FeatureBundle(node, edge, graph)

    def config(self) -> dict:
        """Constructor arguments as a JSON-able dict."""
        return dict(K=self.K, threshold=self.threshold, soft=self.soft, distance=self.distance,
                    cycles=self.cycles, spectral=self.spectral, heat_times=list(self.heat_times),
                    degree=self.degree, graph_size=self.graph_size)
