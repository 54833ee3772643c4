"""The OUVE SDE of SGMSE+: conformance (with y = 0), closed-form marginal against Monte Carlo and
quadrature with an observation y, the bound process, and conditional sampling with an exact score."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.testing import ProcessConformance
from graphdiff.processes import OUVESDE, ConditionedOUVESDE, get_process
from graphdiff.samplers import sample_pc


class TestOUVE(ProcessConformance):
    def make_process(self):
        return OUVESDE(theta=1.5, sigma_min=0.05, sigma_max=0.5)

    def test_prior_matches_marginal_at_T(self):
        """The OUVE prior N(y, sigma(T)^2) matches the marginal's std but not its mean: a fraction
        e^{-theta T} of x0 - y is left (the documented mismatch), 0.22 with the defaults."""
        p = self.make_process()
        T = torch.tensor([p.T], dtype=torch.float64)
        assert abs(float(p.sigma(T)) / p.prior_std - 1) < 1e-12
        assert float(p.alpha(T)) == pytest.approx(math.exp(-1.5))
        x0, y = torch.ones(1, 4), torch.zeros(1, 4)
        assert float(p.prior_mismatch(x0, y)) == pytest.approx(math.exp(-1.5) / p.prior_std)


def _quad_var(p: OUVESDE, t: float, n: int = 20001) -> float:
    s = torch.linspace(0.0, t, n, dtype=torch.float64)
    f = torch.exp(-2 * p.theta * (t - s)) * p.diffusion(s) ** 2
    return float(torch.trapezoid(f, s))


@pytest.mark.parametrize("t", [0.03, 0.4, 1.0])
def test_variance_matches_quadrature(t):
    p = OUVESDE()
    assert float(p.sigma(torch.tensor([t], dtype=torch.float64))) ** 2 == pytest.approx(_quad_var(p, t), rel=1e-6)


def test_defaults_and_sgmse_numbers():
    p = OUVESDE()
    assert (p.theta, p.sigma_min, p.sigma_max, p.eps) == (1.5, 0.05, 0.5, 0.03)
    # sigma(1)^2 = 0.05^2 * ln10 / (1.5 + ln10) * (100 - e^-3)
    L = math.log(10)
    assert p.prior_std**2 == pytest.approx(0.0025 * L / (1.5 + L) * (100 - math.exp(-3)))
    g = p.diffusion(torch.tensor([0.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(g, torch.tensor([0.05, 0.5], dtype=torch.float64) * math.sqrt(2 * L))


@settings(max_examples=25, deadline=None)
@given(theta=st.floats(0.1, 5.0), smin=st.floats(0.01, 0.5), ratio=st.floats(1.5, 50.0), t=st.floats(0.05, 0.95))
def test_variance_ode_holds_for_any_parameters(theta, smin, ratio, t):
    """d sigma^2 / dt = -2 theta sigma^2 + g^2 and sigma(0) = 0 for every parameter choice."""
    p = OUVESDE(theta=theta, sigma_min=smin, sigma_max=smin * ratio)
    tt = torch.tensor([t], dtype=torch.float64)
    h = 1e-6
    ds2 = (p.sigma(tt + h) ** 2 - p.sigma(tt - h) ** 2) / (2 * h)
    rhs = -2 * theta * p.sigma(tt) ** 2 + p.diffusion(tt) ** 2
    torch.testing.assert_close(ds2, rhs, rtol=1e-4, atol=1e-8)
    assert float(p.sigma(torch.zeros(1, dtype=torch.float64))) == 0.0


def test_marginal_with_observation_matches_monte_carlo():
    """Euler–Maruyama of dx = theta (y - x) dt + g dW from x0 towards a non-zero y."""
    p = OUVESDE()
    gen = torch.Generator().manual_seed(0)
    n, steps, t_end = 6000, 200, 0.8
    x0 = torch.tensor([1.0, -0.5, 0.0], dtype=torch.float64)
    y = torch.tensor([-0.3, 0.7, 0.4], dtype=torch.float64)
    x = x0.expand(n, 3).clone()
    dt = t_end / steps
    for i in range(steps):
        t = torch.full((1,), i * dt, dtype=torch.float64)
        x = x + p.drift(x, t, y=y) * dt + p.diffusion(t)[:, None] * math.sqrt(dt) * torch.randn(n, 3, generator=gen, dtype=torch.float64)
    m = p.marginal(x0.expand(n, 3), torch.full((n,), t_end, dtype=torch.float64), y=y)
    se = float(m.std[0]) / math.sqrt(n)
    torch.testing.assert_close(x.mean(0), m.mean[0], rtol=0, atol=4 * se + 0.01 * float(m.std[0]))
    torch.testing.assert_close(x.std(0), m.std[0].expand(3), rtol=0.04, atol=0)
    a = math.exp(-1.5 * t_end)
    torch.testing.assert_close(m.mean[0], a * x0 + (1 - a) * y)


def test_sample_marginal_and_prior_use_y():
    p = OUVESDE()
    gen = torch.Generator().manual_seed(1)
    n = 20000
    y = torch.tensor([0.5, -1.0])
    x0 = torch.tensor([2.0, -1.0]).expand(n, 2)
    t = torch.full((n,), 0.5)
    xt, eps = p.sample_marginal(x0, t, generator=gen, y=y)
    a, s = math.exp(-0.75), float(p.sigma(t[:1]))
    torch.testing.assert_close(xt, a * x0 + (1 - a) * y + s * eps)
    prior = p.prior_sample(torch.zeros(n, 2), generator=gen, y=y)
    torch.testing.assert_close(prior.mean(0), y, atol=4 * p.prior_std / math.sqrt(n), rtol=0)
    torch.testing.assert_close(prior.std(0), torch.full((2,), p.prior_std), rtol=0.02, atol=0)
    ref = torch.distributions.Normal(y, p.prior_std).log_prob(prior[:5]).sum(1)
    torch.testing.assert_close(p.prior_logp(prior[:5], y=y), ref)


def test_given_binds_the_observation():
    p = OUVESDE()
    y = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(0))
    x = torch.randn(4, 2, 3, generator=torch.Generator().manual_seed(1))
    t = torch.full((4,), 0.3)
    q = p.given(y)
    assert isinstance(q, ConditionedOUVESDE)
    torch.testing.assert_close(q.drift(x, t), p.drift(x, t, y=y))
    torch.testing.assert_close(q.marginal(x, t).mean, p.marginal(x, t, y=y).mean)
    torch.testing.assert_close(q.prior_logp(x), p.prior_logp(x, y=y))
    a = q.prior_sample(x, generator=torch.Generator().manual_seed(2))
    b = p.prior_sample(x, generator=torch.Generator().manual_seed(2), y=y)
    torch.testing.assert_close(a, b)
    score = lambda x, t: -x  # noqa: E731
    torch.testing.assert_close(p.reverse(score, y=y).drift(x, t), q.reverse(score).drift(x, t))
    g2 = p.diffusion(t)[:, None, None] ** 2
    torch.testing.assert_close(q.reverse(score).drift(x, t), 1.5 * (y - x) + g2 * x)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="sigma_min < sigma_max"):
        OUVESDE(sigma_min=0.5, sigma_max=0.1)
    with pytest.raises(ValueError, match="theta"):
        OUVESDE(theta=0.0)
    with pytest.raises(ValueError, match="does not broadcast"):
        OUVESDE().drift(torch.zeros(4, 3), torch.zeros(4), y=torch.zeros(5, 3))
    with pytest.raises(ValueError, match="valid keys"):
        OUVESDE.from_config({"name": "ouve", "thetta": 1.0})


def test_config_round_trip_and_registry():
    p = OUVESDE(theta=2.0, sigma_min=0.1, sigma_max=0.9, eps=0.01)
    q = OUVESDE.from_config(p.config())
    assert q.config() == p.config() and q.prior_std == p.prior_std
    assert isinstance(get_process("ouve", theta=1.0), OUVESDE)


def test_pc_ald_sampling_recovers_clean_law_from_mismatched_prior():
    """Clean data x0 ~ N(m, s^2) per entry and a fixed y: the marginal at t is
    N(a m + (1 - a) y, a^2 s^2 + sigma^2) (exact score). Sampling starts from the prior N(y,
    sigma(T)^2), which misses e^{-theta}(m - y) of the mean; 30 PC steps (ALD, snr 0.5) must still
    land on the clean law."""
    p = OUVESDE()
    n, d = 4000, 2
    m, s = torch.tensor([0.6, -0.4]), 0.1
    y = torch.tensor([-0.2, 0.3]).expand(n, d)

    def score(x, t):
        a = p.alpha(t)[:, None]
        var = a**2 * s**2 + p.sigma(t)[:, None] ** 2
        return -(x - (a * m + (1 - a) * y)) / var

    q = p.given(y)
    gen = torch.Generator().manual_seed(0)
    x = q.prior_sample(torch.zeros(n, d), generator=gen)
    assert float(p.prior_mismatch(m.expand(n, d), y)[0]) > 0.3  # the prior really is off
    out = sample_pc(q, score, x, steps=30, snr=0.5, corrector="ald", generator=gen)
    assert out.nfe == 60
    # t stops at eps = 0.03 (not 0): the end law is the marginal there, std sqrt(a^2 s^2 + sigma^2)
    t_end = torch.tensor([p.eps])
    a = float(p.alpha(t_end))
    mean_end = a * m + (1 - a) * y[0]
    std_end = math.sqrt(a**2 * s**2 + float(p.sigma(t_end)) ** 2)
    torch.testing.assert_close(out.samples.mean(0), mean_end, atol=0.02, rtol=0)
    torch.testing.assert_close(out.samples.std(0), torch.full((d,), std_end), rtol=0.1, atol=0)


def test_pc_refuses_unknown_corrector():
    p = OUVESDE()
    with pytest.raises(ValueError, match="valid choices"):
        sample_pc(p, lambda x, t: -x, torch.zeros(2, 2), steps=2, corrector="ancestral")
