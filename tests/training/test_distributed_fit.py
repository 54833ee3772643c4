"""Two gloo processes (spawned on CPU) train like one process with the same global batch."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from graphdiff.training import ResumableBatchSampler, launch, load_checkpoint, shard_range
from graphdiff.training.batching import DataPosition

sys.path.insert(0, str(Path(__file__).resolve().parent))  # helper modules next to this file
import _dist_workers as W
import _train_problem as P

STEPS = 8


@pytest.mark.slow
def test_two_process_gloo_matches_single_process(tmp_path: Path) -> None:
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = W.train_worker(0, STEPS, None)
    finally:
        torch.set_num_threads(torch_threads)
    ckpt = tmp_path / "ckpt"
    r0, r1 = launch(W.train_worker, 2, STEPS, str(ckpt))
    assert r0["world"] == r1["world"] == 2 and single["world"] == 1
    err = max((r0["params"][k] - single["params"][k]).abs().max().item() for k in single["params"])
    assert err < 1e-5, f"DDP vs single-process max parameter difference {err}"
    for k in r0["params"]:  # DDP keeps replicas identical
        assert torch.equal(r0["params"][k], r1["params"][k])
    assert max(abs(a - b) for a, b in zip(r0["losses"], single["losses"])) < 1e-5
    # sharding + ordered gather of unequal chunks (7 items over 2 ranks: 3 + 4)
    assert r0["chunk"] == (0, 3) and r1["chunk"] == (3, 7)
    assert torch.equal(r0["gathered"], torch.arange(7).float() * 10) and torch.equal(r1["gathered"], r0["gathered"])
    # max_seconds overrun on rank 1 only: both ranks stop together, early, and say why
    assert r0["timed"] == r1["timed"] and 0 < r0["timed"][0] < 10_000 and r0["timed"][1] == "max_seconds"
    # a stochastic DDP run stopped half-way and resumed ends like an uninterrupted one, on every rank
    assert r0["resume_err"] == 0.0 and r1["resume_err"] == 0.0
    # only rank 0 wrote the checkpoint, and it holds the trained weights
    model = P.make_model(seed=4, dropout=0.0)
    assert load_checkpoint(ckpt, model=model)["step"] == STEPS
    for k, v in model.state_dict().items():
        assert torch.equal(v, r0["params"][k])


def test_sampler_shards_partition_each_global_batch_and_resume() -> None:
    full = ResumableBatchSampler(22, 6, seed=3)
    shards = [ResumableBatchSampler(22, 6, seed=3, rank=r, world_size=3) for r in range(3)]
    it_full, its = iter(full), [iter(s) for s in shards]
    batches = [next(it_full) for _ in range(9)]  # crosses two epoch boundaries (3 batches/epoch)
    for b in batches:
        parts = [next(i) for i in its]
        assert sorted(v for p in parts for v in p) == sorted(b) and all(len(p) == 2 for p in parts)
    epoch0 = [v for b in batches[:3] for v in b]
    assert len(set(epoch0)) == 18 and batches[:3] != batches[3:6]
    # resuming from a saved position continues the identical stream
    again = ResumableBatchSampler(22, 6, seed=3)
    it = iter(again)
    [next(it) for _ in range(4)]
    resumed = ResumableBatchSampler(22, 6, seed=3)
    resumed.load_state_dict(again.state_dict())
    assert resumed.position == DataPosition(1, 1)
    assert next(iter(resumed)) == batches[4]
    with pytest.raises(ValueError, match="divisible"):
        ResumableBatchSampler(22, 5, world_size=2)
    assert [shard_range(10, r, 3) for r in range(3)] == [range(0, 3), range(3, 6), range(6, 10)]
