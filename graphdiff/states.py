# Over 450 lines on purpose: the state classes, their masks and their lossless PyG / networkx conversions are one contract.
"""Batched states that diffusion processes act on.

* :class:`TensorState` — any ``(B, ...)`` tensor with an optional mask of shape ``(B, ...)``
  broadcastable to it (images, audio, time series).
* :class:`GraphState` — a dense batch of graphs: node features ``X`` of shape ``(B, N, F)``
  (continuous) or ``(B, N)`` (categorical ids, ``long``), edges ``A`` of shape ``(B, N, N)``
  (adjacency weights, or ``long`` edge classes with class 0 = no edge) or ``(B, N, N, C)``
  (edge feature channels), symmetric with zero diagonal, and a boolean ``node_mask`` ``(B, N)``.
  The node mask is always stored, never inferred from edges, so isolated nodes survive.

Conversions to and from PyTorch Geometric and networkx are lossless (see ``tests/test_states.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from .errors import InvalidGraphError

__all__ = ["TensorState", "GraphState", "NodeCountDistribution", "edge_present", "pair_mask", "is_pyg_data", "pyg_to_networkx"]


def pair_mask(node_mask: Tensor, diagonal: bool = False) -> Tensor:
    """``(B, N, N)`` bool from a boolean ``node_mask`` ``(B, N)``: both endpoints real; the diagonal
    is included only if ``diagonal``. The one definition of "a real node pair" (states, processes,
    networks and pipelines all use it)."""
    m = node_mask[:, :, None] & node_mask[:, None, :]
    if not diagonal:
        m = m & ~torch.eye(node_mask.shape[1], dtype=torch.bool, device=node_mask.device)
    return m


@dataclass
class TensorState:
    """A batch of tensors ``x`` ``(B, ...)`` with an optional boolean ``mask`` broadcastable to ``x``."""

    x: Tensor
    mask: Tensor | None = None

    @property
    def batch_size(self) -> int:
        return int(self.x.shape[0])

    def to(self, *args: Any, **kwargs: Any) -> "TensorState":
        """Move to a device / dtype; the mask only follows the device."""
        x = self.x.to(*args, **kwargs)
        return TensorState(x, None if self.mask is None else self.mask.to(x.device))


def edge_present(A: Tensor) -> Tensor:
    """Boolean ``(B, N, N)`` (or ``(N, N)``) tensor: where an edge exists.

    For ``(.., N, N)`` tensors an edge is any non-zero entry (weight or class id != 0); for
    ``(.., N, N, C)`` edge-feature tensors it is any non-zero channel."""
    if A.dim() >= 4 or (A.dim() == 3 and A.shape[-1] != A.shape[-2]):
        return A.ne(0).any(-1)
    return A.ne(0)


@dataclass
class GraphState:
    """A dense, padded batch of graphs.

    Attributes:
        X: node features ``(B, N, F)`` (float, ``F`` may be 0) or categorical ids ``(B, N)`` (long).
        A: edges ``(B, N, N)`` (float weights / long classes, 0 = no edge) or ``(B, N, N, C)``.
        node_mask: ``(B, N)`` bool, True for real nodes. Real nodes come first in each row.
    """

    X: Tensor
    A: Tensor
    node_mask: Tensor

    # ------------------------------------------------------------------ basics
    @property
    def E(self) -> Tensor:
        """Alias of :attr:`A` (DiGress naming for categorical edge tensors)."""
        return self.A

    @property
    def batch_size(self) -> int:
        return int(self.node_mask.shape[0])

    @property
    def max_nodes(self) -> int:
        return int(self.node_mask.shape[1])

    @property
    def num_nodes(self) -> Tensor:
        """``(B,)`` long: number of real nodes per graph."""
        return self.node_mask.sum(-1)

    @property
    def edge_mask(self) -> Tensor:
        """``(B, N, N)`` bool: both endpoints real and off-diagonal."""
        return pair_mask(self.node_mask)

    @property
    def device(self) -> torch.device:
        return self.A.device

    def replace(self, **changes: Tensor) -> "GraphState":
        return dataclasses.replace(self, **changes)

    def to(self, *args: Any, **kwargs: Any) -> "GraphState":
        """Move to a device; dtype arguments apply to floating-point fields only."""
        def mv(t: Tensor) -> Tensor:
            if t.is_floating_point():
                return t.to(*args, **kwargs)
            dev = kwargs.get("device", next((a for a in args if isinstance(a, (str, torch.device))), None))
            return t.to(dev) if dev is not None else t
        return GraphState(mv(self.X), mv(self.A), mv(self.node_mask))

    def __len__(self) -> int:
        return self.batch_size

    def __getitem__(self, idx: int | slice | Tensor | Sequence[int]) -> "GraphState":
        if isinstance(idx, int):
            idx = slice(idx, idx + 1) if idx != -1 else slice(idx, None)
        return GraphState(self.X[idx], self.A[idx], self.node_mask[idx])

    @staticmethod
    def cat(states: Sequence["GraphState"]) -> "GraphState":
        """Concatenate along the batch, padding to the largest ``N``."""
        if not states:
            raise InvalidGraphError("GraphState.cat needs at least one state")
        n = max(s.max_nodes for s in states)
        return GraphState(
            torch.cat([_pad_nodes(s.X, n, 1) for s in states]),
            torch.cat([_pad_nodes(_pad_nodes(s.A, n, 1), n, 2) for s in states]),
            torch.cat([_pad_nodes(s.node_mask, n, 1) for s in states]),
        )

    def masked(self) -> "GraphState":
        """Zero every padded entry and the diagonal (values at masked positions carry no meaning)."""
        nm = self.node_mask
        X = self.X * _bcast(nm, self.X).to(self.X.dtype)
        em = self.edge_mask
        A = self.A * _bcast(em, self.A).to(self.A.dtype)
        return GraphState(X, A, nm)

    def validate(self, atol: float = 0.0) -> "GraphState":
        """Check shapes, symmetry, zero diagonal, padding and the mask layout; raise
        :class:`InvalidGraphError` naming the problem. Returns ``self``."""
        B, N = self.node_mask.shape[:2] if self.node_mask.dim() == 2 else (None, None)
        if self.node_mask.dim() != 2 or self.node_mask.dtype != torch.bool:
            raise InvalidGraphError(f"node_mask must be bool (B, N), got {tuple(self.node_mask.shape)} {self.node_mask.dtype}")
        if tuple(self.X.shape[:2]) != (B, N) or self.X.dim() not in (2, 3):
            raise InvalidGraphError(f"X must be (B, N) or (B, N, F) with B={B}, N={N}; got {tuple(self.X.shape)}")
        if self.X.dim() == 2 and self.X.is_floating_point():
            raise InvalidGraphError("X of shape (B, N) must hold categorical ids (integer dtype)")
        if tuple(self.A.shape[:3]) != (B, N, N) or self.A.dim() not in (3, 4):
            raise InvalidGraphError(f"A must be (B, N, N) or (B, N, N, C) with B={B}, N={N}; got {tuple(self.A.shape)}")
        if self.X.is_floating_point() and not torch.isfinite(self.X).all():
            raise InvalidGraphError("X contains NaN or Inf")
        if self.A.is_floating_point() and not torch.isfinite(self.A).all():
            raise InvalidGraphError("A contains NaN or Inf")
        At = self.A.transpose(1, 2)
        sym = torch.allclose(self.A, At, atol=atol) if self.A.is_floating_point() else torch.equal(self.A, At)
        if not sym:
            raise InvalidGraphError("A is not symmetric")
        diag = torch.diagonal(self.A, dim1=1, dim2=2)
        if diag.ne(0).any():
            raise InvalidGraphError("A has a non-zero diagonal (self-loops are not allowed)")
        nm = self.node_mask
        # real nodes first: mask must be non-increasing along N
        if N and N > 1 and (nm[:, 1:] & ~nm[:, :-1]).any():
            raise InvalidGraphError("node_mask must list real nodes first (a padded node precedes a real one)")
        outside = ~self.edge_mask
        if edge_present(self.A)[outside & ~torch.eye(N, dtype=torch.bool, device=nm.device)].any():
            raise InvalidGraphError("A has edges touching padded nodes")
        return self

    # ------------------------------------------------------------------ PyG
    def to_data_list(self) -> list:
        """List of ``torch_geometric.data.Data`` with ``x``, ``edge_index`` (both directions),
        ``edge_attr`` (the entries of ``A`` at the edges) and ``num_nodes``."""
        from torch_geometric.data import Data

        out = []
        present = edge_present(self.A)
        for b in range(self.batch_size):
            n = int(self.node_mask[b].sum())
            x = self.X[b, :n]
            pres = present[b, :n, :n]
            ei = pres.nonzero(as_tuple=False).t().contiguous()
            ea = self.A[b, :n, :n][pres]
            out.append(Data(x=x, edge_index=ei, edge_attr=ea, num_nodes=n))
        return out

    def to_pyg(self):
        """A ``torch_geometric.data.Batch`` of :meth:`to_data_list`."""
        from torch_geometric.data import Batch

        return Batch.from_data_list(self.to_data_list())

    @classmethod
    def from_pyg(cls, data: Any, max_nodes: int | None = None) -> "GraphState":
        """From a PyG ``Batch``, a ``Data`` or a list of ``Data``.

        Missing ``x`` gives ``X`` of shape ``(B, N, 0)``; missing ``edge_attr`` gives weight 1.
        Edges are symmetrised (an edge given in one direction is mirrored); self-loops raise."""
        if hasattr(data, "to_data_list"):
            datas = data.to_data_list()
        elif isinstance(data, (list, tuple)):
            datas = list(data)
        else:
            datas = [data]
        return cls._from_parts([_parts_from_data(d) for d in datas], max_nodes)

    # ------------------------------------------------------------------ networkx
    def to_networkx(self, node_attr: str = "x", edge_attr: str = "edge_attr") -> list:
        """List of ``networkx.Graph`` with nodes ``0..n-1``. Node features are stored under
        ``node_attr`` (omitted when ``F == 0``) and edge values under ``edge_attr`` (omitted for
        plain 0/1 adjacency)."""
        import networkx as nx

        graphs = []
        present = edge_present(self.A)
        plain = self.A.dim() == 3 and self.A.is_floating_point() and bool(((self.A == 0) | (self.A == 1)).all())
        for b in range(self.batch_size):
            n = int(self.node_mask[b].sum())
            g = nx.Graph()
            for i in range(n):
                if self.X.dim() == 2:
                    g.add_node(i, **{node_attr: int(self.X[b, i])})
                elif self.X.shape[-1] > 0:
                    g.add_node(i, **{node_attr: self.X[b, i].tolist()})
                else:
                    g.add_node(i)
            iu = torch.triu(present[b, :n, :n], diagonal=1).nonzero(as_tuple=False).tolist()
            for i, j in iu:
                if plain:
                    g.add_edge(i, j)
                else:
                    v = self.A[b, i, j]
                    g.add_edge(i, j, **{edge_attr: v.tolist() if v.dim() else v.item()})
            graphs.append(g)
        return graphs

    @classmethod
    def from_networkx(
        cls,
        graphs: Iterable,
        node_attr: str | None = None,
        edge_attr: str | None = None,
        max_nodes: int | None = None,
        categorical_nodes: bool | None = None,
    ) -> "GraphState":
        """From networkx graphs (any hashable node ids; order of ``g.nodes`` is kept).

        ``node_attr`` / ``edge_attr`` name attributes to read (defaults: ``"x"`` / ``"edge_attr"``
        when present on every node / edge). Without node features ``X`` is ``(B, N, 0)``; without
        edge values ``A`` is the 0/1 adjacency. Self-loops raise :class:`InvalidGraphError`.
        Integer scalar node attributes become categorical ids ``(B, N)``. PyTorch Geometric ``Data``
        items are accepted too (converted with :func:`pyg_to_networkx`, ``x``
        kept as node attribute)."""
        parts = []
        for gi, g in enumerate(graphs):
            if is_pyg_data(g):
                g = pyg_to_networkx(g, node_attributes=getattr(g, "x", None) is not None)
            nodes = list(g.nodes)
            index = {v: i for i, v in enumerate(nodes)}
            n = len(nodes)
            na = node_attr
            if na is None and n and all("x" in g.nodes[v] for v in nodes):
                na = "x"
            if na is not None and n:
                vals = [g.nodes[v].get(na) for v in nodes]
                if any(v is None for v in vals):
                    raise InvalidGraphError(f"graph {gi}: node attribute {na!r} missing on some nodes")
                if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals) and categorical_nodes is not False:
                    x = torch.tensor([int(v) for v in vals], dtype=torch.long)
                else:
                    x = torch.as_tensor(_float_array(vals, f"graph {gi}: node attribute {na!r}")).reshape(n, -1)
            else:
                x = torch.zeros(n, 0)
            ea_name = edge_attr
            edges = list(g.edges(data=True))
            if ea_name is None and edges and all("edge_attr" in d for _, _, d in edges):
                ea_name = "edge_attr"
            src, dst, vals = [], [], []
            for u, v, d in edges:
                if u == v:
                    raise InvalidGraphError(f"graph {gi}: self-loop at node {u!r}; graphdiff graphs have zero diagonal")
                if ea_name is not None and ea_name not in d:
                    raise InvalidGraphError(f"graph {gi}: edge attribute {ea_name!r} missing on edge ({u!r}, {v!r})")
                src.append(index[u])
                dst.append(index[v])
                vals.append(d[ea_name] if ea_name is not None else 1.0)
            ei = torch.tensor([src + dst, dst + src], dtype=torch.long).reshape(2, -1)
            if ea_name is None:
                ea = torch.ones(len(src), dtype=torch.float32)
            elif vals and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
                ea = torch.tensor(vals, dtype=torch.long)
            else:
                ea = torch.as_tensor(_float_array(vals, f"graph {gi}: edge attribute {ea_name!r}"))
            ea = torch.cat([ea, ea]) if ea.numel() else ea.reshape((0,) + tuple(ea.shape[1:]))
            parts.append((x, ei, ea, n))
        return cls._from_parts(parts, max_nodes)

    # ------------------------------------------------------------------ internals
    @classmethod
    def _from_parts(cls, parts: list, max_nodes: int | None) -> "GraphState":
        B = len(parts)
        sizes = [p[3] for p in parts]
        N = max(sizes, default=0)
        if max_nodes is not None:
            if N > max_nodes:
                big = max(range(B), key=lambda i: sizes[i])
                raise InvalidGraphError(f"graph {big} has {N} nodes, more than max_nodes={max_nodes}")
            N = max_nodes
        # node features: all categorical or all continuous with the same F
        cat_nodes = [p[0].dim() == 1 for p in parts if p[3] > 0]
        if any(cat_nodes) and not all(cat_nodes):
            raise InvalidGraphError("mixing categorical and continuous node features in one batch")
        is_cat = bool(cat_nodes) and all(cat_nodes)
        if is_cat:
            X = torch.zeros(B, N, dtype=torch.long)
        else:
            F = next((p[0].shape[-1] for p in parts if p[0].dim() == 2 and p[3] > 0), next((p[0].shape[-1] for p in parts if p[0].dim() == 2), 0))
            dt = next((p[0].dtype for p in parts if p[3] > 0), torch.float32)
            X = torch.zeros(B, N, F, dtype=dt)
        ea_ref = next((p[2] for p in parts if p[2].numel() > 0), None)
        if ea_ref is None:  # no edges anywhere: keep the trailing shape / dtype of the (empty) edge_attr
            ea_ref = next((p[2] for p in parts if p[2].dim() > 1), None)
        if ea_ref is None:
            A = torch.zeros(B, N, N, dtype=torch.float32)
        else:
            A = torch.zeros((B, N, N) + tuple(ea_ref.shape[1:]), dtype=ea_ref.dtype)
        mask = torch.zeros(B, N, dtype=torch.bool)
        for b, (x, ei, ea, n) in enumerate(parts):
            _check_parts(b, x, ei, ea, n)
            mask[b, :n] = True
            if n:
                if x.dim() == 2 and not is_cat and x.shape[-1] != X.shape[-1]:
                    raise InvalidGraphError(f"graph {b} has {x.shape[-1]} node features, expected {X.shape[-1]}")
                X[b, :n] = x.to(X.dtype)
            if ei.numel():
                if tuple(ea.shape[1:]) != tuple(A.shape[3:]):
                    raise InvalidGraphError(f"graph {b}: edge_attr of shape {tuple(ea.shape)} does not match the batch's edge features {tuple(A.shape[3:])}")
                ea_ = ea.to(A.dtype)
                A[b, ei[0], ei[1]] = ea_
                A[b, ei[1], ei[0]] = ea_
                if not torch.equal(A[b, ei[0], ei[1]], ea_):
                    raise InvalidGraphError(f"graph {b}: an edge is given in both directions with different edge_attr values")
        return cls(X, A, mask)


def _check_parts(b: int, x: Tensor, ei: Tensor, ea: Tensor, n: int) -> None:
    """Validate one graph's sparse parts (clear :class:`InvalidGraphError` instead of torch errors)."""
    if x.shape[0] != n:
        raise InvalidGraphError(f"graph {b}: x has {x.shape[0]} rows but the graph has {n} nodes")
    if ei.dim() != 2 or ei.shape[0] != 2:
        raise InvalidGraphError(f"graph {b}: edge_index must have shape (2, E), got {tuple(ei.shape)}")
    if ei.is_floating_point() or ei.dtype == torch.bool:
        raise InvalidGraphError(f"graph {b}: edge_index must hold integer node ids, got {ei.dtype}")
    if ea.shape[0] != ei.shape[1]:
        raise InvalidGraphError(f"graph {b}: edge_attr has {ea.shape[0]} rows for {ei.shape[1]} edges")
    if ei.numel():
        if int(ei.min()) < 0 or int(ei.max()) >= n:
            raise InvalidGraphError(f"graph {b}: edge_index refers to node {int(ei.min()) if int(ei.min()) < 0 else int(ei.max())} but the graph has nodes 0..{n - 1}")
        if (ei[0] == ei[1]).any():
            raise InvalidGraphError(f"graph {b}: self-loop in edge_index")


