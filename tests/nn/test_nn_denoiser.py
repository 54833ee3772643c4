"""The discrete-family graph-transformer denoiser."""

from __future__ import annotations

import json
import time

import pytest
import torch

from graphdiff.errors import InvalidGraphError
from graphdiff.nn import GraphTransformerDenoiser
from graphdiff.states import GraphState
from graphdiff.testing import assert_permutation_equivariant, assert_symmetric, random_categorical_state

D = torch.float64
SMALL = dict(K=4, hidden=16, edge_hidden=8, global_hidden=8, depth=2, heads=2, time_dim=16)


def categorical_state(B=4, N=7, Cx=3, Ce=4, seed=0) -> GraphState:
    return random_categorical_state(B, N, Cx, Ce, seed)


def make(seed=0, **kw) -> GraphTransformerDenoiser:
    torch.manual_seed(seed)
    return GraphTransformerDenoiser(**{**SMALL, "num_node_classes": 3, "num_edge_classes": 4, **kw}).double()


@pytest.mark.parametrize("kw", [dict(), dict(distance=True, spectral=3, time_embedding="fourier"), dict(cycles=False, K=0)])
def test_equivariant_symmetric_masked(kw):
    net = make(**kw)
    s = categorical_state()
    t = torch.rand(4, dtype=D)
    assert_permutation_equivariant(lambda st: net(st, t), s, atol=1e-5)
    out = net(s, t)
    assert out.X.shape == (4, 7, 3) and out.A.shape == (4, 7, 7, 4)
    assert out.X.dtype == D
    assert_symmetric(out.A, atol=1e-12)
    assert out.X[~s.node_mask].abs().sum() == 0 and out.A[~s.edge_mask].abs().sum() == 0


def test_padded_entries_change_nothing():
    net = make(spectral=2, distance=True)
    s = categorical_state(seed=1)
    t = torch.rand(4, dtype=D)
    ref = net(s, t)
    nm, em = s.node_mask, s.edge_mask
    g = torch.Generator().manual_seed(3)
    junkE = torch.randint(0, 4, s.A.shape, generator=g)
    s2 = GraphState(torch.where(nm, s.X, torch.randint(0, 3, s.X.shape, generator=g)), torch.where(em, s.A, junkE), nm)
    out = net(s2, t)
    pm = nm[:, :, None] & nm[:, None, :]
    torch.testing.assert_close(out.X[nm], ref.X[nm])
    torch.testing.assert_close(out.A[pm], ref.A[pm])


def test_one_hot_input_equals_class_ids():
    net = make(cycles=True, spectral=2)
    s = categorical_state(seed=2)
    t = torch.rand(4, dtype=D)
    oh = GraphState(torch.nn.functional.one_hot(s.X, 3).to(D), torch.nn.functional.one_hot(s.A, 4).to(D), s.node_mask)
    a, b = net(s, t), net(oh, t)
    torch.testing.assert_close(a.X, b.X)
    torch.testing.assert_close(a.A, b.A)


def test_gradients_and_cond():
    net = make(cond_dims={"y": 2})
    torch.nn.init.normal_(net.conditioning.cond_mlp.net[-1].weight)  # it starts at zero (no effect)
    s = categorical_state()
    t = torch.rand(4, dtype=D)
    y = torch.randn(4, 2, dtype=D)
    out = net(s, t, y=y)
    tx = torch.randint(0, 3, (4, 7))
    loss = torch.nn.functional.cross_entropy(out.X[s.node_mask], tx[s.node_mask]) + out.A[s.edge_mask].logsumexp(-1).mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert not torch.allclose(net(s, t, y=y + 1).X, out.X)
    with pytest.raises(ValueError, match="unknown conditioning"):
        net(s, t, y=y, z=y)


def test_config_round_trip():
    net = make(spectral=2, cond_dims={"y": 1}, cond_classes={"c": 3})
    net2 = GraphTransformerDenoiser.from_config(json.loads(json.dumps(net.config))).double()
    net2.load_state_dict(net.state_dict())
    s = categorical_state()
    t = torch.rand(4, dtype=D)
    y = torch.rand(4, dtype=D)
    torch.testing.assert_close(net2(s, t, y=y).A, net(s, t, y=y).A)
    assert net2.config["cond_classes"] == {"c": 3}


def test_default_small_config_parameter_count():
    n = sum(p.numel() for p in GraphTransformerDenoiser(num_node_classes=4, num_edge_classes=4).parameters())
    assert 100_000 <= n <= 300_000, n


def test_class_range_and_shape_errors():
    net = make()
    s = categorical_state()
    with pytest.raises(InvalidGraphError, match="node classes"):
        net(s.replace(X=s.X + 3 * s.node_mask), 0.5)
    with pytest.raises(InvalidGraphError, match="edge classes"):
        net(s.replace(A=s.A * 4), 0.5)
    with pytest.raises(InvalidGraphError):
        net(s.replace(X=s.X.to(D)), 0.5)
    with pytest.raises(ValueError):
        GraphTransformerDenoiser(num_node_classes=3, num_edge_classes=1)


@pytest.mark.parametrize("B,N,budget_s", [(256, 9, 1.0), (64, 38, 3.0)])
def test_forward_speed_default_config(B, N, budget_s):
    net = GraphTransformerDenoiser(num_node_classes=4, num_edge_classes=4)
    s = categorical_state(B, N, 4, 4)
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
    print(f"denoiser forward B={B} N={N}: {dt * 1000:.1f} ms CPU")
    assert dt < budget_s


def test_learns_to_read_structure():
    """A few Adam steps fit a structural target (edge classes of the *clean* graph are the input's;
    node target = whether the node lies on a triangle), so signal flows end to end."""
    torch.manual_seed(0)
    net = GraphTransformerDenoiser(num_node_classes=2, num_edge_classes=2, K=3, hidden=16, edge_hidden=8,
                                   global_hidden=8, depth=2, heads=2, time_dim=8, cycles=True)
    s = categorical_state(B=16, N=6, Cx=2, Ce=2, seed=4)
    A = (s.A > 0).double()
    target_x = ((A @ A @ A).diagonal(dim1=1, dim2=2) > 0).long()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    t = torch.full((16,), 0.5)

    def loss_fn():
        out = net(s, t)
        return (torch.nn.functional.cross_entropy(out.X[s.node_mask], target_x[s.node_mask])
                + torch.nn.functional.cross_entropy(out.A[s.edge_mask], s.A[s.edge_mask]))

    first = loss_fn().item()
    for _ in range(40):
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
    assert loss_fn().item() < 0.25 * first
