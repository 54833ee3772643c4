"""The fit loop: AdamW, gradient clipping, EMA, LR warmup/cosine, atomic checkpoints, exact resume.

``fit`` knows nothing about diffusion: it takes a model and a ``loss_fn(model, batch, generator)``
returning a scalar tensor (or a dict with key ``"loss"``) and minimises it. Everything that
influences the trajectory is checkpointed (weights, EMA, optimiser, scheduler, step, data
position, global torch/numpy/Python RNG states and the loss generator's state), so a run killed at
any moment and resumed from its last checkpoint ends with the same parameters and loss curve as
an uninterrupted run (CPU, same thread count).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from ..errors import CheckpointError, TrainingDivergedError, unknown_name
from . import distributed as D
from .checkpoint import capture_rng_state, checkpoint_exists, load_checkpoint, restore_rng_state, save_checkpoint
from .ema import EMA
from .batching import DataPosition, ResumableBatchSampler

__all__ = ["fit", "TrainResult", "StepInfo", "LR_SCHEDULES", "lr_lambda", "move_to"]

log = logging.getLogger("graphdiff.training")

LR_SCHEDULES = ("constant", "cosine")
LossFn = Callable[[nn.Module, Any, torch.Generator], "Tensor | Mapping[str, Tensor]"]


@dataclass
class StepInfo:
    """What a ``callback`` sees after every optimiser step."""

    step: int
    loss: float
    lr: float
    grad_norm: float
    epoch: int
    logs: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainResult:
    """Outcome of :func:`fit`.

    ``losses[i]`` is the (rank-averaged) loss of update ``i + 1``, including updates done before a
    resume; ``start_step`` is the step training (re)started from."""

    losses: list[float]
    wall_time: float
    final_step: int
    start_step: int
    checkpoint_dir: Path | None
    last_checkpoint: Path | None
    ema: EMA | None
    lrs: list[float] = field(default_factory=list)
    stopped_by: str | None = None  # None (ran to ``steps``), "callback" or "max_seconds"


def lr_lambda(schedule: str, *, steps: int, warmup_steps: int = 0) -> Callable[[int], float]:
    """LR multiplier ``f(s)`` for update ``s`` (0-based): linear warmup over ``warmup_steps``,
    then constant or cosine decay to 0 at ``steps`` (Loshchilov & Hutter 2017, Eq. 5)."""
    if schedule not in LR_SCHEDULES:
        raise unknown_name("lr_schedule", schedule, LR_SCHEDULES)

    def f(s: int) -> float:
        if warmup_steps > 0 and s < warmup_steps:
            return (s + 1) / warmup_steps
        if schedule == "constant":
            return 1.0
        span = max(1, steps - warmup_steps)
        progress = min(1.0, (s - warmup_steps) / span)
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return f


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


# --------------------------------------------------------------------------------------------
# data streams
# --------------------------------------------------------------------------------------------


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


class _IndexedStream:
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


class _IterableStream:
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


def _make_stream(
    data: Any, *, batch_size: int | None, seed: int, shuffle: bool, drop_last: bool, collate_fn: Any,
    rank: int, world: int, position: DataPosition, lengths: Any = None, bucket_batches: int | None = None,
) -> "_IndexedStream | _IterableStream":
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
        return _IterableStream(data, position, collate_fn)
    n = batched_n if batched_n is not None else len(data)
    bs = n if batch_size is None else int(batch_size)
    if lengths is not None and (batch_size is None or not shuffle):
        raise ValueError("lengths (size-grouped batches) needs a batch_size and shuffle=True")
    sampler = ResumableBatchSampler(
        n, bs, seed=seed, shuffle=shuffle and batch_size is not None, drop_last=drop_last,
        rank=rank, world_size=world, position=DataPosition(position.epoch, position.batch),
        lengths=lengths, bucket_batches=bucket_batches,
    )
    return _IndexedStream(data, sampler, collate_fn)


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))
    random.seed(seed)


def _scalar_logs(items: Iterable[tuple[str, Any]]) -> dict[str, float]:
    logs = {}
    for k, v in items:
        if k == "loss":
            continue
        if isinstance(v, Tensor) and v.numel() == 1:
            logs[k] = float(v.detach().float())
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            logs[k] = float(v)
    return logs


def _loss_of(out: Any) -> tuple[Tensor, dict[str, float]]:
    """The scalar to minimise and scalar side values to log from a ``loss_fn`` result: a tensor,
    a dict with ``"loss"``, or an object with a tensor ``.loss`` attribute (e.g. ``LossOutput``)."""
    if isinstance(out, Tensor):
        return out, {}
    if isinstance(out, Mapping) and "loss" in out:
        return out["loss"], _scalar_logs(out.items())
    if isinstance(getattr(out, "loss", None), Tensor):
        fields = vars(out).items() if hasattr(out, "__dict__") else []
        return out.loss, _scalar_logs(fields)
    raise TypeError(f"loss_fn must return a scalar tensor, a dict with key 'loss' or an object with a .loss tensor; got {type(out).__name__}")


def fit(
    model: nn.Module,
    loss_fn: LossFn,
    data: Any,
    *,
    steps: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    grad_clip: float | None = 1.0,
    ema_decay: float | None = 0.999,
    ema_warmup: bool = False,
    warmup_steps: int = 0,
    lr_schedule: str = "constant",
    batch_size: int | None = None,
    shuffle: bool = True,
    drop_last: bool = True,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    lengths: Sequence[int] | Tensor | None = None,
    bucket_batches: int | None = None,
    device: str | torch.device = "cpu",
    bf16: bool = False,
    seed: int = 0,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 1000,
    resume: bool = True,
    log_every: int = 100,
    progress: bool = True,
    callback: Callable[[StepInfo], bool | None] | None = None,
    max_seconds: float | None = None,
    generator: torch.Generator | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Minimise ``loss_fn(model, batch, generator)`` for ``steps`` AdamW updates.

    Args:
        model: trained in place (moved to ``device``); wrapped in DDP when the process group has
            world size > 1 (``loss_fn`` then receives the DDP wrapper and must only call it).
        loss_fn: returns a scalar tensor, a dict with ``"loss"`` or an object with a ``.loss``
            tensor such as :class:`graphdiff.losses.LossOutput` (other scalar entries are logged).
        data: a tensor ``(N, ...)``, a tuple / dict of such tensors, a dataclass holding them
            (e.g. a ``TensorState`` or ``GraphState`` of ``N`` samples, indexed field-wise), an
            indexable dataset of items (with ``collate_fn`` for custom batch objects) — batched by a resumable seeded sampler with
            the *global* ``batch_size`` (``None``: the whole set every step) — or any iterable /
            ``DataLoader`` of ready batches, restarted at every epoch.
        steps: total number of updates (a resumed run continues up to ``steps``).
        lengths, bucket_batches: per-item lengths (e.g. node counts) for size-grouped batches on
            indexable data; see :class:`ResumableBatchSampler`. Each batch then holds items of
            similar length, so a ``loss_fn`` that trims padding to the batch's longest item does
            far less work on sets with a wide size range.
        grad_clip: max global gradient norm (``None`` disables clipping).
        ema_decay: EMA decay (``None`` disables EMA); ``ema_warmup`` uses ``min(d, (1+n)/(10+n))``.
        warmup_steps, lr_schedule: linear warmup then ``"constant"`` or ``"cosine"``.
        bf16: autocast to bfloat16 (CUDA only; ignored with a warning on CPU).
        seed: seeds the global torch/numpy/Python RNGs (offset per rank), the data order and the
            loss generator.
        checkpoint_dir: where atomic checkpoints go (every ``checkpoint_every`` steps and at the end);
            with ``resume`` an existing checkpoint there is continued exactly.
        callback: called with a :class:`StepInfo` after every update; returning ``True`` stops.
        max_seconds: wall-clock budget of this call's update loop: the first update that ends past
            it is the last (all ranks stop together), a checkpoint is written there and
            ``TrainResult.stopped_by`` says ``"max_seconds"``. The learning-rate schedule still
            follows ``steps``: size ``steps`` to the budget (a short probe run gives the rate) so a
            cosine decay completes. A resumed run gets a fresh budget.
        generator: the generator handed to ``loss_fn`` (default: one seeded from ``seed`` + rank).
        hyperparameters, model_kwargs: stored in the checkpoint JSON for the record.

    Raises:
        TrainingDivergedError: a non-finite loss or gradient norm, naming the (1-based) update;
            the parameters and the last checkpoint are left as they were before that update.
    """
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if checkpoint_every <= 0:
        raise ValueError(f"checkpoint_every must be positive, got {checkpoint_every}")
    if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be a positive number of seconds, got {max_seconds}")
    device = torch.device(device)
    schedule_fn = lr_lambda(lr_schedule, steps=steps, warmup_steps=warmup_steps)
    rank, world = D.get_rank(), D.get_world_size()
    main = rank == 0
    use_bf16 = bool(bf16) and device.type == "cuda"
    if bf16 and not use_bf16:
        warnings.warn("bf16 autocast is only used on CUDA; training in float32 on CPU", stacklevel=2)

    _seed_everything(seed + 1_000_003 * rank)  # rank 0 = the single-process run
    model.to(device)
    model.train()
    if generator is None:
        generator = torch.Generator(device=device).manual_seed(seed + 1_000_003 * rank)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule_fn)
    ema = EMA(model, decay=ema_decay, warmup=ema_warmup) if ema_decay is not None else None

    hp = {
        "steps": steps, "lr": lr, "weight_decay": weight_decay, "betas": list(betas), "eps": eps,
        "grad_clip": grad_clip, "ema_decay": ema_decay, "ema_warmup": ema_warmup, "seed": seed,
        "warmup_steps": warmup_steps, "lr_schedule": lr_schedule, "batch_size": batch_size,
        "shuffle": shuffle, "drop_last": drop_last, "bf16": bf16,
        "size_grouped": lengths is not None, "bucket_batches": bucket_batches, **dict(hyperparameters or {}),
    }
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    step, position, losses, lrs = 0, DataPosition(), [], []
    last_ckpt: Path | None = None
    if ckpt_dir is not None and resume and checkpoint_exists(ckpt_dir):
        try:
            info = load_checkpoint(ckpt_dir, model=model, ema=ema, optimizer=optimizer, scheduler=scheduler, map_location=device)
        except CheckpointError as exc:
            hint = ""
            if (ckpt_dir / "previous.json").is_file():
                hint = (f" The checkpoint before it is {ckpt_dir / 'previous.json'}: copy it over last.json to resume"
                        " from there, or pass resume=False to start afresh.")
            raise CheckpointError(f"cannot resume from {ckpt_dir}: {exc}.{hint}") from exc
        extra = info["extra"]
        old_hp = extra.get("hyperparameters", {})
        changed = sorted(k for k in hp if k in old_hp and old_hp[k] != hp[k])
        if changed and main:
            warnings.warn(
                f"resuming from {info['path']} with changed settings {changed}: the run will not match an uninterrupted one",
                stacklevel=2,
            )
        if ema is not None:
            ema.to(device)
        step = info["step"]
        position = DataPosition(int(extra["data_position"]["epoch"]), int(extra["data_position"]["batch"]))
        losses = [float(v) for v in extra["losses"].tolist()] if "losses" in extra else []
        lrs = [float(v) for v in extra["lrs"].tolist()] if "lrs" in extra else []
        if info["rng"] is None:
            raise CheckpointError(f"checkpoint {info['path']} has no RNG state; cannot resume exactly")
        restore_rng_state(info["rng"])
        rank_rngs = extra.get("rank_rng_states")
        if rank_rngs is not None and rank < len(rank_rngs):
            restore_rng_state(rank_rngs[rank])
        gen_states = extra.get("generator_states")
        if gen_states is not None and rank < len(gen_states):
            generator.set_state(gen_states[rank].to(torch.uint8).cpu())
        last_ckpt = info["path"]
        if main:
            log.info("resumed from %s at step %d", info["path"], step)
    start_step = step

    stream = _make_stream(
        data, batch_size=batch_size, seed=seed, shuffle=shuffle, drop_last=drop_last, collate_fn=collate_fn,
        rank=rank, world=world, position=position, lengths=lengths, bucket_batches=bucket_batches,
    )
    train_model = D.wrap_ddp(model, device)
    params = [p for p in model.parameters() if p.requires_grad]

    def gather_states() -> tuple[list[Tensor], list[Any] | None]:
        """Every rank's loss-generator state and (with several ranks) global RNG states."""
        state = generator.get_state()
        if world == 1:
            return [state], None
        import torch.distributed as dist

        out: list[Any] = [None] * world
        dist.all_gather_object(out, (state, capture_rng_state()))
        return [o[0] for o in out], [o[1] for o in out]

    def checkpoint() -> Path | None:
        gens, rank_rngs = gather_states()  # collective: every rank takes part
        if not main:
            return None
        extra = {
            "data_position": {"epoch": stream.position.epoch, "batch": stream.position.batch},
            "losses": torch.tensor(losses, dtype=torch.float64),
            "lrs": torch.tensor(lrs, dtype=torch.float64),
            "generator_states": gens,
            **({"rank_rng_states": rank_rngs} if rank_rngs is not None else {}),
            "seed": seed,
            "world_size": world,
            "hyperparameters": hp,
            "model_kwargs": dict(model_kwargs or {}),
            "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        }
        return save_checkpoint(ckpt_dir, model=model, ema=ema, optimizer=optimizer, scheduler=scheduler, step=step, extra=extra)

    pbar = None
    if progress and main:
        from tqdm.auto import tqdm

        pbar = tqdm(total=steps, initial=step, desc="fit", dynamic_ncols=True)
    t0 = time.perf_counter()
    stop = False
    stopped_by: str | None = None
    try:
        while step < steps and not stop:
            batch = move_to(stream.next(), device)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
                loss, logs = _loss_of(loss_fn(train_model, batch, generator))
            if loss.dim() != 0:
                raise ValueError(f"loss_fn must return a scalar, got shape {tuple(loss.shape)}")
            loss.backward()
            max_norm = float(grad_clip) if grad_clip else float("inf")
            grad_norm = torch.nn.utils.clip_grad_norm_(params, max_norm) if params else torch.zeros(())
            stats = torch.stack([loss.detach().float(), grad_norm.detach().float().to(loss.device)])
            stats = D.all_reduce_mean(stats)
            loss_value, norm_value = float(stats[0]), float(stats[1])
            if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
                what = "loss" if not math.isfinite(loss_value) else "gradient norm"
                where = f"; last good checkpoint: {last_ckpt} (step {_step_of(last_ckpt)})" if last_ckpt else ""
                err = TrainingDivergedError(
                    f"training diverged at step {step + 1}: {what} is {loss_value if what == 'loss' else norm_value}"
                    f"{where}. Lower the learning rate, enable grad_clip or check the data."
                )
                err.step = step + 1  # type: ignore[attr-defined]
                err.checkpoint = last_ckpt  # type: ignore[attr-defined]
                raise err
            current_lr = float(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update(model)
            step += 1
            losses.append(loss_value)
            lrs.append(current_lr)
            if pbar is not None:
                pbar.update(1)
                if step % max(1, min(log_every, 10)) == 0 or step == steps:
                    pbar.set_postfix(loss=f"{loss_value:.4g}", refresh=False)
            if main and log_every and step % log_every == 0:
                log.info("step %d loss %.6g lr %.3g grad_norm %.3g", step, loss_value, current_lr, norm_value)
            if callback is not None or max_seconds is not None:
                asked = callback is not None and bool(
                    callback(StepInfo(step, loss_value, current_lr, norm_value, stream.position.epoch, logs)))
                late = max_seconds is not None and time.perf_counter() - t0 > max_seconds
                if world > 1:  # any rank asking to stop stops all (keeps the collectives in step)
                    flags = D.all_reduce_mean(torch.tensor([float(asked), float(late)], device=device))
                    asked, late = bool(flags[0].item() > 0), bool(flags[1].item() > 0)
                stop = asked or late
                if stop and step < steps:
                    stopped_by = "callback" if asked else "max_seconds"
                    if main and late:
                        log.info("stopping at step %d of %d: max_seconds=%g reached", step, steps, max_seconds)
            if ckpt_dir is not None and (step % checkpoint_every == 0 or step == steps or stop):
                saved = checkpoint()
                last_ckpt = saved if saved is not None else last_ckpt
    finally:
        if pbar is not None:
            pbar.close()
    D.barrier()
    return TrainResult(
        losses=losses, wall_time=time.perf_counter() - t0, final_step=step, start_step=start_step,
        checkpoint_dir=ckpt_dir, last_checkpoint=last_ckpt, ema=ema, lrs=lrs, stopped_by=stopped_by,
    )


def _step_of(record: Path | None) -> int | None:
    if record is None:
        return None
    try:
        import json

        return int(json.loads(Path(record).read_text())["step"])
    except (OSError, ValueError, KeyError):
        return None
