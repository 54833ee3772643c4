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

import base64
import math
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = ["ConditionalNodeCounts", "NeuralNodeCounts", "node_counts_from_dict", "fit_node_counts", "SIZE_LAWS",
           "SIZE_LAW_CHOICES"]


class _SizeLaw:
    """What both size laws share: sizes drawn from :meth:`probs`."""

    def probs(self, values: np.ndarray | Sequence[float]) -> Tensor:
        raise NotImplementedError

    def sample(self, values: np.ndarray | Sequence[float], generator: torch.Generator | None = None) -> Tensor:
        """One size per row of raw conditions ``(n, k)``: ``(n,)`` long."""
        p = self.probs(values)
        if len(p) == 0:
            return torch.zeros(0, dtype=torch.long)
        return torch.multinomial(p.float(), 1, generator=generator).reshape(-1)


class ConditionalNodeCounts(_SizeLaw):
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


class NeuralNodeCounts(_SizeLaw):
    """``p(N | y)`` as a small classifier: an MLP from the condition to a softmax over sizes.

    Joint bins blur the size law once there are several continuous entries (``b ** k`` cells of
    the training graphs: on QM9's (logP, QED, MW), 8 x 8 x 8 quantile bins give the test
    molecule's own size 93% of the probability, where its 10 nearest training molecules give
    99.6%). The classifier reads each entry as ``[m * z, m]`` (``z`` standardised, a label
    one-hot; ``m`` = 0 for an absent entry) and is trained with every entry dropped at random, so a
    condition with absent entries gets the law marginalised over them, and none at all the
    marginal ``p(N)``. Sizes never seen in training get probability 0. Fitting is seeded and
    takes seconds on a CPU; the weights (a few thousand numbers, float32 in base64) are stored in the card.

    Args:
        mean, std: per entry, the standardisation of a continuous entry (ignored for a label).
        num_classes: per entry, 0 for a continuous entry, else the label's class count.
        weights: the MLP's ``[W1, b1, W2, b2, W3, b3]`` (``W`` as ``(out, in)``).
        support: ``(max_nodes + 1,)`` whether each size was seen in training.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], num_classes: Sequence[int],
                 weights: Sequence[Tensor | np.ndarray | list], support: Sequence[bool]) -> None:
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.num_classes = [int(c) for c in num_classes]
        self.weights = [torch.tensor(np.asarray(w, dtype=np.float32)) for w in weights]
        self.support = torch.as_tensor(np.asarray(support, dtype=bool))
        if len(self.weights) != 6:
            raise ValueError(f"weights must be [W1, b1, W2, b2, W3, b3], got {len(self.weights)} arrays")
        if self.weights[0].shape[1] != self.in_dim:
            raise ValueError(f"W1 reads {self.weights[0].shape[1]} inputs; the condition encodes to {self.in_dim}")
        if self.weights[4].shape[0] != len(self.support):
            raise ValueError(f"the MLP scores {self.weights[4].shape[0]} sizes; support has {len(self.support)}")

    @staticmethod
    def input_width(num_classes: Sequence[int]) -> int:
        """Inputs of the encoded condition: ``[z, m]`` per continuous entry, ``[one-hot, m]`` per label."""
        return sum(c + 1 if c else 2 for c in num_classes)

    @property
    def in_dim(self) -> int:
        return self.input_width(self.num_classes)

    @property
    def max_nodes(self) -> int:
        return len(self.support) - 1

    @staticmethod
    def _layers(params: Sequence[Tensor], x: Tensor) -> Tensor:
        W1, b1, W2, b2, W3, b3 = params
        h = torch.nn.functional.silu(x @ W1.T + b1)
        h = torch.nn.functional.silu(h @ W2.T + b2)
        return h @ W3.T + b3

    def _encode(self, v: np.ndarray, keep: np.ndarray | None = None) -> Tensor:
        """``(n, in_dim)`` inputs for raw conditions ``(n, k)`` (NaN = absent; ``keep`` masks more)."""
        cols = []
        for j, c in enumerate(self.num_classes):
            col = v[:, j]
            m = ~np.isnan(col) if keep is None else (~np.isnan(col) & keep[:, j])
            if c:
                oh = np.zeros((len(v), c))
                idx = np.clip(np.round(np.nan_to_num(col)).astype(np.int64), 0, c - 1)
                oh[np.arange(len(v)), idx] = 1.0
                cols += [oh * m[:, None], m[:, None]]
            else:
                z = np.nan_to_num((col - self.mean[j]) / self.std[j])
                cols += [(z * m)[:, None], m[:, None].astype(np.float64)]
        return torch.as_tensor(np.concatenate(cols, 1) if cols else np.zeros((len(v), 0)), dtype=torch.float32)

    def _log_probs(self, params: Sequence[Tensor], x: Tensor) -> Tensor:
        logits = self._layers(params, x).masked_fill(~self.support, float("-inf"))
        return torch.log_softmax(logits, -1)

    @classmethod
    def fit(cls, values: np.ndarray | Tensor, sizes: Sequence[int] | Tensor, *, labels: Sequence[int] | None = None,
            hidden: int = 64, steps: int = 3000, batch_size: int = 1024, lr: float = 3e-3, entry_dropout: float = 0.3,
            seed: int = 0) -> "NeuralNodeCounts":
        """Fit on raw conditions ``values`` ``(n, k)`` (NaN = absent) and the graph sizes ``(n,)``;
        ``labels[j]`` gives the class count of a label entry (0 = continuous). Each step drops every
        entry with probability ``entry_dropout`` (so absent entries are learned as marginals)."""
        v = np.asarray(values, dtype=np.float64)
        v = v.reshape(len(v), -1)
        s = torch.as_tensor(np.asarray(torch.as_tensor(sizes).cpu(), dtype=np.int64).reshape(-1))
        if len(s) != len(v):
            raise ValueError(f"{len(v)} condition rows for {len(s)} sizes")
        if len(s) == 0:
            raise ValueError("no training graphs to fit p(N | y) on")
        if not 0 <= entry_dropout < 1:
            raise ValueError(f"entry_dropout must be in [0, 1), got {entry_dropout}")
        k = v.shape[1]
        labels = list(labels or [0] * k)
        with np.errstate(all="ignore"):
            mean = np.where([bool(c) for c in labels], 0.0, np.nan_to_num(np.nanmean(v, 0)))
            std = np.where([bool(c) for c in labels], 1.0, np.nan_to_num(np.nanstd(v, 0), nan=1.0))
        std = np.where(std > 0, std, 1.0)
        support = torch.bincount(s, minlength=int(s.max()) + 1) > 0
        g = torch.Generator().manual_seed(seed)
        params = []
        for fan_out, fan_in in ((hidden, cls.input_width(labels)), (hidden, hidden), (len(support), hidden)):
            bound = 1.0 / math.sqrt(max(fan_in, 1))
            params += [((torch.rand(fan_out, fan_in, generator=g) * 2 - 1) * bound).requires_grad_(),
                       ((torch.rand(fan_out, generator=g) * 2 - 1) * bound).requires_grad_()]
        shell = cls(mean, std, labels, [p.detach() for p in params], support)  # its encoding and masks, for training
        opt = torch.optim.Adam(params, lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1))
        rng = np.random.default_rng(seed)
        for _ in range(steps):
            idx = rng.integers(0, len(v), min(batch_size, len(v)))
            x = shell._encode(v[idx], keep=rng.random((len(idx), k)) >= entry_dropout)
            loss = -shell._log_probs(params, x).gather(1, s[idx, None]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        shell.weights = [p.detach().clone() for p in params]
        return shell

    def probs(self, values: np.ndarray | Sequence[float]) -> Tensor:
        """``p(N | y)`` ``(n, max_nodes + 1)`` for raw conditions ``(n, k)`` (NaN = absent)."""
        v = np.asarray(values, dtype=np.float64).reshape(-1, len(self.num_classes))
        # float32 whatever the caller's autocast (steered sampling runs under the network's precision)
        with torch.no_grad(), torch.autocast(device_type="cpu", enabled=False):
            return self._log_probs(self.weights, self._encode(v)).exp().double()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "mlp", "mean": self.mean.tolist(), "std": self.std.tolist(), "num_classes": self.num_classes,
                "support": [bool(b) for b in self.support.tolist()], "max_nodes": self.max_nodes,
                # float32 bytes in base64: exact, and a fifth of the JSON numbers' size
                "weights": [{"shape": list(w.shape), "float32": base64.b64encode(w.numpy().astype("<f4").tobytes()).decode()}
                            for w in self.weights]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "NeuralNodeCounts":
        weights = [np.frombuffer(base64.b64decode(w["float32"]), dtype="<f4").reshape(w["shape"]) for w in d["weights"]]
        return cls(d["mean"], d["std"], d["num_classes"], weights, d["support"])


SIZE_LAWS = ("bins", "mlp")
#: what a ``size_law`` option may name: a law, or ``auto`` (:func:`fit_node_counts` picks)
SIZE_LAW_CHOICES = ("auto", *SIZE_LAWS)


def node_counts_from_dict(d: dict[str, Any]) -> ConditionalNodeCounts | NeuralNodeCounts:
    """The ``p(N | y)`` a card stores: joint-bin tallies, or the classifier (``kind: mlp``)."""
    kind = d.get("kind", "bins")
    if kind == "mlp":
        return NeuralNodeCounts.from_dict(d)
    if kind == "bins":
        return ConditionalNodeCounts.from_dict(d)
    raise ValueError(f"unknown p(N | y) kind {kind!r}; valid: {', '.join(SIZE_LAWS)}")


def fit_node_counts(values: np.ndarray | Tensor, sizes: Sequence[int] | Tensor, *, labels: Sequence[int] | None = None,
                    size_law: str = "auto", **mlp_options: Any) -> ConditionalNodeCounts | NeuralNodeCounts:
    """``p(N | y)`` for a conditional model. ``size_law``: ``"bins"`` (joint quantile-bin tallies),
    ``"mlp"`` (:class:`NeuralNodeCounts`), or ``"auto"``: the classifier where there is a continuous
    entry and at least 2,000 training graphs (bins blur several continuous entries; a classifier on a
    few hundred graphs is not worth it), else the bins. ``mlp_options`` go to
    :meth:`NeuralNodeCounts.fit`."""
    if size_law not in SIZE_LAW_CHOICES:
        raise ValueError(f"unknown size_law {size_law!r}; valid: {', '.join(SIZE_LAW_CHOICES)}")
    if size_law == "auto":
        v = np.asarray(values)
        continuous = any(not c for c in (labels or [0] * v.reshape(len(v), -1).shape[1]))
        size_law = "mlp" if continuous and len(v) >= 2000 else "bins"
    if size_law == "mlp":
        return NeuralNodeCounts.fit(values, sizes, labels=labels, **mlp_options)
    return ConditionalNodeCounts.fit(values, sizes, labels=labels)
