"""Conformance tests of every SDE process (VP with linear / cosine / learned schedule, sub-VP, VE)."""

from __future__ import annotations

import torch

from graphdiff.testing import ProcessConformance
from graphdiff.processes import VESDE, VPSDE, LearnedSchedule, SubVPSDE, get_process


class TestVPLinear(ProcessConformance):
    def make_process(self):
        return VPSDE(beta_min=0.1, beta_max=20.0)


class TestVPCosine(ProcessConformance):
    def make_process(self):
        return VPSDE(schedule="cosine")


class TestVPLearned(ProcessConformance):
    saves_itself = False
    def make_process(self):
        torch.manual_seed(0)
        return VPSDE(schedule=LearnedSchedule(gamma_min=-8.0, gamma_max=10.0).double())


class TestSubVP(ProcessConformance):
    def make_process(self):
        return SubVPSDE(beta_min=0.1, beta_max=20.0)

    def test_std_below_vp(self):
        t = torch.linspace(0.01, 1, 20)
        assert (SubVPSDE().sigma(t) < VPSDE().sigma(t)).all()


class TestVE(ProcessConformance):
    def make_process(self):
        return VESDE(sigma_min=0.01, sigma_max=5.0)

    def initial_noise_std(self, proc):
        return proc.sigma_min

    def test_prior_matches_marginal_at_T(self):
        p = self.make_process()
        assert abs(float(p.sigma(torch.tensor([1.0], dtype=torch.float64))) - 5.0) < 1e-9


def test_get_process_names():
    assert isinstance(get_process("vp"), VPSDE)
    try:
        get_process("vpp")
    except ValueError as e:
        assert "valid choices" in str(e) and "subvp" in str(e)
    else:
        raise AssertionError("expected ValueError")


def test_reverse_drift_and_pf_ode():
    p = VPSDE()
    x = torch.randn(4, 3)
    t = torch.full((4,), 0.4)
    score = lambda x, t: -x  # noqa: E731
    g2 = p.diffusion(t)[:, None] ** 2
    torch.testing.assert_close(p.reverse(score).drift(x, t), p.drift(x, t) + g2 * x)
    torch.testing.assert_close(p.reverse(score, probability_flow=True).drift(x, t), p.drift(x, t) + 0.5 * g2 * x)
    assert (p.reverse(score, probability_flow=True).diffusion(t) == 0).all()
