"""GraphCTMC: symmetric, zero-diagonal, padding-preserving node/edge jump processes."""

from __future__ import annotations

import pytest
import torch

import json

from graphdiff.processes.ctmc import AbsorbingCTMC, GraphCTMC, MarginalCTMC, UniformCTMC, ctmc_from_config
from graphdiff.states import GraphState
from graphdiff.testing import assert_symmetric, categorical_batch


PROCS = [
    GraphCTMC(UniformCTMC(3), UniformCTMC(4)),
    GraphCTMC(AbsorbingCTMC(3), AbsorbingCTMC(4)),
    GraphCTMC(MarginalCTMC([0.2, 0.5, 0.3]), MarginalCTMC([0.7, 0.1, 0.1, 0.1])),
]


@pytest.mark.parametrize("proc", PROCS, ids=["uniform", "absorbing", "marginal"])
def test_noisy_graphs_are_valid(proc):
    g = torch.Generator().manual_seed(0)
    G0 = categorical_batch([5, 3, 1, 4, 2, 5], g)
    pad = ~G0.node_mask
    pad_e = ~(G0.node_mask[:, :, None] & G0.node_mask[:, None, :])
    for t in (0.3, 1.0):
        Gt = proc.sample_marginal(G0, torch.full((G0.batch_size,), t), generator=g)
        Gt.validate()
        assert_symmetric(Gt.A)
        assert (Gt.X[pad] == 0).all() and (Gt.A[pad_e] == 0).all()
        assert torch.equal(Gt.node_mask, G0.node_mask)
        if t == 1.0:  # almost everything resampled / masked
            assert (Gt.A != G0.A).any()
    prior = proc.prior_sample(G0.node_mask, generator=g)
    prior.validate()
    assert (prior.X[pad] == 0).all() and (prior.A[pad_e] == 0).all()
    lp = proc.prior_logp(prior)
    assert lp.shape == (G0.batch_size,) and torch.isfinite(lp).all()


def test_absorbing_graph_prior_is_fully_masked_on_real_entries():
    proc = PROCS[1]
    g = torch.Generator().manual_seed(1)
    G0 = categorical_batch([5, 3, 1, 4, 2, 5], g)
    prior = proc.prior_sample(G0.node_mask, generator=g)
    em = G0.edge_mask
    assert (prior.X[G0.node_mask] == 3).all()
    assert (prior.A[em] == 4).all()


def test_split_join_roundtrip_and_edge_marginals():
    proc = PROCS[0]
    g = torch.Generator().manual_seed(2)
    G0 = categorical_batch([5, 3, 1, 4, 2, 5], g)
    parts, masks = proc.split(G0)
    N = G0.max_nodes
    assert parts[1].shape == (G0.batch_size, N * (N - 1) // 2)
    assert masks[1].sum() == G0.edge_mask.sum() // 2
    back = proc.join(parts, G0)
    assert torch.equal(back.X, G0.X) and torch.equal(back.A, G0.A)
    # marginal of the edges equals the per-entry closed form
    qx, qa = proc.marginal(G0, torch.full((G0.batch_size,), 0.4))
    assert qa.shape == G0.A.shape + (4,) and qx.shape == G0.X.shape + (3,)
    assert torch.allclose(qa.sum(-1), torch.ones_like(qa[..., 0]))
    # logits round trip through the component view
    node = torch.randn(G0.batch_size, N, 3, generator=g)
    edge = torch.randn(G0.batch_size, N, N, 4, generator=g)
    edge = edge + edge.transpose(1, 2)
    out = proc.split_output((node, edge))
    node2, edge2 = proc.join_output(out, G0)
    off = ~torch.eye(N, dtype=torch.bool)
    assert torch.equal(node2, node) and torch.allclose(edge2[:, off], edge[:, off])


def test_rejects_continuous_graphs():
    G = GraphState(torch.randn(1, 3, 2), torch.zeros(1, 3, 3), torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="categorical"):
        PROCS[0].split(G)


@pytest.mark.parametrize("proc", PROCS, ids=["uniform", "absorbing", "marginal"])
def test_config_round_trip(proc):
    cfg = json.loads(json.dumps(proc.config()))
    back = ctmc_from_config(cfg)
    assert back.config() == proc.config()
    t = torch.tensor([0.1, 0.8])
    for a, b in zip(back.components, proc.components):
        assert torch.equal(a.transition(t * 0.5, t), b.transition(t * 0.5, t))
    with pytest.raises(ValueError, match="valid choices"):
        ctmc_from_config({"name": "gaussian"})
