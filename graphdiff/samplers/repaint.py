"""Inpainting for score-based samplers: RePaint (Lugmayr et al. 2022, "RePaint: Inpainting using
denoising diffusion probabilistic models", Alg. 1), the ``"repaint"`` sampler.

Given the clean values ``x0_known`` of some coordinates (``known = (values, which)``), each reverse
step ``t -> s`` is DDPM's ancestral step (the first-order SDE-DPM-Solver++ step with ``eta = 1`` on
the log-SNR grid, :mod:`graphdiff.samplers.exponential`) for the whole state, after which the
known coordinates are replaced by a fresh forward-noised draw ``alpha_s x0_known + sigma_s z``.
Replacing alone leaves the free part unaware of the known part's draw (it sees it only through the
score at the next step); RePaint's resampling fixes this: the step is repeated ``jumps`` times,
each repeat first taking the state back from ``s`` to ``t`` with the forward transition
``x_t = (alpha_t / alpha_s) x_s + sqrt(sigma_t^2 - (alpha_t / alpha_s)^2 sigma_s^2) z`` (jump length 1).
The last step is noise-free and not repeated, and the known coordinates end at their exact values,
so every sample contains them. Without ``known`` it is DDPM with resampling (which leaves the model's
law unchanged). NFE = ``jumps (steps - 1) + 1``.

Graphs: continuous graph models take a scaffold this way (``pipe.sample(scaffold=...)``); the free
nodes fill the rest of the requested size.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..processes.base import Process, ScoreFn
from ._common import Recorder, tvec
from .exponential import exponential_step, logsnr_grid
from .registry import StepCost, register_sampler
from .types import Callback, SampleOutput
from ..utils import apply_mask, bcast

__all__ = ["sample_repaint", "forward_transition"]


def forward_transition(process: Process, x_s: Tensor, s: Tensor, t: Tensor, generator: torch.Generator | None = None,
                       mask: Tensor | None = None) -> Tensor:
    """A draw of ``x_t ~ q(x_t | x_s)`` for ``s < t`` (the linear SDE's Gaussian transition)."""
    a_s, s_s = bcast(process.alpha(s), x_s), bcast(process.sigma(s), x_s)
    a_t, s_t = bcast(process.alpha(t), x_s), bcast(process.sigma(t), x_s)
    r = a_t / a_s
    std = (s_t**2 - r**2 * s_s**2).clamp_min(0).sqrt()
    return apply_mask(r * x_s + std * process.noise(x_s, generator, mask), mask)


def _check_jumps(jumps: int) -> int:
    if int(jumps) != jumps or int(jumps) < 1:
        raise ValueError(f"jumps (RePaint resampling) must be an integer >= 1, got {jumps!r}")
    return int(jumps)


@register_sampler("repaint", cost=lambda *, jumps=1, **o: StepCost(_check_jumps(jumps), 1 - _check_jumps(jumps)))
@torch.no_grad()
def sample_repaint(
    process: Process,
    score_fn: ScoreFn,
    x: Tensor,
    *,
    steps: int = 100,
    jumps: int = 1,
    known: tuple[Tensor, Any] | None = None,
    ts: Tensor | None = None,
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
) -> SampleOutput:
    """RePaint from ``x`` at ``ts[0]`` (module docstring). ``known = (values, which)``: clean
    values shaped like ``x`` and a boolean tensor of the coordinates they fix; ``jumps``: how often
    each step is taken (1 = no resampling)."""
    jumps = _check_jumps(jumps)
    if steps < 1 and ts is None:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if ts is None:
        ts = logsnr_grid(process, steps, device=x.device, dtype=x.dtype)
    values = which = None
    if known is not None:
        values = known[0].to(device=x.device, dtype=x.dtype)
        if values.shape != x.shape:
            raise ValueError(f"known values have shape {tuple(values.shape)}, the state {tuple(x.shape)}")
        which = torch.as_tensor(known[1], device=x.device).bool().expand_as(x)
    n = ts.numel() - 1
    x = apply_mask(x, mask)
    rec = Recorder(x, ts[0], n, callback, return_trajectory)
    for i in range(n):
        t, s = tvec(ts[i], x), tvec(ts[i + 1], x)
        a_t, s_t = bcast(process.alpha(t), x), bcast(process.sigma(t), x)
        a_s, s_s = bcast(process.alpha(s), x), bcast(process.sigma(s), x)
        h = 0.5 * (bcast(process.log_snr(s), x) - bcast(process.log_snr(t), x))
        last = i == n - 1
        for u in range(1 if last else jumps):
            d = apply_mask((x + s_t**2 * score_fn(x, t)) / a_t, mask)
            rec.nfe += 1
            eta = 0.0 if last else 1.0  # DDPM's ancestral step; the last one noise-free
            x_s = exponential_step(x, d, s_t, s_s, a_s, h, eta, None if last else process.noise(x, generator, mask))
            if which is not None:
                if last:
                    x_s = torch.where(which, values, x_s)
                else:
                    x_s = torch.where(which, a_s * values + s_s * process.noise(x, generator, mask), x_s)
            x_s = apply_mask(x_s, mask)
            x = forward_transition(process, x_s, s, t, generator, mask) if u < jumps - 1 and not last else x_s
        rec(i, ts[i + 1], x, denoised=d)
    return SampleOutput(samples=x, nfe=rec.nfe, trajectory=rec.traj, times=rec.times)
