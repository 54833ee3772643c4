"""Predictor–corrector sampling (Song et al. 2021, Alg. 1/2 and App. G).

Predictor: reverse diffusion with the generic discretisation ``f_i = f(x, t) dt``,
``G_i = g(t) sqrt(|dt|)`` (Eq. 46). Corrector: annealed Langevin dynamics with step size
``eps_i = 2 r_i (snr ||z|| / ||s||)^2`` (Alg. 4/5), where ``r_i = alpha(t)^2 / alpha(t_next)^2 <= 1``
(DDPM's ``alpha_i = 1 - beta_i`` for VP, 1 for VE; no process-type checks needed). The norms are
batch means of per-sample norms over real entries, as in Song et al.'s code (per-sample norms blow
up where the score vanishes, e.g. between the modes of a low-dimensional mixture). Each time step
runs ``n_corrector`` corrector steps, then the predictor; the last predictor step returns its mean.

``corrector="ald"`` takes the step size from the marginal std instead of the score's norm,
``eps_i = 2 (snr sigma(t_i))^2``: NCSN's annealed Langevin dynamics (Song & Ermon 2019, Alg. 1),
the corrector SGMSE+ uses with ``snr = 0.5`` (Richter et al. 2023).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..processes.base import Process, ScoreFn
from ..utils import apply_mask, bcast, sum_except_batch
from ._common import Recorder, resolve_grid, tvec
from .registry import StepCost, register_sampler
from .types import Callback, SampleOutput

__all__ = ["sample_pc", "langevin_step", "ald_step", "CORRECTORS"]

CORRECTORS = ("langevin", "ald")


def langevin_step(process: Process, score_fn: ScoreFn, x: Tensor, t: Tensor, snr: float, ratio: Tensor, generator: torch.Generator | None, mask: Tensor | None) -> Tensor:
    """One Langevin corrector step at time ``t`` (``(B,)``) with target signal-to-noise ``snr``."""
    grad = apply_mask(score_fn(x, t), mask)
    z = process.noise(x, generator, mask)
    g_norm = sum_except_batch(grad**2, mask).sqrt().mean()
    z_norm = sum_except_batch(z**2, mask).sqrt().mean()
    step = 2.0 * bcast(ratio, x) * (snr * z_norm / g_norm.clamp_min(1e-12)) ** 2
    return apply_mask(x + step * grad + torch.sqrt(2.0 * step) * z, mask)


def ald_step(process: Process, score_fn: ScoreFn, x: Tensor, t: Tensor, snr: float, generator: torch.Generator | None, mask: Tensor | None) -> Tensor:
    """One annealed-Langevin corrector step with step size ``2 (snr sigma(t))^2`` (``t``: ``(B,)``)."""
    grad = apply_mask(score_fn(x, t), mask)
    z = process.noise(x, generator, mask)
    step = 2.0 * bcast((snr * process.sigma(t)) ** 2, x)
    return apply_mask(x + step * grad + torch.sqrt(2.0 * step) * z, mask)


@torch.no_grad()
def sample_pc(
    process: Process,
    score_fn: ScoreFn,
    x: Tensor,
    *,
    steps: int = 1000,
    ts: Tensor | None = None,
    snr: float = 0.16,
    n_corrector: int = 1,
    corrector: str = "langevin",
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
) -> SampleOutput:
    """Reverse-diffusion predictor + Langevin corrector (``corrector``: ``"langevin"``, step from
    the score norm, or ``"ald"``, step from ``sigma(t)``). NFE = ``steps (1 + n_corrector)``."""
    if n_corrector < 0:
        raise ValueError(f"n_corrector must be >= 0, got {n_corrector}")
    if corrector not in CORRECTORS:
        raise ValueError(f"unknown corrector {corrector!r}; valid choices are {list(CORRECTORS)}")
    ts = resolve_grid(process, steps, ts, x, 1000)
    n = ts.numel() - 1
    rev = process.reverse(score_fn, probability_flow=False)
    x = apply_mask(x, mask)
    rec = Recorder(x, ts[0], n, callback, return_trajectory)
    for i in range(n):
        t = tvec(ts[i], x)
        t_next = tvec(ts[i + 1], x)
        dt = ts[i + 1] - ts[i]
        ratio = (process.alpha(t) / process.alpha(t_next)) ** 2
        for _ in range(n_corrector):
            if corrector == "ald":
                x = ald_step(process, score_fn, x, t, snr, generator, mask)
            else:
                x = langevin_step(process, score_fn, x, t, snr, ratio, generator, mask)
            rec.nfe += 1
        x_mean = x + rev.drift(x, t) * dt
        rec.nfe += 1
        if i < n - 1:
            x = x_mean + bcast(rev.diffusion(t), x) * torch.sqrt(-dt) * process.noise(x, generator, mask)
        else:
            x = x_mean
        x = apply_mask(x, mask)
        rec(i, ts[i + 1], x)
    return SampleOutput(samples=x, nfe=rec.nfe, trajectory=rec.traj, times=rec.times)


def _pc_cost(*, n_corrector: int = 1, corrector: str = "langevin", **options: object) -> StepCost:
    """One predictor call plus ``n_corrector`` corrector calls per step."""
    if n_corrector < 0:
        raise ValueError(f"n_corrector must be >= 0, got {n_corrector}")
    if corrector not in CORRECTORS:
        raise ValueError(f"unknown corrector {corrector!r}; valid choices are {list(CORRECTORS)}")
    return StepCost(1 + int(n_corrector))


register_sampler("pc", cost=_pc_cost)(sample_pc)
