"""fit(lr_scales=...): parameter subsets in their own AdamW groups at lr x scale on the same schedule;
the default is the single group of before, bit for bit; resume keeps the groups."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from graphdiff.errors import CheckpointError
from graphdiff.training import fit, lr_lambda
from graphdiff.training.checkpoint import read_checkpoint_record

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helper modules next to this file
import _train_problem as P


def _params(m: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in m.parameters()])


def _head(m: nn.Module) -> list[nn.Parameter]:
    return list(m[3].parameters())  # the last Linear of P.make_model


class _Spy:
    """Records the optimiser of the run (its groups' lrs after every step) through a wrapped AdamW."""

    def __init__(self, monkeypatch):
        self.opt = None
        self.lrs: list[list[float]] = []
        real = torch.optim.AdamW
        spy = self

        class AdamW(real):  # type: ignore[misc, valid-type]
            def __init__(self, *a, **k):
                super().__init__(*a, **k)
                spy.opt = self

            def step(self, *a, **k):
                spy.lrs.append([g["lr"] for g in self.param_groups])
                return super().step(*a, **k)

        monkeypatch.setattr(torch.optim, "AdamW", AdamW)


def test_default_is_one_group_and_bit_for_bit_the_same(monkeypatch):
    spy = _Spy(monkeypatch)
    a = P.make_model()
    ra = fit(a, P.stochastic_loss, P.make_data(), steps=12, **P.FIT_KW)
    assert len(spy.opt.param_groups) == 1
    assert [id(p) for p in spy.opt.param_groups[0]["params"]] == [id(p) for p in a.parameters()]
    b = P.make_model()
    rb = fit(b, P.stochastic_loss, P.make_data(), steps=12, lr_scales=[], **P.FIT_KW)
    assert torch.equal(_params(a), _params(b)) and ra.losses == rb.losses
    # a scale of 1 on a subset is a second group with the same lr: the same arithmetic, so the same weights
    c = P.make_model()
    fit(c, P.stochastic_loss, P.make_data(), steps=12, lr_scales=[(_head(c), 1.0)], **P.FIT_KW)
    assert len(spy.opt.param_groups) == 2
    assert torch.equal(_params(a), _params(c))


def test_scaled_group_membership_and_scheduled_lrs(monkeypatch):
    spy = _Spy(monkeypatch)
    m = P.make_model()
    head = _head(m)
    steps, lr, warm = 12, P.FIT_KW["lr"], P.FIT_KW["warmup_steps"]
    res = fit(m, P.stochastic_loss, P.make_data(), steps=steps, lr_scales=[(head, 10.0)], **P.FIT_KW)
    groups = spy.opt.param_groups
    assert [id(p) for p in groups[0]["params"]] == [id(p) for p in m[0].parameters()]
    assert [id(p) for p in groups[1]["params"]] == [id(p) for p in head]
    f = lr_lambda("cosine", steps=steps, warmup_steps=warm)
    for s, (lr0, lr1) in enumerate(spy.lrs):  # warmup then cosine, the same multiplier for both groups
        assert lr0 == pytest.approx(lr * f(s), rel=1e-12)
        assert lr1 == pytest.approx(10 * lr * f(s), rel=1e-12)
    assert res.lrs == [pytest.approx(x[0], rel=1e-12) for x in spy.lrs]  # the recorded lr is the base group's
    assert res.lrs[warm - 1] == pytest.approx(lr) and spy.lrs[warm - 1][1] == pytest.approx(10 * lr)


def test_scaled_group_actually_learns_faster():
    """Adam's first step moves each weight by about its group's lr: x10 on the head, x1 elsewhere."""
    kw = {**P.FIT_KW, "warmup_steps": 0, "lr_schedule": "constant", "ema_decay": None, "weight_decay": 0.0}
    m0 = P.make_model(dropout=0.0)
    before = [p.detach().clone() for p in m0.parameters()]
    fit(m0, P.deterministic_loss, P.make_data(), steps=1, lr_scales=[(_head(m0), 10.0)], **kw)
    moved = [(p.detach() - b).abs().max().item() for p, b in zip(m0.parameters(), before)]
    lr = kw["lr"]
    assert moved[0] == pytest.approx(lr, rel=1e-3) and moved[1] == pytest.approx(lr, rel=1e-3)
    assert moved[2] == pytest.approx(10 * lr, rel=1e-3) and moved[3] == pytest.approx(10 * lr, rel=1e-3)


def test_resume_with_two_groups_matches_uninterrupted(tmp_path):
    ref = P.make_model()
    ref_res = fit(ref, P.stochastic_loss, P.make_data(), steps=P.STEPS, lr_scales=[(_head(ref), 5.0)], **P.FIT_KW)

    m1 = P.make_model()
    fit(m1, P.stochastic_loss, P.make_data(), steps=P.STEPS, checkpoint_dir=tmp_path, checkpoint_every=100,
        lr_scales=[(_head(m1), 5.0)], callback=lambda info: info.step == 13, **P.FIT_KW)
    rec = read_checkpoint_record(tmp_path)
    assert rec["step"] == 13 and rec["state"]["extra"]["hyperparameters"]["lr_scales"] == [5.0]
    groups = rec["state"]["optimizer"]["param_groups"]
    assert [len(g["params"]) for g in groups] == [2, 2] and groups[1]["initial_lr"] == pytest.approx(5 * groups[0]["initial_lr"])

    m2 = P.make_model(seed=99)
    res = fit(m2, P.stochastic_loss, P.make_data(), steps=P.STEPS, checkpoint_dir=tmp_path,
              lr_scales=[(_head(m2), 5.0)], **P.FIT_KW)
    assert res.start_step == 13 and res.final_step == P.STEPS
    assert (_params(m2) - _params(ref)).abs().max().item() <= 1e-6
    assert max(abs(a - b) for a, b in zip(res.losses, ref_res.losses)) <= 1e-6


def test_resume_into_other_grouping_is_refused(tmp_path):
    m1 = P.make_model()
    fit(m1, P.stochastic_loss, P.make_data(), steps=P.STEPS, checkpoint_dir=tmp_path, checkpoint_every=100,
        callback=lambda info: info.step == 5, **P.FIT_KW)  # one group
    m2 = P.make_model()
    with pytest.raises(CheckpointError, match="optimizer state"):
        fit(m2, P.stochastic_loss, P.make_data(), steps=P.STEPS, checkpoint_dir=tmp_path,
            lr_scales=[(_head(m2), 5.0)], **P.FIT_KW)


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_scale_is_refused(scale):
    m = P.make_model()
    with pytest.raises(ValueError, match="finite number > 0"):
        fit(m, P.stochastic_loss, P.make_data(), steps=1, lr_scales=[(_head(m), scale)], **P.FIT_KW)


def test_bad_subsets_are_refused():
    m, other = P.make_model(), P.make_model()
    with pytest.raises(ValueError, match="no parameters"):
        fit(m, P.stochastic_loss, P.make_data(), steps=1, lr_scales=[([], 2.0)], **P.FIT_KW)
    with pytest.raises(ValueError, match="not the model's"):
        fit(m, P.stochastic_loss, P.make_data(), steps=1, lr_scales=[(_head(other), 2.0)], **P.FIT_KW)
    with pytest.raises(ValueError, match="appears twice"):
        fit(m, P.stochastic_loss, P.make_data(), steps=1, lr_scales=[(_head(m), 2.0), (_head(m)[:1], 3.0)],
            **P.FIT_KW)
