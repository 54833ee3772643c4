"""Flow matching / rectified-flow loss (Lipman et al. 2023, Eq. 23; Liu et al. 2022, Eq. 1).

``L = E_t E || v_theta(x_t, t) - (alpha'(t) x_0 + sigma'(t) z) ||^2`` with ``x_t = alpha x_0 + sigma z``;
for :class:`~graphdiff.processes.flow.RectifiedFlow` the target is ``z - x_0``. Passing ``z``
(coupled noise from :func:`~graphdiff.processes.flow.reflow`) trains the next reflow round.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..processes.base import Process
from ..utils import apply_mask, bcast, masked_mean, num_real, sum_except_batch
from .types import LossOutput

__all__ = ["flow_matching_loss"]


def flow_matching_loss(
    velocity_fn: Callable[[Tensor, Tensor], Tensor],
    process: Process,
    x0: Tensor,
    *,
    z: Tensor | None = None,
    t: Tensor | None = None,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
) -> LossOutput:
    """Mean squared velocity error over real entries. ``z`` defaults to fresh noise (independent
    coupling); pass the paired noise for reflow."""
    B = x0.shape[0]
    if t is None:
        t = process.sample_time(B, generator=generator, device=x0.device).to(x0.dtype)
    x0 = apply_mask(x0, mask)
    z = process.noise(x0, generator, mask) if z is None else apply_mask(z, mask)
    a, s = bcast(process.alpha(t), x0), bcast(process.sigma(t), x0)
    xt = apply_mask(a * x0 + s * z, mask)
    target = bcast(process.d_alpha(t), x0) * x0 + bcast(process.d_sigma(t), x0) * z
    sq = (velocity_fn(xt, t) - target) ** 2
    per_sample = sum_except_batch(sq, mask) / num_real(x0, mask).clamp_min(1)
    return LossOutput(loss=masked_mean(sq, mask), per_sample=per_sample, t=t)
