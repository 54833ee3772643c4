"""Network precision while sampling: the choices and the autocast context, and :func:`upcast`
for network outputs (samplers and losses do their arithmetic in at least float32)."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["PRECISIONS", "upcast", "autocast"]

#: Network precision while sampling: ``"float32"`` (exact, the default) or ``"bfloat16"`` (the
#: network runs under ``torch.autocast``; the sampler's state, positional features and the
#: posterior / solver arithmetic stay in float32). It pays on CPUs with bf16 instructions and on
#: GPUs (measured: ``benchmarks/results/sampling_speed*.md``); on CPUs without them it is emulated
#: and slower.
PRECISIONS = ("float32", "bfloat16")


def upcast(t: Tensor) -> Tensor:
    """A network output in float32 when autocast made it bfloat16 / float16 (samplers and losses
    do their arithmetic in at least float32); other dtypes pass through."""
    return t.float() if t.dtype in (torch.bfloat16, torch.float16) else t


def autocast(device: torch.device, precision: str):
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bfloat16")
