"""Noise schedules for variance-preserving processes: ``t -> (log SNR, alpha, sigma, beta)``.

A schedule is a monotone map from time ``t in [0, 1]`` to the log signal-to-noise ratio
``lambda(t) = log(alpha^2 / sigma^2)`` of a variance-preserving process (``alpha^2 + sigma^2 = 1``).
From it: ``alpha^2 = sigmoid(lambda)``, ``sigma^2 = sigmoid(-lambda)`` and the VP-SDE rate
``beta(t) = -d log alpha^2 / dt = -lambda'(t) sigma^2(t)``.

* :class:`LinearSchedule` — linear ``beta(t)`` (Ho et al. 2020; Song et al. 2021, Eq. 32).
* :class:`CosineSchedule` — cosine ``alpha`` (Nichol & Dhariwal 2021) written in log-SNR form,
  ``lambda(t) = -2 log tan(a t + b)``, truncated to ``[logsnr_min, logsnr_max]``.
* :class:`LearnedSchedule` — VDM's learned monotone ``gamma(t) = -lambda(t)`` (Kingma et al.
  2021, Sec. 3.3 and App. H): an ``nn.Module`` with positive weights, trained with the
  continuous-time ELBO (:func:`graphdiff.losses.vdm_elbo`). It is the only module in
  ``graphdiff.processes``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..registry import Registry

__all__ = ["NoiseSchedule", "LinearSchedule", "CosineSchedule", "LearnedSchedule", "get_schedule"]


class NoiseSchedule:
    """Base class; subclasses implement :meth:`log_snr` and (ideally analytically) :meth:`dlog_snr`."""

    def log_snr(self, t: Tensor) -> Tensor:
        """``lambda(t)`` (``(B,)``), strictly decreasing."""
        raise NotImplementedError

    def dlog_snr(self, t: Tensor) -> Tensor:
        """``d lambda / dt`` (``(B,)``, negative); default by autograd (keeps the graph when grad is on)."""
        create = torch.is_grad_enabled()
        with torch.enable_grad():
            tt = t.detach().requires_grad_(True)
            lam = self.log_snr(tt)
            (d,) = torch.autograd.grad(lam.sum(), tt, create_graph=create)
        return d

    def log_alpha2(self, t: Tensor) -> Tensor:
        """``log alpha(t)^2 = log sigmoid(lambda)``."""
        return F.logsigmoid(self.log_snr(t))

    def alpha(self, t: Tensor) -> Tensor:
        return torch.exp(0.5 * self.log_alpha2(t))

    def sigma(self, t: Tensor) -> Tensor:
        return torch.sigmoid(-self.log_snr(t)).sqrt()

    def beta(self, t: Tensor) -> Tensor:
        """VP-SDE rate ``beta(t) = -lambda'(t) sigma^2(t)``."""
        return -self.dlog_snr(t) * torch.sigmoid(-self.log_snr(t))


class LinearSchedule(NoiseSchedule):
    """``beta(t) = beta_min + t (beta_max - beta_min)``; ``log alpha^2 = -(beta_min t + (beta_max - beta_min) t^2 / 2)``."""

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0):
        if not 0 < beta_min <= beta_max:
            raise ValueError(f"need 0 < beta_min <= beta_max, got {beta_min}, {beta_max}")
        self.beta_min = float(beta_min)
        self.beta_max = float(beta_max)

    def _B(self, t: Tensor) -> Tensor:
        return self.beta_min * t + 0.5 * (self.beta_max - self.beta_min) * t**2

    def log_alpha2(self, t: Tensor) -> Tensor:
        return -self._B(t)

    def log_snr(self, t: Tensor) -> Tensor:
        return -torch.log(torch.expm1(self._B(t)))

    def beta(self, t: Tensor) -> Tensor:
        return self.beta_min + t * (self.beta_max - self.beta_min)

    def dlog_snr(self, t: Tensor) -> Tensor:
        B = self._B(t)
        return -self.beta(t) / (-torch.expm1(-B))

    def sigma(self, t: Tensor) -> Tensor:
        return (-torch.expm1(-self._B(t))).sqrt()

    def __repr__(self) -> str:
        return f"LinearSchedule(beta_min={self.beta_min}, beta_max={self.beta_max})"


