"""Continuous-time variational bound of Variational Diffusion Models (Kingma et al. 2021).

For ``x_t = alpha_t x + sigma_t eps`` on ``[t0, T]`` and ``gamma(t) = -log SNR(t)``:

``-log p(x) <= L_prior + L_diffusion + L_recon`` where

* ``L_prior = KL(q(z_T | x) || N(0, prior_std^2 I))``,
* ``L_diffusion = 1/2 E_{t ~ U(t0, T)} [(T - t0) gamma'(t) || eps - eps_hat(z_t, t) ||^2]``
  (Eq. 17 written in eps form),
* ``L_recon = E_q(z_t0|x)[-log p(x | z_t0)]`` with the Gaussian decoder
  ``p(x | z_t0) = N(z_t0 / alpha_t0, sigma_t0^2 / alpha_t0^2)``, i.e. per entry
  ``1/2 (log 2 pi + gamma(t0) + 1)`` for continuous data.

All terms are in nats, summed over real entries (each unordered pair of a symmetric component
counted once, via :meth:`~graphdiff.processes.base.Process.density_weight`). With a learned schedule
(:class:`~graphdiff.processes.schedules.LearnedSchedule`) the bound is differentiable in the
schedule's parameters, so minimising it learns the schedule (VDM Sec. 5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ..processes.base import Process
from ..utils import apply_mask, bcast, expand_mask
from ..processes.parametrization import to_x0_eps

__all__ = ["ELBOOutput", "vdm_elbo"]


@dataclass
class ELBOOutput:
    """Per-sample ``(B,)`` terms of the negative ELBO (nats) and ``bpd`` (bits per real dimension)."""

    nelbo: Tensor
    diffusion: Tensor
    prior: Tensor
    reconstruction: Tensor
    bpd: Tensor

    @property
    def loss(self) -> Tensor:
        """Scalar mean negative ELBO (the training objective)."""
        return self.nelbo.mean()


def _weights(process: Process, x: Tensor, mask: Tensor | None) -> Tensor:
    w = process.density_weight(x)
    w = torch.ones_like(x) if w is None else w.expand_as(x)
    if mask is not None:
        w = w * expand_mask(mask, x).to(x.dtype)
    return w


def _mean_log_snr(process: Process, t: Tensor) -> Tensor:
    lam = process.log_snr(t)
    return lam.reshape(lam.shape[0], -1).mean(-1) if lam.dim() > 1 else lam


def vdm_elbo(
    model_fn: Callable[[Tensor, Tensor], Tensor],
    process: Process,
    x0: Tensor,
    *,
    parametrization: str = "eps",
    t: Tensor | None = None,
    t0: float | None = None,
    antithetic: bool = True,
    time_sampling: str = "uniform",
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
) -> ELBOOutput:
    """One-sample (per data point) Monte Carlo estimate of the VDM negative ELBO of ``x0`` ``(B, ...)``.

    ``t0`` (default ``process.eps``) is where the decoder sits; ``t ~ U(t0, T)`` (antithetic /
    low-discrepancy across the batch by default, VDM Sec. 5).

    ``time_sampling="logsnr"`` draws ``t`` uniformly in (mean) log-SNR instead and reweights by
    the density — importance sampling that removes the ``1/t`` spike of the integrand near ``t0``
    (far lower variance for evaluation; not differentiable in a learned schedule's parameters,
    so train with ``"uniform"``)."""
    B = x0.shape[0]
    t0 = process.eps if t0 is None else float(t0)
    if t0 <= 0:
        raise ValueError("vdm_elbo needs t0 > 0 (log SNR is infinite at t = 0); pass t0 or use a process with eps > 0")
    T = process.T
    x0 = apply_mask(x0, mask)
    w = _weights(process, x0, mask)
    if time_sampling not in ("uniform", "logsnr"):
        raise ValueError(f"unknown time_sampling {time_sampling!r}; valid choices: logsnr, uniform")
    inv_density = None
    if t is None:
        u = process.sample_time(B, generator=generator, device=x0.device, antithetic=antithetic)
        u = (u - process.eps) / (process.T - process.eps)
        if time_sampling == "uniform":
            t = (t0 + (T - t0) * u).to(x0.dtype)
        else:
            ends = _mean_log_snr(process, torch.tensor([t0, T], dtype=x0.dtype, device=x0.device))
            lam = ends[0] + (ends[1] - ends[0]) * u.to(x0.dtype)
            t = process.time_at_log_snr(lam).clamp(t0, T)
            # 1 / p(t) with p(t) = |d lam_bar / dt| / (lam_0 - lam_T)
            dl = process.d_log_snr(t)
            dl = dl.reshape(B, -1).mean(-1) if dl.dim() > 1 else dl
            inv_density = (ends[0] - ends[1]) / dl.abs()
    # diffusion term
    xt, eps = process.sample_marginal(x0, t, generator=generator, mask=mask)
    _, eps_hat = to_x0_eps(model_fn(xt, t), xt, t, process, parametrization)
    gamma_prime = -bcast(process.d_log_snr(t), x0)
    weight_t = (T - t0) if inv_density is None else inv_density.detach()
    diffusion = 0.5 * weight_t * (w * gamma_prime * (eps - eps_hat) ** 2).reshape(B, -1).sum(-1)
    # prior term: KL(N(a_T x, s_T^2) || N(0, p^2)) per entry
    tT = torch.full((B,), T, dtype=x0.dtype, device=x0.device)
    aT, sT = bcast(process.alpha(tT), x0), bcast(process.sigma(tT), x0)
    p2 = process.prior_scale(x0) ** 2
    kl = 0.5 * (sT**2 / p2 + (aT * x0) ** 2 / p2 - 1.0 - torch.log(sT**2 / p2))
    prior = (w * kl).reshape(B, -1).sum(-1)
    # reconstruction term: Gaussian decoder at t0
    tz = torch.full((B,), t0, dtype=x0.dtype, device=x0.device)
    gamma0 = -bcast(process.log_snr(tz), x0)
    rec = 0.5 * (math.log(2 * math.pi) + gamma0 + 1.0)
    reconstruction = (w * rec.expand_as(x0)).reshape(B, -1).sum(-1)
    nelbo = diffusion + prior + reconstruction
    n = w.reshape(B, -1).sum(-1).clamp_min(1)
    return ELBOOutput(nelbo=nelbo, diffusion=diffusion, prior=prior, reconstruction=reconstruction, bpd=nelbo / (n * math.log(2)))
