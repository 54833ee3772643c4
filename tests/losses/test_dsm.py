"""Denoising score matching: the exact DSM minimiser, the weightings, and masks."""

from __future__ import annotations

import pytest
import torch

from graphdiff.losses import dsm_loss
from graphdiff.processes import VESDE, VPSDE, GaussianMixture


def test_minimiser_is_the_posterior_mean_for_gaussian_data():
    """Data x0 ~ N(0, v), fixed t: among eps-predictors c * x_t the DSM (sigma^2 weighting)
    minimiser is c* = sigma / (alpha^2 v + sigma^2) — fit c by gradient descent and compare."""
    p = VPSDE()
    v = 0.5
    t0 = 0.3
    x0 = torch.randn(20000, 1, generator=torch.Generator().manual_seed(0)) * v**0.5
    t = torch.full((20000,), t0)
    c = torch.zeros((), requires_grad=True)
    opt = torch.optim.Adam([c], lr=0.05)
    for i in range(300):
        loss = dsm_loss(lambda xt, tt: c * xt, p, x0, t=t, generator=torch.Generator().manual_seed(i)).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    a, s = float(p.alpha(t[:1])), float(p.sigma(t[:1]))
    assert abs(float(c.detach()) - s / (a**2 * v + s**2)) < 0.02


@pytest.mark.parametrize("par", ["eps", "score", "x0", "v"])
def test_weightings_relation_and_parametrization_invariance(par):
    """sigma2 weighting == eps MSE; likelihood weighting == g^2 / sigma^2 * eps MSE at fixed t;
    the loss of the exact posterior in any parametrisation is the same."""
    gmm = GaussianMixture(torch.tensor([[-1.0, 1.0], [1.0, 0.0]]), 0.3)
    p = VPSDE()
    x0 = gmm.sample(512, torch.Generator().manual_seed(0))
    t = torch.full((512,), 0.4)
    fns = {"eps": gmm.eps_fn(p), "score": gmm.score_fn(p), "x0": gmm.x0_fn(p)}
    fns["v"] = lambda x, tt: p.alpha(tt)[:, None] * fns["eps"](x, tt) - p.sigma(tt)[:, None] * fns["x0"](x, tt)
    kw = dict(t=t, generator=torch.Generator().manual_seed(1))
    base = dsm_loss(fns["eps"], p, x0, parametrization="eps", weighting="sigma2", **kw).loss
    l_s2 = dsm_loss(fns[par], p, x0, parametrization=par, weighting="sigma2", t=t, generator=torch.Generator().manual_seed(1)).loss
    l_lik = dsm_loss(fns[par], p, x0, parametrization=par, weighting="likelihood", t=t, generator=torch.Generator().manual_seed(1)).loss
    l_none = dsm_loss(fns[par], p, x0, parametrization=par, weighting="none", t=t, generator=torch.Generator().manual_seed(1)).loss
    s2, g2 = float(p.sigma(t[:1]) ** 2), float(p.diffusion(t[:1]) ** 2)
    torch.testing.assert_close(l_s2, base, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(l_lik, base * g2 / s2, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(l_none, base / s2, rtol=1e-4, atol=1e-6)


def test_exact_score_beats_perturbed_score():
    gmm = GaussianMixture(torch.tensor([[-2.0, 0.0], [2.0, 1.0]]), 0.3)
    p = VESDE(sigma_max=10.0)
    x0 = gmm.sample(4000, torch.Generator().manual_seed(0))
    exact = gmm.score_fn(p)
    lo = dsm_loss(exact, p, x0, parametrization="score", generator=torch.Generator().manual_seed(1)).loss
    hi = dsm_loss(lambda x, t: 1.1 * exact(x, t), p, x0, parametrization="score", generator=torch.Generator().manual_seed(1)).loss
    assert lo < hi


def test_mask_mean_over_real_entries_only():
    p = VPSDE()
    x0 = torch.randn(8, 6)
    mask = torch.arange(6)[None] < torch.tensor([6, 5, 4, 3, 2, 2, 1, 6])[:, None]
    t = torch.full((8,), 0.5)
    model = lambda x, tt: torch.ones_like(x)  # noqa: E731
    out = dsm_loss(model, p, x0, t=t, mask=mask, generator=torch.Generator().manual_seed(0))
    # recompute by hand on the real entries
    _, eps = p.sample_marginal(x0 * mask, t, generator=torch.Generator().manual_seed(0), mask=mask)
    ref = ((1 - eps) ** 2)[mask].mean()
    torch.testing.assert_close(out.loss, ref)
    # outputs at padded entries do not matter
    model2 = lambda x, tt: torch.where(mask, torch.ones_like(x), torch.full_like(x, 1e3))  # noqa: E731
    out2 = dsm_loss(model2, p, x0, t=t, mask=mask, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out2.loss, out.loss)
    assert out.per_sample.shape == (8,)


def test_unknown_weighting():
    with pytest.raises(ValueError, match="valid choices"):
        dsm_loss(lambda x, t: x, VPSDE(), torch.zeros(2, 2), weighting="lambda")
