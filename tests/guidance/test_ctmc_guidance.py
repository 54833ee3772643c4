"""CTMC guidance against closed forms on a small state space (K = 3 classes, D = 2 coordinates,
9 joint states), where the exact conditional and unconditional denoisers are computable by
enumeration (:class:`~graphdiff.processes.ctmc.exact.ExactDenoiser`):

* the guided rates equal the predictor-tilted rates ``(p_t(y | x~) / p_t(y | x))^w R(x, x~)``;
* the guided samplers reproduce the law of the guided reverse chain, obtained by integrating its
  Kolmogorov equation over the 9 joint states with matrix exponentials;
* ``w = 1`` samples the conditional law ``p(x0 | y)``, ``w = 0`` the data law;
* predictor guidance with the exact ``p_t(y | x)`` equals classifier-free guidance."""

from __future__ import annotations

import functools

import pytest
import torch

from graphdiff.guidance.ctmc import GuidedX0, geometric_mix, guided_rates, guided_transition
from graphdiff.processes.ctmc import MarginalCTMC, UniformCTMC
from graphdiff.processes.ctmc.base import x0_probs_from_logits
from graphdiff.processes.ctmc.exact import ExactDenoiser, empirical_total_variation, enumerate_states
from graphdiff.samplers.ctmc import CTMC_SAMPLERS

K, D, N, TOL = 3, 2, 4000, 0.05
SUPPORT = enumerate_states(K, D)  # (9, 2)
P_X0 = torch.tensor([0.20, 0.05, 0.10, 0.05, 0.15, 0.05, 0.10, 0.05, 0.25], dtype=torch.float64)
P_Y = torch.tensor([0.9, 0.1, 0.5, 0.2, 0.8, 0.1, 0.05, 0.6, 0.1], dtype=torch.float64)  # p(y = 1 | x0)
P_COND = P_X0 * P_Y / (P_X0 * P_Y).sum()

PROCS = {"uniform": lambda: UniformCTMC(K, schedule="cosine"),
         "marginal": lambda: MarginalCTMC([0.5, 0.3, 0.2], schedule="cosine")}


def _denoisers(proc):
    return ExactDenoiser(proc, SUPPORT, P_COND), ExactDenoiser(proc, SUPPORT, P_X0)


def _p_y_given_xt(proc, x: torch.Tensor, t: float) -> torch.Tensor:
    """``p_t(y = 1 | x_t)`` ``(B,)`` by enumeration."""
    post = ExactDenoiser(proc, SUPPORT, P_X0).posterior(x, torch.full((x.shape[0],), t, dtype=torch.float64))
    return post @ P_Y


def _guided(proc, cond, uncond, x, t, w):
    tv = torch.full((x.shape[0],), t, dtype=torch.float64)
    pc = x0_probs_from_logits(proc, cond(x, tv))
    pu = x0_probs_from_logits(proc, uncond(x, tv))
    return GuidedX0(pc, pu, w)


@pytest.mark.parametrize("name", list(PROCS))
@pytest.mark.parametrize("w", [0.0, 1.0, 2.5])
def test_guided_rates_are_the_predictor_tilted_rates(name, w):
    proc = PROCS[name]()
    cond, uncond = _denoisers(proc)
    x = SUPPORT.clone()  # every joint state
    for t in (0.2, 0.7):
        got = guided_rates(proc, x, _guided(proc, cond, uncond, x, t, w), t)  # (9, D, K)
        plain = guided_rates(proc, x, _guided(proc, cond, uncond, x, t, 1.0).uncond, t)
        py = _p_y_given_xt(proc, x, t)
        for d in range(D):
            for k in range(K):
                nb = x.clone()
                nb[:, d] = k
                ratio = _p_y_given_xt(proc, nb, t) / py
                want = torch.where(x[:, d] == k, torch.zeros_like(ratio), ratio ** w * plain[:, d, k])
                torch.testing.assert_close(got[:, d, k], want, rtol=1e-6, atol=1e-10)


def test_geometric_mix_edges():
    a, b = torch.tensor([0.0, 0.2, 0.5]), torch.tensor([0.3, 0.0, 0.5])
    assert torch.equal(geometric_mix(a, b, 1.0), a) and torch.equal(geometric_mix(a, b, 0.0), b)
    torch.testing.assert_close(geometric_mix(a, b, 2.0), torch.tensor([0.0, 0.0, 0.5]))


