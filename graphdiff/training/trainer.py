# Over 450 lines on purpose: the fit loop and its run-state object are one concept (batches: streams.py).
"""The fit loop: AdamW, gradient clipping, EMA, LR warmup/cosine, atomic checkpoints, exact resume.

``fit`` knows nothing about diffusion: it takes a model and a ``loss_fn(model, batch, generator)``
returning a scalar tensor (or a dict with key ``"loss"``) and minimises it. Everything that
influences the trajectory is checkpointed (weights, EMA, optimiser, scheduler, step, data
position, global torch/numpy/Python RNG states and the loss generator's state), so a run killed at
any moment and resumed from its last checkpoint ends with the same parameters and loss curve as
an uninterrupted run (CPU, same thread count).

Shape: :func:`fit` checks its arguments, builds a :class:`_Run` (the state object: model,
optimiser, scheduler, EMA, generator, data stream and the counters), resumes it from a checkpoint
when there is one, then loops ``train_step`` / ``should_stop`` / ``checkpoint`` until ``steps``.
Batches come from :mod:`graphdiff.training.streams`.
"""

from __future__ import annotations

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
from .batching import DataPosition
from .streams import IndexedStream, IterableStream, make_stream, move_to

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


# --------------------------------------------------------------------------------------------
# loss results
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


# --------------------------------------------------------------------------------------------
# the state of a run
# --------------------------------------------------------------------------------------------


