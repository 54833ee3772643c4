"""A resumable, deterministic, shardable batch sampler.

The order of epoch ``e`` is ``randperm(n)`` drawn from a generator seeded with a hash of
``(seed, e)``, so it is a pure function of ``(seed, epoch)``: a run resumed from
``(epoch, batch)`` sees exactly the batches an uninterrupted run would have seen. With
``world_size > 1`` every *global* batch of ``batch_size`` indices is split between ranks
(rank ``r`` takes positions ``r, r + W, ...``), so the union of the per-rank batches is the global
batch of a single-process run and DDP's gradient average equals the single-process gradient.
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
        return torch.randperm(self.n, generator=g)

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
