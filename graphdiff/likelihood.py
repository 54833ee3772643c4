"""Likelihoods of continuous diffusion models.

* :func:`pf_ode_nll` — exact log-likelihood through the probability-flow ODE (Song et al. 2021,
  Sec. 4.3 and App. D.2; the instantaneous change of variables of Chen et al. 2018 / FFJORD,
  Grathwohl et al. 2019): ``log p_t0(x) = log p_T(x_T) + int_t0^T div f(x_t, t) dt`` with the
  divergence estimated by Hutchinson's trace estimator (fixed probes through the solve) or
  computed exactly (``exact_trace=True``, one backward pass per dimension: small ``D`` only).
* :func:`elbo_nll` — the VDM variational bound (Kingma et al. 2021), averaged over time draws.

Both report nats per sample and bits per real dimension. For a product process with symmetric
components each unordered pair counts once (``process.density_weight``); Hutchinson probes come
from ``process.noise`` and are weighted accordingly (``E[v^T W J v] = div`` on the free
coordinates), which is why ``exact_trace`` is limited to processes without such weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from .losses.vdm import ELBOOutput, vdm_elbo
from .processes.base import Process, ScoreFn
from .samplers.ode import pf_ode
from .samplers.rk45 import odeint_rk45
from .utils import apply_mask, expand_mask

__all__ = ["NLLOutput", "pf_ode_nll", "elbo_nll"]


@dataclass
class NLLOutput:
    """``nll`` ``(B,)`` nats of ``-log p_t0(x)``; ``bpd`` bits per real dimension; ``prior_logp``
    ``(B,)`` = ``log p_T(x_T)``; ``delta_logp`` ``(B,)`` = the integrated divergence; ``latent`` the
    ODE end point ``x_T``; ``nfe`` score evaluations (each with one or more vector-Jacobian products)."""

    nll: Tensor
    bpd: Tensor
    prior_logp: Tensor
    delta_logp: Tensor
    latent: Tensor
    nfe: int


def _real_dims(process: Process, x: Tensor, mask: Tensor | None) -> Tensor:
    w = process.density_weight(x)
    w = torch.ones_like(x) if w is None else w.expand_as(x)
    if mask is not None:
        w = w * expand_mask(mask, x).to(x.dtype)
    return w


def pf_ode_nll(
    process: Process,
    score_fn: ScoreFn,
    x: Tensor,
    *,
    mask: Tensor | None = None,
    exact_trace: bool = False,
    n_probes: int = 1,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    t0: float | None = None,
    generator: torch.Generator | None = None,
) -> NLLOutput:
    """``-log p_t0(x)`` for ``x`` ``(B, ...)`` by integrating the PF ODE of ``process`` from
    ``t0`` (default ``process.eps``) to ``T`` with adaptive RK45, together with the divergence."""
    t0 = process.eps if t0 is None else float(t0)
    x = apply_mask(x, mask)
    B = x.shape[0]
    shape = x.shape
    D = x[0].numel()
    weight = _real_dims(process, x, mask)
    drift = pf_ode(process, score_fn)
    if exact_trace:
        if process.density_weight(x) is not None:
            raise ValueError("exact_trace supports processes without density weights (no symmetric components); use Hutchinson")
        real = expand_mask(mask, x).reshape(B, D).any(0) if mask is not None else torch.ones(D, dtype=torch.bool, device=x.device)
        coords = real.nonzero().flatten().tolist()
        probes = None
    else:
        probes = [process.noise(x, generator, mask) for _ in range(n_probes)]
    counter = [0]

    def fn(y: Tensor, t: Tensor) -> Tensor:
        xs = y[:, :D].reshape(shape)
        tt = t.expand(B)
        with torch.enable_grad():
            xs = xs.detach().requires_grad_(True)
            f = apply_mask(drift(xs, tt), mask)
            counter[0] += 1
            if probes is None:
                ff = f.reshape(B, D)
                div = torch.zeros(B, dtype=x.dtype, device=x.device)
                for k in coords:
                    (g,) = torch.autograd.grad(ff[:, k].sum(), xs, retain_graph=True)
                    div = div + g.reshape(B, D)[:, k]
            else:
                div = torch.zeros(B, dtype=x.dtype, device=x.device)
                for v in probes:
                    (g,) = torch.autograd.grad(f, xs, grad_outputs=v * weight, retain_graph=True)
                    div = div + (g * v).reshape(B, -1).sum(-1)
                div = div / len(probes)
        return torch.cat([f.detach().reshape(B, D), div.detach()[:, None]], 1)

    y0 = torch.cat([x.reshape(B, D), torch.zeros(B, 1, dtype=x.dtype, device=x.device)], 1)
    sol = odeint_rk45(fn, y0, t0, process.T, rtol=rtol, atol=atol)
    xT = apply_mask(sol.y[:, :D].reshape(shape), mask)
    delta = sol.y[:, D]
    prior = process.prior_logp(xT, mask)
    nll = -(prior + delta)
    n = weight.reshape(B, -1).sum(-1).clamp_min(1)
    return NLLOutput(nll=nll, bpd=nll / (n * math.log(2)), prior_logp=prior, delta_logp=delta, latent=xT, nfe=counter[0])


def elbo_nll(
    model_fn: Callable[[Tensor, Tensor], Tensor],
    process: Process,
    x: Tensor,
    *,
    parametrization: str = "eps",
    n_time_samples: int = 16,
    time_sampling: str = "logsnr",
    t0: float | None = None,
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> ELBOOutput:
    """VDM negative ELBO (an upper bound on ``-log p(x)``), averaged over ``n_time_samples``
    antithetic time draws per data point (importance-sampled in log-SNR by default)."""
    outs = [vdm_elbo(model_fn, process, x, parametrization=parametrization, t0=t0, time_sampling=time_sampling, mask=mask, generator=generator) for _ in range(n_time_samples)]

    def avg(name: str) -> Tensor:
        return torch.stack([getattr(o, name) for o in outs]).mean(0)

    return ELBOOutput(nelbo=avg("nelbo"), diffusion=avg("diffusion"), prior=avg("prior"), reconstruction=avg("reconstruction"), bpd=avg("bpd"))
