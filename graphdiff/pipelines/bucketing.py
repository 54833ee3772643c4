"""Size-bucketed sampling: graphs of given sizes drawn ``batch_size`` at a time, each batch padded
to its largest graph (optionally in increasing size order, so batches hold similar sizes)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..states import GraphState

__all__ = ["sample_by_size", "progress_bar"]


def sample_by_size(sample_batch: Any, sizes: Tensor, batch_size: int, *, sort_sizes: bool = False,
                   bar: Any = None, batch_calls: list[int] | None = None) -> tuple[GraphState, int]:
    """Graphs of the given ``sizes``, ``batch_size`` at a time, from ``sample_batch(node_mask) ->
    (GraphState, nfe)`` (each batch padded to its largest graph, results moved to the CPU). With
    ``sort_sizes`` the sizes are taken in increasing order, so each batch is padded only to similar
    sizes, and the graphs come back in the order of ``sizes``. Returns ``(state, total nfe)``;
    ``bar`` (a tqdm bar) is advanced per batch; ``batch_calls``, a list, gets each batch's nfe (the
    network calls each of its graphs went through)."""
    order = torch.sort(sizes, stable=True).indices if sort_sizes else None
    run = sizes if order is None else sizes[order]
    states, nfe = [], 0
    for start in range(0, run.numel(), batch_size):
        sz = run[start:start + batch_size]
        st, k = sample_batch(torch.arange(max(int(sz.max()), 1))[None, :] < sz[:, None])
        states.append(st.to("cpu"))
        nfe += k
        if batch_calls is not None:
            batch_calls.append(int(k))
        if bar is not None:
            bar.update(len(sz))
    if not states:
        return GraphState(torch.zeros(0, 0, dtype=torch.long), torch.zeros(0, 0, 0, dtype=torch.long),
                          torch.zeros(0, 0, dtype=torch.bool)), 0
    state = GraphState.cat(states)
    return (state if order is None else state[torch.argsort(order)]), nfe  # back to the order of sizes


def progress_bar(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="graph")
