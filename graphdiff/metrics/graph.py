# Over 450 lines on purpose: the named graph protocols, their MMD evaluation and the data reference are one contract.
"""Graph-distribution metrics (MMD^2 of graph statistics) under named reference protocols.

``graph_metrics(reference, generated, protocol="gdss")`` reproduces the numbers of

- ``"gdss"``: GDSS (Jo et al. 2022, ``evaluation/stats.py`` + ``utils/loader.load_eval_settings``),
  itself GraphRNN's evaluation (You et al. 2018): degree and spectral Gaussian-EMD with sigma 1,
  clustering Gaussian-EMD with sigma 0.1 and ground distance ``|i - j| / 100`` on 100 bins,
  orbit Gaussian (L2) kernel with sigma 30 on the mean ORCA orbit-count vectors.
- ``"spectre"``: SPECTRE (Martinkus et al. 2022) / DiGress ``analysis/spectre_utils.py`` with
  ``compute_emd=False`` (the GRAN-style default): Gaussian-TV kernels, degree / spectral sigma 1,
  clustering sigma 0.1, orbit sigma 30 on the mean orbit-count vectors; and, when training graphs
  are given, the ratios ``MMD^2(generated, test) / MMD^2(train, test)`` per statistic and their
  mean (as in SPECTRE / ESGG / DeFoG; the mean is over the statistics computed here, which does
  not include SPECTRE's wavelet statistic).

Every value is the **biased MMD^2** estimator (all pairs, diagonal included), not MMD.

Empty generated graphs (0 nodes) are never dropped silently: the reference code removes them
before computing every statistic (``empty="drop"``, the default, reproduces that); their count is
``n_empty`` on each card. ``empty="include"`` instead keeps each one as an extra sample point with
kernel value 1 to other empty graphs and 0 to every non-empty graph (a point at maximal distance
from every real graph), so that empty graphs enter the value instead of vanishing from it. Graphs with nodes but no edges are ordinary graphs under both protocols
(their degree histogram is ``[n]``, clustering all 0, spectrum all 0, orbit counts all 0) and are
counted as ``n_edgeless``. Reference graphs with 0 nodes are dropped and counted in
``extra["n_empty_reference"]`` (the reference code would produce ``nan``).

GDSS also post-processes its generated adjacency matrices before evaluating (``adjs_to_graphs``:
isolated nodes removed, a graph left without nodes becomes one node). That is a conversion, not
part of the metric, and it contradicts the node mask of a :class:`~graphdiff.states.GraphState`,
so it is off by default; ``isolated="gdss"`` applies it (and counts what it changed) when a number
must be comparable with GDSS's published tables.

Checks (``tests/metrics``): values equal a line-by-line transcription of the reference definitions
(networkx statistics, scipy EMD, python loops) to ~1e-14; with ``protocol="spectre"`` the MMD^2 of
the SPECTRE planar / SBM training split against the test split reproduces the published
"training set" rows of the SPECTRE / DiGress tables to all 4 printed decimals.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import networkx as nx
import numpy as np

from ..errors import unknown_name
from ..registry import Registry
from .cards import CardTable, MetricCard, cards_to_markdown
from .graph_stats import STATISTICS, compute_statistics
from .mmd import mmd2

__all__ = [
    "StatisticSpec",
    "GraphProtocol",
    "GDSS_PROTOCOL",
    "SPECTRE_PROTOCOL",
    "PROTOCOLS",
    "get_protocol",
    "GraphMetricsResult",
    "graph_metrics",
    "as_networkx_list",
    "gdss_postprocess",
]

EMPTY_POLICIES = ("drop", "include")
ISOLATED_POLICIES = ("keep", "gdss")
_RATIO_EPS = 1e-12  # |MMD^2(train, test)| below this makes a ratio meaningless -> nan


@dataclass(frozen=True)
class StatisticSpec:
    """How one statistic enters the MMD: kernel name, bandwidth ``sigma``, EMD ground-distance
    divisor and whether the per-graph statistic is normalised to a pmf first (``is_hist``)."""

    kernel: str
    sigma: float
    distance_scaling: float = 1.0
    is_hist: bool = True


@dataclass(frozen=True)
class GraphProtocol:
    """A named evaluation preset: one :class:`StatisticSpec` per statistic plus histogram sizes.

    Attributes:
        name: preset name.
        degree, clustering, orbit, spectral: kernel settings per statistic.
        clustering_bins: bins of the clustering histogram on [0, 1].
        spectral_bins: bins of the normalised-Laplacian spectrum histogram on (-1e-5, 2).
        ratios: report ``MMD(gen, test) / MMD(train, test)`` when training graphs are given.
        source: where the definition comes from.
    """

    name: str
    degree: StatisticSpec
    clustering: StatisticSpec
    orbit: StatisticSpec
    spectral: StatisticSpec
    clustering_bins: int = 100
    spectral_bins: int = 200
    ratios: bool = False
    source: str = ""

    def spec(self, statistic: str) -> StatisticSpec:
        if statistic not in STATISTICS:
            raise unknown_name("graph statistic", statistic, STATISTICS)
        return getattr(self, statistic)


GDSS_PROTOCOL = GraphProtocol(
    name="gdss",
    degree=StatisticSpec("gaussian_emd", sigma=1.0),
    clustering=StatisticSpec("gaussian_emd", sigma=0.1, distance_scaling=100.0),
    orbit=StatisticSpec("gaussian", sigma=30.0, is_hist=False),
    spectral=StatisticSpec("gaussian_emd", sigma=1.0),
    ratios=False,
    source="harryjo97/GDSS evaluation/stats.py, evaluation/mmd.py, utils/loader.py load_eval_settings",
)

SPECTRE_PROTOCOL = GraphProtocol(
    name="spectre",
    degree=StatisticSpec("gaussian_tv", sigma=1.0),
    clustering=StatisticSpec("gaussian_tv", sigma=0.1),
    orbit=StatisticSpec("gaussian_tv", sigma=30.0, is_hist=False),
    spectral=StatisticSpec("gaussian_tv", sigma=1.0),
    ratios=True,
    source="KarolisMart/SPECTRE, cvignac/DiGress src/analysis/spectre_utils.py (compute_emd=False)",
)

#: the graph metric protocols by name
PROTOCOLS: Registry[GraphProtocol] = Registry("graph metric protocol")
PROTOCOLS.register(GDSS_PROTOCOL.name, GDSS_PROTOCOL)
PROTOCOLS.register(SPECTRE_PROTOCOL.name, SPECTRE_PROTOCOL)


def get_protocol(protocol: str | GraphProtocol) -> GraphProtocol:
    """The preset called ``protocol`` (or ``protocol`` itself if already a :class:`GraphProtocol`)."""
    if isinstance(protocol, GraphProtocol):
        return protocol
    return PROTOCOLS.get(protocol)


def as_networkx_list(graphs: Any) -> list[nx.Graph]:
    """Accept a list of ``networkx.Graph`` or PyTorch Geometric ``Data`` (converted with
    :func:`graphdiff.states.pyg_to_networkx`), or a :class:`~graphdiff.states.GraphState`
    (converted with ``GraphState.to_networkx``; an edge is any non-zero adjacency entry / class id)."""
    from ..states import is_pyg_data, pyg_to_networkx
    from ..states import GraphState

    if isinstance(graphs, GraphState):
        return graphs.to_networkx()
    out = [pyg_to_networkx(g) if is_pyg_data(g) else g for g in graphs]
    for i, g in enumerate(out):
        if isinstance(g, GraphState):
            raise TypeError("pass a GraphState directly, not a list of GraphStates")
        if not isinstance(g, nx.Graph):
            raise TypeError(f"graph {i} is {type(g).__name__}, expected networkx.Graph, torch_geometric Data or a GraphState")
        if g.is_directed():
            raise TypeError(f"graph {i} is directed; graph metrics need undirected graphs")
        if g.is_multigraph() and g.number_of_edges() != nx.Graph(g).number_of_edges():
            raise TypeError(f"graph {i} is a multigraph with parallel edges; graph metrics need simple graphs "
                            "(nx.Graph(g) merges them, if that is what you mean)")
    return out


@dataclass(repr=False)
class GraphMetricsResult(CardTable, Mapping[str, float]):
    """Dict-like (``scores``) ``{statistic: MMD^2}`` (plus ``"<stat>_ratio"`` and ``"mean_ratio"`` when
    ratios were computed), with one :class:`MetricCard` per value in ``cards``."""

    scores: dict[str, float]
    cards: dict[str, MetricCard]
    protocol: str
    n_generated: int
    n_reference: int
    n_empty: int
    n_edgeless: int
    train_values: dict[str, float] = field(default_factory=dict)

    def __getitem__(self, key: str) -> float:
        return self.scores[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.scores)

    def __len__(self) -> int:
        return len(self.scores)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "scores": dict(self.scores),
            "train_values": dict(self.train_values),
            "n_generated": self.n_generated,
            "n_reference": self.n_reference,
            "n_empty": self.n_empty,
            "n_edgeless": self.n_edgeless,
            "cards": {k: c.to_dict() for k, c in self.cards.items()},
        }

    def to_markdown(self, digits: int = 6) -> str:
        return cards_to_markdown(self.cards.values(), digits=digits)

    def _card_list(self) -> list[MetricCard]:
        return list(self.cards.values())

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.6f}" for k, v in self.scores.items())
        return f"GraphMetricsResult(protocol={self.protocol!r}, {vals}, n_empty={self.n_empty})"


def _mmd_of(
    ref_stats: list[np.ndarray], gen_stats: list[np.ndarray], spec: StatisticSpec, n_extra_gen: int = 0
) -> float:
    return mmd2(
        ref_stats,
        gen_stats,
        kernel=spec.kernel,
        sigma=spec.sigma,
        distance_scaling=spec.distance_scaling,
        is_hist=spec.is_hist,
        n_extra2=n_extra_gen,
    )


def _check_metrics(metrics: Sequence[str]) -> tuple[str, ...]:
    """``metrics`` as a tuple of known statistic names; unknown or no names raise ``ValueError``."""
    metrics = tuple(metrics)
    for m in metrics:
        if m not in STATISTICS:
            raise unknown_name("graph statistic", m, STATISTICS)
    if not metrics:
        raise ValueError("metrics is empty; choose from " + ", ".join(STATISTICS))
    return metrics


def gdss_postprocess(graphs: Sequence[nx.Graph]) -> tuple[list[nx.Graph], int, int]:
    """GDSS ``utils/graph_utils.adjs_to_graphs`` on networkx graphs: remove isolated nodes; a graph
    left without nodes becomes a single isolated node. Returns ``(graphs, n_isolated_nodes_removed,
    n_graphs_made_single_node)``; the inputs are not modified."""
    out, removed, single = [], 0, 0
    for g in graphs:
        h = nx.Graph(g)
        h.remove_edges_from(list(nx.selfloop_edges(h)))
        iso = list(nx.isolates(h))
        removed += len(iso)
        h.remove_nodes_from(iso)
        if h.number_of_nodes() < 1:
            h.add_node(1)
            single += 1
        out.append(h)
    return out, removed, single


def graph_metrics(
    reference_graphs: Any,
    generated_graphs: Any,
    protocol: str | GraphProtocol = "gdss",
    metrics: Sequence[str] = STATISTICS,
    train_graphs: Any | None = None,
    empty: str = "drop",
    isolated: str = "keep",
    n_jobs: int = 1,
) -> GraphMetricsResult:
    """MMD^2 between reference (test) graphs and generated graphs for each statistic.

    Args:
        reference_graphs: list of ``networkx.Graph`` or PyG ``Data`` (or a ``GraphState``), e.g. the test split.
        generated_graphs: list of ``networkx.Graph`` or PyG ``Data`` (or a ``GraphState``).
        protocol: ``"gdss"`` or ``"spectre"`` (or a :class:`GraphProtocol`).
        metrics: subset of ``("degree", "clustering", "orbit", "spectral")``.
        train_graphs: training graphs; with a protocol that has ``ratios`` (spectre), adds
            ``"<stat>_ratio" = MMD^2(gen, ref) / MMD^2(train, ref)`` and ``"mean_ratio"``.
        empty: ``"drop"`` (reference behaviour: 0-node generated graphs removed, counted) or
            ``"include"`` (each counts as a point at kernel distance "infinity"; see module doc).
        isolated: ``"keep"`` (default: every node of the generated graph counts, as the node mask
            says) or ``"gdss"``: apply GDSS's ``adjs_to_graphs`` post-processing to the generated
            graphs first (isolated nodes removed; a graph left without nodes becomes a single
            node, so it is then not "empty"). Counts go to ``extra`` on every card.
        n_jobs: processes for the per-graph statistics (``-1``: all cores).

    Returns:
        :class:`GraphMetricsResult` mapping each statistic to its biased MMD^2, with cards.
    """
    proto = get_protocol(protocol)
    if empty not in EMPTY_POLICIES:
        raise unknown_name("empty-graph policy", empty, EMPTY_POLICIES)
    metrics = _check_metrics(metrics)
    ref = as_networkx_list(reference_graphs)
    gen = as_networkx_list(generated_graphs)
    if isolated not in ISOLATED_POLICIES:
        raise unknown_name("isolated-node policy", isolated, ISOLATED_POLICIES)
    n_isolated_removed = n_made_single = 0
    if isolated == "gdss":
        gen, n_isolated_removed, n_made_single = gdss_postprocess(gen)
    train = as_networkx_list(train_graphs) if train_graphs is not None else None

    ref_ok = [g for g in ref if g.number_of_nodes() > 0]
    gen_ok = [g for g in gen if g.number_of_nodes() > 0]
    n_empty = len(gen) - len(gen_ok)
    n_empty_ref = len(ref) - len(ref_ok)
    n_edgeless = sum(1 for g in gen_ok if g.number_of_edges() == 0)
    n_extra = n_empty if empty == "include" else 0

    kw = dict(clustering_bins=proto.clustering_bins, spectral_bins=proto.spectral_bins, n_jobs=n_jobs)
    ref_stats = compute_statistics(ref_ok, metrics, **kw)
    gen_stats = compute_statistics(gen_ok, metrics, **kw)
    train_stats = None
    n_empty_train = 0
    if train is not None and proto.ratios:
        train_ok = [g for g in train if g.number_of_nodes() > 0]
        n_empty_train = len(train) - len(train_ok)
        train_stats = compute_statistics(train_ok, metrics, **kw)

    values: dict[str, float] = {}
    train_values: dict[str, float] = {}
    cards: dict[str, MetricCard] = {}
    drop_note = (
        f"{n_empty} empty generated graph(s) dropped before computing (reference behaviour)"
        if empty == "drop"
        else f"{n_empty} empty generated graph(s) included as points with kernel 0 to all non-empty graphs"
    )
    for m in metrics:
        spec = proto.spec(m)
        v = _mmd_of(ref_stats[m], gen_stats[m], spec, n_extra)
        values[m] = v
        notes = [drop_note]
        if m == "clustering":
            notes.append(f"{proto.clustering_bins} bins on [0,1]")
        if m == "spectral":
            notes.append(f"{proto.spectral_bins}-bin pmf on (-1e-5,2)")
        if m == "orbit":
            notes.append("ORCA 4-node orbit counts (15) summed over nodes / n; edgeless -> 0")
        extra: dict[str, Any] = {"n_empty_reference": n_empty_ref, "isolated": isolated}
        if isolated == "gdss":
            extra["n_isolated_nodes_removed"] = n_isolated_removed
            extra["n_graphs_made_single_node"] = n_made_single
        if train_stats is not None:
            tv = _mmd_of(ref_stats[m], train_stats[m], spec)
            train_values[m] = tv
            extra["mmd2_train_vs_reference"] = tv
            extra["n_empty_train"] = n_empty_train
        cards[m] = MetricCard(
            name=m,
            value=v,
            protocol=proto.name,
            estimator="biased MMD^2",
            kernel=spec.kernel,
            sigma=spec.sigma,
            distance_scaling=spec.distance_scaling if spec.kernel == "gaussian_emd" else None,
            n_generated=len(gen),
            n_reference=len(ref),
            n_used_generated=len(gen_ok) + n_extra,
            n_used_reference=len(ref_ok),
            n_empty=n_empty,
            n_edgeless=n_edgeless,
            n_dropped=n_empty if empty == "drop" else 0,
            notes="; ".join(notes),
            extra=extra,
        )
    if train_stats is not None:
        ratios = []
        for m in metrics:
            # a denominator at rounding-noise level (e.g. clustering of trees: exactly 0) gives nan
            tv = train_values[m]
            r = float(values[m] / tv) if abs(tv) > _RATIO_EPS else float("nan")
            values[f"{m}_ratio"] = r
            ratios.append(r)
            cards[f"{m}_ratio"] = MetricCard(
                name=f"{m}_ratio",
                value=r,
                protocol=proto.name,
                estimator="MMD^2(generated, reference) / MMD^2(train, reference)",
                kernel=proto.spec(m).kernel,
                sigma=proto.spec(m).sigma,
                n_generated=len(gen),
                n_reference=len(ref),
                n_empty=n_empty,
                n_edgeless=n_edgeless,
                n_dropped=cards[m].n_dropped,
                notes=f"train MMD^2 = {train_values[m]:.6g} over {len(train or [])} training graphs"
                + ("; nan: train MMD^2 is 0 up to rounding" if math.isnan(r) else ""),
            )
        mean_r = float(np.mean(ratios))  # nan if any ratio is nan: say so rather than hide it
        values["mean_ratio"] = mean_r
        cards["mean_ratio"] = MetricCard(
            name="mean_ratio",
            value=mean_r,
            protocol=proto.name,
            estimator="mean of per-statistic MMD^2 ratios",
            n_generated=len(gen),
            n_reference=len(ref),
            n_empty=n_empty,
            n_edgeless=n_edgeless,
            n_dropped=cards[metrics[0]].n_dropped,
            notes="mean over " + ", ".join(metrics) + " (SPECTRE's wavelet statistic not included)",
        )
    return GraphMetricsResult(
        scores=values,
        cards=cards,
        protocol=proto.name,
        n_generated=len(gen),
        n_reference=len(ref),
        n_empty=n_empty,
        n_edgeless=n_edgeless,
        train_values=train_values,
    )


@dataclass
class DataReference:
    """What a perfect generator scores: MMD^2 of ``subsets`` random draws of ``n`` training graphs
    against the reference graphs (:func:`data_reference`). ``values[stat]`` lists the per-subset
    values; ``mean`` and ``sd`` (sample sd; 0 for one subset) summarise them. Empty (0-node) graphs are
    dropped as :func:`graph_metrics` drops them, and counted: ``n_empty_reference``, ``n_empty_train``
    (a subset that drew an empty training graph scores one graph fewer)."""

    values: dict[str, list[float]]
    n: int
    subsets: int
    protocol: str
    n_empty_reference: int = 0
    n_empty_train: int = 0

    @property
    def mean(self) -> dict[str, float]:
        return {k: float(np.mean(v)) for k, v in self.values.items()}

    @property
    def sd(self) -> dict[str, float]:
        return {k: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0 for k, v in self.values.items()}

    def __repr__(self) -> str:
        cells = ", ".join(f"{k}={self.mean[k]:.4f}±{self.sd[k]:.4f}" for k in self.values)
        empty = (f", empty graphs dropped: {self.n_empty_reference} reference, {self.n_empty_train} train"
                 if self.n_empty_reference or self.n_empty_train else "")
        return f"DataReference({cells}; {self.subsets} subsets of {self.n} graphs, protocol={self.protocol!r}{empty})"


def data_reference(
    reference_graphs: Any,
    train_graphs: Any,
    n: int | None = None,
    *,
    subsets: int = 20,
    seed: int = 0,
    protocol: str | GraphProtocol = "gdss",
    metrics: Sequence[str] = STATISTICS,
) -> DataReference:
    """The score of a perfect generator under :func:`graph_metrics`: draw ``n`` training graphs
    without replacement (default: as many as there are reference graphs), score them against the
    reference graphs as if they were a sample, ``subsets`` times.

    The biased MMD^2 of a small sample carries a term of order 1/n that the all-training-graphs
    comparison hides: with GDSS's 20 (community-small) or 40 (ego-small) generated graphs, real data
    itself scores well above ``graph_metrics(test, train)``. Compare a model's mean over seeds with
    this mean. Subset ``k`` is ``random.Random(seed + k).sample(train_graphs, n)``; the values equal
    ``graph_metrics(reference_graphs, subset, protocol, metrics)`` (statistics are computed once)."""
    proto = get_protocol(protocol)
    metrics = _check_metrics(metrics)
    ref_all = as_networkx_list(reference_graphs)
    ref = [g for g in ref_all if g.number_of_nodes() > 0]
    train = as_networkx_list(train_graphs)
    n = len(ref) if n is None else int(n)
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, got {subsets}")
    if not 1 <= n <= len(train):
        raise ValueError(f"n must lie in 1..{len(train)} (the number of training graphs), got {n}")
    kw = dict(clustering_bins=proto.clustering_bins, spectral_bins=proto.spectral_bins)
    ref_stats = compute_statistics(ref, metrics, **kw)
    keep = [i for i, g in enumerate(train) if g.number_of_nodes() > 0]  # empty graphs are dropped, as graph_metrics does
    train_stats = compute_statistics([train[i] for i in keep], metrics, **kw)
    pos = {i: j for j, i in enumerate(keep)}
    values: dict[str, list[float]] = {m: [] for m in metrics}
    for k in range(subsets):
        idx = [pos[i] for i in random.Random(seed + k).sample(range(len(train)), n) if i in pos]
        for m in metrics:
            values[m].append(_mmd_of(ref_stats[m], [train_stats[m][j] for j in idx], proto.spec(m)))
    return DataReference(values, n, subsets, proto.name, n_empty_reference=len(ref_all) - len(ref),
                         n_empty_train=len(train) - len(keep))
