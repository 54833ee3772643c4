"""Where :func:`~graphdiff.training.fit` gets its batches: a stream over the training data that
knows its :class:`DataPosition`, so a checkpoint records it and a resumed run continues with the
very next batch.

* indexable data (a tensor ``(N, ...)``, a tuple / dict / dataclass of such tensors indexed
  field-wise, or a dataset of items) is batched by a :class:`ResumableBatchSampler`: exactly
  resumable and sharded across DDP ranks;
* any other iterable (e.g. a ``DataLoader``) is restarted every epoch and fast-forwarded on resume.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable

import torch
from torch import Tensor, nn

from .batching import DataPosition, ResumableBatchSampler

__all__ = ["move_to", "make_stream", "IndexedStream", "IterableStream"]


def move_to(batch: Any, device: torch.device) -> Any:
    """Move tensors inside ``batch`` (tensor, dataclass, object with ``.to``, dict, list, tuple)."""
    if isinstance(batch, Tensor):
        return batch.to(device, non_blocking=True)
    if dataclasses.is_dataclass(batch) and not isinstance(batch, type):
        if hasattr(batch, "to"):
            return batch.to(device)
        return dataclasses.replace(batch, **{f.name: move_to(getattr(batch, f.name), device) for f in dataclasses.fields(batch) if f.init})
    if hasattr(batch, "to") and callable(batch.to) and not isinstance(batch, nn.Module):
        return batch.to(device)
    if isinstance(batch, Mapping):
        return {k: move_to(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple):
        items = [move_to(v, device) for v in batch]
        return type(batch)(*items) if hasattr(batch, "_fields") else tuple(items)
    if isinstance(batch, list):
        return [move_to(v, device) for v in batch]
    return batch


def _batched_size(data: Any) -> int | None:
    """Leading size ``N`` when ``data`` is a *batched container* indexed tensor-wise: a tensor ``(N, ...)``,
    a tuple / dict of such tensors, or a dataclass (``TensorState``, ``GraphState``...) whose tensor
    fields all have leading size ``N``; ``None`` otherwise."""
    if isinstance(data, Tensor):
        return int(data.shape[0])
    if isinstance(data, tuple) and not hasattr(data, "_fields"):
        tensors = list(data)
    elif isinstance(data, Mapping):
        tensors = list(data.values())
    elif dataclasses.is_dataclass(data) and not isinstance(data, type):
        tensors = [getattr(data, f.name) for f in dataclasses.fields(data) if isinstance(getattr(data, f.name), Tensor)]
        if not tensors:
            return None
    else:
        return None
    if not tensors or not all(isinstance(t, Tensor) and t.dim() > 0 for t in tensors):
        return None
    sizes = {int(t.shape[0]) for t in tensors}
    if len(sizes) != 1:
        raise ValueError(f"the tensors of a batched dataset must share their first dimension, got sizes {sorted(sizes)}")
    return sizes.pop()


def _index_batched(data: Any, idx: Tensor) -> Any:
    """``data[idx]`` for a batched container (see :func:`_batched_size`)."""
    if isinstance(data, Tensor):
        return data[idx]
    if isinstance(data, tuple):
        return tuple(t[idx] for t in data)
    if isinstance(data, Mapping):
        return {k: v[idx] for k, v in data.items()}
    changes = {f.name: getattr(data, f.name)[idx] for f in dataclasses.fields(data)
               if f.init and isinstance(getattr(data, f.name), Tensor)}
    return dataclasses.replace(data, **changes)


class IndexedStream:
    """Batches from indexable data via :class:`ResumableBatchSampler` (exactly resumable)."""

    def __init__(self, data: Any, sampler: ResumableBatchSampler, collate_fn: Callable[[list[Any]], Any] | None) -> None:
        self.data, self.sampler, self.collate_fn = data, sampler, collate_fn
        self._it = iter(sampler)

    def _fetch(self, idx: list[int]) -> Any:
        data = self.data
        if self.collate_fn is None:
            if _batched_size(data) is not None:
                return _index_batched(data, torch.as_tensor(idx, dtype=torch.long))
            from torch.utils.data import default_collate

            return default_collate([data[i] for i in idx])
        return self.collate_fn([data[i] for i in idx])

    def next(self) -> Any:
        return self._fetch(next(self._it))

    @property
    def position(self) -> DataPosition:
        return self.sampler.position


class IterableStream:
    """Batches from any iterable (e.g. a ``DataLoader``), restarted each epoch; resume fast-forwards.

    Resume is exact when the iterable's order per epoch is deterministic (call
    ``sampler.set_epoch`` style hooks are honoured when present)."""

    def __init__(self, data: Iterable[Any], position: DataPosition, collate_fn: Callable[[Any], Any] | None) -> None:
        self.data, self.collate_fn = data, collate_fn
        self.position = DataPosition(position.epoch, 0)
        self._start_epoch(skip=position.batch)

    def _start_epoch(self, skip: int = 0) -> None:
        for obj in (self.data, getattr(self.data, "sampler", None), getattr(self.data, "batch_sampler", None)):
            if obj is not None and hasattr(obj, "set_epoch"):
                obj.set_epoch(self.position.epoch)
        self._it = iter(self.data)
        for _ in range(skip):
            try:
                next(self._it)
            except StopIteration:  # the checkpoint was taken at the end of an epoch
                self.position = DataPosition(self.position.epoch + 1, 0)
                self._start_epoch()
                return
            self.position.batch += 1

    def next(self) -> Any:
        try:
            batch = next(self._it)
        except StopIteration:
            if self.position.batch == 0:
                raise ValueError("the data iterable yielded no batch") from None
            self.position = DataPosition(self.position.epoch + 1, 0)
            self._start_epoch()
            batch = next(self._it)
        self.position.batch += 1
        return self.collate_fn(batch) if self.collate_fn is not None else batch


def make_stream(
    data: Any, *, batch_size: int | None, seed: int, shuffle: bool, drop_last: bool, collate_fn: Any,
    rank: int, world: int, position: DataPosition, lengths: Any = None, bucket_batches: int | None = None,
) -> "IndexedStream | IterableStream":
    batched_n = None if collate_fn is not None else _batched_size(data)
    indexable = batched_n is not None or isinstance(data, Sequence) or (hasattr(data, "__getitem__") and hasattr(data, "__len__"))
    from torch.utils.data import DataLoader

    if isinstance(data, DataLoader) or not indexable:
        if lengths is not None:
            raise ValueError("lengths (size-grouped batches) applies to indexable data; a DataLoader/iterable brings its own batching")
        if batch_size is not None:
            raise ValueError("batch_size applies to indexable data (tensors, datasets); a DataLoader/iterable brings its own batching")
        if world > 1:
            warnings.warn("an iterable/DataLoader is not sharded by fit; every rank sees the batches its iterable yields", stacklevel=3)
        return IterableStream(data, position, collate_fn)
    n = batched_n if batched_n is not None else len(data)
    bs = n if batch_size is None else int(batch_size)
    if lengths is not None and (batch_size is None or not shuffle):
        raise ValueError("lengths (size-grouped batches) needs a batch_size and shuffle=True")
    sampler = ResumableBatchSampler(
        n, bs, seed=seed, shuffle=shuffle and batch_size is not None, drop_last=drop_last,
        rank=rank, world_size=world, position=DataPosition(position.epoch, position.batch),
        lengths=lengths, bucket_batches=bucket_batches,
    )
    return IndexedStream(data, sampler, collate_fn)
