"""Variance-preserving SDE (Song et al. 2021, Eq. 11; DDPM in continuous time).

``dx = -1/2 beta(t) x dt + sqrt(beta(t)) dW``; marginal ``x_t = alpha(t) x_0 + sigma(t) eps`` with
``alpha^2 = exp(-int_0^t beta)`` and ``sigma^2 = 1 - alpha^2``; prior ``N(0, I)``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..base import LinearSDE
from ..registry import register_process
from ..schedules import NoiseSchedule, get_schedule

__all__ = ["VPSDE"]


@register_process("vp", kind="sde")
class VPSDE(LinearSDE):
    """VP SDE driven by a :class:`~graphdiff.processes.schedules.NoiseSchedule`.

    Args:
        beta_min: the linear schedule's start (used when ``schedule="linear"``).
        beta_max: its end.
        schedule: ``"linear"``, ``"cosine"`` or a :class:`NoiseSchedule` instance (e.g. a
            :class:`~graphdiff.processes.schedules.LearnedSchedule`).
        eps: smallest time used for training and sampling (the ``t -> 0`` floor).
    """

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, schedule: str | NoiseSchedule = "linear", eps: float = 1e-3, T: float = 1.0):
        self.schedule_name = schedule if isinstance(schedule, str) else None
        if isinstance(schedule, str):
            schedule = get_schedule(schedule, beta_min=beta_min, beta_max=beta_max) if schedule == "linear" else get_schedule(schedule)
        self.schedule = schedule
        self.beta_min, self.beta_max = float(beta_min), float(beta_max)
        self.eps = float(eps)
        self.T = float(T)
        self.prior_std = 1.0

    def config(self) -> dict:
        if self.schedule_name is None:
            raise ValueError(f"a {type(self).__name__} with a schedule object cannot save itself; give the schedule by name")
        return {"name": self.name, "beta_min": self.beta_min, "beta_max": self.beta_max, "schedule": self.schedule_name,
                "eps": self.eps, "T": self.T}

    def alpha(self, t: Tensor) -> Tensor:
        return self.schedule.alpha(t)

    def sigma(self, t: Tensor) -> Tensor:
        return self.schedule.sigma(t)

    def log_snr(self, t: Tensor) -> Tensor:
        return self.schedule.log_snr(t)

    def d_log_snr(self, t: Tensor) -> Tensor:
        return self.schedule.dlog_snr(t)

    def drift_coef(self, t: Tensor) -> Tensor:
        return -0.5 * self.schedule.beta(t)

    def diffusion(self, t: Tensor) -> Tensor:
        return torch.sqrt(self.schedule.beta(t))

    def __repr__(self) -> str:
        return f"VPSDE(schedule={self.schedule!r}, eps={self.eps})"
