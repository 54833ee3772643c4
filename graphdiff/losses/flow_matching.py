"""Flow matching / rectified-flow loss (Lipman et al. 2023, Eq. 23; Liu et al. 2022, Eq. 1).

``L = E_t E || v_theta(x_t, t) - (alpha'(t) x_0 + sigma'(t) z) ||^2`` with ``x_t = alpha x_0 + sigma z``;
for :class:`~graphdiff.processes.flow.RectifiedFlow` the target is ``z - x_0``. Passing ``z``
(coupled noise from :func:`~graphdiff.processes.flow.reflow`) trains the next reflow round.

:func:`reflow_loss` is the same reflow step for any Gaussian-path process and any parametrisation
(e.g. a VP score model's ``eps`` network, fine-tuned in place): on ``x_t = alpha x_0 + sigma z`` of a
coupled pair the model's data prediction is regressed onto the pair's ``x_0`` (equivalently its noise
prediction onto ``z``). ``x_t / (alpha + sigma)`` is the straight line ``(1 - s) x_0 + s z`` with
``s = sigma / (alpha + sigma)``, so a model with zero loss has straight (rescaled) trajectories and
DDIM (the first-order exponential integrator) follows them exactly in any number of steps.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..processes.base import Process
from ..processes.parametrization import to_x0_eps
from ..utils import apply_mask, bcast, masked_mean, num_real, sum_except_batch
from .types import LossOutput

__all__ = ["flow_matching_loss", "reflow_loss"]


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


def reflow_loss(
    model_fn: Callable[[Tensor, Tensor], Tensor],
    process: Process,
    x0: Tensor,
    z: Tensor,
    *,
    parametrization: str = "eps",
    max_weight: float = 1.0,
    through_start: bool = True,
    t: Tensor | None = None,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
) -> LossOutput:
    """Reflow regression for a coupled pair ``(z, x_0)`` (e.g. ``x_0`` the teacher's ODE solution
    from ``z``, :func:`~graphdiff.processes.flow.reflow`), in any parametrisation of ``model_fn``.

    Per real entry the loss is ``w(t) || eps_hat - z ||^2`` with ``w = clamp(sigma^2 / alpha^2, 1,
    max_weight)``: ``max_weight = 1`` is the plain noise-prediction error (DSM's ``"sigma2"``
    weighting), larger values move towards the data-space error ``||x0_hat - x_0||^2 = (sigma /
    alpha)^2 ||eps_hat - z||^2`` (Salimans & Ho 2022's truncated-SNR weighting, capped), which is what
    a few-step sampler starting at high noise needs. ``t`` defaults to ``U(eps, T)``.

    ``through_start`` (default): ``z`` is the sampler's *starting point* at ``t = T`` (a prior draw);
    where ``alpha(T) > 0`` (VP) the path ``alpha x_0 + sigma z`` would miss it by ``alpha(T) x_0``, so
    the noise is replaced by ``(z - alpha(T) x_0) / sigma(T)``, the one whose path starts at ``z``
    (a no-op for rectified flow, ``alpha(1) = 0``)."""
    if not max_weight >= 1.0:
        raise ValueError(f"max_weight must be >= 1, got {max_weight}")
    B = x0.shape[0]
    if t is None:
        t = process.sample_time(B, generator=generator, device=x0.device).to(x0.dtype)
    x0 = apply_mask(x0, mask)
    z = apply_mask(z, mask)
    if through_start:
        T = torch.full_like(t, process.T)
        z = apply_mask((z - bcast(process.alpha(T), x0) * x0) / bcast(process.sigma(T), x0), mask)
    a, s = bcast(process.alpha(t), x0), bcast(process.sigma(t), x0)
    xt = apply_mask(a * x0 + s * z, mask)
    _, eps_hat = to_x0_eps(model_fn(xt, t), xt, t, process, parametrization)
    w = (s**2 / a**2).clamp(1.0, float(max_weight))
    sq = w * (eps_hat - z) ** 2
    per_sample = sum_except_batch(sq, mask) / num_real(x0, mask).clamp_min(1)
    return LossOutput(loss=masked_mean(sq, mask), per_sample=per_sample, t=t)
