"""Guidance for CTMC (discrete jump-process) samplers: classifier-free guidance by geometric mixing
of the conditional and unconditional reverse rates, and predictor guidance by reweighting the
rates with a property predictor (Nisonoff et al. 2024, "Unlocking guidance for discrete
state-space diffusion and flow models", Sec. 3-4).

With guidance scale ``w`` (``w = 0`` unconditional, ``w = 1`` conditional) the guided reverse
rates of a coordinate at value ``x`` are, for ``x~ != x``,

    classifier-free:  R^w(x, x~) = R(x, x~ | y)^w  R(x, x~)^(1 - w)
    predictor:        R^w(x, x~) = (p_t(y | x~) / p_t(y | x))^w  R(x, x~)

which agree when the conditional rates are exact, since ``R(x, x~ | y) = R(x, x~) p_t(y | x~) /
p_t(y | x)`` (Nisonoff et al., eq. 7). Both conditional and unconditional rates are built here from
their own x0 predictions (DeFoG's public code built both from the conditional prediction, a bug
fixed in its PR #10). Samplers that take a finite step ``t -> s`` with the exact posterior mix its
off-diagonal transition probabilities the same way (they are ``h R + O(h^2)``, so the step is
the guided rates' step to first order, and exactly the conditional / unconditional posterior at
``w = 1`` / ``w = 0``); the staying probability takes the rest (renormalised when the mixed
jumps exceed 1). For graphs, predictor guidance uses the first-order estimate
``log p_t(y | x~) - log p_t(y | x) ~ grad_x log p_t(y | x) . (e_x~ - e_x)`` per coordinate
(Nisonoff et al., Sec. 4.2; the DiGress regressor guidance, Vignac et al. 2023, Sec. 5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

__all__ = ["GuidedX0", "CTMCGuide", "geometric_mix", "guided_transition", "guided_rates", "check_guidance_scale"]

_TINY = 1e-30


def check_guidance_scale(w: float, name: str = "guidance_scale") -> float:
    """``w`` as a float; ``ValueError`` unless it is finite and ``>= 0``."""
    v = float(w)
    if not 0 <= v < float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0 (0 = unconditional, 1 = conditional), got {w!r}")
    return v


@dataclass
class GuidedX0:
    """The x0 prediction of one component ``(B, D, K)`` with what steers it: ``uncond`` (the
    unconditional prediction) and ``scale`` for classifier-free guidance; ``log_tilt`` ``(B, D, S)``
    (``log p_t(y | x^d <- s) - log p_t(y | x)``, 0 at the current value) and ``tilt_scale`` for
    predictor guidance."""

    probs: Tensor
    uncond: Tensor | None = None
    scale: float = 1.0
    log_tilt: Tensor | None = None
    tilt_scale: float = 0.0


def geometric_mix(p_cond: Tensor, p_uncond: Tensor, w: float) -> Tensor:
    """``p_cond^w p_uncond^(1 - w)`` elementwise; 0 where either is 0 (for ``0 < w`` and
    ``w != 1``), exactly ``p_uncond`` at ``w = 0`` and ``p_cond`` at ``w = 1``."""
    if w == 1.0:
        return p_cond
    if w == 0.0:
        return p_uncond
    pos = (p_cond > 0) & (p_uncond > 0)
    out = torch.exp(w * torch.log(p_cond.clamp_min(_TINY)) + (1 - w) * torch.log(p_uncond.clamp_min(_TINY)))
    return torch.where(pos, out, torch.zeros_like(out))


def _steer_offdiag(off_c: Tensor, off_u: Tensor | None, g: GuidedX0) -> Tensor:
    off = off_c if off_u is None else geometric_mix(off_c, off_u, g.scale)
    if g.log_tilt is not None and g.tilt_scale != 0:
        off = off * torch.exp(g.tilt_scale * g.log_tilt.to(off.dtype)).clamp_max(1e30)
    return off


def guided_transition(comp: Any, x: Tensor, g: "GuidedX0 | Tensor", s: float, t: float) -> Tensor:
    """Step probabilities ``p(x_s | x_t)`` ``(B, D, S)`` of one component: the exact posterior of a
    plain prediction, or its guided form (module docstring)."""
    if not isinstance(g, GuidedX0):
        return comp.posterior(x, g, s, t)
    post = comp.posterior(x, g.probs, s, t)
    if (g.uncond is None or g.scale == 1.0) and (g.log_tilt is None or g.tilt_scale == 0):
        return post
    stay = torch.nn.functional.one_hot(x, post.shape[-1]).to(torch.bool)
    zero = torch.zeros((), dtype=post.dtype, device=post.device)
    off_c = torch.where(stay, zero, post)
    off_u = None
    if g.uncond is not None and g.scale != 1.0:
        off_u = torch.where(stay, zero, comp.posterior(x, g.uncond, s, t))
    off = _steer_offdiag(off_c, off_u, g)
    tot = off.sum(-1, keepdim=True)
    off = torch.where(tot > 1, off / tot.clamp_min(_TINY), off)  # more than certain to jump: renormalise
    return torch.where(stay, (1 - off.sum(-1, keepdim=True)).clamp_min(0), off)


def guided_rates(comp: Any, x: Tensor, g: "GuidedX0 | Tensor", t: float) -> Tensor:
    """Reverse rates ``(B, D, S)`` (0 at ``x``) of a plain or guided prediction (module docstring)."""
    from ..processes.ctmc.base import reverse_rate

    if not isinstance(g, GuidedX0):
        return reverse_rate(comp, x, g, t)
    r_c = reverse_rate(comp, x, g.probs, t)
    r_u = reverse_rate(comp, x, g.uncond, t) if g.uncond is not None and g.scale != 1.0 else None
    if r_u is None and (g.log_tilt is None or g.tilt_scale == 0):
        return r_c
    stay = torch.nn.functional.one_hot(x, r_c.shape[-1]).to(torch.bool)
    return torch.where(stay, torch.zeros((), dtype=r_c.dtype, device=r_c.device), _steer_offdiag(r_c, r_u, g))


def main_probs(g: "GuidedX0 | Tensor") -> Tensor:
    """The (conditional) x0 prediction itself."""
    return g.probs if isinstance(g, GuidedX0) else g


@dataclass
class CTMCGuide:
    """What a CTMC sampler needs to guide: ``uncond_denoiser`` (the same model without the
    condition) and ``scale`` for classifier-free guidance; ``log_tilt(state, t) -> [(B, D_i, S_i)]``
    and ``tilt_scale`` for predictor guidance. ``calls`` counts the network calls per prediction
    (1 + one for the unconditional pass + one for the predictor)."""

    uncond_denoiser: Callable[[Any, Tensor], Any] | None = None
    scale: float = 1.0
    log_tilt: Callable[[Any, Tensor], list[Tensor]] | None = None
    tilt_scale: float = 0.0

    def __post_init__(self) -> None:
        self.scale = check_guidance_scale(self.scale)
        self.tilt_scale = check_guidance_scale(self.tilt_scale, "predictor guidance scale")

    @property
    def cfg(self) -> bool:
        return self.uncond_denoiser is not None and self.scale != 1.0

    @property
    def tilt(self) -> bool:
        return self.log_tilt is not None and self.tilt_scale != 0

    @property
    def calls(self) -> int:
        return 1 + int(self.cfg) + int(self.tilt)

    def wrap(self, process: Any, state: Any, tv: Tensor, probs: list[Tensor], x0_probs: Callable[[Any], list[Tensor]]) -> list:
        """Per-component :class:`GuidedX0` from the conditional ``probs``."""
        if not (self.cfg or self.tilt):
            return probs
        unc = x0_probs(self.uncond_denoiser(state, tv)) if self.cfg else [None] * len(probs)
        tilts = self.log_tilt(state, tv) if self.tilt else [None] * len(probs)
        return [GuidedX0(p, u, self.scale, lt, self.tilt_scale) for p, u, lt in zip(probs, unc, tilts)]