@functools.lru_cache(maxsize=None)
def _guided_chain_law(name: str, w: float, steps: int = 400) -> torch.Tensor:
    """Law at t = 0 of the reverse chain with the exact guided rates (9 joint states), from the
    prior at t = 1, by products of matrix exponentials on a grid fine near t = 0."""
    proc = PROCS[name]()
    cond, uncond = _denoisers(proc)
    x = SUPPORT.clone()
    # neighbour index: the joint state with coordinate d set to k
    nb = x[:, None, None, :].repeat(1, D, K, 1)
    for d in range(D):
        nb[:, d, :, d] = torch.arange(K)
    target = (nb * (K ** torch.arange(D - 1, -1, -1))).sum(-1)  # lexicographic index (9, D, K)
    pi = proc.stationary(torch.float64, x.device)
    p = pi[SUPPORT].prod(-1)  # prior: independent stationary coordinates
    grid = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64) ** 2
    for i in range(steps):
        t, s = float(grid[i]), float(grid[i + 1])
        tm = 0.5 * (t + s)
        R = guided_rates(proc, x, _guided(proc, cond, uncond, x, tm, w), tm)  # 0 at the current value
        L = torch.zeros(9, 9, dtype=torch.float64)
        L.scatter_add_(1, target.reshape(9, -1), R.reshape(9, -1))
        L -= torch.diag(L.sum(1))
        p = p @ torch.linalg.matrix_exp((t - s) * L)
    return p / p.sum()


def _sample(sampler, proc, w, **kw):
    cond, uncond = _denoisers(proc)
    g = torch.Generator().manual_seed(0)
    x = proc.prior_sample((N, D), generator=g)
    return CTMC_SAMPLERS[sampler](proc, cond, x, generator=g, guidance_scale=w, uncond_denoiser=uncond, **kw)


@pytest.mark.parametrize("w", [0.0, 1.0])
def test_scale_zero_and_one_sample_the_data_and_conditional_laws(w):
    proc = PROCS["marginal"]()
    out = _sample("ancestral", proc, w, steps=50)
    assert out.nfe == 50 * (1 if w == 1.0 else 2)  # the unconditional pass is counted
    target = P_COND if w == 1.0 else P_X0
    tv = empirical_total_variation(proc, out.samples, SUPPORT, target)
    assert tv < TOL, tv
    other = P_X0 if w == 1.0 else P_COND
    assert empirical_total_variation(proc, out.samples, SUPPORT, other) > 2 * TOL


@pytest.mark.parametrize("sampler,steps", [("tau_leaping", 100), ("ancestral", 100), ("predictor_corrector", 40)])
def test_guided_samplers_follow_the_guided_chain(sampler, steps):
    proc = PROCS["marginal"]()
    w = 2.5
    law = _guided_chain_law("marginal", w)
    # guidance sharpens towards y: the guided law is neither p(x0) nor p(x0 | y)
    tv_cond = 0.5 * float((law - P_COND).abs().sum())
    assert tv_cond > 2 * TOL
    out = _sample(sampler, proc, w, steps=steps)
    tv = empirical_total_variation(proc, out.samples, SUPPORT, law)
    assert tv < TOL, tv


def test_predictor_guidance_with_the_exact_predictor_is_classifier_free_guidance():
    """Rate reweighting by the exact ``p_t(y | x)`` over every one-coordinate change (the exact
    form on a small state space) gives the classifier-free guided rates."""
    proc = PROCS["uniform"]()
    cond, uncond = _denoisers(proc)
    x, t, w = SUPPORT.clone(), 0.4, 2.0
    py = torch.log(_p_y_given_xt(proc, x, t))
    tilt = torch.zeros(9, D, K, dtype=torch.float64)
    for d in range(D):
        for k in range(K):
            nb = x.clone()
            nb[:, d] = k
            tilt[:, d, k] = torch.log(_p_y_given_xt(proc, nb, t)) - py
    g = _guided(proc, cond, uncond, x, t, w)
    tilted = GuidedX0(g.uncond, log_tilt=tilt, tilt_scale=w)
    torch.testing.assert_close(guided_rates(proc, x, tilted, t), guided_rates(proc, x, g, t))
    # the finite-step transition probabilities too, for a small step
    torch.testing.assert_close(guided_transition(proc, x, tilted, t - 1e-4, t), guided_transition(proc, x, g, t - 1e-4, t),
                               rtol=1e-3, atol=1e-9)
