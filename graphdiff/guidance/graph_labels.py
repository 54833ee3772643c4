"""Conditions of generic graphs: class labels and numeric columns read from each graph's own
attributes (a networkx graph's ``g.graph[name]``, a PyG ``Data``'s ``data.<name>``, e.g. ``y``).

    graphs = graphdiff.data.community_class_graphs(400)          # g.graph["label"] in 0..3
    pipe = ContinuousGraphDiffusion.create(train_state=GraphState.from_networkx(graphs))
    state, y = condition_on_graph_attributes(pipe, graphs, labels=["label"])
    pipe.fit(state, condition=y, steps=5000)
    pipe.sample(64, condition={"label": 3}, guidance_scale=2.0)

A training config says the same with ``condition: {labels: [label]}`` beside ``dataset:`` (a graph
dataset whose graphs carry the attribute) or ``graphs_file:`` (node-link JSON keeps ``graph``
attributes). A graph without the attribute has that entry absent (NaN), like a dropped condition.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
from torch import Tensor

__all__ = ["graph_attribute", "graph_condition_values", "condition_on_graph_attributes"]


def graph_attribute(graph: Any, name: str) -> Any:
    """``graph.graph[name]`` (networkx) or ``graph.<name>`` (PyG ``Data``); ``None`` when absent."""
    if hasattr(graph, "graph") and isinstance(graph.graph, dict):
        return graph.graph.get(name)
    value = getattr(graph, name, None)
    if value is not None and hasattr(value, "numel"):  # a PyG tensor attribute such as data.y
        if value.numel() != 1:
            raise ValueError(f"graph attribute {name!r} must be one number per graph, got a tensor of shape "
                             f"{tuple(value.shape)}")
        value = value.item()
    return value


def _number(value: Any, name: str, i: int, label: bool) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, str) or not np.isscalar(value):
        kind = "a class index 0..K-1" if label else "a number"
        raise ValueError(f"graph {i}: attribute {name!r} must be {kind}, got {value!r}"
                         + (" (map class names to indices first)" if label and isinstance(value, str) else ""))
    v = float(value)
    if label and not (v == round(v) and v >= 0):
        raise ValueError(f"graph {i}: label {name!r} must be a non-negative integer class index, got {value!r}")
    if not label and not math.isfinite(v):
        raise ValueError(f"graph {i}: attribute {name!r} must be finite, got {value!r}")
    return v


def graph_condition_values(graphs: Sequence[Any], *, labels: Sequence[str] = (),
                           columns: Sequence[str] = ()) -> tuple[list[str], list[str], np.ndarray]:
    """The raw condition of ``graphs`` (in order) from their attributes: ``(names, kinds, values
    (n, k))``, labels first (kind ``"label"``), then numeric ``columns`` (kind ``"column"``); NaN
    where a graph lacks the attribute. Raises ``ValueError`` for no entry, a name given twice, an
    attribute no graph has, or a value of the wrong type."""
    labels, columns = list(labels), list(columns)
    names = labels + columns
    if not names:
        raise ValueError("a graph condition needs `labels` (class attributes) and/or `columns` (numeric attributes)")
    if len(set(names)) != len(names):
        raise ValueError(f"condition names must be distinct, got {names}")
    values = np.full((len(graphs), len(names)), np.nan)
    for i, g in enumerate(graphs):
        for j, name in enumerate(names):
            values[i, j] = _number(graph_attribute(g, name), name, i, label=j < len(labels))
    for j, name in enumerate(names):
        if len(graphs) and np.isnan(values[:, j]).all():
            raise ValueError(f"no training graph has the attribute {name!r} (networkx: g.graph[{name!r}], "
                             f"PyG: data.{name})")
    return names, ["label"] * len(labels) + ["column"] * len(columns), values


def condition_on_graph_attributes(pipe: Any, graphs: Sequence[Any], *, labels: Sequence[str] = (),
                                  columns: Sequence[str] = (), dropout: float = 0.1,
                                  entry_dropout: float = 0.1) -> tuple[Any, Tensor]:
    """Make ``pipe`` conditional on attributes of ``graphs`` (its training graphs) and return
    ``(state, Y)`` for ``pipe.fit(state, condition=Y)``: the graphs as a :class:`GraphState` and
    their standardised condition. The card records the condition and ``p(N | y)``."""
    from ..states import GraphState
    from .condition import ConditionSpec
    from .training import attach_condition

    names, kinds, values = graph_condition_values(graphs, labels=labels, columns=columns)
    spec = ConditionSpec.from_data(names, values, kinds=kinds, dropout=dropout, entry_dropout=entry_dropout)
    state = GraphState.from_networkx([_as_networkx(g) for g in graphs])
    return state, attach_condition(pipe, spec, values, state)


def _as_networkx(g: Any) -> Any:
    if hasattr(g, "graph") and isinstance(g.graph, dict):
        return g
    from ..data.custom import pyg_to_networkx

    return pyg_to_networkx(g)
