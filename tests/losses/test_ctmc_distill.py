"""CTMC self-distillation through time (graphdiff.losses.ctmc_distill): the closed-form leap law
against the sampler's leaps, the Rao-Blackwellised teacher targets against the teacher's drawn
steps, marginal matching recovering a corrector-free teacher, and masks / symmetric edges."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.losses.ctmc_distill import (
    ctmc_distill_loss,
    ctmc_transition_nll,
    leap_probs,
    noisy_at,
    rollout_states,
    teacher_step,
    teacher_targets,
)
from graphdiff.processes.ctmc import GraphCTMC, MarginalCTMC, UniformCTMC
from graphdiff.samplers.ctmc import _leap
from graphdiff.states import GraphState
from graphdiff.testing import assert_symmetric, categorical_batch

K = 3


def table_denoiser(table: torch.Tensor, scale: float = 1.0):
    """A fixed 'network' on a tensor process: x0 logits = ``table[d, x_t^d] + scale * t`` plus a
    dependence on the sum of the state (so coordinates see each other, as a real network does)."""

    def fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        D = x.shape[1]
        lg = table[torch.arange(D)[None], x]  # (B, D, K)
        ctx = (x.sum(-1, keepdim=True).float() / D)[..., None]
        return lg + scale * (t[:, None, None] * ctx)

    return fn


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.05, 2.0), st.sampled_from(["poisson", "exponential"]))
def test_leap_probs_is_a_distribution_staying_by_default(seed, h, jump):
    g = torch.Generator().manual_seed(seed)
    rates = torch.rand(2, 5, 4, generator=g) * 3
    x = torch.randint(0, 4, (2, 5), generator=g)
    rates = rates.scatter(-1, x[..., None], 0.0)
    p = leap_probs(rates, x, h, jump)
    assert (p >= 0).all()
    torch.testing.assert_close(p.sum(-1), torch.ones(2, 5))
    p0 = leap_probs(torch.zeros_like(rates), x, h, jump)
    torch.testing.assert_close(p0, torch.nn.functional.one_hot(x, 4).float())


def test_leap_probs_matches_the_sampler_leap():
    g = torch.Generator().manual_seed(0)
    rates = torch.tensor([[[0.0, 0.8, 0.3, 1.5], [0.2, 0.0, 0.0, 0.4]]])
    x = torch.tensor([[0, 1]])
    n = 200_000
    for jump in ("poisson", "exponential"):
        draws = _leap(rates.expand(n, -1, -1), x.expand(n, -1), 0.7, jump, g)
        freq = torch.nn.functional.one_hot(draws, 4).float().mean(0)
        torch.testing.assert_close(freq, leap_probs(rates, x, 0.7, jump)[0], atol=5e-3, rtol=0)


def test_rao_blackwellised_targets_match_the_teachers_drawn_steps():
    """Per coordinate, E[teacher_targets] equals the frequency of teacher_step draws (pc with one corrector)."""
    proc = MarginalCTMC([0.5, 0.3, 0.2])
    table = torch.randn(4, K, K, generator=torch.Generator().manual_seed(1))
    teacher = table_denoiser(table, scale=2.0)
    n = 60_000
    xt = torch.tensor([[0, 1, 2, 0]]).expand(n, -1).contiguous()
    g = torch.Generator().manual_seed(2)
    draws = teacher_step(proc, teacher, xt, 0.6, 0.35, corrector_steps=1, generator=g)
    freq = torch.nn.functional.one_hot(draws, K).float().mean(0)
    rb = torch.stack(teacher_targets(proc, teacher, xt, 0.6, 0.35, corrector_steps=1, generator=g)).mean(1)[0]
    torch.testing.assert_close(rb, freq, atol=1.2e-2, rtol=0)


def test_corrector_free_teacher_is_the_minimiser_of_marginal_matching():
    """With no corrector the target is the teacher's own ancestral law: the KL is 0 with zero gradient
    at the teacher, and a student table trained on it recovers the teacher's one-step marginals."""
    proc = UniformCTMC(K)
    D = 4
    gt = torch.Generator().manual_seed(3)
    table = torch.randn(D, K, K, generator=gt)
    teacher = table_denoiser(table, scale=0.0)
    xt = torch.randint(0, K, (512, D), generator=gt)
    t, s = 0.7, 0.4
    target = teacher_targets(proc, teacher, xt, t, s, corrector_steps=0)
    torch.testing.assert_close(target[0], proc.posterior(xt, torch.softmax(teacher(xt, torch.full((512,), t)), -1), s, t))

    same = table.clone().requires_grad_(True)
    out = ctmc_transition_nll(proc, table_denoiser(same, 0.0)(xt, torch.full((512,), t)), xt, None, s, t, target_probs=target)
    out.loss.backward()
    assert float(out.loss.detach()) < 1e-6 and float(same.grad.abs().max()) < 1e-5

    student = torch.zeros(D, K, K, requires_grad=True)
    opt = torch.optim.Adam([student], lr=0.1)
    g = torch.Generator().manual_seed(4)
    for _ in range(300):  # sampled targets (teacher_step draws), as without Rao-Blackwellisation
        xs = teacher_step(proc, teacher, xt, t, s, corrector_steps=0, generator=g)
        loss = ctmc_transition_nll(proc, table_denoiser(student, 0.0)(xt, torch.full((512,), t)), xt, xs, s, t).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        p_student = proc.posterior(xt, torch.softmax(table_denoiser(student, 0.0)(xt, torch.full((512,), t)), -1), s, t)
    torch.testing.assert_close(p_student, target[0], atol=0.06, rtol=0)


