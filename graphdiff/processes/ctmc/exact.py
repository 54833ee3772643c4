"""Exact denoisers for small categorical distributions (shipped for tests, after e3nn's test
utilities): when the data law is a finite list of states with probabilities, the true
``p(x0 | x_t)`` is computable by enumeration, so samplers and likelihood bounds can be checked
against exact answers.

    support: a batch of ``J`` clean states (long tensor ``(J, ...)`` or categorical GraphState),
    probs:   ``(J,)`` probabilities.

``ExactDenoiser(process, support, probs)(x_t, t)`` returns per-coordinate log-marginals of
``p(x0 | x_t) ∝ p(x0) prod_d q_t(x_t^d | x0^d)`` in the denoiser output layout of ``process``.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import Tensor

from .base import _as_time, _cols

__all__ = ["ExactDenoiser", "enumerate_states", "empirical_total_variation"]


def enumerate_states(num_classes: int, dims: int) -> Tensor:
    """All ``num_classes ** dims`` sequences as a long tensor ``(K^D, D)`` (lexicographic)."""
    return torch.tensor(list(itertools.product(range(num_classes), repeat=dims)), dtype=torch.long).reshape(-1, dims)


class ExactDenoiser:
    """The exact x0-posterior marginals for a finite data law (see module docstring).

    All support states must share the padding pattern of the states it is called on."""

    def __init__(self, process: Any, support: Any, probs: Tensor):
        self.process = process
        self.support = support
        self.parts, _ = process.split(support)
        p = torch.as_tensor(probs, dtype=torch.float64)
        if p.shape != (self.parts[0].shape[0],) or (p < 0).any():
            raise ValueError("probs must be a non-negative (J,) tensor matching the support")
        self.log_probs = torch.log(p / p.sum())

    def posterior(self, xt: Any, t: Tensor) -> Tensor:
        """``p(x0 = support[j] | x_t)`` ``(B, J)`` (float64)."""
        parts_t, masks = self.process.split(xt)
        B = parts_t[0].shape[0]
        logl = self.log_probs[None, :].expand(B, -1).clone()
        for comp, x, m, sup in zip(self.process.components, parts_t, masks, self.parts):
            tt = _as_time(t, B, x.device, torch.float64).double()
            P = comp.transition(torch.zeros_like(tt), tt)  # (B, S, S)
            cols = _cols(P, x)  # (B, D, S): q_t(x_t^d | x0^d = k)
            D = x.shape[1]
            lik = cols[:, torch.arange(D)[None, :], sup]  # (B, J, D)
            lik = torch.where(m[:, None, :], lik, torch.ones_like(lik))
            # floor: a state no support member can explain (reachable by a discretised sampler)
            # falls back to the support states with the fewest mismatches instead of NaN
            logl = logl + torch.log(lik.clamp_min(1e-200)).sum(-1)
        return torch.softmax(logl, -1)

    def __call__(self, xt: Any, t: Tensor) -> Any:
        post = self.posterior(xt, t)
        outs = []
        for comp, sup in zip(self.process.components, self.parts):
            oh = torch.nn.functional.one_hot(sup, comp.num_classes).double()  # (J, D, K)
            marg = torch.einsum("bj,jdk->bdk", post, oh)
            outs.append(torch.log(marg.clamp_min(1e-300)))
        return self.process.join_output(outs, xt)


def empirical_total_variation(process: Any, samples: Any, support: Any, probs: Tensor) -> float:
    """Total variation between the empirical law of ``samples`` (batch of ``B`` states) and
    ``probs`` over ``support``; samples outside the support count fully."""
    s_parts, _ = process.split(samples)
    u_parts, _ = process.split(support)
    a = torch.cat([p.reshape(p.shape[0], -1) for p in s_parts], 1)
    b = torch.cat([p.reshape(p.shape[0], -1) for p in u_parts], 1)
    match = (a[:, None, :] == b[None, :, :]).all(-1)  # (B, J)
    counts = match.double().sum(0)
    outside = float((~match.any(1)).double().sum())
    n = a.shape[0]
    p = torch.as_tensor(probs, dtype=torch.float64)
    p = p / p.sum()
    return 0.5 * (float((counts / n - p).abs().sum()) + outside / n)