def _parts_from_data(d: Any) -> tuple:
    n = int(d.num_nodes) if d.num_nodes is not None else 0
    x = d.x if getattr(d, "x", None) is not None else torch.zeros(n, 0)
    if x.dim() == 2 and x.shape[-1] == 1 and not x.is_floating_point():
        x = x.view(-1)
    ei = d.edge_index if getattr(d, "edge_index", None) is not None else torch.zeros(2, 0, dtype=torch.long)
    if ei.dim() != 2 or ei.shape[0] != 2:
        raise InvalidGraphError(f"edge_index must have shape (2, E), got {tuple(ei.shape)}")
    ea = getattr(d, "edge_attr", None)
    if ea is None:
        ea = torch.ones(ei.shape[1], dtype=torch.float32)
    return x, ei, ea, n


def _float_array(values: list, what: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float32)
    except (ValueError, TypeError) as exc:
        raise InvalidGraphError(f"{what} must be numbers or equal-length number lists: {exc}") from exc


def _bcast(mask: Tensor, like: Tensor) -> Tensor:
    while mask.dim() < like.dim():
        mask = mask.unsqueeze(-1)
    return mask


def _pad_nodes(t: Tensor, n: int, dim: int) -> Tensor:
    if t.shape[dim] == n:
        return t
    shape = list(t.shape)
    shape[dim] = n - t.shape[dim]
    return torch.cat([t, t.new_zeros(shape)], dim=dim)