def graph_denoiser(wx: torch.Tensor, wa: torch.Tensor):
    def fn(state: GraphState, t: torch.Tensor):
        fx = torch.nn.functional.one_hot(state.X, 3).float()
        fa = torch.nn.functional.one_hot(state.A, 4).float()
        deg = fa[..., 1:].sum((2, 3))[..., None]
        node = fx @ wx + 0.1 * deg + t[:, None, None]
        edge = fa @ wa + 0.05 * (deg[:, :, None] + deg[:, None, :])
        return node, edge

    return fn


def test_graph_teacher_steps_stay_symmetric_and_padded():
    proc = GraphCTMC(MarginalCTMC([0.2, 0.5, 0.3]), MarginalCTMC([0.7, 0.1, 0.1, 0.1]))
    g = torch.Generator().manual_seed(5)
    x0 = categorical_batch([5, 3, 1, 4, 2, 5], g)
    teacher = graph_denoiser(torch.randn(3, 3, generator=g), torch.randn(4, 4, generator=g))
    for t, s in ((1.0, 0.6), (0.3, 0.1), (0.05, 0.0)):
        xt = noisy_at(proc, x0, t, g)
        xs = teacher_step(proc, teacher, xt, t, s, corrector_steps=1, generator=g)
        assert_symmetric(xs.A)
        assert (xs.A.diagonal(dim1=1, dim2=2) == 0).all()
        pad = ~x0.node_mask
        assert (xs.X[pad] == 0).all() and (xs.A[pad] == 0).all() and (xs.A.transpose(1, 2)[pad] == 0).all()
        targets = teacher_targets(proc, teacher, xt, t, s, corrector_steps=1, generator=g)
        for p in targets:
            torch.testing.assert_close(p.sum(-1), torch.ones(p.shape[:-1]))


def test_loss_ignores_padding_and_the_lower_triangle():
    proc = GraphCTMC(MarginalCTMC([0.2, 0.5, 0.3]), MarginalCTMC([0.7, 0.1, 0.1, 0.1]))
    g = torch.Generator().manual_seed(6)
    x0 = categorical_batch([5, 3, 1, 4, 2, 5], g)
    xt = noisy_at(proc, x0, 0.5, g)
    teacher = graph_denoiser(torch.randn(3, 3, generator=g), torch.randn(4, 4, generator=g))
    xs = teacher_step(proc, teacher, xt, 0.5, 0.3, generator=g)
    node, edge = teacher(xt, torch.full((6,), 0.5))
    base = ctmc_transition_nll(proc, (node, edge), xt, xs, 0.3, 0.5)
    node2, edge2 = node.clone(), edge.clone()
    node2[~x0.node_mask] = 50.0 * torch.randn_like(node2[~x0.node_mask])
    i, j = torch.tril_indices(5, 5)
    edge2[:, i, j] = 50.0 * torch.randn_like(edge2[:, i, j])  # lower triangle and diagonal
    other = ctmc_transition_nll(proc, (node2, edge2), xt, xs, 0.3, 0.5)
    torch.testing.assert_close(other.loss, base.loss)
    assert set(base.terms) == {"X", "A"}


def test_distill_loss_is_zero_for_a_corrector_free_self_teacher_and_trains():
    proc = GraphCTMC(MarginalCTMC([0.2, 0.5, 0.3]), MarginalCTMC([0.7, 0.1, 0.1, 0.1]))
    g = torch.Generator().manual_seed(7)
    x0 = categorical_batch([5, 3, 1, 4, 2, 5], g)
    wx, wa = torch.randn(3, 3, generator=g), torch.randn(4, 4, generator=g)
    times = torch.tensor([1.0, 0.5, 0.1, 0.0])
    teacher = graph_denoiser(wx, wa)
    out = ctmc_distill_loss(proc, teacher, teacher, x0, times, chunks=3, index=[0, 1, 2], generator=g, corrector_steps=0)
    assert float(out.loss) < 1e-5
    wx2 = wx.clone().requires_grad_(True)
    out = ctmc_distill_loss(proc, graph_denoiser(wx2, wa), teacher, x0, times, chunks=3, generator=g, corrector_steps=1)
    out.loss.backward()
    assert float(out.loss.detach()) > 0 and torch.isfinite(wx2.grad).all()
    drawn = ctmc_distill_loss(proc, graph_denoiser(wx, wa), teacher, x0, times, chunks=2, rao_blackwell=False, generator=g)
    assert torch.isfinite(drawn.loss)


def test_rollout_states_visit_the_grid_and_feed_the_loss():
    proc = GraphCTMC(MarginalCTMC([0.2, 0.5, 0.3]), MarginalCTMC([0.7, 0.1, 0.1, 0.1]))
    g = torch.Generator().manual_seed(8)
    x0 = categorical_batch([5, 3, 1, 4, 2, 5], g)
    net = graph_denoiser(torch.randn(3, 3, generator=g), torch.randn(4, 4, generator=g))
    times = torch.tensor([1.0, 0.6, 0.3, 0.1, 0.0])
    traj = rollout_states(proc, net, x0, times, g)
    assert len(traj) == 4
    for st_ in traj:
        assert_symmetric(st_.A)
        assert (st_.X[~x0.node_mask] == 0).all()
    assert len(rollout_states(proc, net, x0, times[:2], g)) == 1
    half = GraphState(x0.X[:3], x0.A[:3], x0.node_mask[:3])
    states = [rollout_states(proc, net, half, times[:4], g)[2], None]
    out = ctmc_distill_loss(proc, net, net, x0, times, chunks=2, index=[2, 3], states=states, generator=g, corrector_steps=0)
    assert float(out.loss) < 1e-5  # a corrector-free self-teacher, on rollout states too
