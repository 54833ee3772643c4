"""Predictor (classifier / regressor) guidance for score-based samplers: gradient guidance.

An unconditional score model ``s(x, t) ~ grad log p_t(x)`` is steered towards ``y`` by the gradient
of a predictor's ``log p_t(y | x)`` on *noisy* states (Song et al. 2021, "Score-based generative
modeling through SDEs", Sec. 5 and App. I.4; Dhariwal & Nichol 2021, classifier guidance):

    s_w(x, t | y) = s(x, t) + w grad_x log p_t(y | x)

so ``w = 1`` is the exact conditional score ``grad log p_t(x | y)`` when both terms are exact, and
``w > 1`` sharpens towards ``y``. :func:`predictor_guided_model` wraps a model function in any
parametrization into a *score* function every sampler of :mod:`graphdiff.samplers` takes (pass
``parametrization="score"``); the gradient is taken with autograd inside the samplers' ``no_grad``.

Symmetric components of a :class:`~graphdiff.processes.ProductProcess` (the adjacency) carry one
coordinate per node pair, stored twice; its score is the derivative with respect to that shared
coordinate, ``G_ij + G_ji`` of the entrywise gradient ``G`` (:func:`log_prob_gradient`).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from ..processes.parametrization import to_score
from ..utils import apply_mask
from .ctmc import check_guidance_scale

__all__ = ["log_prob_gradient", "predictor_guided_model", "LogProb"]

ModelFn = Callable[[Tensor, Tensor], Tensor]
#: ``log_prob(x (B, ...), t (B,)) -> (B,)``: ``log p_t(y | x)`` of a predictor on noisy states
LogProb = Callable[[Tensor, Tensor], Tensor]


def _symmetric_gradient(process: Any, g: Tensor) -> Tensor:
    sym = getattr(process, "symmetric", None)
    if not sym:
        return g
    parts = process.split(g)
    for name in sym:
        a = parts[name].movedim((1, 2), (-2, -1))
        a = a + a.transpose(-1, -2)
        a = a - torch.diag_embed(torch.diagonal(a, dim1=-2, dim2=-1))
        parts[name] = a.movedim((-2, -1), (1, 2))
    return process.merge(parts)


def log_prob_gradient(log_prob: LogProb, x: Tensor, t: Tensor, *, process: Any = None,
                      mask: Tensor | None = None) -> Tensor:
    """``grad_x log p_t(y | x)`` shaped like ``x`` (0 where ``mask`` is False), by autograd (also
    under ``torch.no_grad``); for a ``process`` with symmetric components, the gradient with
    respect to each shared pair coordinate (module docstring)."""
    with torch.enable_grad():
        xg = x.detach().clone().requires_grad_(True)
        lp = log_prob(xg, t)
        if lp.shape != (x.shape[0],):
            raise ValueError(f"log_prob must return one value per sample, shape ({x.shape[0]},); got {tuple(lp.shape)}")
        (g,) = torch.autograd.grad(lp.sum(), xg)
    g = _symmetric_gradient(process, g)
    return apply_mask(g, mask)


def predictor_guided_model(model_fn: ModelFn, process: Any, parametrization: str, log_prob: LogProb,
                           scale: float, *, mask: Tensor | None = None) -> ModelFn:
    """Score function ``s(x, t) + scale * grad_x log_prob(x, t)`` of ``model_fn`` (predicting
    ``parametrization``) steered by a predictor (module docstring). Its ``calls`` attribute is 2
    (the network and the predictor, with its backward pass) unless ``scale == 0``."""
    w = check_guidance_scale(scale, "predictor_scale")

    def guided(x: Tensor, t: Tensor) -> Tensor:
        s = to_score(model_fn(x, t), x, t, process, parametrization)
        if w == 0.0:
            return s
        return s + w * log_prob_gradient(log_prob, x, t, process=process, mask=mask)

    guided.calls = 1 if w == 0.0 else 2  # type: ignore[attr-defined]
    return guided
