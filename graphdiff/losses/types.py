"""Return types of the losses."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

__all__ = ["LossOutput"]


@dataclass
class LossOutput:
    """``loss``: scalar to minimise; ``per_sample``: ``(B,)`` values; ``t``: the ``(B,)`` times used."""

    loss: Tensor
    per_sample: Tensor
    t: Tensor
