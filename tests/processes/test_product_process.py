"""ProductProcess on GraphState: structured noise, exact pack/unpack, per-component coefficients."""

from __future__ import annotations


import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.processes import VESDE, VPSDE, ProductProcess
from graphdiff.states import GraphState
from graphdiff.testing import assert_symmetric, random_graph_state


def _proc() -> ProductProcess:
    return ProductProcess({"X": VESDE(sigma_min=0.01, sigma_max=5.0), "A": VPSDE()}, symmetric={"A"})


@settings(max_examples=15, deadline=None)
@given(B=st.integers(1, 4), N=st.integers(1, 7), F=st.integers(0, 3), C=st.sampled_from([None, 2]), seed=st.integers(0, 10_000))
def test_pack_unpack_round_trip_exact(B, N, F, C, seed):
    s = random_graph_state(batch_size=B, max_nodes=N, node_features=F, edge_channels=C, generator=torch.Generator().manual_seed(seed))
    p = _proc()
    flat, fmask = p.pack(s)
    assert flat.shape == fmask.shape == (B, N * F + N * N * (C or 1))
    back = p.unpack(flat, s.node_mask)
    assert torch.equal(back.X, s.X) and torch.equal(back.A, s.A) and torch.equal(back.node_mask, s.node_mask)
    assert torch.equal(p.flat_mask(s.node_mask), fmask)
    # mask: exactly the real node features and the off-diagonal real pairs
    m = p.unpack(fmask.float(), s.node_mask)
    assert torch.equal(m.X.bool(), s.node_mask[:, :, None].expand_as(s.X))
    em = s.edge_mask if C is None else s.edge_mask[..., None].expand_as(s.A)
    assert torch.equal(m.A.bool(), em)


@pytest.mark.parametrize("C", [None, 3])
def test_noise_symmetric_zero_diagonal_zero_padding(C):
    s = random_graph_state(batch_size=4, max_nodes=6, node_features=2, edge_channels=C)
    assert not s.node_mask.all()
    p = _proc()
    flat, fmask = p.pack(s)
    z = p.unpack(p.noise(flat, torch.Generator().manual_seed(0), fmask), s.node_mask)
    A = z.A if C is None else z.A.permute(0, 3, 1, 2).reshape(-1, 6, 6)
    assert_symmetric(A, atol=0.0, zero_diagonal=True)
    pad = ~s.node_mask
    assert (z.X[pad] == 0).all()
    assert (z.A[pad] == 0).all() and (z.A.transpose(1, 2)[pad] == 0).all()
    assert (z.A[s.edge_mask] != 0).all() and (z.X[s.node_mask] != 0).all()
    # samples of the prior and marginal inherit the structure
    xt, _ = p.sample_marginal(flat, torch.full((4,), 0.5), generator=torch.Generator().manual_seed(1), mask=fmask)
    st_ = p.unpack(xt, s.node_mask)
    A = st_.A if C is None else st_.A.permute(0, 3, 1, 2).reshape(-1, 6, 6)
    assert_symmetric(A, atol=1e-6)
    assert (st_.X[pad] == 0).all()


def test_symmetric_noise_variance_is_one_off_diagonal():
    """GDSS convention: upper triangle i.i.d. N(0, 1), mirrored -> each off-diagonal entry has
    variance 1 and A_ij == A_ji exactly."""
    s = GraphState(torch.zeros(2000, 5, 1), torch.zeros(2000, 5, 5), torch.ones(2000, 5, dtype=torch.bool))
    p = _proc()
    flat, fmask = p.pack(s)
    z = p.unpack(p.noise(flat, torch.Generator().manual_seed(0), fmask), s.node_mask)
    off = ~torch.eye(5, dtype=torch.bool)
    v = z.A[:, off].var(0)
    assert ((v - 1).abs() < 0.1).all()
    assert torch.equal(z.A, z.A.transpose(1, 2))


def test_per_component_coefficients():
    s = random_graph_state(batch_size=3, max_nodes=4, node_features=2)
    p = _proc()
    flat, _ = p.pack(s)
    t = torch.tensor([0.1, 0.5, 0.9])
    parts = p.split(p.sigma(t))
    torch.testing.assert_close(parts["X"], VESDE(sigma_min=0.01, sigma_max=5.0).sigma(t)[:, None, None].expand(3, 4, 2))
    torch.testing.assert_close(parts["A"], VPSDE().sigma(t)[:, None, None].expand(3, 4, 4))
    torch.testing.assert_close(p.split(p.diffusion(t))["A"][:, 0, 1], VPSDE().diffusion(t))


def test_prior_logp_counts_each_pair_once():
    s = random_graph_state(batch_size=3, max_nodes=5, node_features=2)
    p = _proc()
    flat, fmask = p.pack(s)
    x = p.prior_sample(flat, torch.Generator().manual_seed(0), fmask)
    u = p.unpack(x, s.node_mask)
    ref = torch.zeros(3)
    for b in range(3):
        n = int(s.node_mask[b].sum())
        ref[b] += torch.distributions.Normal(0.0, 5.0).log_prob(u.X[b, :n]).sum()
        iu = torch.triu_indices(n, n, 1)
        ref[b] += torch.distributions.Normal(0.0, 1.0).log_prob(u.A[b][iu[0], iu[1]]).sum()
    torch.testing.assert_close(p.prior_logp(x, fmask), ref)


def test_layout_errors():
    p = _proc()
    with pytest.raises(RuntimeError, match="layout"):
        p.alpha(torch.ones(2))
    with pytest.raises(ValueError, match="valid choices"):
        ProductProcess({"Y": VPSDE()})
    with pytest.raises(ValueError):
        ProductProcess({"X": VPSDE()}, symmetric={"X"})
    s = random_graph_state(batch_size=2, max_nodes=4, node_features=1)
    p.pack(s)
    with pytest.raises(Exception, match="N=4"):
        p.unpack(torch.zeros(2, p.dim), torch.ones(2, 5, dtype=torch.bool))


def test_flat_fn_round_trips_a_graph_network():
    s = random_graph_state(batch_size=3, max_nodes=5, node_features=2)
    p = _proc()
    flat, fmask = p.pack(s)

    def net(state: GraphState, t: torch.Tensor) -> GraphState:
        return GraphState(2 * state.X + t[:, None, None], state.A - 1, state.node_mask)

    t = torch.tensor([0.1, 0.2, 0.3])
    out = p.unpack(p.flat_fn(net, s.node_mask)(flat, t), s.node_mask)
    torch.testing.assert_close(out.X, 2 * s.X + t[:, None, None])
    torch.testing.assert_close(out.A, s.A - 1)
