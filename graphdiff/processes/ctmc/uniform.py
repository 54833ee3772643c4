"""Uniform-rate CTMC (Campbell et al. 2022, Sec. 4; DiGress's uniform transitions, Vignac et al.
2023): ``R = 1 1^T / K - I``, every class jumps to every other at rate ``beta(t) / K``;
``P(s -> t) = a I + (1 - a) 1 1^T / K``; stationary law uniform."""

from __future__ import annotations

import torch
from torch import Tensor

from ..registry import register_process
from .base import CTMC
from .schedules import CTMCSchedule

__all__ = ["UniformCTMC"]


@register_process("uniform", kind="ctmc")
class UniformCTMC(CTMC):
    """Uniform jump process on ``K`` classes (state space = the ``K`` classes)."""

    name = "uniform"

    def __init__(self, num_classes: int, schedule: "str | CTMCSchedule" = "cosine"):
        super().__init__(num_classes, schedule)

    def stationary(self, dtype: torch.dtype | None = None, device: torch.device | None = None) -> Tensor:
        return torch.full((self.num_classes,), 1.0 / self.num_classes, dtype=dtype or torch.get_default_dtype(), device=device)
