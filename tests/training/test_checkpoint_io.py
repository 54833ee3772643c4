"""Checkpoints: exact round trip, atomic writes, tamper/truncation detection, no pickle."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from graphdiff.errors import CheckpointError
from graphdiff.training import EMA, load_checkpoint, load_weights, save_checkpoint, save_weights
from graphdiff.training.checkpoint import (
    LAST,
    PREVIOUS,
    capture_rng_state,
    flatten_state,
    iter_tensor_files,
    restore_rng_state,
    unflatten_state,
)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.norm = nn.BatchNorm1d(3)
        self.register_buffer("table", torch.arange(6, dtype=torch.long).reshape(2, 3))
        self.low = nn.Parameter(torch.randn(5).to(torch.bfloat16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.lin(x)) + self.low.float().sum()


def _trained(seed: int = 0) -> tuple[Net, EMA, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    torch.manual_seed(seed)
    net = Net()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-2, betas=(0.8, 0.95))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))
    ema = EMA(net, decay=0.9, warmup=True)
    for _ in range(3):
        loss = net(torch.randn(8, 4)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        ema.update(net)
    return net, ema, opt, sched


def _assert_same_state(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert torch.equal(a[k], b[k]), k


def test_round_trip_is_exact(tmp_path: Path) -> None:
    net, ema, opt, sched = _trained(0)
    extra = {"epoch": 3, "hp": {"lr": 1e-2, "betas": (0.8, 0.95), "name": "x"}, "curve": torch.linspace(0, 1, 7, dtype=torch.float64)}
    save_checkpoint(tmp_path, model=net, ema=ema, optimizer=opt, scheduler=sched, step=3, extra=extra)

    net2, ema2, opt2, sched2 = _trained(1)  # different weights and optimiser moments
    info = load_checkpoint(tmp_path, model=net2, ema=ema2, optimizer=opt2, scheduler=sched2)
    assert info["step"] == 3
    assert info["extra"]["epoch"] == 3 and info["extra"]["hp"]["betas"] == (0.8, 0.95)
    assert torch.equal(info["extra"]["curve"], extra["curve"]) and info["extra"]["curve"].dtype == torch.float64
    _assert_same_state(net.state_dict(), net2.state_dict())
    _assert_same_state(ema.state_dict()["shadow"], ema2.state_dict()["shadow"])
    assert ema2.num_updates == 3 and ema2.warmup
    assert sched2.state_dict() == sched.state_dict()
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s1["param_groups"] == s2["param_groups"]
    for i in s1["state"]:
        _assert_same_state(s1["state"][i], s2["state"][i])
    # the loaded optimiser continues exactly like the original one
    x = torch.randn(8, 4)
    for n, o in ((net, opt), (net2, opt2)):
        o.zero_grad()
        n(x).pow(2).mean().backward()
        o.step()
    _assert_same_state(net.state_dict(), net2.state_dict())


def test_files_are_safetensors_and_json_and_load_without_pickle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net, ema, opt, sched = _trained(0)
    save_checkpoint(tmp_path, model=net, ema=ema, optimizer=opt, scheduler=sched, step=1)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == LAST and len(names) == 2 and names[1].endswith(".safetensors")
    json.loads((tmp_path / LAST).read_text())  # plain JSON
    blob = (tmp_path / names[1]).read_bytes()
    header_len = int.from_bytes(blob[:8], "little")
    assert json.loads(blob[8 : 8 + header_len])["__metadata__"]["format"] == "graphdiff-checkpoint"

    def boom(*a, **k):
        raise AssertionError("pickle must not be used")

    monkeypatch.setattr(torch, "load", boom)
    import pickle

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    net2 = Net()
    load_checkpoint(tmp_path, model=net2)
    _assert_same_state(net.state_dict(), net2.state_dict())


def test_rotation_keeps_previous_and_collects_garbage(tmp_path: Path) -> None:
    net = Net()
    for step in range(1, 5):
        with torch.no_grad():
            net.lin.bias.fill_(step)
        save_checkpoint(tmp_path, model=net, step=step)
    assert len(list(iter_tensor_files(tmp_path))) == 2
    prev = Net()
    assert load_checkpoint(tmp_path / PREVIOUS, model=prev)["step"] == 3
    assert torch.all(prev.lin.bias == 3)
    assert load_checkpoint(tmp_path, model=prev)["step"] == 4


@pytest.mark.parametrize("fail_at", [1, 2, 3])
def test_failed_write_keeps_last_good_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: int) -> None:
    """A crash at any os.replace (tensor file, previous.json, last.json) leaves step 1 loadable."""
    net = Net()
    save_checkpoint(tmp_path, model=net, step=1)
    good = {k: v.clone() for k, v in net.state_dict().items()}
    with torch.no_grad():
        net.lin.weight.add_(1.0)

    calls = {"n": 0}
    real_replace = os.replace

    def flaky_replace(src, dst):
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise OSError("disk full (simulated)")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(tmp_path, model=net, step=2)
    monkeypatch.setattr(os, "replace", real_replace)
    fresh = Net()
    assert load_checkpoint(tmp_path, model=fresh)["step"] == 1
    _assert_same_state(good, fresh.state_dict())
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]  # temp files cleaned up
    # the next save succeeds and cleans up the orphan tensor file of the failed attempt
    save_checkpoint(tmp_path, model=net, step=3)
    assert load_checkpoint(tmp_path, model=fresh)["step"] == 3
    assert len(list(iter_tensor_files(tmp_path))) == 2


def test_exception_while_writing_bytes_keeps_last_good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    net = Net()
    save_checkpoint(tmp_path, model=net, step=7)
    import graphdiff.training.checkpoint as ck

    def broken_fsync(fd):
        raise OSError("I/O error (simulated)")

    monkeypatch.setattr(ck.os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, model=net, step=8)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path, model=Net())["step"] == 7


def _tensor_file(d: Path) -> Path:
    return next(iter_tensor_files(d))


def test_tampered_tensor_file_is_rejected(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, model=Net(), step=1)
    f = _tensor_file(tmp_path)
    data = bytearray(f.read_bytes())
    data[-3] ^= 0x01  # flip one bit of a weight
    f.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        load_checkpoint(tmp_path, model=Net())


def test_truncated_files_are_rejected(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, model=Net(), step=1)
    f = _tensor_file(tmp_path)
    f.write_bytes(f.read_bytes()[:-20])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(tmp_path, model=Net())
    save_checkpoint(tmp_path / "b", model=Net(), step=1)
    rec = tmp_path / "b" / LAST
    rec.write_text(rec.read_text()[:100])
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path / "b", model=Net())


def test_missing_and_mismatching_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "nothing", model=Net())
    save_checkpoint(tmp_path, model=Net(), step=1)
    with pytest.raises(CheckpointError, match="does not match"):
        load_checkpoint(tmp_path, model=nn.Linear(4, 3))
    with pytest.raises(CheckpointError, match="no optimizer"):
        net = Net()
        load_checkpoint(tmp_path, model=net, optimizer=torch.optim.SGD(net.parameters(), lr=0.1))
    rec = json.loads((tmp_path / LAST).read_text())
    rec["tensor_file"] = "../../etc/passwd"
    rec.pop("record_sha256")
    (tmp_path / LAST).write_text(json.dumps(rec))
    with pytest.raises(CheckpointError, match="outside"):
        load_checkpoint(tmp_path, model=Net())


def test_edited_json_record_is_rejected(tmp_path: Path) -> None:
    save_checkpoint(tmp_path, model=Net(), step=10, extra={"epoch": 2})
    rec = json.loads((tmp_path / LAST).read_text())
    rec["state"]["extra"]["epoch"] = 3
    (tmp_path / LAST).write_text(json.dumps(rec))
    with pytest.raises(CheckpointError, match="record sha256 mismatch"):
        load_checkpoint(tmp_path, model=Net())


def test_rng_state_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(5)
    np.random.seed(5)
    random.seed(5)
    np.random.randn()  # leaves a cached gaussian in numpy's state
    random.gauss(0, 1)
    save_checkpoint(tmp_path, model=Net(), step=0)
    expected = (torch.rand(3), np.random.randn(3), random.random(), random.gauss(0, 1))
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    load_checkpoint(tmp_path, restore_rng=True)
    got = (torch.rand(3), np.random.randn(3), random.random(), random.gauss(0, 1))
    assert torch.equal(expected[0], got[0])
    assert np.array_equal(expected[1], got[1])
    assert expected[2:] == got[2:]
    state = capture_rng_state()
    a = (torch.rand(2), np.random.rand(), random.random())
    restore_rng_state(state)
    assert (torch.rand(2), np.random.rand(), random.random())[1:] == a[1:]
    restore_rng_state(state)
    assert torch.equal(torch.rand(2), a[0])


def test_weights_pair(tmp_path: Path) -> None:
    net = Net()
    card = {"arch": "Net", "kwargs": {"hidden": 3}, "license": "MIT"}
    save_weights(tmp_path / "w", net.state_dict(), card)
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["config.json", "model.safetensors"]
    sd, card2 = load_weights(tmp_path / "w")
    assert card2 == card
    _assert_same_state(net.state_dict(), sd)
    f = tmp_path / "w" / "model.safetensors"
    f.write_bytes(f.read_bytes()[:-1] + b"\x00" if f.read_bytes()[-1:] != b"\x00" else f.read_bytes()[:-1] + b"\x01")
    with pytest.raises(CheckpointError, match="sha256"):
        load_weights(tmp_path / "w")
    with pytest.raises(CheckpointError, match="plain JSON"):
        save_weights(tmp_path / "v", net.state_dict(), {"bad": object()})


_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**62), 2**62), st.floats(allow_nan=False), st.text(max_size=5),
    st.just(float("inf")),
)
_tree = st.recursive(
    _leaf,
    lambda kids: st.one_of(
        st.lists(kids, max_size=3),
        st.tuples(kids, kids),
        st.dictionaries(st.text(max_size=4).filter(lambda s: not s.startswith("__")), kids, max_size=3),
        st.dictionaries(st.integers(0, 9), kids, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(_tree)
def test_flatten_unflatten_inverse_through_json(tree) -> None:
    flat, tensors = flatten_state({"t": tree, "x": torch.arange(3)})
    back = unflatten_state(json.loads(json.dumps(flat, allow_nan=False)), tensors)
    assert back["t"] == tree
    assert torch.equal(back["x"], torch.arange(3))
