"""Predictor (gradient) guidance for score-based samplers against closed forms: a 2-D mixture of
three Gaussians under the VP SDE, where the predictor ``log p_t(y = k | x)`` (the component
posterior under the forward marginal) is exact, so the guided score at ``w = 1`` is the exact
conditional score (the score of component ``k`` alone) and sampling with it lands in component ``k``."""

from __future__ import annotations

import pytest
import torch

from graphdiff.guidance.gradient import log_prob_gradient, predictor_guided_model
from graphdiff.processes import GaussianMixture, ProductProcess
from graphdiff.processes.sde import VPSDE
from graphdiff.samplers import sample
from graphdiff.utils import bcast

MEANS = torch.tensor([[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]], dtype=torch.float64)
VARS = torch.tensor([[0.3, 0.2], [0.2, 0.5], [0.4, 0.3]], dtype=torch.float64)
W = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
GMM = GaussianMixture(MEANS, VARS, W)
SDE = VPSDE()
K = 1  # the target component


def component_log_posterior(k: int):
    """``log p_t(y = k | x)``: the responsibility of component ``k`` under the forward marginal."""
    def fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        a, s = bcast(SDE.alpha(t), x).expand_as(x), bcast(SDE.sigma(t), x).expand_as(x)
        logp, _, _ = GMM._comp_logp(x, a, s)
        return torch.log_softmax(logp, -1)[:, k]
    return fn


def test_guided_score_is_the_exact_conditional_score():
    g = torch.Generator().manual_seed(0)
    x = 3 * torch.randn(64, 2, generator=g, dtype=torch.float64)
    cond = GaussianMixture(MEANS[K:K + 1], VARS[K:K + 1]).score_fn(SDE)
    for t in (0.05, 0.3, 0.8):
        tv = torch.full((64,), t, dtype=torch.float64)
        for param, fn in (("score", GMM.score_fn(SDE)), ("eps", GMM.eps_fn(SDE)), ("x0", GMM.x0_fn(SDE))):
            guided = predictor_guided_model(fn, SDE, param, component_log_posterior(K), 1.0)
            torch.testing.assert_close(guided(x, tv), cond(x, tv), rtol=1e-6, atol=1e-8)
        # w scales the pull: s + w (s_k - s)
        s, sk = GMM.score_fn(SDE)(x, tv), cond(x, tv)
        guided = predictor_guided_model(GMM.score_fn(SDE), SDE, "score", component_log_posterior(K), 3.0)
        torch.testing.assert_close(guided(x, tv), s + 3.0 * (sk - s), rtol=1e-6, atol=1e-8)
    assert guided.calls == 2
    assert predictor_guided_model(GMM.score_fn(SDE), SDE, "score", component_log_posterior(K), 0.0).calls == 1
    with pytest.raises(ValueError, match="predictor_scale must be a finite number >= 0"):
        predictor_guided_model(GMM.score_fn(SDE), SDE, "score", component_log_posterior(K), -1.0)


@pytest.mark.parametrize("method,steps", [("euler_maruyama", 300), ("dpm_solver", 25)])
def test_guided_sampling_lands_in_the_component(method, steps):
    like = torch.zeros(3000, 2, dtype=torch.float64)
    guided = predictor_guided_model(GMM.score_fn(SDE), SDE, "score", component_log_posterior(K), 1.0)
    out = sample(SDE, guided, like, method=method, parametrization="score", steps=steps,
                 generator=torch.Generator().manual_seed(1))
    x = out.samples
    nearest = ((x[:, None] - MEANS[None]) ** 2 / VARS[None]).sum(-1).argmin(-1)
    assert (nearest == K).double().mean() > 0.99
    torch.testing.assert_close(x.mean(0), MEANS[K], atol=0.06, rtol=0)
    torch.testing.assert_close(x.var(0), VARS[K], atol=0.06, rtol=0)
    # unguided: every component, at its weight
    plain = sample(SDE, GMM.score_fn(SDE), like, method=method, parametrization="score", steps=steps,
                   generator=torch.Generator().manual_seed(1)).samples
    near = ((plain[:, None] - MEANS[None]) ** 2 / VARS[None]).sum(-1).argmin(-1)
    assert abs((near == K).double().mean().item() - W[K].item()) < 0.04


def test_symmetric_components_take_the_shared_pair_coordinate():
    """For a symmetric adjacency the gradient is with respect to the one coordinate per pair:
    ``f(A) = A_01`` has derivative 1 in that coordinate (stored at both (0, 1) and (1, 0))."""
    from graphdiff.states import GraphState

    proc = ProductProcess({"A": VPSDE()}, symmetric={"A"})
    nm = torch.ones(1, 3, dtype=torch.bool)
    flat, fmask = proc.pack(GraphState(torch.zeros(1, 3, 0), torch.zeros(1, 3, 3), nm))
    g = log_prob_gradient(lambda x, t: proc.split(x)["A"][:, 0, 1], flat, torch.zeros(1), process=proc, mask=fmask)
    A = proc.split(g)["A"][0]
    assert A[0, 1] == 1 and A[1, 0] == 1 and A.abs().sum() == 2
