"""Training utilities: the :func:`fit` loop, :class:`EMA`, pickle-free atomic checkpoints and
torch.distributed helpers. Nothing here knows about diffusion: ``fit`` minimises any
``loss_fn(model, batch, generator)``."""

from __future__ import annotations

from .checkpoint import (
    SCHEMA_VERSION,
    capture_rng_state,
    checkpoint_exists,
    load_checkpoint,
    load_weights,
    read_checkpoint_record,
    restore_rng_state,
    save_checkpoint,
    save_weights,
)
from .distributed import DistInfo, gather_in_order, init_distributed, launch, shard_range
from .ema import EMA
from .batching import DataPosition, ResumableBatchSampler
from .streams import move_to
from .trainer import LR_SCHEDULES, StepInfo, TrainResult, fit, lr_lambda

__all__ = [
    "SCHEMA_VERSION",
    "fit",
    "TrainResult",
    "StepInfo",
    "LR_SCHEDULES",
    "lr_lambda",
    "move_to",
    "EMA",
    "save_checkpoint",
    "load_checkpoint",
    "checkpoint_exists",
    "read_checkpoint_record",
    "save_weights",
    "load_weights",
    "capture_rng_state",
    "restore_rng_state",
    "ResumableBatchSampler",
    "DataPosition",
    "DistInfo",
    "init_distributed",
    "launch",
    "shard_range",
    "gather_in_order",
]
