"""Sampling sharded over CPU processes (``pipe.sample(..., nproc=N)``): each rank samples a
contiguous share of the graphs with its own seed stream; results are gathered in rank order."""

from __future__ import annotations

import time
from typing import Any, Mapping

import torch
from torch import Tensor

from ..states import GraphState
from .results import GraphSamples

__all__ = ["sample_distributed"]


def sample_distributed(pipe: Any, sizes: Tensor, *, steps: int, sampler: str, seed: int, batch_size: int, nproc: int,
                       precision: str = "float32", sampler_options: Mapping[str, Any] | None = None,
                       sort_sizes: bool = False, progress: bool = False) -> GraphSamples:
    """Shard the graphs of the given ``sizes`` (drawn from ``seed`` or the caller's ``num_nodes``) over
    ``nproc`` CPU processes (gloo); each rank samples its contiguous share with its own seed
    stream, and the results are gathered in rank order, so a run is reproducible for a given
    ``(seed, nproc)``. ``sampler_options`` are the card's options already merged with the caller's.
    ``progress`` shows rank 0's bar (the shares are equal, so it tracks the whole run)."""
    from ..training.distributed import launch

    chunks = torch.tensor_split(torch.arange(sizes.numel()), nproc)
    t0 = time.perf_counter()
    parts = launch(_sample_shard, nproc, pipe.to_card(), {k: v.cpu() for k, v in pipe.network.state_dict().items()},
                   sizes, [c.tolist() for c in chunks], steps, sampler, seed, batch_size, precision,
                   dict(sampler_options or {}), sort_sizes, progress)
    states = [GraphState(*p[0]) for p in parts if p[0][2].shape[0] > 0]
    state = GraphState.cat(states)
    return pipe._wrap(state, nfe=sum(p[1] for p in parts), nfe_per_graph=max(p[2] for p in parts),
                      seconds=time.perf_counter() - t0,
                      info={"steps": steps, "sampler": sampler, "seed": seed, "precision": precision, "nproc": nproc,
                            "options": dict(sampler_options or {}), **({"sort_sizes": True} if sort_sizes else {})})


def _sample_shard(rank: int, card: dict, state_dict: dict, sizes: Tensor, chunks: list, steps: int, sampler: str,
                  seed: int, batch_size: int, precision: str = "float32", sampler_options: dict | None = None,
                  sort_sizes: bool = False, progress: bool = False) -> tuple:
    """Worker of :func:`sample_distributed` (one rank's share, own seed stream)."""
    torch.set_num_threads(1)
    from .base import pipeline_class

    pipe = pipeline_class(card["pipeline"])._build(card)
    pipe.network.load_state_dict(state_dict)
    idx = chunks[rank]
    if not idx:
        return (torch.zeros(0, 0, dtype=torch.long), torch.zeros(0, 0, 0, dtype=torch.long), torch.zeros(0, 0, dtype=torch.bool)), 0, 0
    out = pipe.sample(len(idx), steps=steps, sampler=sampler, seed=seed + 7919 * (rank + 1), batch_size=batch_size,
                      num_nodes=sizes[idx], precision=precision, sampler_options=sampler_options, sort_sizes=sort_sizes,
                      progress=progress and rank == 0)
    st = out.state
    return (st.X, st.A, st.node_mask), out.nfe, out.nfe_per_graph
