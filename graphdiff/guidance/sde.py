"""Classifier-free guidance for score-based (SDE / ODE) samplers: score mixing.

With guidance scale ``w`` (0 unconditional, 1 conditional) the guided score is

    s_w(x, t | y) = s(x, t) + w (s(x, t | y) - s(x, t)) = grad log p_t(x) + w grad log p_t(y | x)

(Ho & Salimans 2022, eq. 6, written in the issue's convention). The network's output in any of
the library's parametrizations (score, noise ``eps``, ``x0``, velocity) is affine in the score at
fixed ``(x, t)`` with the same coefficients for both passes, so mixing the outputs mixes the
scores: :func:`classifier_free_model` wraps two model functions into one that every sampler of
:mod:`graphdiff.samplers` takes. Its ``calls`` attribute says how many network calls it makes.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor

from .ctmc import check_guidance_scale

__all__ = ["classifier_free_model"]

ModelFn = Callable[[Tensor, Tensor], Tensor]


def classifier_free_model(cond_fn: ModelFn, uncond_fn: ModelFn, guidance_scale: float) -> ModelFn:
    """``model(x, t) = uncond(x, t) + w (cond(x, t) - uncond(x, t))``; just ``cond_fn`` at ``w = 1``
    and ``uncond_fn`` at ``w = 0`` (one network call each), otherwise two calls per evaluation."""
    w = check_guidance_scale(guidance_scale)
    if w == 1.0:
        return cond_fn
    if w == 0.0:
        return uncond_fn

    def guided(x: Tensor, t: Tensor) -> Tensor:
        u = uncond_fn(x, t)
        return u + w * (cond_fn(x, t) - u)

    guided.calls = 2  # type: ignore[attr-defined]
    return guided
