"""Deterministic samplers converge to the exact probability-flow ODE solution at their order:
pathwise error against a tight-tolerance RK45 reference (same prior draws, exact GMM score)."""

from __future__ import annotations

import math

import pytest
import torch

from graphdiff.testing.samplers import GMM
from graphdiff.processes import VESDE, VPSDE, RectifiedFlow
from graphdiff.samplers import odeint_rk45, sample_ddim, sample_dpm_solver, sample_flow_euler, sample_flow_heun, sample_pf_ode


def _err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm(dim=1).mean())


@pytest.fixture(scope="module")
def vp_case():
    proc = VPSDE()
    x = proc.prior_sample(torch.zeros(300, 2, dtype=torch.float64), torch.Generator().manual_seed(0))
    f = GMM.score_fn(proc)
    torch.set_num_threads(1)
    ref = sample_pf_ode(proc, f, x, method="rk45", rtol=1e-9, atol=1e-9).samples
    return proc, f, x, ref


@pytest.mark.parametrize(
    "name,run,order",
    [
        ("ddim", lambda p, f, x, n: sample_ddim(p, f, x, steps=n), 1),
        ("dpm_solver++2m", lambda p, f, x, n: sample_dpm_solver(p, f, x, steps=n, lower_order_final=False), 2),
        ("pf_heun", lambda p, f, x, n: sample_pf_ode(p, f, x, method="heun", steps=n), 2),
        ("pf_euler", lambda p, f, x, n: sample_pf_ode(p, f, x, method="euler", steps=n), 1),
    ],
)
def test_convergence_order_vp(vp_case, name, run, order):
    proc, f, x, ref = vp_case
    n = 40 if name != "pf_euler" else 200
    e1 = _err(run(proc, f, x, n).samples, ref)
    e2 = _err(run(proc, f, x, 2 * n).samples, ref)
    observed = math.log2(e1 / e2)
    assert observed > order - 0.35, f"{name}: observed order {observed:.2f} (errors {e1:.2e}, {e2:.2e})"
    assert e2 < 0.05


def test_rk45_tolerance_controls_error(vp_case):
    proc, f, x, ref = vp_case
    loose = sample_pf_ode(proc, f, x, method="rk45", rtol=1e-3, atol=1e-3)
    tight = sample_pf_ode(proc, f, x, method="rk45", rtol=1e-6, atol=1e-6)
    assert _err(tight.samples, ref) < _err(loose.samples, ref)
    assert _err(tight.samples, ref) < 1e-3 and tight.nfe > loose.nfe


def test_rk45_matches_closed_form():
    """dy/dt = -2 t y  =>  y(t) = y0 exp(-t^2), integrated backwards and forwards."""
    y0 = torch.tensor([[1.0, -3.0]], dtype=torch.float64)
    sol = odeint_rk45(lambda y, t: -2 * t * y, y0, 0.0, 2.0, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(sol.y, y0 * math.exp(-4.0), rtol=1e-6, atol=1e-9)
    back = odeint_rk45(lambda y, t: -2 * t * y, sol.y, 2.0, 0.0, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(back.y, y0, rtol=1e-5, atol=1e-8)
    assert sol.nfe == 1 + 1 + 6 * (sol.steps + sol.rejected)


def test_dpm_solver_second_order_on_ve():
    """VE (alpha = 1, lambda = -log sigma): DPM-Solver++(2M) is second order there too."""
    proc = VESDE(sigma_min=0.01, sigma_max=20.0)
    x = proc.prior_sample(torch.zeros(200, 2, dtype=torch.float64), torch.Generator().manual_seed(0))
    f = GMM.score_fn(proc)
    ref = sample_pf_ode(proc, f, x, method="rk45", rtol=1e-9, atol=1e-9).samples
    e = [_err(sample_dpm_solver(proc, f, x, steps=n, lower_order_final=False).samples, ref) for n in (20, 40)]
    assert math.log2(e[0] / e[1]) > 1.65 and e[1] < 0.01


def test_flow_solvers_converge():
    proc = RectifiedFlow()
    x = proc.prior_sample(torch.zeros(300, 2, dtype=torch.float64), torch.Generator().manual_seed(0))
    v = GMM.velocity_fn(proc)
    ref = odeint_rk45(lambda y, t: v(y, t.expand(y.shape[0])), x, 1.0, 0.0, rtol=1e-9, atol=1e-9).y
    eu = [_err(sample_flow_euler(v, x, steps=n).samples, ref) for n in (50, 100)]
    he = [_err(sample_flow_heun(v, x, steps=n).samples, ref) for n in (20, 40)]
    assert math.log2(eu[0] / eu[1]) > 0.65
    assert math.log2(he[0] / he[1]) > 1.65