class CosineSchedule(NoiseSchedule):
    """Cosine schedule in log-SNR form: ``lambda(t) = -2 log tan(a t + b)`` with ``a, b`` chosen so
    that ``lambda(0) = logsnr_max`` and ``lambda(1) = logsnr_min`` (Nichol & Dhariwal 2021, Eq. 17;
    the truncated form of Kingma et al. 2023, "Understanding diffusion objectives", App. D)."""

    def __init__(self, logsnr_min: float = -10.0, logsnr_max: float = 10.0):
        if not logsnr_min < logsnr_max:
            raise ValueError(f"need logsnr_min < logsnr_max, got {logsnr_min}, {logsnr_max}")
        self.logsnr_min = float(logsnr_min)
        self.logsnr_max = float(logsnr_max)
        self._b = math.atan(math.exp(-0.5 * logsnr_max))
        self._a = math.atan(math.exp(-0.5 * logsnr_min)) - self._b

    def log_snr(self, t: Tensor) -> Tensor:
        return -2.0 * torch.log(torch.tan(self._a * t + self._b))

    def dlog_snr(self, t: Tensor) -> Tensor:
        return -4.0 * self._a / torch.sin(2.0 * (self._a * t + self._b))

    def __repr__(self) -> str:
        return f"CosineSchedule(logsnr_min={self.logsnr_min}, logsnr_max={self.logsnr_max})"


class _PositiveLinear(nn.Module):
    """Linear layer with weights ``softplus(w) > 0`` (monotone increasing in every input)."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) * 0.5)
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, F.softplus(self.weight), self.bias)


class LearnedSchedule(nn.Module, NoiseSchedule):
    """VDM learned schedule: ``gamma(t) = -lambda(t)``, monotone increasing in ``t``.

    ``gamma(t) = gamma_0 + (gamma_1 - gamma_0) (h(t) - h(0)) / (h(1) - h(0))`` where ``h`` is a
    monotone network ``h(t) = l1(t) + l3(2 sigmoid(l2(l1(t))) - 1)`` with positive weights
    (Kingma et al. 2021, App. H "monotonic network"); the endpoints ``gamma_0 < gamma_1`` are
    learnable too (``gamma_1 = gamma_0 + softplus(.)``)."""

    def __init__(self, gamma_min: float = -10.0, gamma_max: float = 10.0, hidden: int = 64, learn_endpoints: bool = True):
        super().__init__()
        if not gamma_min < gamma_max:
            raise ValueError(f"need gamma_min < gamma_max, got {gamma_min}, {gamma_max}")
        self.l1 = _PositiveLinear(1, 1)
        self.l2 = _PositiveLinear(1, hidden)
        self.l3 = _PositiveLinear(hidden, 1)
        g0 = torch.tensor(float(gamma_min))
        gap = torch.tensor(math.log(math.expm1(gamma_max - gamma_min)))
        if learn_endpoints:
            self.gamma_0 = nn.Parameter(g0)
            self._gap = nn.Parameter(gap)
        else:
            self.register_buffer("gamma_0", g0)
            self.register_buffer("_gap", gap)

    def _h(self, t: Tensor) -> Tensor:
        h = self.l1(t[..., None].to(self.l1.weight.dtype))
        return (h + self.l3(2.0 * torch.sigmoid(self.l2(h)) - 1.0))[..., 0]

    def gamma(self, t: Tensor) -> Tensor:
        """``gamma(t) = -log SNR(t)`` (``(B,)``)."""
        ends = self._h(torch.tensor([0.0, 1.0], dtype=t.dtype, device=t.device))
        frac = (self._h(t) - ends[0]) / (ends[1] - ends[0])
        return (self.gamma_0 + F.softplus(self._gap) * frac).to(t.dtype)

    def forward(self, t: Tensor) -> Tensor:
        return self.gamma(t)

    def log_snr(self, t: Tensor) -> Tensor:
        return -self.gamma(t)


#: the noise schedules by name
NOISE_SCHEDULES: Registry[type[NoiseSchedule]] = Registry("noise schedule")
NOISE_SCHEDULES.register("linear", LinearSchedule)
NOISE_SCHEDULES.register("cosine", CosineSchedule)
NOISE_SCHEDULES.register("learned", LearnedSchedule)


def get_schedule(name: str, **kwargs: float) -> NoiseSchedule:
    """A schedule by name (:data:`NOISE_SCHEDULES`: ``"linear"``, ``"cosine"`` or ``"learned"``)."""
    return NOISE_SCHEDULES.get(name)(**kwargs)
