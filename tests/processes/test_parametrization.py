"""Every parametrisation converts exactly to every other (through (x0, eps)), for every process,
shape-agnostically and with per-entry (product) coefficients."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.processes.parametrization import PARAMETRIZATIONS, convert, from_x0_eps, to_x0_eps
from graphdiff.processes import VESDE, VPSDE, ProductProcess, RectifiedFlow, SubVPSDE
from graphdiff.testing import random_graph_state

PROCESSES = {"vp": VPSDE(), "subvp": SubVPSDE(), "ve": VESDE(sigma_max=10.0), "flow": RectifiedFlow(), "vp_cosine": VPSDE(schedule="cosine")}


@settings(max_examples=25, deadline=None)
@given(proc=st.sampled_from(list(PROCESSES)), src=st.sampled_from(PARAMETRIZATIONS), dst=st.sampled_from(PARAMETRIZATIONS),
       shape=st.sampled_from([(3, 2), (2, 2, 3, 3), (4, 5)]), seed=st.integers(0, 1000))
def test_round_trip(proc, src, dst, shape, seed):
    p = PROCESSES[proc]
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(shape, generator=g, dtype=torch.float64)
    eps = torch.randn(shape, generator=g, dtype=torch.float64)
    t = 0.05 + 0.9 * torch.rand(shape[0], generator=g, dtype=torch.float64)
    a = p.alpha(t).reshape((-1,) + (1,) * (len(shape) - 1))
    s = p.sigma(t).reshape((-1,) + (1,) * (len(shape) - 1))
    xt = a * x0 + s * eps
    out = from_x0_eps(x0, eps, t, p, src)
    x0_hat, eps_hat = to_x0_eps(out, xt, t, p, src)
    torch.testing.assert_close(x0_hat, x0)
    torch.testing.assert_close(eps_hat, eps)
    torch.testing.assert_close(convert(out, xt, t, p, src, dst), from_x0_eps(x0, eps, t, p, dst))


def test_known_forms():
    p = VPSDE()
    x0, eps = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 3, dtype=torch.float64)
    t = torch.rand(4, dtype=torch.float64) * 0.9 + 0.05
    a, s = p.alpha(t)[:, None], p.sigma(t)[:, None]
    torch.testing.assert_close(from_x0_eps(x0, eps, t, p, "score"), -eps / s)
    torch.testing.assert_close(from_x0_eps(x0, eps, t, p, "v"), a * eps - s * x0)  # Salimans & Ho
    f = RectifiedFlow()
    torch.testing.assert_close(from_x0_eps(x0, eps, t, f, "velocity"), eps - x0)


def test_product_process_per_entry_coefficients():
    s = random_graph_state(batch_size=3, max_nodes=4, node_features=2)
    p = ProductProcess({"X": VESDE(sigma_max=5.0), "A": VPSDE()}, symmetric={"A"})
    flat, _ = p.pack(s)
    x0, eps = torch.randn_like(flat), torch.randn_like(flat)
    t = torch.tensor([0.2, 0.5, 0.8])
    xt = p.alpha(t) * x0 + p.sigma(t) * eps
    for par in PARAMETRIZATIONS:
        x0_hat, eps_hat = to_x0_eps(from_x0_eps(x0, eps, t, p, par), xt, t, p, par)
        torch.testing.assert_close(x0_hat, x0, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(eps_hat, eps, atol=1e-4, rtol=1e-4)


def test_unknown_parametrization():
    with pytest.raises(ValueError, match="valid choices"):
        from_x0_eps(torch.zeros(1, 1), torch.zeros(1, 1), torch.ones(1), VPSDE(), "epsilon")
