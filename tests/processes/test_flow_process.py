"""Rectified flow: conformance (marginal, prior, masks, shapes) plus the velocity convention."""

from __future__ import annotations

import torch

from graphdiff.testing import ProcessConformance
from graphdiff.processes import GaussianMixture, RectifiedFlow


class TestRectifiedFlow(ProcessConformance):
    is_sde = False

    def make_process(self):
        return RectifiedFlow()

    def test_prior_matches_marginal_at_T(self):
        p = self.make_process()
        t = torch.tensor([1.0])
        assert float(p.alpha(t)) == 0.0 and float(p.sigma(t)) == 1.0

    def test_interpolation_convention(self):
        p = self.make_process()
        x0, z = torch.randn(5, 2), torch.randn(5, 2)
        t = torch.rand(5)
        torch.testing.assert_close(p.interpolate(x0, z, t), (1 - t)[:, None] * x0 + t[:, None] * z)
        torch.testing.assert_close(p.velocity_target(x0, z), z - x0)
        # d/dt of the interpolant is the velocity target
        h = 1e-3
        fd = (p.interpolate(x0, z, t + h) - p.interpolate(x0, z, t - h)) / (2 * h)
        torch.testing.assert_close(fd, z - x0, atol=1e-4, rtol=1e-4)

    def test_exact_velocity_is_conditional_expectation(self):
        """Monte Carlo: E[z - x0 | x_t in a small ball] matches the analytic velocity field."""
        gmm = GaussianMixture(torch.tensor([[-2.0, 0.0], [2.0, 0.0]]), 0.25)
        p = self.make_process()
        g = torch.Generator().manual_seed(0)
        n = 200_000
        x0 = gmm.sample(n, g).double()
        z = torch.randn(n, 2, generator=g, dtype=torch.float64)
        t = torch.full((n,), 0.5, dtype=torch.float64)
        xt = p.interpolate(x0, z, t)
        q = torch.tensor([[0.3, 0.2]], dtype=torch.float64)
        near = (xt - q).norm(dim=1) < 0.1
        mc = (z - x0)[near].mean(0)
        exact = gmm.velocity_fn(p)(q, t[:1])[0]
        assert near.sum() > 500
        torch.testing.assert_close(mc, exact, atol=0.15, rtol=0)


def test_sde_samplers_reject_a_flow_with_a_clear_error():
    import pytest

    from graphdiff.samplers import sample_euler_maruyama

    with pytest.raises(TypeError, match="not an SDE"):
        sample_euler_maruyama(RectifiedFlow(), lambda x, t: x, torch.zeros(2, 2), steps=2)
