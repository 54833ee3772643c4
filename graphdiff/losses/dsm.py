"""Denoising score matching (Vincent 2011; Song et al. 2021, Eq. 7) with the usual weightings.

``L = E_t E_{x_0, eps} [ lambda(t) || s_theta(x_t, t) + eps / sigma(t) ||^2 ]`` over real entries,
with ``lambda(t)``:

* ``"sigma2"``     — ``sigma(t)^2`` (Song et al. 2021; equals the eps-prediction MSE of Ho et al.),
* ``"likelihood"`` — ``g(t)^2`` (Song et al. 2021b, "Maximum likelihood training", Thm. 1),
* ``"none"``       — 1.

The network may use any parametrisation (:mod:`graphdiff.processes.parametrization`); its output is
converted to a score in one place. The loss is the mean over real entries (mask) of all samples.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..errors import unknown_name
from ..processes.base import Process
from ..utils import apply_mask, bcast, masked_mean, num_real, sum_except_batch
from ..processes.parametrization import from_x0_eps, to_x0_eps
from .types import LossOutput

__all__ = ["WEIGHTINGS", "dsm_loss"]

WEIGHTINGS = ("sigma2", "likelihood", "none")


def dsm_loss(
    model_fn: Callable[[Tensor, Tensor], Tensor],
    process: Process,
    x0: Tensor,
    *,
    parametrization: str = "eps",
    weighting: str = "sigma2",
    t: Tensor | None = None,
    generator: torch.Generator | None = None,
    mask: Tensor | None = None,
) -> LossOutput:
    """Denoising score-matching loss for data ``x0`` ``(B, ...)``.

    ``model_fn(x_t, t)`` predicts ``parametrization`` (``"eps"``, ``"score"``, ``"x0"``, ``"v"``,
    ``"velocity"``); ``t`` defaults to ``U(eps, T)`` drawn from ``generator``. For a product
    process, ``x0`` and ``mask`` are the packed flat tensors."""
    if weighting not in WEIGHTINGS:
        raise unknown_name("weighting", weighting, WEIGHTINGS)
    B = x0.shape[0]
    if t is None:
        t = process.sample_time(B, generator=generator, device=x0.device).to(x0.dtype)
    x0 = apply_mask(x0, mask)
    xt, eps = process.sample_marginal(x0, t, generator=generator, mask=mask)
    out = model_fn(xt, t)
    s = bcast(process.sigma(t), x0)
    if weighting == "sigma2":
        # sigma^2 || score + eps / sigma ||^2 = || eps_hat - eps ||^2
        _, eps_hat = to_x0_eps(out, xt, t, process, parametrization)
        sq = (eps_hat - eps) ** 2
    else:
        score = from_x0_eps(*to_x0_eps(out, xt, t, process, parametrization), t, process, "score")
        sq = (score + eps / s) ** 2
        if weighting == "likelihood":
            sq = bcast(process.diffusion(t) ** 2, x0) * sq
    per_sample = sum_except_batch(sq, mask) / num_real(x0, mask).clamp_min(1)
    return LossOutput(loss=masked_mean(sq, mask), per_sample=per_sample, t=t)
