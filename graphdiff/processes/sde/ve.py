"""Variance-exploding SDE (Song et al. 2021, Eq. 9; SMLD/NCSN in continuous time).

``dx = sqrt(d sigma^2(t) / dt) dW`` with ``sigma(t) = sigma_min (sigma_max / sigma_min)^t``, so
``g(t) = sigma(t) sqrt(2 log(sigma_max / sigma_min))``. Marginal ``x_t = x_0 + sigma(t) eps``.

Convention (as in Song et al.): the std is ``sigma(t)``, not ``sqrt(sigma(t)^2 - sigma_min^2)``,
i.e. time 0 holds the data convolved with ``N(0, sigma_min^2)``; prior ``N(0, sigma_max^2 I)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..base import LinearSDE
from ..registry import register_process

__all__ = ["VESDE"]


@register_process("ve", kind="sde")
class VESDE(LinearSDE):
    """VE SDE with geometric noise levels from ``sigma_min`` to ``sigma_max``."""

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0, eps: float = 1e-5, T: float = 1.0):
        if not 0 < sigma_min < sigma_max:
            raise ValueError(f"need 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self.eps = float(eps)
        self.T = float(T)
        self.prior_std = float(sigma_max)
        self._log_ratio = math.log(sigma_max / sigma_min)

    def alpha(self, t: Tensor) -> Tensor:
        return torch.ones_like(t)

    def sigma(self, t: Tensor) -> Tensor:
        return self.sigma_min * torch.exp(t * self._log_ratio)

    def log_snr(self, t: Tensor) -> Tensor:
        return -2.0 * (math.log(self.sigma_min) + t * self._log_ratio)

    def d_log_snr(self, t: Tensor) -> Tensor:
        return torch.full_like(t, -2.0 * self._log_ratio)

    def d_alpha(self, t: Tensor) -> Tensor:
        return torch.zeros_like(t)

    def d_sigma(self, t: Tensor) -> Tensor:
        return self.sigma(t) * self._log_ratio

    def drift_coef(self, t: Tensor) -> Tensor:
        return torch.zeros_like(t)

    def diffusion(self, t: Tensor) -> Tensor:
        return self.sigma(t) * math.sqrt(2.0 * self._log_ratio)

    def __repr__(self) -> str:
        return f"VESDE(sigma_min={self.sigma_min}, sigma_max={self.sigma_max}, eps={self.eps})"
