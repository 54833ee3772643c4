"""The continuous-family position-enhanced score network (PGSN)."""

from __future__ import annotations

import json
import time

import pytest
import torch

from graphdiff.errors import InvalidGraphError
from graphdiff.nn import PGSN, GraphScoreNetwork
from graphdiff.states import GraphState
from graphdiff.testing import assert_permutation_equivariant, assert_symmetric, random_graph_state

D = torch.float64
SMALL = dict(K=4, hidden=16, edge_hidden=8, global_hidden=8, depth=2, heads=2, time_dim=16)


def noisy_state(B=4, N=7, F=3, C=None, seed=0) -> GraphState:
    """A valid graph plus symmetric Gaussian noise on real pairs (a diffusion input)."""
    g = torch.Generator().manual_seed(seed)
    s = random_graph_state(B, N, F, edge_channels=C, p=0.4, generator=g).to(D)
    noise = torch.randn(s.A.shape, generator=g, dtype=D) * 0.3
    noise = 0.5 * (noise + noise.transpose(1, 2))
    em = s.edge_mask if C is None else s.edge_mask[..., None]
    return s.replace(A=(s.A + noise) * em)


def make(seed=0, **kw) -> GraphScoreNetwork:
    torch.manual_seed(seed)
    cfg = {**SMALL, **kw}
    return GraphScoreNetwork(**cfg).double()


@pytest.mark.parametrize(
    "kw,C",
    [
        (dict(), None),
        (dict(soft_adjacency=True, threshold=0.2, time_embedding="fourier"), None),
        (dict(cycles=True, spectral=3, num_edge_channels=2, channel_reduce="max"), 2),
    ],
)
def test_equivariant_symmetric_masked(kw, C):
    net = make(num_node_features=3, **kw)
    s = noisy_state(C=C)
    t = torch.rand(4, dtype=D)
    assert_permutation_equivariant(lambda st: net(st, t), s, atol=1e-5)
    out = net(s, t)
    assert out.X.shape == s.X.shape and out.A.shape == s.A.shape
    assert_symmetric(out.A, atol=1e-12)
    nm = s.node_mask
    assert out.X[~nm].abs().sum() == 0
    assert out.A[~s.edge_mask].abs().sum() == 0


def test_padded_entries_change_nothing():
    net = make(num_node_features=3, cycles=True, spectral=2)
    s = noisy_state(seed=1)
    t = torch.rand(4, dtype=D)
    ref = net(s, t)
    g = torch.Generator().manual_seed(9)
    nm, em = s.node_mask, s.edge_mask
    junkA = torch.randn(s.A.shape, generator=g, dtype=D) * 5
    junkA = junkA + junkA.transpose(1, 2)
    s2 = GraphState(torch.where(nm[..., None], s.X, torch.randn(s.X.shape, generator=g, dtype=D) * 5),
                    torch.where(em, s.A, junkA), nm)
    out = net(s2, t)
    pm = nm[:, :, None] & nm[:, None, :]
    torch.testing.assert_close(out.X[nm], ref.X[nm])
    torch.testing.assert_close(out.A[pm], ref.A[pm])
    # more padding: same real outputs
    pad = GraphState(torch.zeros(1, 11, 3, dtype=D), torch.zeros(1, 11, 11, dtype=D), torch.zeros(1, 11, dtype=torch.bool))
    big = GraphState.cat([s, pad])
    out_big = net(big, torch.cat([t, t.new_zeros(1)]))
    torch.testing.assert_close(out_big.X[:4, :7][nm], ref.X[nm])
    torch.testing.assert_close(out_big.A[:4, :7, :7][pm], ref.A[pm])
    assert torch.isfinite(out_big.X).all() and torch.isfinite(out_big.A).all()


def test_output_depends_on_time_graph_and_cond():
    net = make(num_node_features=3, cond_dims={"qed": 1})
    torch.nn.init.normal_(net.conditioning.cond_mlp.net[-1].weight)  # it starts at zero (no effect)
    s = noisy_state()
    t = torch.full((4,), 0.2, dtype=D)
    q = torch.rand(4, dtype=D)
    a = net(s, t, qed=q)
    assert not torch.allclose(net(s, t + 0.5, qed=q).A, a.A)
    assert not torch.allclose(net(s, t, qed=q + 1).X, a.X)
    s2 = s.replace(A=s.A.clone())
    s2.A[0, 0, 1] = s2.A[0, 1, 0] = 2.0  # new edge in graph 0 only
    b = net(s2, t, qed=q)
    assert not torch.allclose(b.X[0], a.X[0])
    torch.testing.assert_close(b.X[1:], a.X[1:])  # graphs in a batch are independent
    # a missing condition is the null condition: no error, a different output
    assert not torch.allclose(net(s, t).X, a.X)


