"""The fit loop: learning, reproducibility, exact resume, divergence handling, data forms."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from graphdiff.errors import TrainingDivergedError
from graphdiff.training import EMA, fit, load_checkpoint, lr_lambda
from graphdiff.training.checkpoint import read_checkpoint_record

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helper modules next to this file
import _train_problem as P


def _params(m: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in m.parameters()])


def test_fit_reduces_loss_on_regression() -> None:
    x, y = P.make_data(64)
    model = P.make_model(dropout=0.0)
    before = P.deterministic_loss(model, (x, y), torch.Generator()).item()
    res = fit(model, P.deterministic_loss, (x, y), steps=150, lr=2e-2, batch_size=16, progress=False, ema_decay=None)
    after = P.deterministic_loss(model, (x, y), torch.Generator()).item()
    assert after < 0.2 * before
    assert len(res.losses) == 150 and res.final_step == 150 and res.start_step == 0
    assert sum(res.losses[-10:]) < 0.2 * sum(res.losses[:10])


def test_same_seed_same_parameters_and_different_seed_differs() -> None:
    runs = [P.run(None, steps=12), P.run(None, steps=12), P.run(None, steps=12, seed=8)]
    assert torch.equal(_params(runs[0]), _params(runs[1]))
    assert not torch.equal(_params(runs[0]), _params(runs[2]))


def test_exact_resume_after_stop_matches_uninterrupted(tmp_path: Path) -> None:
    """Stop at step 13 (callback), reload into a differently initialised model, continue to 40."""
    ref_model = P.make_model()
    ref = fit(ref_model, P.stochastic_loss, P.make_data(), steps=P.STEPS, **P.FIT_KW)

    m1 = P.make_model()
    part = fit(m1, P.stochastic_loss, P.make_data(), steps=P.STEPS, checkpoint_dir=tmp_path, checkpoint_every=100,
               callback=lambda info: info.step == 13, **P.FIT_KW)
    assert part.final_step == 13 and read_checkpoint_record(tmp_path)["step"] == 13

    m2 = P.make_model(seed=99)
    res = fit(m2, P.stochastic_loss, P.make_data(), steps=P.STEPS, checkpoint_dir=tmp_path, **P.FIT_KW)
    assert res.start_step == 13 and res.final_step == P.STEPS
    err = (_params(m2) - _params(ref_model)).abs().max().item()
    assert err <= 1e-6, err
    assert max(abs(a - b) for a, b in zip(res.losses, ref.losses)) <= 1e-6
    assert len(res.losses) == len(ref.losses) == P.STEPS
    assert res.lrs == pytest.approx(ref.lrs, abs=0, rel=1e-12)
    for k, v in ref.ema.shadow.items():
        assert (res.ema.shadow[k] - v).abs().max().item() <= 1e-6


def test_exact_resume_after_crash_redoes_lost_steps(tmp_path: Path) -> None:
    """A crash at step 11 (checkpoints every 4) resumes from step 8 and still matches exactly."""
    ref_model = P.make_model()
    fit(ref_model, P.stochastic_loss, P.make_data(), steps=20, **P.FIT_KW)

    calls = {"n": 0}

    def crashing(model, batch, g):
        calls["n"] += 1
        if calls["n"] == 11:
            raise KeyboardInterrupt("simulated crash")
        return P.stochastic_loss(model, batch, g)

    with pytest.raises(KeyboardInterrupt):
        fit(P.make_model(), crashing, P.make_data(), steps=20, checkpoint_dir=tmp_path, checkpoint_every=4, **P.FIT_KW)
    assert read_checkpoint_record(tmp_path)["step"] == 8
    m = P.make_model(seed=3)
    res = fit(m, P.stochastic_loss, P.make_data(), steps=20, checkpoint_dir=tmp_path, checkpoint_every=4, **P.FIT_KW)
    assert res.start_step == 8
    assert torch.equal(_params(m), _params(ref_model))


def test_nan_loss_raises_naming_step_and_keeps_last_good_checkpoint(tmp_path: Path) -> None:
    calls = {"n": 0}

    def poisoned(model, batch, g):
        calls["n"] += 1
        loss = P.deterministic_loss(model, batch, g)
        return loss * float("nan") if calls["n"] == 7 else loss

    model = P.make_model()
    with pytest.raises(TrainingDivergedError, match=r"step 7\b") as ei:
        fit(model, poisoned, P.make_data(), steps=20, checkpoint_dir=tmp_path, checkpoint_every=5, lr=1e-2, batch_size=8, progress=False)
    assert ei.value.step == 7
    assert "last good checkpoint" in str(ei.value)
    assert torch.isfinite(_params(model)).all()
    restored = P.make_model(seed=5)
    info = load_checkpoint(tmp_path, model=restored)
    assert info["step"] == 5 and torch.isfinite(_params(restored)).all()


def test_inf_gradient_raises() -> None:
    model = nn.Linear(2, 1)

    def bad_grad(m, batch, g):
        w = m.weight * 1.0
        w.register_hook(lambda grad: grad * float("inf"))
        return (batch @ w.t() + m.bias).mean()

    before = _params(model).clone()
    with pytest.raises(TrainingDivergedError, match=r"step 1: gradient norm is inf"):
        fit(model, bad_grad, torch.ones(4, 2), steps=3, progress=False)
    assert torch.equal(before, _params(model))  # the bad update was not applied


@dataclass
class Pair:
    a: torch.Tensor
    b: torch.Tensor


def test_custom_batch_objects_and_iterables() -> None:
    items = [{"a": torch.full((2,), float(i)), "b": torch.tensor(float(i))} for i in range(10)]
    seen: list[list[float]] = []

    def collate(xs: list[dict]) -> Pair:
        return Pair(torch.stack([x["a"] for x in xs]), torch.stack([x["b"] for x in xs]))

    def loss(m, batch: Pair, g):
        assert isinstance(batch, Pair) and batch.a.shape == (4, 2)
        seen.append(batch.b.tolist())
        return (m(batch.a).squeeze(-1) - batch.b).pow(2).mean()

    fit(nn.Linear(2, 1), loss, items, steps=5, batch_size=4, collate_fn=collate, progress=False)
    assert len(seen) == 5
    for epoch in (seen[0:2], seen[2:4]):  # 2 full batches per epoch (drop_last), no repeats inside an epoch
        flat = [v for b in epoch for v in b]
        assert len(set(flat)) == 8

    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(6, 2)), batch_size=3)
    got: list[int] = []
    fit(nn.Linear(2, 1), lambda m, b, g: (got.append(len(b[0])), m(b[0]).pow(2).mean())[1], loader, steps=5, progress=False)
    assert got == [3, 3, 3, 3, 3]


def test_lr_schedules_and_callback() -> None:
    f = lr_lambda("cosine", steps=10, warmup_steps=2)
    assert [f(0), f(1)] == [0.5, 1.0]
    assert f(2) == 1.0 and abs(f(7) - 0.5 * (1 + math.cos(math.pi * 5 / 8))) < 1e-12 and f(10) == 0.0
    assert lr_lambda("constant", steps=10)(9) == 1.0
    with pytest.raises(ValueError, match="constant, cosine"):
        lr_lambda("linear", steps=3)
    infos = []
    res = fit(nn.Linear(2, 1), lambda m, b, g: m(b).pow(2).mean(), torch.randn(8, 2), steps=10, lr=0.1,
              warmup_steps=2, lr_schedule="cosine", progress=False, callback=lambda i: infos.append(i) or i.step == 6)
    assert res.final_step == 6 and [i.step for i in infos] == [1, 2, 3, 4, 5, 6]
    assert res.lrs == pytest.approx([0.1 * f(s) for s in range(6)])


def test_max_seconds_stops_checkpoints_and_resumes(tmp_path: Path) -> None:
    import time

    def slow(m, b, g):
        time.sleep(0.01)
        return m(b).pow(2).mean()

    data = torch.randn(8, 2)
    res = fit(nn.Linear(2, 1), slow, data, steps=100_000, progress=False, max_seconds=0.1, checkpoint_dir=tmp_path,
              checkpoint_every=10**6)
    assert 0 < res.final_step < 100_000 and res.stopped_by == "max_seconds"
    assert read_checkpoint_record(tmp_path)["step"] == res.final_step  # the stop is checkpointed
    more = fit(nn.Linear(2, 1), slow, data, steps=100_000, progress=False, max_seconds=0.1, checkpoint_dir=tmp_path,
               checkpoint_every=10**6)  # a resumed run continues from the stop with a fresh budget
    assert more.start_step == res.final_step < more.final_step < 100_000 and more.stopped_by == "max_seconds"
    assert fit(nn.Linear(2, 1), slow, data, steps=4, progress=False).stopped_by is None
    assert fit(nn.Linear(2, 1), slow, data, steps=9, progress=False, callback=lambda i: i.step == 2).stopped_by == "callback"
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="max_seconds"):
            fit(nn.Linear(2, 1), slow, data, steps=3, progress=False, max_seconds=bad)


def test_ema_update_rule_swap_and_warmup() -> None:
    net = nn.Linear(3, 2)
    ema = EMA(net, decay=0.9)
    w0 = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    ema.update(net)
    assert torch.allclose(ema.shadow["weight"], 0.9 * w0 + 0.1 * (w0 + 1.0), atol=1e-6)
    train_w = net.weight.detach().clone()
    with ema.swapped(net):
        assert torch.equal(net.weight, ema.shadow["weight"])
    assert torch.equal(net.weight, train_w)
    warm = EMA(net, decay=0.999, warmup=True)
    decays = []
    for _ in range(3):
        decays.append(warm.current_decay())
        warm.update(net)
    assert decays == pytest.approx([1 / 10, 2 / 11, 3 / 12])
    bn = nn.BatchNorm1d(2)
    e2 = EMA(bn, decay=0.5)
    bn(torch.randn(4, 2))
    e2.update(bn)
    assert int(e2.shadow["num_batches_tracked"]) == 1  # integer buffers are copied
    with pytest.raises(RuntimeError, match="store"):
        e2.restore(bn)


def test_batched_containers_are_indexed_fieldwise() -> None:
    from graphdiff.states import TensorState

    x = torch.arange(12.0).reshape(6, 2)
    mask = torch.arange(6) % 2 == 0
    seen = []

    def loss(m, batch, g):
        assert isinstance(batch, TensorState) and batch.x.shape == (3, 2) and batch.mask.shape == (3,)
        # rows stay aligned with their mask entries
        assert torch.equal(batch.mask, (batch.x[:, 0] / 2).long() % 2 == 0)
        seen.append(batch.x[:, 0].tolist())
        return m(batch.x).pow(2).mean()

    fit(nn.Linear(2, 1), loss, TensorState(x, mask), steps=4, batch_size=3, progress=False)
    assert sorted(seen[0] + seen[1]) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]

    got = []
    fit(nn.Linear(2, 1), lambda m, b, g: (got.append(set(b)), m(b["x"]).pow(2).mean() + 0 * b["y"].sum())[1],
        {"x": x, "y": torch.zeros(6)}, steps=2, batch_size=2, progress=False)
    assert got == [{"x", "y"}] * 2
    with pytest.raises(ValueError, match="first dimension"):
        fit(nn.Linear(2, 1), loss, (x, torch.zeros(5)), steps=1, batch_size=2, progress=False)


def test_resume_with_changed_settings_warns(tmp_path: Path) -> None:
    fit(P.make_model(), P.deterministic_loss, P.make_data(), steps=3, checkpoint_dir=tmp_path, **P.FIT_KW)
    with pytest.warns(UserWarning, match=r"changed settings \['lr', 'steps'\]"):
        fit(P.make_model(), P.deterministic_loss, P.make_data(), steps=4, checkpoint_dir=tmp_path, **{**P.FIT_KW, "lr": 0.5})


@dataclass
class _Out:
    loss: torch.Tensor
    per_sample: torch.Tensor
    extra_scalar: torch.Tensor


def test_loss_fn_result_forms() -> None:
    logs = []
    x = torch.randn(4, 2)

    def obj_loss(m, b, g):
        per = m(b).pow(2).squeeze(-1)
        return _Out(per.mean(), per, torch.tensor(3.0))

    fit(nn.Linear(2, 1), obj_loss, x, steps=2, progress=False, callback=lambda i: logs.append(i.logs))
    assert logs == [{"extra_scalar": 3.0}] * 2  # (B,) tensors are not logged, scalars are
    with pytest.raises(TypeError, match="loss_fn must return"):
        fit(nn.Linear(2, 1), lambda m, b, g: [m(b).sum()], x, steps=1, progress=False)
    with pytest.raises(ValueError, match="scalar"):
        fit(nn.Linear(2, 1), lambda m, b, g: m(b).pow(2), x, steps=1, progress=False)


def test_resume_from_corrupt_checkpoint_fails_clearly_and_previous_still_works(tmp_path: Path) -> None:
    from graphdiff.errors import CheckpointError
    from graphdiff.training.checkpoint import PREVIOUS, iter_tensor_files

    fit(P.make_model(), P.deterministic_loss, P.make_data(), steps=8, checkpoint_dir=tmp_path, checkpoint_every=4, **P.FIT_KW)
    newest = max(iter_tensor_files(tmp_path), key=lambda f: f.name)
    newest.write_bytes(newest.read_bytes()[:-8])  # truncate the step-8 tensors
    with pytest.raises(CheckpointError, match="previous.json"):
        fit(P.make_model(), P.deterministic_loss, P.make_data(), steps=12, checkpoint_dir=tmp_path, **P.FIT_KW)
    assert load_checkpoint(tmp_path / PREVIOUS, model=P.make_model())["step"] == 4


def test_graph_state_dataset_is_batched_per_graph() -> None:
    from graphdiff.states import GraphState
    from graphdiff.testing import random_graph_state

    graphs = random_graph_state(batch_size=10, max_nodes=6, node_features=3, generator=torch.Generator().manual_seed(4))
    key = {float(graphs.X[i].abs().sum()): i for i in range(10)}  # identify graphs by their features
    seen = []

    def loss(m, batch, g):
        assert isinstance(batch, GraphState) and batch.X.shape == (5, 6, 3) and batch.A.shape == (5, 6, 6)
        for j in range(5):
            i = key[float(batch.X[j].abs().sum())]
            assert torch.equal(batch.A[j], graphs.A[i]) and torch.equal(batch.node_mask[j], graphs.node_mask[i])
            seen.append(i)
        return m(batch.X).pow(2).mean()

    fit(nn.Linear(3, 1), loss, graphs, steps=2, batch_size=5, progress=False)
    assert sorted(seen) == list(range(10))  # one epoch = every graph once


@pytest.mark.parametrize("flags, bf16, expect", [("avx2 avx512_bf16", True, torch.bfloat16), ("avx2 avx512_bf16", "auto", torch.bfloat16),
                                                 ("avx2 fma", "auto", torch.float32), ("avx2 fma", True, torch.float32),
                                                 ("avx2 avx512_bf16", False, torch.float32)])
def test_bf16_autocast_on_cpu_follows_the_cpu_flags(monkeypatch, flags, bf16, expect) -> None:
    """``bf16`` autocasts the loss on a CPU with native bfloat16 (monkeypatched flags reader), is
    off elsewhere (``True`` warns there, ``"auto"`` is silent), and a bad value is refused."""
    import warnings

    from graphdiff import hardware

    monkeypatch.setattr(hardware, "_read_cpuinfo", lambda: f"flags\t: {flags}\n")
    model, data = P.make_model(dropout=0.0), P.make_data(16)
    seen: list[torch.dtype] = []

    def loss_fn(m, batch, generator):
        out = m(batch[0])
        seen.append(out.dtype)
        return ((out.float() - batch[1].float()) ** 2).mean()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(model, loss_fn, data, steps=2, batch_size=8, bf16=bf16, progress=False, ema_decay=None)
    assert set(seen) == {expect}
    assert any("bf16" in str(w.message) for w in caught) == (bf16 is True and expect == torch.float32)
    with pytest.raises(ValueError, match="bf16 must be"):
        fit(model, loss_fn, data, steps=1, batch_size=8, bf16="yes", progress=False)
