"""Noise schedules for CTMC jump processes ``Q_t = beta(t) R``.

A schedule is described by the *survival probability* ``alpha(t) = exp(-B(t))`` where
``B(t) = int_0^t beta(u) du`` is the integrated rate. For the rank-one rate matrices of this
package (``R = 1 pi^T - I``) ``alpha(t)`` is exactly the probability that a coordinate has not
yet been resampled from ``pi`` by time ``t`` (see :mod:`graphdiff.processes.ctmc.base`), which is
why schedules are parametrised by ``alpha`` (as DiGress's cumulative ``alpha_bar``; Austin et al.
2021, Vignac et al. 2023) and ``beta(t) = -d/dt log alpha(t)``.

All functions take a float tensor ``t`` of any shape with values in ``[0, 1]`` and return a
tensor of the same shape and dtype.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ...registry import Registry

__all__ = [
    "CTMCSchedule",
    "CosineCTMCSchedule",
    "LinearCTMCSchedule",
    "ExponentialCTMCSchedule",
    "get_ctmc_schedule",
    "CTMC_SCHEDULES",
]


class CTMCSchedule:
    """Base class: subclasses define :meth:`alpha` and :meth:`rate` (``beta(t)``).

    ``alpha(0) = 1``; ``alpha`` is decreasing; ``alpha(1) = alpha_min``. ``alpha_min > 0`` keeps every
    rate finite (the t = 1 marginal is then ``alpha_min``-close to the stationary law);
    ``alpha_min = 0`` reaches the stationary law exactly (needed for a finite ELBO prior term
    with the absorbing family) but ``beta(1) = inf``, so rate-based samplers (tau-leaping, PC)
    must then start from a grid below 1 (the ancestral sampler only uses transitions and is fine)."""

    name: str = "base"

    def alpha(self, t: Tensor) -> Tensor:
        """Survival probability ``alpha(t) = exp(-B(t))``, same shape as ``t``."""
        raise NotImplementedError

    def rate(self, t: Tensor) -> Tensor:
        """Instantaneous rate multiplier ``beta(t) = B'(t) = -alpha'(t) / alpha(t)``."""
        raise NotImplementedError

    def integral(self, t: Tensor) -> Tensor:
        """Integrated rate ``B(t) = -log alpha(t)``."""
        return -torch.log(self.alpha(t))

    def config(self) -> dict:
        """JSON-serialisable constructor arguments (with ``name``)."""
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class CosineCTMCSchedule(CTMCSchedule):
    """Cosine cumulative schedule (Nichol & Dhariwal 2021; DiGress ``noise_schedule.py``):
    ``alpha(t) = alpha_min + (1 - alpha_min) f(t) / f(0)``, ``f(t) = cos^2(pi/2 (t + s)/(1 + s))``."""

    name = "cosine"

    def __init__(self, s: float = 0.008, alpha_min: float = 1e-3):
        if not 0 <= alpha_min < 1:
            raise ValueError(f"alpha_min must be in [0, 1), got {alpha_min}")
        self.s = float(s)
        self.alpha_min = float(alpha_min)

    def _f(self, t: Tensor) -> Tensor:
        return torch.cos(0.5 * math.pi * (t + self.s) / (1 + self.s)) ** 2

    def alpha(self, t: Tensor) -> Tensor:
        f0 = math.cos(0.5 * math.pi * self.s / (1 + self.s)) ** 2
        return self.alpha_min + (1 - self.alpha_min) * self._f(t) / f0

    def rate(self, t: Tensor) -> Tensor:
        f0 = math.cos(0.5 * math.pi * self.s / (1 + self.s)) ** 2
        u = 0.5 * math.pi * (t + self.s) / (1 + self.s)
        # d/dt cos^2(u) = -2 cos(u) sin(u) du/dt = -sin(2u) * pi / (2 (1 + s))
        dalpha = -(1 - self.alpha_min) / f0 * torch.sin(2 * u) * (0.5 * math.pi / (1 + self.s))
        return -dalpha / self.alpha(t)

    def config(self) -> dict:
        return {"name": self.name, "s": self.s, "alpha_min": self.alpha_min}


class LinearCTMCSchedule(CTMCSchedule):
    """Linear survival ``alpha(t) = 1 - (1 - alpha_min) t`` — the linear interpolant of discrete
    flow matching (Campbell et al. 2024; DeFoG, Qin et al. 2025): ``beta(t) = (1 - alpha_min) / alpha(t)``."""

    name = "linear"

    def __init__(self, alpha_min: float = 1e-3):
        if not 0 <= alpha_min < 1:
            raise ValueError(f"alpha_min must be in [0, 1), got {alpha_min}")
        self.alpha_min = float(alpha_min)

    def alpha(self, t: Tensor) -> Tensor:
        return 1 - (1 - self.alpha_min) * t

    def rate(self, t: Tensor) -> Tensor:
        return (1 - self.alpha_min) / self.alpha(t)

    def config(self) -> dict:
        return {"name": self.name, "alpha_min": self.alpha_min}


class ExponentialCTMCSchedule(CTMCSchedule):
    """Campbell et al. (2022, App. C) rate ``beta(t) = a b^t log b`` so ``B(t) = a (b^t - 1)``."""

    name = "exponential"

    def __init__(self, a: float = 0.5, b: float = 15.0):
        if a <= 0 or b <= 1:
            raise ValueError(f"need a > 0 and b > 1, got a={a}, b={b}")
        self.a = float(a)
        self.b = float(b)

    def integral(self, t: Tensor) -> Tensor:
        return self.a * (torch.pow(torch.as_tensor(self.b, dtype=t.dtype, device=t.device), t) - 1)

    def alpha(self, t: Tensor) -> Tensor:
        return torch.exp(-self.integral(t))

    def rate(self, t: Tensor) -> Tensor:
        return self.a * math.log(self.b) * torch.pow(torch.as_tensor(self.b, dtype=t.dtype, device=t.device), t)

    def config(self) -> dict:
        return {"name": self.name, "a": self.a, "b": self.b}


#: the CTMC schedules by name
CTMC_SCHEDULES: Registry[type[CTMCSchedule]] = Registry("CTMC schedule")
CTMC_SCHEDULES.register("cosine", CosineCTMCSchedule)
CTMC_SCHEDULES.register("linear", LinearCTMCSchedule)
CTMC_SCHEDULES.register("exponential", ExponentialCTMCSchedule)


def get_ctmc_schedule(schedule: "str | CTMCSchedule", **kwargs: float) -> CTMCSchedule:
    """A schedule instance from a name (``cosine``, ``linear``, ``exponential``) or an instance."""
    if isinstance(schedule, CTMCSchedule):
        return schedule
    return CTMC_SCHEDULES.get(schedule)(**kwargs)
