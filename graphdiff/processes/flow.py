"""Rectified flow / linear interpolant (Liu et al. 2022, "Flow straight and fast"; Lipman et al.
2023, flow matching).

Convention (diffusion time, so that every process shares ``t = 1`` = noise):
``x_t = (1 - t) x_0 + t z`` with data ``x_0`` at ``t = 0`` and noise ``z ~ N(0, I)`` at ``t = 1``.
(Liu et al. write ``X_t = t X_1 + (1 - t) X_0`` with data at ``t = 1``; substitute ``t -> 1 - t``.)
The velocity is ``v = dx_t/dt = z - x_0``; a sampler integrates ``dx/dt = v(x, t)`` from ``t = 1``
down to ``t = 0``. In the :class:`~graphdiff.processes.base.Process` language ``alpha = 1 - t`` and
``sigma = t``, so the closed-form Gaussian machinery (exact scores, DSM) applies unchanged.

:func:`reflow` re-couples generated pairs ``(z, x_0 = ODE(z))`` for a second round of flow matching
(Liu et al. 2022, Alg. 1), and :func:`straightness` measures ``S = int_0^1 E||(z - x_0) - v(x_t, t)||^2 dt``
along a trajectory (their Eq. 5 / Def. 3.1); ``S = 0`` iff the paths are straight lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ..utils import apply_mask, as_time, bcast, sum_except_batch
from .base import Process
from .registry import register_process

__all__ = ["RectifiedFlow", "ReflowPairs", "reflow", "straightness"]

VelocityFn = Callable[[Tensor, Tensor], Tensor]


@register_process("flow", kind="flow")
class RectifiedFlow(Process):
    """Linear interpolant ``x_t = (1 - t) x_0 + t z``, prior ``N(0, I)``, ``t in [eps, 1]``.

    ``eps`` defaults to 0: the velocity is finite at ``t = 0``, unlike a score."""

    def __init__(self, eps: float = 0.0, T: float = 1.0):
        self.eps = float(eps)
        self.T = float(T)
        self.prior_std = 1.0

    def alpha(self, t: Tensor) -> Tensor:
        return 1.0 - t

    def sigma(self, t: Tensor) -> Tensor:
        return t

    def d_alpha(self, t: Tensor) -> Tensor:
        return -torch.ones_like(t)

    def d_sigma(self, t: Tensor) -> Tensor:
        return torch.ones_like(t)

    def log_snr(self, t: Tensor) -> Tensor:
        return 2.0 * (torch.log1p(-t) - torch.log(t))

    def d_log_snr(self, t: Tensor) -> Tensor:
        return -2.0 / (1.0 - t) - 2.0 / t

    def velocity_target(self, x0: Tensor, z: Tensor) -> Tensor:
        """Conditional velocity ``z - x_0`` (the flow-matching regression target)."""
        return z - x0

    def interpolate(self, x0: Tensor, z: Tensor, t: Tensor) -> Tensor:
        """``(1 - t) x_0 + t z`` for given couplings (used by reflow training)."""
        return bcast(1.0 - t, x0) * x0 + bcast(t, x0) * z

    def __repr__(self) -> str:
        return f"RectifiedFlow(eps={self.eps})"


@dataclass
class ReflowPairs:
    """A coupling for the next rectification round: noise ``z`` and its generated data ``x0``."""

    x0: Tensor
    z: Tensor


@torch.no_grad()
def reflow(
    sample_fn: Callable[[Tensor], Tensor],
    like: Tensor,
    process: Process | None = None,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
) -> ReflowPairs:
    """Draw noise ``z`` shaped like ``like`` and push it through ``sample_fn`` (an ODE solve from
    ``t = 1`` to ``t = 0``, e.g. ``lambda z: sample_heun(v, z, ts).samples``); returns the pairs.

    Training a new velocity on ``interpolate(pairs.x0, pairs.z, t)`` with target ``z - x0`` is the
    reflow step (Liu et al. 2022, Alg. 1)."""
    process = process or RectifiedFlow()
    z = process.prior_sample(like, generator=generator, mask=mask)
    x0 = sample_fn(z.clone())
    return ReflowPairs(x0=apply_mask(x0, mask), z=z)


@torch.no_grad()
def straightness(velocity_fn: VelocityFn, z: Tensor, steps: int = 100, mask: Tensor | None = None) -> Tensor:
    """``(B,)`` straightness ``int_0^1 ||(z - x_0) - v(x_t, t)||^2 dt`` of each Euler trajectory
    (``steps`` uniform steps from ``t = 1`` to 0), per real entry (divided by the number of entries)."""
    ts = torch.linspace(1.0, 0.0, steps + 1, dtype=z.dtype, device=z.device)
    x = z.clone()
    vs = []
    for i in range(steps):
        t = as_time(ts[i], z.shape[0], z)
        v = apply_mask(velocity_fn(x, t), mask)
        vs.append(v)
        x = x + (ts[i + 1] - ts[i]) * v
    disp = z - x  # = integral of v dt from 0 to 1
    d = torch.stack([sum_except_batch((disp - v) ** 2, mask) for v in vs]).mean(0)
    n = sum_except_batch(torch.ones_like(z), mask)
    return d / n
