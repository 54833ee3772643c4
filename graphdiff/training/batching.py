"""A resumable, deterministic, shardable batch sampler.

The order of epoch ``e`` is ``randperm(n)`` drawn from a generator seeded with a hash of
``(seed, e)``, so it is a pure function of ``(seed, epoch)``: a run resumed from
``(epoch, batch)`` sees exactly the batches an uninterrupted run would have seen. With
``world_size > 1`` every *global* batch of ``batch_size`` indices is split between ranks
(rank ``r`` takes positions ``r, r + W, ...``), so the union of the per-rank batches is the global
batch of a single-process run and DDP's gradient average equals the single-process gradient.

With ``lengths`` (e.g. node counts of graphs) each epoch's order is regrouped so that every batch
holds items of similar length: padded batches then cost what their own items cost instead of what
the largest item of the set costs (5x fewer padded node pairs on ENZYMES at batch 32). The regrouping
is still a pure function of ``(seed, epoch)``, so resume and sharding are unchanged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

import torch

__all__ = ["ResumableBatchSampler", "epoch_seed", "DataPosition"]


def epoch_seed(seed: int, epoch: int) -> int:
    """A 63-bit seed derived from ``(seed, epoch)`` (stable across platforms and Python runs)."""
    h = hashlib.sha256(f"graphdiff-data:{int(seed)}:{int(epoch)}".encode()).digest()
    return int.from_bytes(h[:8], "little") & ((1 << 63) - 1)


@dataclass
class DataPosition:
    """Where the data stream stands: the next batch is batch ``batch`` of epoch ``epoch``."""

    epoch: int = 0
    batch: int = 0


class ResumableBatchSampler:
    """Yields lists of dataset indices for this rank, starting at a :class:`DataPosition`.

    Args:
        n: dataset size.
        batch_size: the *global* batch size (summed over ranks); must be divisible by ``world_size``.
        seed: data-order seed.
        shuffle: permute each epoch (else ``0..n-1``).
        drop_last: drop the final short batch of an epoch (needed for equal per-rank batches).
        rank, world_size: this process's shard.
        lengths: optional per-item lengths ``(n,)``; when given, batches are size-grouped: the
            epoch's random permutation is cut into windows of ``bucket_batches`` batches, each
            window is stably sorted by length (equal lengths keep their random order) and cut into
            batches, and the order of the full batches is shuffled. The remainder of an epoch
            (``n % batch_size`` items, dropped with ``drop_last``) is taken from the end of the
            permutation before grouping, so it stays last. Needs ``shuffle``.
        bucket_batches: window size in batches (``None``: the whole epoch is one window, the
            tightest grouping; smaller windows mix sizes more from epoch to epoch).

    Iterating yields batches forever (epoch after epoch) and advances :attr:`position`.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = True,
        rank: int = 0,
        world_size: int = 1,
        position: DataPosition | None = None,
        lengths: "torch.Tensor | list[int] | None" = None,
        bucket_batches: int | None = None,
    ) -> None:
        if n <= 0:
            raise ValueError("the dataset is empty")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if batch_size % world_size:
            raise ValueError(f"the global batch_size {batch_size} must be divisible by world_size {world_size}")
        if drop_last and batch_size > n:
            raise ValueError(f"batch_size {batch_size} exceeds the dataset size {n} with drop_last=True")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} not in [0, {world_size})")
        if lengths is not None:
            lengths = torch.as_tensor(lengths).reshape(-1)
            if lengths.numel() != n:
                raise ValueError(f"lengths has {lengths.numel()} entries for a dataset of {n}")
            if not shuffle:
                raise ValueError("size-grouped batches (lengths=...) need shuffle=True")
        if bucket_batches is not None and lengths is None:
            raise ValueError("bucket_batches groups batches by length: pass lengths too")
        if bucket_batches is not None and bucket_batches <= 0:
            raise ValueError(f"bucket_batches must be positive, got {bucket_batches}")
        self.lengths, self.bucket_batches = lengths, bucket_batches
        self.n, self.batch_size, self.seed = int(n), int(batch_size), int(seed)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.rank, self.world_size = int(rank), int(world_size)
        self.position = position or DataPosition()

    @property
    def batches_per_epoch(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The global index order ``(n,)`` of ``epoch``."""
        if not self.shuffle:
            return torch.arange(self.n)
        g = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
        order = torch.randperm(self.n, generator=g)
        if self.lengths is None:
            return order
        return self._grouped(order, g)

    def _grouped(self, order: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        bs = self.batch_size
        n_full = (self.n // bs) * bs
        body, rest = order[:n_full], order[n_full:]
        window = n_full if self.bucket_batches is None else self.bucket_batches * bs
        batches = []
        for start in range(0, n_full, max(window, bs)):
            w = body[start:start + window]
            w = w[torch.sort(self.lengths[w], stable=True).indices]
            batches.extend(w.split(bs))
        if not batches:
            return order
        shuffled = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
        return torch.cat(shuffled + [rest])

    def global_batch(self, epoch: int, batch: int) -> torch.Tensor:
        order = self.epoch_order(epoch)
        return order[batch * self.batch_size : (batch + 1) * self.batch_size]

    def __iter__(self) -> Iterator[list[int]]:
        while True:
            pos = self.position
            order = self.epoch_order(pos.epoch)
            while pos.batch < self.batches_per_epoch:
                idx = order[pos.batch * self.batch_size : (pos.batch + 1) * self.batch_size]
                local = idx[self.rank :: self.world_size]
                pos.batch += 1
                yield local.tolist()
            self.position = DataPosition(pos.epoch + 1, 0)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.position.epoch, "batch": self.position.batch, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.position = DataPosition(int(state["epoch"]), int(state["batch"]))
