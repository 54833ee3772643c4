"""Return / progress types shared by all samplers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from torch import Tensor

__all__ = ["StepInfo", "SampleOutput", "Callback"]


@dataclass
class StepInfo:
    """Progress report passed to ``callback`` after every step.

    ``step``: 0-based step index; ``num_steps``: total (``-1`` for adaptive solvers); ``t``: the
    time reached (float); ``x``: current state ``(B, ...)``; ``nfe``: evaluations so far;
    ``denoised``: the current ``x_0`` estimate when the sampler has one."""

    step: int
    num_steps: int
    t: float
    x: Tensor
    nfe: int
    denoised: Tensor | None = None


Callback = Callable[[StepInfo], None]


@dataclass
class SampleOutput:
    """``samples`` ``(B, ...)``; ``nfe``: network (score / velocity) evaluations used;
    ``trajectory``: states after each step (first entry = the initial state) when requested;
    ``times``: the matching times."""

    samples: Tensor
    nfe: int
    trajectory: list[Tensor] | None = None
    times: list[float] = field(default_factory=list)
