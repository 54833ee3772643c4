"""Euler–Maruyama for the reverse-time SDE (Song et al. 2021, Eq. 6; Kloeden & Platen 1992).

``x <- x + [f(x, t) - g(t)^2 s(x, t)] dt + g(t) sqrt(|dt|) z`` with ``dt < 0``; the last step
returns the mean (no noise), as in Song et al.'s "noise removal".
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..processes.base import Process, ScoreFn
from ..utils import apply_mask, bcast
from ._common import Recorder, resolve_grid, tvec
from .registry import register_sampler
from .types import Callback, SampleOutput

__all__ = ["sample_euler_maruyama"]


@torch.no_grad()
def sample_euler_maruyama(
    process: Process,
    score_fn: ScoreFn,
    x: Tensor,
    *,
    steps: int = 1000,
    ts: Tensor | None = None,
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
) -> SampleOutput:
    """Integrate the reverse SDE of ``process`` (a linear SDE) from ``x`` (a prior sample at
    ``ts[0]``, ``(B, ...)``) along ``ts`` (default ``process.time_grid(steps)``). NFE = ``steps``."""
    ts = resolve_grid(process, steps, ts, x, 1000)
    n = ts.numel() - 1
    rev = process.reverse(score_fn, probability_flow=False)
    x = apply_mask(x, mask)
    rec = Recorder(x, ts[0], n, callback, return_trajectory)
    for i in range(n):
        t = tvec(ts[i], x)
        dt = ts[i + 1] - ts[i]
        x_mean = x + rev.drift(x, t) * dt
        rec.nfe += 1
        if i < n - 1:
            x = x_mean + bcast(rev.diffusion(t), x) * torch.sqrt(-dt) * process.noise(x, generator, mask)
        else:
            x = x_mean
        x = apply_mask(x, mask)
        rec(i, ts[i + 1], x)
    return SampleOutput(samples=x, nfe=rec.nfe, trajectory=rec.traj, times=rec.times)


register_sampler("euler_maruyama", cost=1)(sample_euler_maruyama)
