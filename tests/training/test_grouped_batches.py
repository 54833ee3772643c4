"""Size-grouped batches: the resumable sampler's ``lengths`` option and ``fit(lengths=...)``."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.training import DataPosition, ResumableBatchSampler, fit


def _epoch(sampler: ResumableBatchSampler) -> list[list[int]]:
    it = iter(sampler)
    return [next(it) for _ in range(sampler.batches_per_epoch)]


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 60), bs=st.integers(1, 9), seed=st.integers(0, 5), drop_last=st.booleans(),
       window=st.one_of(st.none(), st.integers(1, 4)))
def test_grouped_epoch_is_a_permutation_of_tight_batches(n: int, bs: int, seed: int, drop_last: bool, window):
    if drop_last and bs > n:
        return
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randperm(n, generator=g)  # distinct lengths: a tight batch is a run of consecutive values
    s = ResumableBatchSampler(n, bs, seed=seed, drop_last=drop_last, lengths=lengths, bucket_batches=window)
    batches = _epoch(s)
    flat = [i for b in batches for i in b]
    n_full = (n // bs) * bs
    assert len(flat) == len(set(flat)) == (n_full if drop_last else n)
    full = [b for b in batches if len(b) == bs]
    assert len(full) == n // bs
    if window is None:  # one window: each full batch holds consecutive lengths among the full-batch items
        body = sorted(int(lengths[i]) for b in full for i in b)
        rank = {v: k for k, v in enumerate(body)}
        for b in full:
            r = sorted(rank[int(lengths[i])] for i in b)
            assert r == list(range(r[0], r[0] + bs))
    if not drop_last and n % bs:
        assert len(batches[-1]) == n % bs  # the remainder stays last


def test_grouped_order_is_seeded_resumable_and_sharded():
    lengths = torch.tensor([3, 9, 4, 4, 12, 7, 7, 5, 10, 6, 8, 11] * 2)
    s = ResumableBatchSampler(24, 4, seed=1, lengths=lengths)
    it = iter(s)
    batches = [next(it) for _ in range(12)]  # two epochs
    again = iter(ResumableBatchSampler(24, 4, seed=1, lengths=lengths))
    assert [next(again) for _ in range(12)] == batches  # a pure function of (seed, epoch)
    other = iter(ResumableBatchSampler(24, 4, seed=2, lengths=lengths))
    assert [next(other) for _ in range(6)] != batches[:6]
    assert batches[:6] != batches[6:12]  # a new order each epoch
    spans = [int(lengths[b].max() - lengths[b].min()) for b in batches]
    plain = _epoch(ResumableBatchSampler(24, 4, seed=1)) + _epoch(ResumableBatchSampler(24, 4, seed=1, position=DataPosition(1, 0)))
    assert sum(spans) < sum(int(lengths[b].max() - lengths[b].min()) for b in plain)
    # resume mid-epoch continues the same stream
    r = ResumableBatchSampler(24, 4, seed=1, lengths=lengths, position=DataPosition(1, 2))
    assert next(iter(r)) == batches[8]
    # two ranks split each global batch
    shards = [ResumableBatchSampler(24, 4, seed=1, lengths=lengths, rank=k, world_size=2) for k in range(2)]
    its = [iter(x) for x in shards]
    for b in batches[:6]:
        parts = [next(i) for i in its]
        assert sorted(parts[0] + parts[1]) == sorted(b)


def test_grouped_sampler_rejects_bad_arguments():
    with pytest.raises(ValueError, match="lengths has 3 entries"):
        ResumableBatchSampler(4, 2, lengths=[1, 2, 3])
    with pytest.raises(ValueError, match="shuffle"):
        ResumableBatchSampler(4, 2, lengths=[1, 2, 3, 4], shuffle=False)
    with pytest.raises(ValueError, match="bucket_batches"):
        ResumableBatchSampler(4, 2, lengths=[1, 2, 3, 4], bucket_batches=0)
    with pytest.raises(ValueError, match="pass lengths"):
        ResumableBatchSampler(4, 2, bucket_batches=2)


def test_fit_with_lengths_feeds_size_grouped_batches():
    torch.manual_seed(0)
    sizes = torch.tensor([2, 30, 3, 28, 5, 25, 4, 27] * 4)
    x = sizes.float()[:, None]
    model = torch.nn.Linear(1, 1)
    spans: list[float] = []

    def loss_fn(m, batch, generator):
        spans.append(float(batch[:, 0].max() - batch[:, 0].min()))
        return (m(batch / 30) ** 2).mean()

    res = fit(model, loss_fn, x, steps=8, batch_size=4, lengths=sizes, ema_decay=None, progress=False)
    assert res.final_step == 8 and max(spans) <= 3  # each batch holds only small or only large items
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, loss_fn, x, steps=1, lengths=sizes, progress=False)
    with pytest.raises(ValueError, match="indexable"):
        fit(model, loss_fn, [x[:4], x[4:8]].__iter__(), steps=1, lengths=sizes, progress=False)
