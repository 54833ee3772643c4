"""Sampling graphs with a ProductProcess: samplers only see flat tensors, the product's structured
noise keeps adjacency symmetric with zero diagonal and padding at exactly 0, and with the exact
per-entry score of Gaussian node/edge values the samples have the right statistics."""

from __future__ import annotations

import math

import pytest
import torch

from graphdiff.processes import VESDE, VPSDE, GaussianMixture, ProductProcess
from graphdiff.samplers import sample
from graphdiff.states import GraphState
from graphdiff.testing import assert_symmetric

B, N, F = 400, 5, 2
MX, VX, MA, VA = 0.5, 0.4, -0.3, 0.6


def _setup():
    proc = ProductProcess({"X": VESDE(sigma_min=0.01, sigma_max=10.0), "A": VPSDE()}, symmetric={"A"})
    ones = torch.ones(1, N, dtype=torch.bool)
    means = proc.pack(GraphState(torch.full((1, N, F), MX), torch.full((1, N, N), MA), ones))[0]
    varis = proc.pack(GraphState(torch.full((1, N, F), VX), torch.full((1, N, N), VA), ones))[0]
    sizes = torch.randint(2, N + 1, (B,), generator=torch.Generator().manual_seed(0))
    nm = torch.arange(N)[None] < sizes[:, None]
    template = GraphState(torch.zeros(B, N, F), torch.zeros(B, N, N), nm)
    flat, fmask = proc.pack(template)
    return proc, GaussianMixture(means, varis), flat, fmask, nm


@pytest.mark.parametrize("method,steps", [("euler_maruyama", 200), ("pc", 60), ("ode_heun", 20), ("dpm_solver", 20), ("dpm_solver_sde", 40)])
def test_graph_sampling_structure_and_statistics(method, steps):
    proc, gauss, flat, fmask, nm = _setup()
    out = sample(proc, gauss.score_fn(proc), flat, method=method, steps=steps, mask=fmask, generator=torch.Generator().manual_seed(1))
    g = proc.unpack(out.samples, nm)
    assert_symmetric(g.A, atol=1e-5, zero_diagonal=True)
    assert (g.X[~nm] == 0).all()
    assert (g.A[~g.edge_mask] == 0).all()
    g.validate(atol=1e-5)
    x_real = g.X[nm]
    iu = torch.triu(g.edge_mask, 1)
    a_real = g.A[iu]
    for vals, m, v in [(x_real, MX, VX), (a_real, MA, VA)]:
        n = vals.numel()
        assert abs(float(vals.mean()) - m) < 5 * math.sqrt(v / n)
        assert abs(float(vals.var()) / v - 1) < 5 * math.sqrt(2 / n) + 0.03
