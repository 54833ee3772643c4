"""VDM continuous-time ELBO: an upper bound on the true NLL (tight for the exact denoiser),
estimators agree, and a learned schedule trains through it."""

from __future__ import annotations

import math

import torch

from graphdiff.losses import vdm_elbo
from graphdiff.processes import VESDE, VPSDE, GaussianMixture, LearnedSchedule

GAUSS = GaussianMixture(torch.tensor([[0.5, -1.0]]), torch.tensor([[0.5, 2.0]]))


def _rep(x: torch.Tensor, k: int) -> torch.Tensor:
    return x.repeat(k, 1)


def test_elbo_bounds_true_nll_and_is_tight_for_exact_model():
    """E_x[-ELBO(x)] >= E_x[-log p(x)] (within 4 standard errors), equal up to a small gap for the
    exact eps; a wrong model (eps * 0.8) is clearly above."""
    p = VPSDE()
    x = _rep(GAUSS.sample(1000, torch.Generator().manual_seed(0)).double(), 16)
    nll = -GAUSS.log_prob(x)
    out = vdm_elbo(GAUSS.eps_fn(p), p, x, time_sampling="logsnr", generator=torch.Generator().manual_seed(1))
    gap = out.nelbo - nll
    se = float(gap.std()) / math.sqrt(gap.numel())
    assert float(gap.mean()) > -4 * se
    assert float(gap.mean()) < 0.05 + 4 * se
    wrong = vdm_elbo(lambda xt, t: 0.8 * GAUSS.eps_fn(p)(xt, t), p, x, time_sampling="logsnr", generator=torch.Generator().manual_seed(1))
    assert float((wrong.nelbo - nll).mean()) > 0.3
    assert out.bpd.shape == (x.shape[0],)
    torch.testing.assert_close(out.bpd, out.nelbo / (2 * math.log(2)))


def test_time_samplers_agree_in_expectation():
    p = VPSDE(schedule="cosine")
    x = _rep(GAUSS.sample(500, torch.Generator().manual_seed(0)).double(), 16)
    a = vdm_elbo(GAUSS.eps_fn(p), p, x, time_sampling="logsnr", generator=torch.Generator().manual_seed(1)).nelbo
    b = vdm_elbo(GAUSS.eps_fn(p), p, x, time_sampling="uniform", generator=torch.Generator().manual_seed(2)).nelbo
    se = math.sqrt(float(a.var()) / a.numel() + float(b.var()) / b.numel())
    assert abs(float(a.mean() - b.mean())) < 4 * se
    assert float(a.std()) < float(b.std())  # importance sampling lowers the variance


def test_ve_elbo_bounds():
    p = VESDE(sigma_min=0.01, sigma_max=50.0)
    x = _rep(GAUSS.sample(1000, torch.Generator().manual_seed(0)).double(), 8)
    nll = -GAUSS.log_prob(x)
    gap = vdm_elbo(GAUSS.eps_fn(p), p, x, generator=torch.Generator().manual_seed(1)).nelbo - nll
    se = float(gap.std()) / math.sqrt(gap.numel())
    assert -4 * se < float(gap.mean()) < 0.05 + 4 * se


def test_learned_schedule_is_monotone_and_trains():
    """Start from a poor log-SNR range [-1, 1] (loose prior and reconstruction terms, gap ~0.9
    nats); optimising the ELBO through the schedule widens it and lowers the bound."""
    torch.manual_seed(0)
    sched = LearnedSchedule(gamma_min=-1.0, gamma_max=1.0, hidden=16).double()
    t = torch.linspace(0, 1, 101, dtype=torch.float64)
    g = sched.gamma(t).detach()
    assert (g[1:] > g[:-1]).all()
    torch.testing.assert_close(g[[0, -1]], torch.tensor([-1.0, 1.0], dtype=torch.float64))
    p = VPSDE(schedule=sched)
    x = GAUSS.sample(1024, torch.Generator().manual_seed(0)).double()
    opt = torch.optim.Adam(sched.parameters(), lr=0.1)

    def nelbo(seed: int) -> torch.Tensor:
        return vdm_elbo(GAUSS.eps_fn(p), p, x, generator=torch.Generator().manual_seed(seed)).loss

    before = sum(float(nelbo(100 + i).detach()) for i in range(4)) / 4
    for i in range(60):
        loss = nelbo(i)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = sum(float(nelbo(100 + i).detach()) for i in range(4)) / 4
    assert sched.gamma_0.grad is not None
    assert after < before - 0.3, (before, after)
    g = sched.gamma(t).detach()
    assert (g[1:] > g[:-1]).all()
    assert float(g[0]) < -1.5 and float(g[-1]) > 1.5