@dataclass
class _Run:
    """Everything a training run carries from one update to the next, and into its checkpoints.

    The settings (``loss_fn`` ... ``model_kwargs``) are fixed for the run; ``step``, ``losses``,
    ``lrs``, ``last_ckpt`` and ``stopped_by`` change as it goes."""

    model: nn.Module
    loss_fn: LossFn
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    ema: EMA | None
    generator: torch.Generator
    device: torch.device
    rank: int
    world: int
    seed: int
    grad_clip: float | None
    use_bf16: bool
    ckpt_dir: Path | None
    hyperparameters: dict[str, Any]
    model_kwargs: dict[str, Any]
    step: int = 0
    position: DataPosition = field(default_factory=DataPosition)
    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    last_ckpt: Path | None = None
    stopped_by: str | None = None
    stream: "IndexedStream | IterableStream | None" = None
    train_model: nn.Module | None = None
    params: list[nn.Parameter] = field(default_factory=list)

    @property
    def main(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------------ resume
    def resume(self) -> None:
        """Continue from the checkpoint in ``ckpt_dir``: weights, EMA, optimiser, scheduler, step,
        data position, curves and every RNG state (global, per rank, the loss generator)."""
        ckpt_dir = self.ckpt_dir
        assert ckpt_dir is not None
        try:
            info = load_checkpoint(ckpt_dir, model=self.model, ema=self.ema, optimizer=self.optimizer,
                                   scheduler=self.scheduler, map_location=self.device)
        except CheckpointError as exc:
            hint = ""
            if (ckpt_dir / "previous.json").is_file():
                hint = (f" The checkpoint before it is {ckpt_dir / 'previous.json'}: copy it over last.json to resume"
                        " from there, or pass resume=False to start afresh.")
            raise CheckpointError(f"cannot resume from {ckpt_dir}: {exc}.{hint}") from exc
        extra = info["extra"]
        old_hp = extra.get("hyperparameters", {})
        hp = self.hyperparameters
        changed = sorted(k for k in hp if k in old_hp and old_hp[k] != hp[k])
        if "data_sha256" in changed:  # the data's identity belongs to the resume check, not to a warning
            raise CheckpointError(
                f"cannot resume from {ckpt_dir}: its run trained on other data (sha256 {str(old_hp['data_sha256'])[:12]}..., "
                f"this data {str(hp['data_sha256'])[:12]}...); use another output folder, or delete {ckpt_dir} to start over")
        if changed and self.main:
            warnings.warn(
                f"resuming from {info['path']} with changed settings {changed}: the run will not match an uninterrupted one",
                stacklevel=3,
            )
        if self.ema is not None:
            self.ema.to(self.device)
        self.step = info["step"]
        self.position = DataPosition(int(extra["data_position"]["epoch"]), int(extra["data_position"]["batch"]))
        self.losses = [float(v) for v in extra["losses"].tolist()] if "losses" in extra else []
        self.lrs = [float(v) for v in extra["lrs"].tolist()] if "lrs" in extra else []
        if info["rng"] is None:
            raise CheckpointError(f"checkpoint {info['path']} has no RNG state; cannot resume exactly")
        restore_rng_state(info["rng"])
        rank_rngs = extra.get("rank_rng_states")
        if rank_rngs is not None and self.rank < len(rank_rngs):
            restore_rng_state(rank_rngs[self.rank])
        gen_states = extra.get("generator_states")
        if gen_states is not None and self.rank < len(gen_states):
            self.generator.set_state(gen_states[self.rank].to(torch.uint8).cpu())
        self.last_ckpt = info["path"]
        if self.main:
            log.info("resumed from %s at step %d", info["path"], self.step)

    # ------------------------------------------------------------------ one update
    def train_step(self) -> StepInfo:
        """Draw the next batch, take one optimiser step and record it; :class:`TrainingDivergedError`
        (before the step is applied) on a non-finite loss or gradient norm."""
        assert self.stream is not None and self.train_model is not None
        batch = move_to(self.stream.next(), self.device)
        self.optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16):
            loss, logs = _loss_of(self.loss_fn(self.train_model, batch, self.generator))
        if loss.dim() != 0:
            raise ValueError(f"loss_fn must return a scalar, got shape {tuple(loss.shape)}")
        loss.backward()
        max_norm = float(self.grad_clip) if self.grad_clip else float("inf")
        grad_norm = torch.nn.utils.clip_grad_norm_(self.params, max_norm) if self.params else torch.zeros(())
        stats = torch.stack([loss.detach().float(), grad_norm.detach().float().to(loss.device)])
        stats = D.all_reduce_mean(stats)
        loss_value, norm_value = float(stats[0]), float(stats[1])
        if not (math.isfinite(loss_value) and math.isfinite(norm_value)):
            raise self._diverged("loss" if not math.isfinite(loss_value) else "gradient norm", loss_value, norm_value)
        current_lr = float(self.optimizer.param_groups[0]["lr"])
        self.optimizer.step()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.step += 1
        self.losses.append(loss_value)
        self.lrs.append(current_lr)
        return StepInfo(self.step, loss_value, current_lr, norm_value, self.stream.position.epoch, logs)

    def _diverged(self, what: str, loss_value: float, norm_value: float) -> TrainingDivergedError:
        last = self.last_ckpt
        where = f"; last good checkpoint: {last} (step {_step_of(last)})" if last else ""
        err = TrainingDivergedError(
            f"training diverged at step {self.step + 1}: {what} is {loss_value if what == 'loss' else norm_value}"
            f"{where}. Lower the learning rate, enable grad_clip or check the data."
        )
        err.step = self.step + 1  # type: ignore[attr-defined]
        err.checkpoint = last  # type: ignore[attr-defined]
        return err

    # ------------------------------------------------------------------ stop
    def should_stop(self, info: StepInfo, steps: int, callback: Callable[[StepInfo], bool | None] | None,
                    max_seconds: float | None, t0: float) -> bool:
        """Whether the callback asked to stop or the time budget is spent (any rank stops all, so
        the collectives stay in step); records why in ``stopped_by`` when ``steps`` is not reached."""
        if callback is None and max_seconds is None:
            return False
        asked = callback is not None and bool(callback(info))
        late = max_seconds is not None and time.perf_counter() - t0 > max_seconds
        if self.world > 1:
            flags = D.all_reduce_mean(torch.tensor([float(asked), float(late)], device=self.device))
            asked, late = bool(flags[0].item() > 0), bool(flags[1].item() > 0)
        stop = asked or late
        if stop and self.step < steps:
            self.stopped_by = "callback" if asked else "max_seconds"
            if self.main and late:
                log.info("stopping at step %d of %d: max_seconds=%g reached", self.step, steps, max_seconds)
        return stop

    # ------------------------------------------------------------------ checkpoint
    def _gather_states(self) -> tuple[list[Tensor], list[Any] | None]:
        """Every rank's loss-generator state and (with several ranks) global RNG states."""
        state = self.generator.get_state()
        if self.world == 1:
            return [state], None
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, (state, capture_rng_state()))
        return [o[0] for o in out], [o[1] for o in out]

    def checkpoint(self) -> None:
        """Write an atomic checkpoint (rank 0; a collective: every rank must call it)."""
        assert self.stream is not None and self.ckpt_dir is not None
        gens, rank_rngs = self._gather_states()
        if not self.main:
            return
        extra = {
            "data_position": {"epoch": self.stream.position.epoch, "batch": self.stream.position.batch},
            "losses": torch.tensor(self.losses, dtype=torch.float64),
            "lrs": torch.tensor(self.lrs, dtype=torch.float64),
            "generator_states": gens,
            **({"rank_rng_states": rank_rngs} if rank_rngs is not None else {}),
            "seed": self.seed,
            "world_size": self.world,
            "hyperparameters": self.hyperparameters,
            "model_kwargs": self.model_kwargs,
            "model_class": f"{type(self.model).__module__}.{type(self.model).__qualname__}",
        }
        self.last_ckpt = save_checkpoint(self.ckpt_dir, model=self.model, ema=self.ema, optimizer=self.optimizer,
                                         scheduler=self.scheduler, step=self.step, extra=extra)


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------


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
    bf16: bool | str = False,
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
    lr_scales: Sequence[tuple[Iterable[nn.Parameter], float]] | None = None,
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
        bf16: autocast the loss to bfloat16: on CUDA, and on CPUs with native bfloat16 (AVX512-BF16
            / AMX, :func:`graphdiff.hardware.cpu_has_bf16`; 1.24x per QM9 step on such a CPU);
            elsewhere on CPU ignored with a warning. ``"auto"``: on where it runs natively, silently
            off elsewhere.
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
        lr_scales: ``[(parameters, scale), ...]``: each subset of the model's parameters gets its
            own AdamW parameter group with learning rate ``lr * scale``, following the same
            warmup / schedule; the other parameters form the first group at ``lr``. ``None`` or
            ``[]``: one group (the default). Each ``scale`` must be a finite number > 0, each
            subset non-empty and disjoint from the others. The scales are recorded with the
            hyperparameters, and a checkpoint resumes only into the same grouping.

    Raises:
        TrainingDivergedError: a non-finite loss or gradient norm, naming the (1-based) update;
            the parameters and the last checkpoint are left as they were before that update.
    """
    _check_fit_args(steps, checkpoint_every, max_seconds)
    schedule_fn = lr_lambda(lr_schedule, steps=steps, warmup_steps=warmup_steps)
    device = torch.device(device)
    rank, world = D.get_rank(), D.get_world_size()
    if bf16 not in (True, False, "auto"):
        raise ValueError(f"bf16 must be True, False or 'auto', got {bf16!r}")
    from ..hardware import cpu_has_bf16

    native = device.type == "cuda" or (device.type == "cpu" and cpu_has_bf16())
    use_bf16 = bool(bf16) and native
    if bf16 is True and not use_bf16:
        warnings.warn("bf16 autocast runs on CUDA and on CPUs with native bfloat16 only; training in float32 here",
                      stacklevel=2)

    _seed_everything(seed + 1_000_003 * rank)  # rank 0 = the single-process run
    model.to(device)
    model.train()
    if generator is None:
        generator = torch.Generator(device=device).manual_seed(seed + 1_000_003 * rank)
    groups, scales = _param_groups(model, lr, lr_scales)
    optimizer = torch.optim.AdamW(groups, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule_fn)
    hp = {
        "steps": steps, "lr": lr, "weight_decay": weight_decay, "betas": list(betas), "eps": eps,
        "grad_clip": grad_clip, "ema_decay": ema_decay, "ema_warmup": ema_warmup, "seed": seed,
        "warmup_steps": warmup_steps, "lr_schedule": lr_schedule, "batch_size": batch_size,
        "shuffle": shuffle, "drop_last": drop_last, "bf16": bf16,
        "size_grouped": lengths is not None, "bucket_batches": bucket_batches, **dict(hyperparameters or {}),
    }
    if scales:
        hp["lr_scales"] = scales
    run = _Run(
        model=model, loss_fn=loss_fn, optimizer=optimizer, scheduler=scheduler,
        ema=EMA(model, decay=ema_decay, warmup=ema_warmup) if ema_decay is not None else None,
        generator=generator, device=device, rank=rank, world=world, seed=seed, grad_clip=grad_clip,
        use_bf16=use_bf16, ckpt_dir=Path(checkpoint_dir) if checkpoint_dir is not None else None,
        hyperparameters=hp, model_kwargs=dict(model_kwargs or {}),
    )
    if run.ckpt_dir is not None and resume and checkpoint_exists(run.ckpt_dir):
        run.resume()
    start_step = run.step
    run.stream = make_stream(
        data, batch_size=batch_size, seed=seed, shuffle=shuffle, drop_last=drop_last, collate_fn=collate_fn,
        rank=rank, world=world, position=run.position, lengths=lengths, bucket_batches=bucket_batches,
    )
    run.train_model = D.wrap_ddp(model, device)
    run.params = [p for p in model.parameters() if p.requires_grad]

    pbar = None
    if progress and run.main:
        from tqdm.auto import tqdm

        pbar = tqdm(total=steps, initial=run.step, desc="fit", dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        while run.step < steps:
            info = run.train_step()
            if pbar is not None:
                pbar.update(1)
                if info.step % max(1, min(log_every, 10)) == 0 or info.step == steps:
                    pbar.set_postfix(loss=f"{info.loss:.4g}", refresh=False)
            if run.main and log_every and info.step % log_every == 0:
                log.info("step %d loss %.6g lr %.3g grad_norm %.3g", info.step, info.loss, info.lr, info.grad_norm)
            stop = run.should_stop(info, steps, callback, max_seconds, t0)
            if run.ckpt_dir is not None and (run.step % checkpoint_every == 0 or run.step == steps or stop):
                run.checkpoint()
            if stop:
                break
    finally:
        if pbar is not None:
            pbar.close()
    D.barrier()
    return TrainResult(
        losses=run.losses, wall_time=time.perf_counter() - t0, final_step=run.step, start_step=start_step,
        checkpoint_dir=run.ckpt_dir, last_checkpoint=run.last_ckpt, ema=run.ema, lrs=run.lrs, stopped_by=run.stopped_by,
    )


def _param_groups(model: nn.Module, lr: float, lr_scales: Sequence[tuple[Iterable[nn.Parameter], float]] | None
                  ) -> tuple[Any, list[float]]:
    """AdamW's parameter groups for ``fit(lr_scales=...)``: the model's parameters (``None`` = one
    group, exactly as without the option), or ``[{rest}, {subset, lr * scale}, ...]`` with the
    scales; ``ValueError`` on a bad scale, an empty subset, a parameter outside the model or in two
    subsets."""
    if not lr_scales:
        return model.parameters(), []
    owned = {id(p) for p in model.parameters()}
    taken: set[int] = set()
    subsets, scales = [], []
    for i, (params, scale) in enumerate(lr_scales):
        scale = float(scale)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"lr_scales[{i}]: the scale must be a finite number > 0, got {scale}")
        ps = list(params)
        if not ps:
            raise ValueError(f"lr_scales[{i}]: no parameters to scale (the model has none of that kind)")
        ids = [id(p) for p in ps]
        if any(j not in owned for j in ids):
            raise ValueError(f"lr_scales[{i}]: holds parameters that are not the model's")
        if taken & set(ids) or len(set(ids)) != len(ids):
            raise ValueError(f"lr_scales[{i}]: a parameter appears twice (in two subsets or twice in one)")
        taken |= set(ids)
        subsets.append(ps)
        scales.append(scale)
    rest = [p for p in model.parameters() if id(p) not in taken]
    groups = [{"params": rest}] + [{"params": ps, "lr": lr * s} for ps, s in zip(subsets, scales)]
    return groups, scales


def _check_fit_args(steps: int, checkpoint_every: int, max_seconds: float | None) -> None:
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if checkpoint_every <= 0:
        raise ValueError(f"checkpoint_every must be positive, got {checkpoint_every}")
    if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be a positive number of seconds, got {max_seconds}")


def _step_of(record: Path | None) -> int | None:
    if record is None:
        return None
    try:
        import json

        return int(json.loads(Path(record).read_text())["step"])
    except (OSError, ValueError, KeyError):
        return None
