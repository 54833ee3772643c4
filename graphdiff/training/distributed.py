"""torch.distributed helpers: process-group set-up, DDP wrapping, ordered gathers, a CPU launcher.

* :func:`init_distributed` reads the ``torchrun`` environment (``RANK``, ``WORLD_SIZE``,
  ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) and starts a ``nccl`` (GPU) or ``gloo`` (CPU)
  process group; in a single process it does nothing.
* :func:`fit <graphdiff.training.fit>` wraps the model in ``DistributedDataParallel`` when the
  world size is > 1, shards every global batch with
  :class:`~graphdiff.training.batching.ResumableBatchSampler`, and lets only rank 0 write
  checkpoints and logs.
* :func:`shard_range` / :func:`gather_in_order` split work (e.g. ``n`` samples to generate) into
  contiguous per-rank chunks and put the results back in global order.
* :func:`launch` runs ``fn(rank, *args)`` in ``nproc`` spawned CPU processes with a gloo group
  (what ``--nproc N`` on the command line uses).
"""

from __future__ import annotations

import os
import pickle
import socket
import traceback
from dataclasses import dataclass
from typing import Any, Callable

import torch
import torch.distributed as dist
from torch import Tensor, nn

__all__ = [
    "DistInfo",
    "init_distributed",
    "get_rank",
    "get_world_size",
    "is_main_process",
    "barrier",
    "all_reduce_mean",
    "wrap_ddp",
    "shard_range",
    "gather_in_order",
    "launch",
    "free_port",
]


@dataclass(frozen=True)
class DistInfo:
    """The process's place in the job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    return dist.get_rank() if is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_initialized() else 1


def is_main_process() -> bool:
    return get_rank() == 0


def barrier() -> None:
    if is_initialized() and get_world_size() > 1:
        dist.barrier()


def init_distributed(*, backend: str | None = None, device: str | None = None) -> DistInfo:
    """Start the process group from the ``torchrun`` environment (no-op for a single process).

    ``backend`` defaults to ``nccl`` when CUDA is available and ``device`` is not ``"cpu"``,
    else ``gloo``. On CUDA the current device is set to ``LOCAL_RANK``."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    use_cuda = torch.cuda.is_available() and device != "cpu"
    dev = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world_size > 1 and not is_initialized():
        backend = backend or ("nccl" if use_cuda else "gloo")
        if backend not in ("nccl", "gloo"):
            from ..errors import unknown_name

            raise unknown_name("backend", backend, ["nccl", "gloo"])
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    if is_initialized():
        rank, world_size = dist.get_rank(), dist.get_world_size()
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=dev)


def all_reduce_mean(x: Tensor) -> Tensor:
    """Mean of ``x`` over ranks (returns ``x`` unchanged in a single process)."""
    if get_world_size() == 1:
        return x
    y = x.detach().clone()
    dist.all_reduce(y, op=dist.ReduceOp.SUM)
    return y / get_world_size()


def wrap_ddp(model: nn.Module, device: torch.device) -> nn.Module:
    """``DistributedDataParallel(model)`` when the world size is > 1, else ``model``."""
    if get_world_size() == 1:
        return model
    if device.type == "cuda":
        return nn.parallel.DistributedDataParallel(model, device_ids=[device.index], output_device=device.index)
    return nn.parallel.DistributedDataParallel(model)


def shard_range(n: int, rank: int | None = None, world_size: int | None = None) -> range:
    """The contiguous chunk of ``range(n)`` that ``rank`` handles (sizes differ by at most 1)."""
    rank = get_rank() if rank is None else rank
    world_size = get_world_size() if world_size is None else world_size
    return range(rank * n // world_size, (rank + 1) * n // world_size)


def gather_in_order(x: Tensor) -> Tensor:
    """Concatenate every rank's ``x`` ``(n_r, ...)`` along dim 0 in rank order (all ranks get it).

    Together with :func:`shard_range` this puts sharded results back in global order; chunks may
    have different lengths. Single process: returns ``x``."""
    if get_world_size() == 1:
        return x
    world = get_world_size()
    n_local = torch.tensor([x.shape[0]], device=x.device, dtype=torch.long)
    sizes = [torch.zeros_like(n_local) for _ in range(world)]
    dist.all_gather(sizes, n_local)
    counts = [int(s.item()) for s in sizes]
    m = max(counts)
    padded = x.new_zeros((m,) + tuple(x.shape[1:]))
    padded[: x.shape[0]] = x
    bufs = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(bufs, padded.contiguous())
    return torch.cat([b[:c] for b, c in zip(bufs, counts)], dim=0)


def free_port() -> int:
    """A TCP port that is free on localhost right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch_worker(rank: int, fn: Callable[..., Any], nproc: int, port: int, backend: str, args: tuple, queue: Any) -> None:
    os.environ.update(
        {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(nproc),
         "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    )
    try:
        init_distributed(backend=backend, device="cpu" if backend == "gloo" else None)
        result = fn(rank, *args)
        queue.put((rank, True, pickle.dumps(result)))
    except BaseException:  # report to the parent, which re-raises
        queue.put((rank, False, traceback.format_exc()))
        raise
    finally:
        if is_initialized():
            dist.destroy_process_group()


def launch(fn: Callable[..., Any], nproc: int, *args: Any, backend: str = "gloo") -> list[Any]:
    """Run ``fn(rank, *args)`` in ``nproc`` spawned processes sharing a process group.

    ``fn`` must be importable (a module-level function). Returns the per-rank return values in rank
    order (they travel back pickled between our own processes). With ``nproc == 1`` ``fn`` runs
    in this process without a process group."""
    if nproc < 1:
        raise ValueError(f"nproc must be >= 1, got {nproc}")
    if nproc == 1:
        return [fn(0, *args)]
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    port = free_port()
    received: dict[int, tuple[bool, Any]] = {}

    def drain() -> None:
        while not queue.empty():
            rank, ok, payload = queue.get()
            received[rank] = (ok, payload)

    procs = mp.start_processes(
        _launch_worker, args=(fn, nproc, port, backend, args, queue), nprocs=nproc, join=False, start_method="spawn"
    )
    try:
        # read results while the workers run: a large result would otherwise block in the pipe
        while True:
            drain()
            if procs.join(timeout=0.05):
                break
    except Exception as exc:
        drain()
        for p in procs.processes:
            if p.is_alive():
                p.terminate()
        failures = [f"rank {r}:\n{payload}" for r, (ok, payload) in sorted(received.items()) if not ok]
        raise RuntimeError("distributed worker failed:\n" + "\n".join(failures or [str(exc)])) from exc
    drain()
    missing = [r for r in range(nproc) if r not in received]
    if missing:
        raise RuntimeError(f"distributed workers {missing} exited without a result")
    return [pickle.loads(received[r][1]) for r in range(nproc)]