def test_gradients_flow_and_are_finite():
    net = make(num_node_features=3, cycles=True, spectral=2)
    s = noisy_state()
    X = s.X.clone().requires_grad_(True)
    out = net(s.replace(X=X), torch.rand(4, dtype=D))
    loss = out.X.pow(2).sum() + out.A.pow(2).sum()
    loss.backward()
    grads = {n: p.grad for n, p in net.named_parameters()}
    missing = [n for n, g in grads.items() if g is None]
    assert not missing, missing
    assert all(torch.isfinite(g).all() for g in grads.values())
    assert sum(g.abs().sum() for g in grads.values()) > 0
    assert torch.isfinite(X.grad).all() and X.grad[s.node_mask].abs().sum() > 0


def test_config_round_trip_and_alias():
    net = make(num_node_features=3, cond_dims={"qed": 1}, spectral=2)
    cfg = json.loads(json.dumps(net.config))
    net2 = PGSN.from_config(cfg).double()
    net2.load_state_dict(net.state_dict())
    s = noisy_state()
    t = torch.rand(4, dtype=D)
    q = torch.rand(4, dtype=D)
    torch.testing.assert_close(net2(s, t, qed=q).A, net(s, t, qed=q).A)
    assert PGSN is GraphScoreNetwork


def test_default_small_config_parameter_count():
    n = sum(p.numel() for p in GraphScoreNetwork(num_node_features=4).parameters())
    assert 100_000 <= n <= 300_000, n


def test_shape_and_name_errors():
    net = make(num_node_features=3)
    s = noisy_state()
    with pytest.raises(InvalidGraphError):
        net(s.replace(X=s.X[..., :2]), 0.5)
    with pytest.raises(InvalidGraphError):
        net(s.replace(A=s.A[..., None].expand(-1, -1, -1, 2)), 0.5)
    with pytest.raises(ValueError, match="max, sum"):
        GraphScoreNetwork(num_node_features=3, channel_reduce="mean")
    with pytest.raises(ValueError, match="fourier, sinusoidal"):
        GraphScoreNetwork(num_node_features=3, time_embedding="cosine")


def test_no_node_features():
    net = make(num_node_features=0)
    s = noisy_state(F=0)
    out = net(s, torch.rand(4, dtype=D))
    assert out.X.shape == (4, 7, 0)
    assert_permutation_equivariant(lambda st: net(st, torch.full((4,), 0.5, dtype=D)), s, atol=1e-5)


@pytest.mark.parametrize("B,N,F,budget_s", [(256, 9, 4, 1.0), (64, 38, 9, 3.0)])
def test_forward_speed_default_config(B, N, F, budget_s):
    """Default (small) config on CPU, float32; prints ms per batch (see report numbers)."""
    net = GraphScoreNetwork(num_node_features=F)
    s = random_graph_state(B, N, F, p=0.2)
    t = torch.rand(B)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core; CPU time is robust to other processes sharing the machine
    try:
        with torch.no_grad():
            net(s, t)
            t0 = time.process_time()
            net(s, t)
            dt = time.process_time() - t0
    finally:
        torch.set_num_threads(threads)
    print(f"PGSN forward B={B} N={N}: {dt * 1000:.1f} ms CPU")
    assert dt < budget_s


def test_half_precision_and_autocast_run():
    """Structural features are computed in float32 even for bfloat16 models / under autocast
    (eigh has no bfloat16 kernel)."""
    s = random_graph_state(3, 6, 2)
    net = GraphScoreNetwork(num_node_features=2, spectral=2, cycles=True, **{k: v for k, v in SMALL.items()})
    out = net.to(torch.bfloat16)(s.to(torch.bfloat16), torch.rand(3))
    assert out.A.dtype == torch.bfloat16 and torch.isfinite(out.A.float()).all()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net.float()(s, torch.rand(3))
    assert torch.isfinite(out.A.float()).all() and torch.isfinite(out.X.float()).all()
