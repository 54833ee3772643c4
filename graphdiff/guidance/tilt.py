"""Predictor guidance for CTMC samplers with a differentiable predictor: the first-order rate tilt.

Predictor guidance reweights the reverse rate of every one-coordinate change ``x -> x~`` by
``(p_t(y | x~) / p_t(y | x))^w`` (:mod:`graphdiff.guidance.ctmc`). Evaluating the predictor on
every neighbour of a graph costs one call per coordinate and class; with a predictor that takes
one-hot (or soft) states, the first-order estimate needs one forward and one backward pass
(Nisonoff et al. 2024, Sec. 4.2; DiGress's regressor guidance, Vignac et al. 2023, Sec. 5):

    log p_t(y | x~) - log p_t(y | x)  ~  grad_e log p_t(y | e) . (e_x~ - e_x)   at e = one_hot(x)

per coordinate, i.e. ``G[d, s] - G[d, x_d]`` with ``G`` the gradient with respect to the one-hot
state. It is exact when ``log p_t(y | x)`` is linear in the one-hot state. The one-hot parts are
laid out like the process's components (a graph's node classes and upper-triangle edge classes)
and turned into the predictor's input with ``process.join_output`` (edges mirrored), so an edge's
gradient collects both of its stored entries.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

__all__ = ["first_order_log_tilt", "OneHotLogProb"]

#: ``log_prob(onehot, state, t) -> (B,)``: ``log p_t(y | x)`` of a predictor that reads one-hot
#: states; ``onehot`` is what ``process.join_output`` builds (``(node (B, N, Sx), edge (B, N, N, Se))``
#: for graphs, ``(B, ..., S)`` for a single CTMC), ``state`` the current (long) state.
OneHotLogProb = Callable[[Any, Any, Tensor], Tensor]


def first_order_log_tilt(process: Any, state: Any, t: Tensor, log_prob: OneHotLogProb) -> list[Tensor]:
    """Per component ``(B, D_i, S_i)``: the first-order estimate of ``log p_t(y | x^d <- s) -
    log p_t(y | x)`` (0 at the current value and on masked coordinates; module docstring)."""
    parts, masks = process.split(state)
    with torch.enable_grad():
        hots = [torch.nn.functional.one_hot(p.long(), c.num_states).to(torch.get_default_dtype()).requires_grad_(True)
                for p, c in zip(parts, process.components)]
        lp = log_prob(process.join_output(hots, state), state, t)
        if lp.shape != (parts[0].shape[0],):
            raise ValueError(f"log_prob must return one value per graph, shape ({parts[0].shape[0]},); got {tuple(lp.shape)}")
        grads = torch.autograd.grad(lp.sum(), hots, allow_unused=True)
    out = []
    for g, h, p, m in zip(grads, hots, parts, masks):
        if g is None:
            out.append(torch.zeros_like(h.detach()))
            continue
        tilt = g - g.gather(-1, p.long().unsqueeze(-1))
        out.append(torch.where(m.unsqueeze(-1), tilt, torch.zeros((), dtype=tilt.dtype, device=tilt.device)).detach())
    return out
