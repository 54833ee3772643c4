"""Common conformance tests every continuous process passes (after diffusers' common scheduler
tests): a process's test class (named ``Test...`` so pytest collects it) subclasses
:class:`ProcessConformance` and implements ``make_process``. Checks the closed-form marginal against a Monte Carlo simulation of the forward
SDE, the SDE/marginal consistency, the log-SNR and its derivative, the prior, the time grid, and
shape-agnostic masked sampling."""

from __future__ import annotations

import math

import pytest
import torch

from ..processes import Process

__all__ = ["ProcessConformance"]

SHAPES = [(64, 2), (8, 3, 4, 4), (16, 12)]


def _t(v: float, n: int) -> torch.Tensor:
    return torch.full((n,), v, dtype=torch.float64)


class ProcessConformance:
    is_sde = True
    # (x0 value, times) for the forward-SDE Monte Carlo check
    mc_times = (0.3, 0.7)
    mc_tol = 0.05  # relative tolerance on the std (the mean is checked to 4 standard errors + 2%)

    def make_process(self) -> Process:
        raise NotImplementedError

    def reference_prior_logp(self, proc: Process, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``(B,)`` prior log-density computed independently of the process (default: i.i.d.
        ``N(0, prior_std^2)`` over real entries; a correlated-noise process overrides it)."""
        lp = torch.distributions.Normal(0.0, proc.prior_std).log_prob(x)
        if mask is not None:
            lp = torch.where(mask.reshape(mask.shape + (1,) * (x.dim() - mask.dim())).expand_as(x), lp, torch.zeros_like(lp))
        return lp.reshape(x.shape[0], -1).sum(-1)

    # ---------------------------------------------------------------- saving
    #: set to False for a process built from objects that cannot be saved (a learned schedule)
    saves_itself = True

    def test_config_round_trip(self):
        """``config()`` is JSON and :func:`process_from_config` rebuilds the same process."""
        import json

        from ..processes.registry import process_from_config
        from . import assert_configs_close

        p = self.make_process()
        if not self.saves_itself:
            pytest.skip("this process is built from objects that cannot be saved")
        cfg = json.loads(json.dumps(p.config()))
        q = process_from_config(cfg)
        assert type(q) is type(p)
        assert_configs_close(q.config(), p.config())
        t = torch.linspace(max(p.eps, 1e-3), p.T, 7, dtype=torch.float64)
        torch.testing.assert_close(q.alpha(t), p.alpha(t))
        torch.testing.assert_close(q.sigma(t), p.sigma(t))

    def initial_noise_std(self, proc: Process) -> float:
        """Std of the noise already present at t = 0 (VE: sigma_min, by its convention)."""
        return 0.0

    # ---------------------------------------------------------------- coefficients
    def test_log_snr_matches_alpha_sigma(self):
        p = self.make_process()
        t = torch.linspace(max(p.eps, 1e-3), p.T * 0.999, 17, dtype=torch.float64)
        expected = 2 * (torch.log(p.alpha(t)) - torch.log(p.sigma(t)))
        torch.testing.assert_close(p.log_snr(t), expected, rtol=1e-6, atol=1e-6)
        assert (p.log_snr(t)[1:] < p.log_snr(t)[:-1]).all(), "log SNR must decrease in t"

    def test_d_log_snr_matches_finite_difference(self):
        p = self.make_process()
        t = torch.linspace(max(p.eps, 1e-2), p.T * 0.98, 9, dtype=torch.float64)
        h = 1e-6
        fd = (p.log_snr(t + h) - p.log_snr(t - h)) / (2 * h)
        torch.testing.assert_close(p.d_log_snr(t).detach(), fd.detach(), rtol=1e-4, atol=1e-4)

    def test_sde_coefficients_consistent_with_marginal(self):
        """d log alpha / dt = f and d sigma^2 / dt = 2 f sigma^2 + g^2 (for an SDE)."""
        p = self.make_process()
        t = torch.linspace(0.05, 0.95, 11, dtype=torch.float64)
        h = 1e-6
        fd_a = (p.alpha(t + h) - p.alpha(t - h)) / (2 * h)
        fd_s = (p.sigma(t + h) - p.sigma(t - h)) / (2 * h)
        torch.testing.assert_close(p.d_alpha(t).detach(), fd_a.detach(), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(p.d_sigma(t).detach(), fd_s.detach(), rtol=1e-4, atol=1e-5)
        if not self.is_sde:
            return
        dlog_a = (torch.log(p.alpha(t + h)) - torch.log(p.alpha(t - h))) / (2 * h)
        ds2 = (p.sigma(t + h) ** 2 - p.sigma(t - h) ** 2) / (2 * h)
        f, g = p.drift_coef(t), p.diffusion(t)
        torch.testing.assert_close(dlog_a.detach(), f.detach(), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(ds2.detach(), (2 * f * p.sigma(t) ** 2 + g**2).detach(), rtol=1e-4, atol=1e-5)

    # ---------------------------------------------------------------- marginal vs Monte Carlo
    def test_marginal_matches_forward_sde_monte_carlo(self):
        """Simulate dx = f x dt + g dW with fine Euler–Maruyama steps from x0 and compare the
        empirical mean / std at several times with the closed-form marginal. For a non-SDE
        interpolant, integrate each path's ODE dx/dt = alpha' x0 + sigma' z instead."""
        p = self.make_process()
        gen = torch.Generator().manual_seed(0)
        n = 4000
        x0 = torch.tensor([1.5, -0.5], dtype=torch.float64)
        x = x0.expand(n, 2).clone() + self.initial_noise_std(p) * torch.randn(n, 2, generator=gen, dtype=torch.float64)
        steps = 160
        z = torch.randn(n, 2, generator=gen, dtype=torch.float64)  # per-path noise of an interpolant
        t_end = max(self.mc_times)
        grid = torch.linspace(0.0, t_end, steps + 1, dtype=torch.float64)
        checks = {min(range(steps + 1), key=lambda i: abs(float(grid[i]) - tc)): tc for tc in self.mc_times}
        for i in range(steps + 1):
            if i in checks:
                tt = _t(float(grid[i]), n)
                m = p.marginal(x0.expand(n, 2), tt)
                emp_mean, emp_std = x.mean(0), x.std(0)
                torch.testing.assert_close(emp_mean, m.mean[0].detach(), rtol=0.02, atol=4 * float(m.std.detach().max()) / math.sqrt(n))
                torch.testing.assert_close(emp_std, m.std[0].expand(2).detach(), rtol=self.mc_tol, atol=1e-3)
            if i == steps:
                break
            tt = _t(float(grid[i]), 1)  # coefficients broadcast over the batch
            dt = float(grid[i + 1] - grid[i])
            if not self.is_sde:
                x = x + (p.d_alpha(tt)[:, None] * x0 + p.d_sigma(tt)[:, None] * z) * dt
                continue
            x = x + p.drift(x, tt).detach() * dt + p.diffusion(tt).detach()[:, None] * math.sqrt(dt) * torch.randn(n, 2, generator=gen, dtype=torch.float64)

    def test_sample_marginal_statistics(self):
        p = self.make_process()
        gen = torch.Generator().manual_seed(1)
        n = 20000
        x0 = torch.tensor([2.0, -1.0]).expand(n, 2)
        t = torch.full((n,), 0.5)
        xt, eps = p.sample_marginal(x0, t, generator=gen)
        a, s = float(p.alpha(t[:1]).detach()), float(p.sigma(t[:1]).detach())
        torch.testing.assert_close(xt.detach(), a * x0 + s * eps)
        torch.testing.assert_close(xt.mean(0), a * x0[0], atol=4 * s / math.sqrt(n), rtol=0)
        torch.testing.assert_close(xt.std(0), torch.full((2,), s), rtol=0.03, atol=0)

    # ---------------------------------------------------------------- prior and grid
    def test_prior_logp_matches_normal(self):
        p = self.make_process()
        x = torch.randn(5, 3, 2, dtype=torch.float64) * 2
        torch.testing.assert_close(p.prior_logp(x), self.reference_prior_logp(p, x))

    def test_prior_sample_std_and_reproducible(self):
        p = self.make_process()
        like = torch.zeros(4000, 3)
        a = p.prior_sample(like, generator=torch.Generator().manual_seed(3))
        b = p.prior_sample(like, generator=torch.Generator().manual_seed(3))
        assert torch.equal(a, b)
        assert abs(float(a.std()) / p.prior_std - 1) < 0.03

    def test_prior_matches_marginal_at_T(self):
        p = self.make_process()
        T = torch.tensor([p.T], dtype=torch.float64)
        assert float(p.alpha(T).detach()) < 0.01 * p.prior_std
        assert abs(float(p.sigma(T).detach()) / p.prior_std - 1) < 0.01

    def test_time_grid(self):
        p = self.make_process()
        g = p.time_grid(10)
        assert g.shape == (11,)
        assert float(g[0]) == pytest.approx(p.T) and float(g[-1]) == pytest.approx(p.eps)
        assert (g[1:] < g[:-1]).all()
        with pytest.raises(ValueError):
            p.time_grid(0)

    # ---------------------------------------------------------------- shape agnostic and masks
    @pytest.mark.parametrize("shape", SHAPES)
    def test_shape_agnostic_sample_marginal(self, shape):
        p = self.make_process()
        x0 = torch.randn(shape)
        t = p.sample_time(shape[0], generator=torch.Generator().manual_seed(0))
        xt, eps = p.sample_marginal(x0, t, generator=torch.Generator().manual_seed(1))
        assert xt.shape == eps.shape == x0.shape
        a = p.alpha(t).reshape((-1,) + (1,) * (len(shape) - 1))
        s = p.sigma(t).reshape((-1,) + (1,) * (len(shape) - 1))
        torch.testing.assert_close(xt.detach(), a * x0 + s * eps)

    def test_masked_entries_stay_zero(self):
        p = self.make_process()
        B, T = 16, 12
        lengths = torch.randint(1, T + 1, (B,), generator=torch.Generator().manual_seed(0))
        mask = torch.arange(T)[None] < lengths[:, None]
        x0 = torch.randn(B, T)
        t = p.sample_time(B, generator=torch.Generator().manual_seed(0))
        xt, eps = p.sample_marginal(x0, t, generator=torch.Generator().manual_seed(1), mask=mask)
        assert (xt[~mask] == 0).all() and (eps[~mask] == 0).all()
        assert (eps[mask] != 0).all()
        prior = p.prior_sample(x0, mask=mask)
        assert (prior[~mask] == 0).all()
        # prior_logp counts real entries only
        torch.testing.assert_close(p.prior_logp(prior, mask), self.reference_prior_logp(p, prior, mask))