class NodeCountDistribution:
    """Empirical distribution of graph sizes, fitted on a dataset; used to draw sizes for sampling.

    ``probs[k]`` is the probability of a graph with ``k`` nodes, ``k = 0..max_nodes``."""

    def __init__(self, probs: Tensor | Sequence[float]):
        p = torch.as_tensor(probs, dtype=torch.float64)
        if p.dim() != 1 or p.numel() == 0 or (p < 0).any() or not torch.isfinite(p).all() or p.sum() <= 0:
            raise ValueError("NodeCountDistribution needs a non-empty, non-negative, finite probability vector")
        self.probs = (p / p.sum()).float()

    @classmethod
    def fit(cls, counts: Iterable[int] | Any) -> "NodeCountDistribution":
        """Fit on node counts, a :class:`GraphState`, or a list of networkx graphs / PyG ``Data``."""
        if isinstance(counts, GraphState):
            c = counts.num_nodes.tolist()
        else:
            c = []
            for item in counts:
                if isinstance(item, (int, np.integer)):
                    c.append(int(item))
                elif hasattr(item, "number_of_nodes"):
                    c.append(item.number_of_nodes())
                elif hasattr(item, "num_nodes"):
                    c.append(int(item.num_nodes))
                else:
                    raise TypeError(f"cannot read a node count from {type(item).__name__}")
        if not c:
            raise ValueError("NodeCountDistribution.fit needs at least one graph")
        if min(c) < 0:
            raise ValueError("node counts must be non-negative")
        hist = np.bincount(np.asarray(c, dtype=np.int64))
        return cls(torch.tensor(hist, dtype=torch.float64))

    @property
    def max_nodes(self) -> int:
        return int(self.probs.numel() - 1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``(n,)`` long tensor of sizes."""
        return torch.multinomial(self.probs, n, replacement=True, generator=generator)

    def log_prob(self, k: Tensor) -> Tensor:
        k = torch.as_tensor(k, dtype=torch.long)
        out = torch.full(k.shape, float("-inf"))
        ok = (k >= 0) & (k <= self.max_nodes)
        out[ok] = self.probs[k[ok]].log()
        return out

    def mask(self, sizes: Tensor, max_nodes: int | None = None) -> Tensor:
        """``(n, max_nodes)`` bool node mask for the given sizes (real nodes first)."""
        N = self.max_nodes if max_nodes is None else max_nodes
        return torch.arange(N, device=sizes.device)[None, :] < sizes[:, None]

    def to_dict(self) -> dict:
        return {"probs": self.probs.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "NodeCountDistribution":
        return cls(d["probs"])

    def __repr__(self) -> str:
        mean = float((self.probs * torch.arange(self.probs.numel())).sum())
        return f"NodeCountDistribution(max_nodes={self.max_nodes}, mean={mean:.2f})"


# ----------------------------------------------------------------------------- PyG interop
def is_pyg_data(obj: Any) -> bool:
    """Whether ``obj`` looks like a PyTorch Geometric ``Data`` (an ``edge_index`` and ``num_nodes``)."""
    import networkx as nx

    return hasattr(obj, "edge_index") and hasattr(obj, "num_nodes") and not isinstance(obj, nx.Graph)


def pyg_to_networkx(d: Any, *, node_attributes: bool = False) -> Any:
    """One PyG ``Data`` as an undirected ``networkx.Graph`` (nodes ``0..num_nodes-1``, self-loops
    dropped); with ``node_attributes`` the rows of ``d.x`` become node attribute ``"x"`` (an int for a
    single integer column, else a list)."""
    import networkx as nx

    n = int(d.num_nodes) if d.num_nodes is not None else 0
    g = nx.Graph()
    x = getattr(d, "x", None) if node_attributes else None
    for i in range(n):
        if x is None:
            g.add_node(i)
        else:
            row = x[i]
            val = int(row.item()) if (row.dim() == 0 or row.numel() == 1) and not row.is_floating_point() else row.tolist()
            g.add_node(i, x=val)
    ei = getattr(d, "edge_index", None)
    if ei is not None and ei.numel():
        g.add_edges_from((u, v) for u, v in ei.t().tolist() if u != v)
    return g
