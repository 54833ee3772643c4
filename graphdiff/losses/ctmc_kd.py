"""Knowledge distillation of a CTMC denoiser into a smaller one (same process, same sampler).

The student sees exactly what ordinary training shows a denoiser (:func:`~graphdiff.losses.ctmc.
sample_ctmc_training_pair`: a training graph noised by the forward process at ``t ~ U(t_min, 1)``)
and is fitted to the teacher's prediction ``p_T(x0 | x_t)`` at the same ``(x_t, t)``:

    KL(p_T(x0^d | x_t) || p_S(x0^d | x_t))

per real coordinate (nodes at ``node_mask``, upper-triangle edges between real nodes, the masks of
:func:`~graphdiff.losses.ctmc.ctmc_cross_entropy`), averaged per component, edges weighted by
``edge_weight`` as in the denoising loss (DiGress's lambda = 5), optionally plus ``ce_weight`` times
the ordinary data cross-entropy. Soft targets carry the teacher's whole conditional at every
coordinate, where the one-hot data gives one draw of it: a lower-variance gradient of the same
minimiser (``p_S = p_T``, where the KL is 0).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from ..processes.ctmc.base import x0_probs_from_logits
from .ctmc import CTMCLossOutput, _weights, ctmc_cross_entropy, sample_ctmc_training_pair

__all__ = ["ctmc_x0_kl", "ctmc_kd_loss"]

Denoiser = Callable[[Any, Tensor], Any]
_EPS = 1e-12


def ctmc_x0_kl(process: Any, output: Any, target_output: Any, xt: Any, *, edge_weight: float = 5.0) -> CTMCLossOutput:
    """``KL(p_target(x0 | x_t) || p_output(x0 | x_t))`` from two denoiser outputs (logits in the
    process's output layout; ``target_output`` is not differentiated), averaged over the real entries
    of each component of ``xt`` (the state the outputs were computed at: only its masks are used);
    ``loss = KL_X + edge_weight * KL_A`` (single tensors: ``KL_x``)."""
    _, masks = process.split(xt)
    total = masks[0].new_zeros((), dtype=torch.float32)
    terms: dict[str, Tensor] = {}
    for name, comp, m, lg, lt, w in zip(process.component_names, process.components, masks, process.split_output(output),
                                        process.split_output(target_output), _weights(process, edge_weight)):
        q = x0_probs_from_logits(comp, lt.detach().float())
        logp = torch.log(x0_probs_from_logits(comp, lg.float()).clamp_min(_EPS))
        kl = (q * (torch.log(q.clamp_min(_EPS)) - logp)).sum(-1)
        term = (kl * m).sum() / m.sum().clamp_min(1)
        terms[name] = term
        total = total + w * term
    return CTMCLossOutput(loss=total, terms=terms)


def ctmc_kd_loss(process: Any, student: Denoiser, teacher: Denoiser, x0: Any, *, edge_weight: float = 5.0,
                 ce_weight: float = 0.0, t: Tensor | None = None, t_min: float = 0.0,
                 generator: torch.Generator | None = None) -> CTMCLossOutput:
    """Distillation loss on a batch of clean states ``x0``: ``x_t ~ q_t(. | x0)`` at ``t ~ U(t_min, 1)``
    (unless ``t`` is given), the teacher's output under ``no_grad``, one student call, and
    :func:`ctmc_x0_kl` (+ ``ce_weight`` x :func:`~graphdiff.losses.ctmc.ctmc_cross_entropy` against
    ``x0``; its terms then appear as ``CE_<name>``). Runs under the caller's autocast, if any."""
    xt, t = sample_ctmc_training_pair(process, x0, t=t, t_min=t_min, generator=generator)
    with torch.no_grad():
        target = teacher(xt, t)
    output = student(xt, t)
    out = ctmc_x0_kl(process, output, target, xt, edge_weight=edge_weight)
    if ce_weight:
        ce = ctmc_cross_entropy(process, output, x0, edge_weight=edge_weight)
        out = CTMCLossOutput(loss=out.loss + ce_weight * ce.loss,
                             terms={**out.terms, **{f"CE_{k}": v for k, v in ce.terms.items()}})
    return out
