"""Absorbing-state ("masking") CTMC (Austin et al. 2021 D3PM-absorbing; Campbell et al. 2022;
DeFoG's masked prior, Qin et al. 2025): ``K`` data classes plus one mask state ``M = K``;
``R = 1 e_M^T - I``, every data class jumps to the mask at rate ``beta(t)`` and the mask is
absorbing. ``P(s -> t) = a I + (1 - a) 1 e_M^T``: a coordinate is kept with probability ``a`` and
masked otherwise; the stationary law is the point mass on the mask."""

from __future__ import annotations

import torch
from torch import Tensor

from ..registry import register_process
from .base import CTMC
from .schedules import CTMCSchedule

__all__ = ["AbsorbingCTMC"]


@register_process("absorbing", kind="ctmc")
class AbsorbingCTMC(CTMC):
    """Absorbing jump process on ``K`` data classes plus a mask state (index ``K``).

    ``num_states = K + 1``; denoisers predict the ``K`` data classes only."""

    name = "absorbing"

    def __init__(self, num_classes: int, schedule: "str | CTMCSchedule" = "cosine"):
        super().__init__(num_classes, schedule)

    @property
    def num_states(self) -> int:
        return self.num_classes + 1

    @property
    def mask_index(self) -> int:
        """Index of the absorbing mask state (``K``)."""
        return self.num_classes

    def stationary(self, dtype: torch.dtype | None = None, device: torch.device | None = None) -> Tensor:
        pi = torch.zeros(self.num_states, dtype=dtype or torch.get_default_dtype(), device=device)
        pi[self.mask_index] = 1.0
        return pi
