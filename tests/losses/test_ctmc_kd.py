"""Knowledge distillation of a CTMC denoiser (graphdiff.losses.ctmc_kd): zero at student == teacher,
the data cross-entropy as the one-hot limit, masks (padding, lower triangle), gradients to the student
only, and a student that learns its teacher."""

from __future__ import annotations

import torch
from torch import nn

from graphdiff.losses.ctmc import ctmc_cross_entropy, sample_ctmc_training_pair
from graphdiff.losses.ctmc_kd import ctmc_kd_loss, ctmc_x0_kl
from graphdiff.processes.ctmc import GraphCTMC, MarginalCTMC
from graphdiff.testing import categorical_batch


def _process() -> GraphCTMC:
    return GraphCTMC(MarginalCTMC([0.2, 0.5, 0.3]), MarginalCTMC([0.7, 0.1, 0.1, 0.1]))


class TinyDenoiser(nn.Module):
    """x0 logits from the one-hot state, the node degree and t (symmetric edge logits)."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.wx = nn.Parameter(torch.randn(3, 3, generator=g))
        self.wa = nn.Parameter(torch.randn(4, 4, generator=g))
        self.wt = nn.Parameter(torch.randn(3, generator=g))

    def forward(self, state, t):
        fx = nn.functional.one_hot(state.X, 3).float()
        fa = nn.functional.one_hot(state.A, 4).float()
        deg = fa[..., 1:].sum((2, 3))[..., None]
        node = fx @ self.wx + 0.1 * deg + t[:, None, None] * self.wt
        edge = fa @ self.wa + 0.05 * (deg[:, :, None] + deg[:, None, :])
        return node, edge


def _batch(seed: int):
    g = torch.Generator().manual_seed(seed)
    return categorical_batch([5, 3, 1, 4, 2, 5], g), g


def test_loss_is_zero_for_the_teacher_itself_and_positive_otherwise():
    proc, (x0, g) = _process(), _batch(1)
    teacher = TinyDenoiser(0)
    same = ctmc_kd_loss(proc, teacher, teacher, x0, generator=g)
    assert abs(float(same.loss.detach())) < 1e-6 and set(same.terms) == {"X", "A"}
    other = ctmc_kd_loss(proc, TinyDenoiser(1), teacher, x0, generator=g)
    assert float(other.loss.detach()) > 1e-3


def test_one_hot_teacher_gives_the_data_cross_entropy():
    proc, (x0, g) = _process(), _batch(2)
    xt, t = sample_ctmc_training_pair(proc, x0, generator=g)
    student = TinyDenoiser(3)(xt, t)
    oracle = (60.0 * nn.functional.one_hot(x0.X, 3).float(), 60.0 * nn.functional.one_hot(x0.A, 4).float())
    kl = ctmc_x0_kl(proc, student, oracle, xt)
    ce = ctmc_cross_entropy(proc, student, x0)
    torch.testing.assert_close(kl.loss, ce.loss, atol=1e-4, rtol=1e-4)


def test_padding_and_the_lower_triangle_are_ignored():
    proc, (x0, g) = _process(), _batch(4)
    xt, t = sample_ctmc_training_pair(proc, x0, generator=g)
    node, edge = TinyDenoiser(5)(xt, t)
    target = TinyDenoiser(6)(xt, t)
    base = ctmc_x0_kl(proc, (node, edge), target, xt)
    node2, edge2 = node.clone(), edge.clone()
    node2[~x0.node_mask] = 50.0 * torch.randn_like(node2[~x0.node_mask])
    i, j = torch.tril_indices(5, 5)
    edge2[:, i, j] = 50.0 * torch.randn_like(edge2[:, i, j])  # lower triangle and diagonal
    tn, te = (z.clone() for z in target)
    tn[~x0.node_mask] = 50.0
    te[:, i, j] = -50.0
    other = ctmc_x0_kl(proc, (node2, edge2), (tn, te), xt)
    torch.testing.assert_close(other.loss, base.loss)


def test_gradient_reaches_the_student_only_and_ce_weight_adds_the_data_term():
    proc, (x0, g) = _process(), _batch(7)
    teacher, student = TinyDenoiser(0), TinyDenoiser(8)
    out = ctmc_kd_loss(proc, student, teacher, x0, ce_weight=0.5, t=torch.full((6,), 0.4), generator=g)
    assert set(out.terms) == {"X", "A", "CE_X", "CE_A"}
    out.loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert all(p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in student.parameters())
    torch.testing.assert_close(out.loss, out.terms["X"] + 5 * out.terms["A"] + 0.5 * (out.terms["CE_X"] + 5 * out.terms["CE_A"]))


def test_a_student_learns_its_teacher():
    proc, (x0, g) = _process(), _batch(9)
    teacher, student = TinyDenoiser(0), TinyDenoiser(10)
    opt = torch.optim.Adam(student.parameters(), lr=0.05)
    first = None
    for _ in range(150):
        loss = ctmc_kd_loss(proc, student, teacher, x0, generator=g).loss
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(ctmc_kd_loss(proc, student, teacher, x0, generator=g).loss.detach()) < 0.05 * first
