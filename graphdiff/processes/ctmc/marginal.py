"""Marginal-rate CTMC (DiGress's marginal transitions, Vignac et al. 2023, Sec. 4.1; DeFoG's
marginal prior): ``R = 1 m^T - I`` jumps towards the data's class frequencies ``m``;
``P(s -> t) = a I + (1 - a) 1 m^T``; stationary law ``m``. Classes with ``m_k = 0`` are never
entered by the noise."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from ..registry import register_process
from .base import CTMC
from .schedules import CTMCSchedule

__all__ = ["MarginalCTMC"]


@register_process("marginal", kind="ctmc")
class MarginalCTMC(CTMC):
    """Jump process towards the class frequencies ``probs`` ``(K,)`` (non-negative, summing to 1)."""

    name = "marginal"

    def __init__(self, probs: "Sequence[float] | Tensor", schedule: "str | CTMCSchedule" = "cosine"):
        p = torch.as_tensor(probs, dtype=torch.float64).flatten()
        if p.numel() == 0 or (p < 0).any() or not torch.isfinite(p).all() or p.sum() <= 0:
            raise ValueError("MarginalCTMC needs a non-empty, non-negative, finite probability vector")
        super().__init__(int(p.numel()), schedule)
        self.probs = p / p.sum()

    @classmethod
    def from_data(
        cls,
        x: Tensor,
        num_classes: int,
        mask: Tensor | None = None,
        schedule: "str | CTMCSchedule" = "cosine",
        smoothing: float = 0.0,
    ) -> "MarginalCTMC":
        """Fit ``m`` as the class frequencies of the long tensor ``x`` at ``mask`` (plus
        ``smoothing`` pseudo-counts per class)."""
        vals = x[mask] if mask is not None else x.reshape(-1)
        if vals.numel() and (int(vals.min()) < 0 or int(vals.max()) >= num_classes):
            raise ValueError(f"class ids must lie in [0, {num_classes}), got [{int(vals.min())}, {int(vals.max())}]")
        counts = torch.bincount(vals.reshape(-1).cpu(), minlength=num_classes)[:num_classes].double() + smoothing
        return cls(counts, schedule)

    def stationary(self, dtype: torch.dtype | None = None, device: torch.device | None = None) -> Tensor:
        return self.probs.to(dtype=dtype or torch.get_default_dtype(), device=device)

    def config(self) -> dict:
        return {"name": self.name, "probs": self.probs.tolist(), "schedule": self.schedule.config()}
