"""Functions run inside ``graphdiff.training.launch`` workers (must be importable by spawned children)."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helper modules next to this file
import _train_problem as P


def train_worker(rank: int, steps: int, ckpt_dir: str | None) -> dict:
    """DDP training of the deterministic problem, an ordered gather of unequal chunks and (with a
    checkpoint directory) an exact stop/resume of a stochastic run."""
    from graphdiff.training import fit, gather_in_order, shard_range
    from graphdiff.training.distributed import get_world_size

    torch.set_num_threads(1)
    model = P.make_model(dropout=0.0)
    kw = {**P.FIT_KW, "batch_size": 8}
    res = fit(model, P.deterministic_loss, P.make_data(), steps=steps, checkpoint_dir=ckpt_dir, checkpoint_every=3, **kw)
    chunk = shard_range(7)
    gathered = gather_in_order(torch.arange(7)[chunk.start : chunk.stop].float() * 10)
    out = {"resume_err": None}
    if ckpt_dir is not None:  # stochastic loss (dropout, generator, numpy, python RNG): stop + resume == uninterrupted
        ref = P.make_model(seed=1)
        fit(ref, P.stochastic_loss, P.make_data(), steps=steps, **kw)
        half = P.make_model(seed=1)
        stop_dir = ckpt_dir + "-resume"
        fit(half, P.stochastic_loss, P.make_data(), steps=steps, checkpoint_dir=stop_dir, callback=lambda i: i.step == steps // 2, **kw)
        resumed = P.make_model(seed=2)
        fit(resumed, P.stochastic_loss, P.make_data(), steps=steps, checkpoint_dir=stop_dir, **kw)
        out["resume_err"] = max((a - b).abs().max().item() for a, b in zip(ref.parameters(), resumed.parameters()))
    # a wall-clock budget that only rank 1 overruns still stops both ranks at the same update
    from graphdiff.training.distributed import get_rank

    def slow_loss(m, b, g):
        import time

        time.sleep(0.02)
        return P.deterministic_loss(m, b, g)

    if get_world_size() > 1:
        timed = fit(P.make_model(dropout=0.0), slow_loss, P.make_data(), steps=10_000, progress=False, ema_decay=None,
                    batch_size=8, max_seconds=0.15 if get_rank() == 1 else 1e6)
        out["timed"] = (timed.final_step, timed.stopped_by)
    return {
        **out,
        "world": get_world_size(),
        "params": {k: v.clone() for k, v in model.state_dict().items()},
        "losses": res.losses,
        "chunk": (chunk.start, chunk.stop),
        "gathered": gathered,
    }
