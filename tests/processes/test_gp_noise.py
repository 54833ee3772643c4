"""GP / OU noise over irregular times (CSPD): conformance, closed forms against independent
computations and Monte Carlo, masks for variable-length series, and white noise as the VP case."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.testing import ProcessConformance
from graphdiff.processes import VPSDE, GaussianMixture, GPNoiseSDE, get_process
from graphdiff.samplers import sample_euler_maruyama, sample_pf_ode


def _ref_cov(kernel: str, times: torch.Tensor, ls: float, jitter: float) -> torch.Tensor:
    """Kernel matrix of one series' real times, written out independently of the process."""
    t = times.double()
    n = t.numel()
    K = torch.empty(n, n, dtype=torch.float64)
    for i in range(n):
        for j in range(n):
            d = float(t[i] - t[j])
            K[i, j] = {"rbf": math.exp(-d * d / (2 * ls * ls)), "ou": math.exp(-abs(d) / ls), "white": float(d == 0)}[kernel]
    return (K + jitter * torch.eye(n, dtype=torch.float64)) / (1 + jitter)


def _irregular(B: int, T: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(2, T + 1, (B,), generator=g)
    mask = torch.arange(T)[None] < lengths[:, None]
    times = torch.where(mask, torch.rand(B, T, generator=g).sort(1).values, torch.zeros(B, T))
    return times, mask


class _GPConformance(ProcessConformance):
    kernel = "rbf"
    lengthscale = 0.3

    def make_process(self):
        return GPNoiseSDE(self.kernel, self.lengthscale)

    def reference_prior_logp(self, proc, x, mask=None):
        B, T = x.shape[0], x.shape[-1]
        tm = torch.ones(B, T, dtype=torch.bool) if mask is None else mask.reshape(B, T)
        out = []
        for b in range(B):
            real = tm[b]
            C = _ref_cov(self.kernel, torch.linspace(0, 1, T, dtype=torch.float64)[real], self.lengthscale, proc.jitter)
            mvn = torch.distributions.MultivariateNormal(torch.zeros(int(real.sum()), dtype=torch.float64), C)
            xb = x[b].double().reshape(-1, T)[:, real]
            out.append(mvn.log_prob(xb).sum())
        return torch.stack(out).to(x.dtype)


class TestGPNoiseRBF(_GPConformance):
    pass


class TestGPNoiseOU(_GPConformance):
    kernel = "ou"
    lengthscale = 0.5


class TestGPNoiseWhite(_GPConformance):
    kernel = "white"


# ------------------------------------------------------------------------------ white = VP
def test_white_kernel_equals_vp_process():
    gp, vp = GPNoiseSDE("white", 0.1, jitter=0.0), VPSDE()
    times, mask = _irregular(6, 9)
    gp = gp.at(times)
    x0 = torch.randn(6, 9)
    t = vp.sample_time(6, generator=torch.Generator().manual_seed(0))
    a = gp.sample_marginal(x0, t, generator=torch.Generator().manual_seed(1), mask=mask)
    b = vp.sample_marginal(x0, t, generator=torch.Generator().manual_seed(1), mask=mask)
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(a[1], b[1])
    torch.testing.assert_close(gp.prior_logp(a[0], mask), vp.prior_logp(a[0], mask))
    # closed-form score is the white-noise one
    s = gp.score(a[0], x0, t, mask)
    sig, al = vp.sigma(t)[:, None], vp.alpha(t)[:, None]
    torch.testing.assert_close(s, -(a[0] - al * x0 * mask) / sig**2 * mask)
    # the same sampler with the same exact score and generator gives the same samples
    gmm = GaussianMixture(torch.tensor([[1.0] * 9, [-1.0] * 9]), 0.1)
    like = torch.zeros(6, 9)
    xs = [sample_euler_maruyama(p, gmm.score_fn(vp), p.prior_sample(like, torch.Generator().manual_seed(2), mask), steps=20,
                                mask=mask, generator=torch.Generator().manual_seed(3)).samples for p in (gp, vp)]
    torch.testing.assert_close(xs[0], xs[1])


# ------------------------------------------------------------------------------ closed forms
@pytest.mark.parametrize("kernel", ["rbf", "ou"])
def test_covariance_and_prior_logp_match_independent_formula(kernel):
    times, mask = _irregular(5, 8, seed=1)
    p = GPNoiseSDE(kernel, 0.2).at(times)
    x = p.noise(torch.zeros(5, 3, 8), torch.Generator().manual_seed(0), mask[:, None, :])
    S = p.covariance(x, mask[:, None, :])
    assert S.shape == (5, 8, 8)
    lp = p.prior_logp(x, mask[:, None, :])
    for b in range(5):
        real = mask[b]
        C = _ref_cov(kernel, times[b, real], 0.2, p.jitter)
        torch.testing.assert_close(S[b][real][:, real], C)
        ref = torch.distributions.MultivariateNormal(torch.zeros(len(C), dtype=torch.float64), C).log_prob(x[b][:, real].double()).sum()
        torch.testing.assert_close(lp[b].double(), ref, rtol=1e-4, atol=1e-4)
        assert (x[b][:, ~real] == 0).all()


def test_score_is_gradient_of_marginal_logp_and_solve_inverts_precondition():
    times, mask = _irregular(4, 7, seed=2)
    p = GPNoiseSDE("rbf", 0.25).at(times)
    x0 = torch.randn(4, 7, dtype=torch.float64) * mask
    t = torch.tensor([0.1, 0.3, 0.6, 0.9], dtype=torch.float64)
    xt, _ = p.sample_marginal(x0, t, generator=torch.Generator().manual_seed(0), mask=mask)
    xr = xt.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(p.marginal_logp(xr, x0, t, mask).sum(), xr)
    torch.testing.assert_close(p.score(xt, x0, t, mask), g * mask, rtol=1e-6, atol=1e-6)
    v = torch.randn(4, 7, dtype=torch.float64) * mask
    torch.testing.assert_close(p.solve(p.precondition(v, mask), mask), v, rtol=1e-5, atol=1e-6)
    # the preconditioned score is -eps / sigma: what an eps-predicting net gives the samplers
    eps = (xt - p.alpha(t)[:, None] * x0) / p.sigma(t)[:, None]
    torch.testing.assert_close(p.precondition(p.score(xt, x0, t, mask), mask), -eps / p.sigma(t)[:, None] * mask, rtol=1e-5, atol=1e-6)


def test_sample_marginal_covariance_monte_carlo():
    """Empirical covariance of x_t - alpha x_0 over many draws = sigma^2 Sigma on real entries."""
    T, n = 6, 20000
    times = torch.tensor([0.0, 0.05, 0.1, 0.4, 0.45, 0.0])
    mask = torch.tensor([True] * 5 + [False])
    p = GPNoiseSDE("rbf", 0.1).at(times)
    x0 = torch.randn(1, T).expand(n, T) * mask
    t = torch.full((n,), 0.4)
    xt, _ = p.sample_marginal(x0, t, generator=torch.Generator().manual_seed(0), mask=mask.expand(n, T))
    d = (xt - p.alpha(t)[:, None] * x0)[:, :5].double()
    emp = d.T @ d / n
    ref = float(p.sigma(t[:1])) ** 2 * _ref_cov("rbf", times[:5], 0.1, p.jitter)
    torch.testing.assert_close(emp, ref, atol=0.02, rtol=0)
    assert (xt[:, 5] == 0).all()


def test_forward_sde_with_correlated_increments_matches_marginal():
    """Euler-Maruyama of dx = f x dt + g L dW (noise from the process) reaches N(alpha x0, sigma^2 Sigma)."""
    n, T = 6000, 4
    times = torch.tensor([0.0, 0.1, 0.15, 0.6], dtype=torch.float64)
    p = GPNoiseSDE("ou", 0.2).at(times)
    x0 = torch.tensor([1.0, -0.5, 0.3, 2.0], dtype=torch.float64)
    x = x0.expand(n, T).clone()
    g = torch.Generator().manual_seed(0)
    steps, t_end = 200, 0.5
    dt = t_end / steps
    for i in range(steps):
        tt = torch.full((1,), i * dt, dtype=torch.float64)
        x = x + p.drift(x, tt) * dt + p.diffusion(tt)[:, None] * math.sqrt(dt) * p.noise(x, g)
    te = torch.full((1,), t_end, dtype=torch.float64)
    torch.testing.assert_close(x.mean(0), float(p.alpha(te)) * x0, atol=0.05, rtol=0)
    emp = torch.cov(x.T)
    torch.testing.assert_close(emp, float(p.sigma(te)) ** 2 * _ref_cov("ou", times, 0.2, p.jitter), atol=0.04, rtol=0)


@pytest.mark.parametrize("method", ["em", "ode"])
def test_samplers_with_exact_preconditioned_score_recover_gaussian_data(method):
    """Data N(m, C) over irregular times; with the exact Sigma grad log p_t the core's samplers
    (unchanged) return the data law."""
    times = torch.tensor([0.0, 0.07, 0.2, 0.5, 0.55], dtype=torch.float64)
    T, n = 5, 4000
    m = torch.tensor([1.0, 0.5, -0.5, 0.0, 1.0], dtype=torch.float64)
    C = 0.3 * _ref_cov("rbf", times, 0.3, 1e-2)
    p = GPNoiseSDE("rbf", 0.15).at(times)
    S = p.covariance(torch.zeros(1, T, dtype=torch.float64))[0]

    def score_fn(x, t):
        a, s = p.alpha(t)[:, None, None], p.sigma(t)[:, None, None]
        cov = a**2 * C + s**2 * S
        plain = -torch.linalg.solve(cov, (x - a[..., 0] * m).unsqueeze(-1)).squeeze(-1)
        return p.precondition(plain)

    like = torch.zeros(n, T, dtype=torch.float64)
    x = p.prior_sample(like, torch.Generator().manual_seed(0))
    if method == "em":
        out = sample_euler_maruyama(p, score_fn, x, steps=300, generator=torch.Generator().manual_seed(1)).samples
    else:
        out = sample_pf_ode(p, score_fn, x, steps=100, method="heun").samples
    torch.testing.assert_close(out.mean(0), m, atol=0.06, rtol=0)
    torch.testing.assert_close(torch.cov(out.T), C, atol=0.06, rtol=0)


# ------------------------------------------------------------------------------ masks and shapes
@settings(max_examples=25, deadline=None)
@given(length=st.integers(1, 7), pad=st.integers(0, 5), seed=st.integers(0, 10_000))
def test_real_entries_do_not_depend_on_padding(length, pad, seed):
    g = torch.Generator().manual_seed(seed)
    times = torch.rand(length, generator=g).sort().values
    z = torch.randn(2, length, generator=g)
    base = GPNoiseSDE("rbf", 0.2).at(times.expand(2, length))
    T = length + pad
    tp = torch.cat([times, torch.zeros(pad)]).expand(2, T)
    mask = (torch.arange(T) < length).expand(2, T)
    padded = GPNoiseSDE("rbf", 0.2).at(tp)
    zp = torch.cat([z, torch.randn(2, pad, generator=g)], 1)
    a = base.correlate(z)
    b = padded.correlate(zp, mask)
    torch.testing.assert_close(b[:, :length], a, rtol=1e-5, atol=1e-6)
    assert (b[:, length:] == 0).all()
    torch.testing.assert_close(padded.prior_logp(b, mask), base.prior_logp(a), rtol=1e-4, atol=1e-4)


def test_multichannel_shapes_and_time_axis_is_last():
    times, mask = _irregular(3, 10, seed=4)
    p = GPNoiseSDE("ou", 0.3).at(times)
    x0 = torch.randn(3, 2, 10)
    m = mask[:, None, :]
    t = torch.full((3,), 0.5)
    xt, eps = p.sample_marginal(x0, t, generator=torch.Generator().manual_seed(0), mask=m)
    assert xt.shape == eps.shape == (3, 2, 10)
    assert (eps.transpose(1, 2)[~mask] == 0).all()
    # channels get independent draws: whitening gives back standard normal entries
    w = p.whiten(eps, m)
    assert w.shape == (3, 2, 10)
    torch.testing.assert_close(p.correlate(w, m), eps, rtol=1e-5, atol=1e-5)


def test_config_roundtrip_registry_and_errors():
    p = GPNoiseSDE("ou", 0.25, beta_max=10.0, jitter=1e-3)
    q = GPNoiseSDE.from_config(p.config())
    assert q.config() == p.config()
    assert isinstance(get_process("gp_noise", kernel="rbf"), GPNoiseSDE)
    with pytest.raises(ValueError, match="valid choices: ou, rbf, white"):
        GPNoiseSDE("matern")
    with pytest.raises(ValueError, match="lengthscale"):
        GPNoiseSDE("rbf", 0.0)
    bound = p.at(torch.rand(4, 6))
    with pytest.raises(ValueError, match="bound times"):
        bound.noise(torch.zeros(3, 6))
