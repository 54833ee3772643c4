"""CTMC losses: hand-computed cross-entropy, the continuous-time ELBO against exact NLLs, and
SDDM ratio matching against enumerated conditionals."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from graphdiff.losses.ctmc import (
    ctmc_cross_entropy,
    ctmc_denoising_loss,
    ctmc_elbo,
    ctmc_elbo_integrand,
    ctmc_prior_kl,
    ctmc_ratio_matching_loss,
)
from graphdiff.processes.ctmc import (
    AbsorbingCTMC,
    ExponentialCTMCSchedule,
    GraphCTMC,
    LinearCTMCSchedule,
    MarginalCTMC,
    UniformCTMC,
    conditional_from_x0,
)
from graphdiff.processes.ctmc.exact import ExactDenoiser, enumerate_states
from graphdiff.states import GraphState

D64 = torch.float64


def tiny_graph() -> GraphState:
    X = torch.tensor([[1, 0, 0]])
    A = torch.zeros(1, 3, 3, dtype=torch.long)
    A[0, 0, 1] = A[0, 1, 0] = 2
    return GraphState(X, A, torch.tensor([[True, True, False]])).validate()


def test_cross_entropy_equals_hand_computation():
    proc = GraphCTMC(UniformCTMC(2), UniformCTMC(3))
    G = tiny_graph()
    node = torch.tensor([[[0.0, 1.0], [2.0, -1.0], [9.0, 9.0]]])
    edge = torch.full((1, 3, 3, 3), 7.0)
    edge[0, 0, 1] = torch.tensor([0.5, 0.0, 1.5])
    edge[0, 1, 0] = torch.tensor([3.0, 3.0, -3.0])  # lower triangle is ignored
    out = ctmc_cross_entropy(proc, (node, edge), G, edge_weight=5.0)
    ce0 = -(1.0 - math.log(math.exp(0.0) + math.exp(1.0)))  # node 0, class 1
    ce1 = -(2.0 - math.log(math.exp(2.0) + math.exp(-1.0)))  # node 1, class 0
    ce_e = -(1.5 - math.log(math.exp(0.5) + 1.0 + math.exp(1.5)))  # edge (0, 1), class 2
    assert out.terms["X"].item() == pytest.approx((ce0 + ce1) / 2, rel=1e-6)
    assert out.terms["A"].item() == pytest.approx(ce_e, rel=1e-6)
    assert out.loss.item() == pytest.approx((ce0 + ce1) / 2 + 5.0 * ce_e, rel=1e-6)
    out1 = ctmc_cross_entropy(proc, (node, edge), G, edge_weight=1.0)
    assert out1.loss.item() == pytest.approx((ce0 + ce1) / 2 + ce_e, rel=1e-6)


def test_loss_decreases_towards_truth_and_trains():
    proc = GraphCTMC(AbsorbingCTMC(3), MarginalCTMC([0.6, 0.3, 0.1]))
    g = torch.Generator().manual_seed(0)
    B, N = 4, 5
    nm = torch.arange(N)[None] < torch.tensor([5, 4, 2, 3])[:, None]
    G = proc.join([torch.randint(0, 3, (B, N), generator=g), torch.randint(0, 3, (B, N * (N - 1) // 2), generator=g)],
                  GraphState(torch.zeros(B, N, dtype=torch.long), torch.zeros(B, N, N, dtype=torch.long), nm))
    noise_x = torch.randn(B, N, 3, generator=g)
    noise_e = torch.randn(B, N, N, 3, generator=g)
    losses = []
    for lam in [0.0, 1.0, 2.0, 4.0, 8.0]:
        node = noise_x + lam * torch.nn.functional.one_hot(G.X, 3)
        edge = noise_e + lam * torch.nn.functional.one_hot(G.A, 3)
        losses.append(ctmc_cross_entropy(proc, (node, edge), G).loss.item())
    assert all(a > b for a, b in zip(losses, losses[1:])), losses
    # the sampled training loss is differentiable and reproducible
    w = torch.zeros(3, requires_grad=True)
    den = lambda s, t: (w.expand(B, N, 3) + 0 * t[:, None, None], w.expand(B, N, N, 3))
    l1 = ctmc_denoising_loss(proc, den, G, generator=torch.Generator().manual_seed(1))
    l1.loss.backward()
    assert w.grad is not None and torch.isfinite(w.grad).all() and w.grad.abs().sum() > 0
    l2 = ctmc_denoising_loss(proc, den, G, generator=torch.Generator().manual_seed(1))
    assert l1.loss.item() == l2.loss.item()


def correlated_law(K=3, D=2, seed=0):
    support = enumerate_states(K, D)
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(len(support), generator=g, dtype=D64) ** 3 + 0.01
    return support, p / p.sum()


def quadrature_nelbo(proc, den, support, nq=32):
    """Exact negative ELBO per support state: Gauss-Legendre in u with t = u^2, exact sum over x_t."""
    D = support.shape[1]
    xts = enumerate_states(proc.num_states, D)
    u, w = np.polynomial.legendre.leggauss(nq)
    u, w = torch.tensor((u + 1) / 2), torch.tensor(w / 2)
    J, M = len(support), len(xts)
    x0, xt = support.repeat_interleave(M, 0), xts.repeat(J, 1)
    out = torch.zeros(J, dtype=D64)
    for ui, wi in zip(u, w):
        t = torch.full((J * M,), float(ui) ** 2, dtype=D64)
        qxt = proc.marginal(x0, t).gather(-1, xt[..., None]).squeeze(-1).prod(-1)
        integ = ctmc_elbo_integrand(proc, den(xt, t), x0, xt, t)
        integ = torch.where(qxt > 0, integ, torch.zeros_like(integ))
        out += wi * 2 * ui * (qxt * integ).reshape(J, M).sum(-1)
    return out + ctmc_prior_kl(proc, support)


@pytest.mark.parametrize(
    "proc",
    [UniformCTMC(3, schedule="linear"), AbsorbingCTMC(3, schedule=LinearCTMCSchedule(alpha_min=0.0)), MarginalCTMC([0.5, 0.3, 0.2], schedule=ExponentialCTMCSchedule())],
    ids=["uniform", "absorbing", "marginal"],
)
def test_elbo_is_tight_for_exact_denoiser_and_bounds_nll(proc):
    support, p0 = correlated_law()
    nll = -torch.log(p0)
    exact = quadrature_nelbo(proc, ExactDenoiser(proc, support, p0), support)
    assert torch.allclose(exact, nll, atol=1e-4), (exact - nll)
    # any other denoiser: E_data[nelbo] >= cross-entropy >= entropy, strictly here
    _, other = correlated_law(seed=1)
    wrong = quadrature_nelbo(proc, ExactDenoiser(proc, support, other), support)
    entropy = float((p0 * nll).sum())
    assert float((p0 * wrong).sum()) > entropy + 0.05
    cross = float(-(p0 * torch.log(other)).sum())
    assert float((p0 * wrong).sum()) >= cross - 1e-4


def test_monte_carlo_elbo_matches_quadrature():
    proc = UniformCTMC(3, schedule="linear")
    support, p0 = correlated_law()
    _, other = correlated_law(seed=1)
    den = ExactDenoiser(proc, support, other)
    exact = quadrature_nelbo(proc, den, support)[4]
    x0 = support[4:5].expand(20000, -1)
    est = ctmc_elbo(proc, den, x0, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(est.nelbo, est.prior + est.diffusion)
    mean, se = est.nelbo.mean().item(), est.nelbo.std().item() / math.sqrt(20000)
    assert abs(mean - exact.item()) < 5 * se, (mean, exact.item(), se)


def test_absorbing_prior_kl_is_infinite_without_full_masking():
    x0 = torch.zeros(2, 3, dtype=torch.long)
    assert torch.isinf(ctmc_prior_kl(AbsorbingCTMC(3, schedule="cosine"), x0)).all()
    assert torch.allclose(ctmc_prior_kl(AbsorbingCTMC(3, schedule=LinearCTMCSchedule(alpha_min=0.0)), x0), torch.zeros(2, dtype=D64))


def test_ratio_matching_conditionals_are_exact_and_minimise_loss():
    proc = MarginalCTMC([0.5, 0.3, 0.2], schedule="cosine")
    support, p0 = correlated_law()
    S, D = 3, 2
    xs = enumerate_states(S, D)
    t = torch.full((len(xs),), 0.4, dtype=D64)
    # p_t(x) over all x, by enumeration
    q = proc.marginal(support, t[: len(support)])  # (J, D, S): q_t(. | x0^d)
    pt = torch.stack([(p0 * q[:, 0, x[0]] * q[:, 1, x[1]]).sum() for x in xs])
    table = pt.reshape(S, S)
    exact_cond = torch.stack([torch.stack([table[:, x[1]] / table[:, x[1]].sum(), table[x[0], :] / table[x[0], :].sum()]) for x in xs])
    den = ExactDenoiser(proc, support, p0)
    implied = conditional_from_x0(proc, xs, torch.exp(den(xs, t)), t)
    assert torch.allclose(implied, exact_cond, atol=1e-10)

    def expected_loss(cond):
        total = 0.0
        for j, x0 in enumerate(support):
            for i, x in enumerate(xs):
                w = p0[j] * q[j, 0, x[0]] * q[j, 1, x[1]]
                out = ctmc_ratio_matching_loss(proc, torch.log(cond[i : i + 1]), x0[None], x[None], t[:1])
                total += w * out.loss * D
        return float(total)

    best = expected_loss(exact_cond)
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        perturbed = torch.softmax(torch.log(exact_cond) + 0.3 * torch.randn(exact_cond.shape, generator=g, dtype=D64), -1)
        assert expected_loss(perturbed) > best + 1e-4


def test_graph_elbo_counts_each_edge_once_and_ignores_padding():
    """The graph integrand equals the node-tensor integrand plus the upper-triangle edge-tensor
    integrand; logits at padded entries and on the lower triangle do not matter."""
    nodes, edges = UniformCTMC(2), AbsorbingCTMC(3, schedule=LinearCTMCSchedule(alpha_min=0.0))
    proc = GraphCTMC(nodes, edges)
    G = tiny_graph()
    g = torch.Generator().manual_seed(0)
    t = torch.tensor([0.6])
    Gt = proc.sample_marginal(G, t, generator=g)
    node = torch.randn(1, 3, 2, generator=g)
    edge = torch.randn(1, 3, 3, 3, generator=g)
    full = ctmc_elbo_integrand(proc, (node, edge), G, Gt, t)
    parts0, masks = proc.split(G)
    partst, _ = proc.split(Gt)
    lx = ctmc_elbo_integrand(nodes, node[:, :2], G.X[:, :2], Gt.X[:, :2], t)
    le = ctmc_elbo_integrand(edges, edge[:, 0, 1][:, None], G.A[:, 0, 1][:, None], Gt.A[:, 0, 1][:, None], t)
    assert torch.allclose(full, lx + le)
    node2, edge2 = node.clone(), edge.clone()
    node2[:, 2] += 5.0
    edge2[:, 1, 0] += 5.0
    edge2[:, :, 2] -= 3.0
    assert torch.allclose(ctmc_elbo_integrand(proc, (node2, edge2), G, Gt, t), full)
    est = ctmc_elbo(proc, lambda s, tt: (node.expand(4, -1, -1), edge.expand(4, -1, -1, -1)), GraphState.cat([G] * 4), generator=g)
    assert torch.isfinite(est.nelbo).all() and (est.nelbo >= 0).all()
