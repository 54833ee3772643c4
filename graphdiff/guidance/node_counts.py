"""The graph-size law given the condition, ``p(N | y)``.

Sizes drawn regardless of the target cap what a condition can reach (a 5-atom molecule cannot
weigh 140 g/mol), so a conditional model draws ``N`` from the training graphs whose condition is
close to ``y``: each continuous entry is cut into quantile bins of the training values (labels
are their own bins), the node counts of the training graphs are tallied per joint cell, and a
condition with absent entries uses the tally summed over those entries' bins (the marginal). A
cell with few training graphs is smoothed towards the marginal ``p(N)`` with ``smoothing``
pseudo-graphs, so every size seen in training stays possible.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["ConditionalNodeCounts"]


class ConditionalNodeCounts:
    """``p(N | y)`` as joint-bin tallies.

    Args:
        edges: per entry, the inner bin edges (``len = bins - 1``; an empty list for a label, whose
            bins are its classes ``0..num_classes-1``).
        bins: per entry, the number of bins.
        counts: ``(bins_1, ..., bins_k, max_nodes + 1)`` training-graph tallies.
        smoothing: pseudo-graphs drawn from the marginal ``p(N)`` added to every cell.
        is_label: per entry, whether it is a class label (its value is its bin).
    """

    def __init__(self, edges: Sequence[Sequence[float]], bins: Sequence[int], counts: Tensor | np.ndarray,
                 smoothing: float = 1.0, is_label: Sequence[bool] | None = None) -> None:
        self.edges = [np.asarray(e, dtype=np.float64) for e in edges]
        self.bins = [int(b) for b in bins]
        self.is_label = [bool(x) for x in (is_label or [False] * len(self.bins))]
        self.counts = torch.as_tensor(np.asarray(counts), dtype=torch.float64)
        if self.counts.dim() != len(self.bins) + 1 or list(self.counts.shape[:-1]) != self.bins:
            raise ValueError(f"counts must have shape {(*self.bins, 'max_nodes + 1')}, got {tuple(self.counts.shape)}")
        if smoothing < 0:
            raise ValueError(f"smoothing must be >= 0, got {smoothing}")
        self.smoothing = float(smoothing)

    @classmethod
    def fit(cls, values: np.ndarray | Tensor, sizes: Sequence[int] | Tensor, *, labels: Sequence[int] | None = None,
            max_cells: int = 512, max_bins: int = 8, smoothing: float = 1.0) -> "ConditionalNodeCounts":
        """Tallies of ``sizes`` ``(n,)`` by the raw condition ``values`` ``(n, k)`` (rows with an
        absent (NaN) entry are left out: their cell is unknown). ``labels[j]`` gives the class count
        of a label entry (0 = continuous). Continuous entries get ``b`` quantile bins, the most with
        ``b ** k_continuous * prod(classes) <= max_cells`` (at most ``max_bins``, at least 2)."""
        v = np.asarray(values, dtype=np.float64)
        v = v.reshape(len(v), -1)
        s = np.asarray(torch.as_tensor(sizes).cpu(), dtype=np.int64).reshape(-1)
        if len(s) != len(v):
            raise ValueError(f"{len(v)} condition rows for {len(s)} sizes")
        k = v.shape[1]
        labels = list(labels or [0] * k)
        n_cont = sum(1 for c in labels if not c)
        fixed = math.prod(c for c in labels if c) or 1
        b = max_bins
        while b > 2 and b ** n_cont * fixed > max_cells:
            b -= 1
        keep = ~np.isnan(v).any(1)
        v, s = v[keep], s[keep]
        edges, bins = [], []
        for j, c in enumerate(labels):
            if c:
                edges.append([])
                bins.append(int(c))
            else:
                qs = np.unique(np.quantile(v[:, j], np.linspace(0, 1, b + 1)[1:-1])) if len(v) else np.array([])
                edges.append(qs.tolist())
                bins.append(len(qs) + 1)
        max_nodes = int(s.max()) if len(s) else 0
        counts = np.zeros((*bins, max_nodes + 1))
        out = cls(edges, bins, counts, smoothing, is_label=[bool(c) for c in labels])
        idx = out._cells(v)
        np.add.at(counts, (*idx.T, s), 1.0)
        out.counts = torch.as_tensor(counts)
        return out

    @property
    def max_nodes(self) -> int:
        return self.counts.shape[-1] - 1

    def _cells(self, v: np.ndarray) -> np.ndarray:
        """Bin index ``(n, k)`` of raw values (NaN entries get -1)."""
        idx = np.full(v.shape, -1, dtype=np.int64)
        for j, e in enumerate(self.edges):
            col = v[:, j]
            ok = ~np.isnan(col)
            if self.is_label[j]:  # a label: its class is its bin
                idx[ok, j] = np.clip(np.round(col[ok]).astype(np.int64), 0, self.bins[j] - 1)
            else:
                idx[ok, j] = np.searchsorted(e, col[ok], side="right")
        return idx

    def probs(self, values: np.ndarray | Sequence[float]) -> Tensor:
        """``p(N | y)`` ``(n, max_nodes + 1)`` for raw conditions ``(n, k)`` (NaN = absent)."""
        v = np.asarray(values, dtype=np.float64)
        v = v.reshape(-1, len(self.bins))
        idx = self._cells(v)
        marginal = self.counts.reshape(-1, self.counts.shape[-1]).sum(0)
        marginal = marginal / marginal.sum().clamp_min(1e-12)
        out = torch.empty(len(v), self.counts.shape[-1], dtype=torch.float64)
        cache: dict[tuple, Tensor] = {}
        for i, row in enumerate(map(tuple, idx)):
            if row not in cache:
                c = self.counts
                for j in reversed(range(len(row))):  # last axes first, so earlier axis numbers stay valid
                    c = c.sum(j) if row[j] < 0 else c.select(j, row[j])
                p = c + self.smoothing * marginal
                cache[row] = p / p.sum().clamp_min(1e-12)
            out[i] = cache[row]
        return out

    def sample(self, values: np.ndarray | Sequence[float], generator: torch.Generator | None = None) -> Tensor:
        """One size per row of raw conditions ``(n, k)``: ``(n,)`` long."""
        p = self.probs(values)
        if len(p) == 0:
            return torch.zeros(0, dtype=torch.long)
        return torch.multinomial(p.float(), 1, generator=generator).reshape(-1)

    def to_dict(self) -> dict[str, Any]:
        nz = torch.nonzero(self.counts)
        return {"edges": [e.tolist() for e in self.edges], "bins": self.bins, "max_nodes": self.max_nodes,
                "smoothing": self.smoothing, "is_label": self.is_label,
                # sparse tallies: [cell..., size, count] rows
                "counts": [[*map(int, r.tolist()), int(self.counts[tuple(r.tolist())])] for r in nz]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ConditionalNodeCounts":
        counts = np.zeros((*[int(b) for b in d["bins"]], int(d["max_nodes"]) + 1))
        for row in d["counts"]:
            counts[tuple(row[:-1])] = row[-1]
        return cls(d["edges"], d["bins"], counts, float(d.get("smoothing", 1.0)), is_label=d.get("is_label"))
