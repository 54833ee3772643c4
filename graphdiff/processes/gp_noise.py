"""Diffusion with stochastic-process noise over irregular observation times (CSPD: Biloš et al.
2023, "Modeling temporal data as continuous functions with stochastic process diffusion", Sec. 3).

A series is observed at times ``s_1 < ... < s_T`` (a different set per series). Instead of white
noise, the forward process adds a draw of a Gaussian process over those times:

``x_t = alpha(t) x_0 + sigma(t) eps``,  ``eps ~ N(0, Sigma)``,  ``Sigma_ij = k(s_i, s_j)``

with ``alpha, sigma`` of the VP SDE (Song et al. 2021, Eq. 11). It is the linear SDE
``dx = -1/2 beta(t) x dt + sqrt(beta(t)) L dW`` with ``L L^T = Sigma`` (Cholesky), so every
marginal, the prior ``N(0, Sigma)`` and the score are closed form (CSPD Eq. 6-8):

``grad_x log q(x_t | x_0) = -Sigma^{-1} (x_t - alpha x_0) / sigma^2``.

Kernels (unit variance, ``k(s, s) = 1``, so each entry's marginal std is ``sigma(t)`` exactly as
for white noise): ``"rbf"`` ``exp(-(s - s')^2 / (2 l^2))`` (a GP), ``"ou"`` ``exp(-|s - s'| / l)``
(the stationary Ornstein-Uhlenbeck process), ``"white"`` ``1[s = s']`` (white noise: the process
is then exactly :class:`~graphdiff.processes.sde.VPSDE`).

Shapes: ``x`` is ``(B, T)`` or ``(B, *F, T)``; the **last** axis is time and the noise is
correlated along it only (features ``F``, e.g. channels, get independent draws). Observation
times are bound with :meth:`GPNoiseSDE.at` as ``(B, T)`` (or ``(T,)`` shared by the batch);
an unbound process uses ``linspace(0, 1, T)``. A mask ``(B, T)`` (or ``(B, *F, T)``, or anything
that broadcasts to ``x`` after appending trailing dims) marks observed entries; padded times are
decoupled from the rest (their rows / columns of ``Sigma`` are those of the identity), so the
real entries of a series of length ``L`` get exactly the ``L x L`` kernel matrix of their times
and padded entries are 0. Covariances and Cholesky factors are ``(B, T, T)``.

The core's score convention: samplers take ``score_fn`` and use it in the reverse drift
``f x - c g^2 score`` with the process's (correlated) :meth:`noise`. For this process the reverse
SDE is ``dx = [f x - g^2 Sigma grad log p_t] dt + g L dW``, so the ``score_fn`` samplers need is
the *preconditioned* score ``Sigma grad log p_t = -E[eps | x_t] / sigma`` — exactly what
:func:`~graphdiff.losses.parametrization.as_score_fn` makes of an eps-predicting network. The
plain gradient is :meth:`GPNoiseSDE.score`; :meth:`GPNoiseSDE.precondition` maps one to the other.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import Tensor

from ..errors import unknown_name
from ..utils import apply_mask, bcast, expand_mask, randn_like
from .base import LinearSDE
from .registry import register_process
from .schedules import get_schedule

__all__ = ["GPNoiseSDE", "KERNELS", "kernel_matrix"]

KERNELS = ("rbf", "ou", "white")


def kernel_matrix(kernel: str, times: Tensor, lengthscale: float) -> Tensor:
    """``(B, T, T)`` unit-variance kernel matrix of ``times`` ``(B, T)`` (no jitter, no mask)."""
    if kernel not in KERNELS:
        raise unknown_name("kernel", kernel, KERNELS)
    d = times.unsqueeze(-1) - times.unsqueeze(-2)
    if kernel == "rbf":
        return torch.exp(-0.5 * (d / lengthscale) ** 2)
    if kernel == "ou":
        return torch.exp(-d.abs() / lengthscale)
    return (d == 0).to(times.dtype)


@register_process("gp_noise", kind="series_sde")
class GPNoiseSDE(LinearSDE):
    """VP SDE whose noise is a Gaussian process over each series' observation times.

    Args:
        kernel: ``"rbf"``, ``"ou"`` or ``"white"`` (see the module docstring).
        lengthscale: the kernel's ``l`` in the units of the observation times.
        beta_min: the VP noise schedule's start (as :class:`VPSDE`).
        beta_max: its end.
        schedule: the schedule's name or instance (as :class:`VPSDE`).
        jitter: ``Sigma = (K + jitter I) / (1 + jitter)`` keeps the Cholesky stable for close
            times while keeping a unit diagonal. Larger values (e.g. 0.1) are a white-noise
            *nugget*: a smooth kernel alone leaves rough directions almost un-noised (eigenvalues
            down to ``jitter``), so the prior misses the ``alpha(T) x_0`` the data keep there and
            sampling must create it from almost nothing; measured in
            ``benchmarks/results/cspd_timeseries.md``.
        eps: the smallest time.
        T: the end time.
    """

    def __init__(
        self, kernel: str = "rbf", lengthscale: float = 0.1, *, beta_min: float = 0.1, beta_max: float = 20.0,
        schedule: str = "linear", jitter: float = 1e-4, eps: float = 1e-3, T: float = 1.0,
    ):
        if kernel not in KERNELS:
            raise unknown_name("kernel", kernel, KERNELS)
        if not lengthscale > 0:
            raise ValueError(f"lengthscale must be > 0, got {lengthscale}")
        if not jitter >= 0:
            raise ValueError(f"jitter must be >= 0, got {jitter}")
        if not isinstance(schedule, str):
            raise TypeError("GPNoiseSDE takes a schedule name ('linear' or 'cosine') so that it can save itself")
        self.kernel, self.lengthscale, self.jitter = kernel, float(lengthscale), float(jitter)
        self.beta_min, self.beta_max, self.schedule_name = float(beta_min), float(beta_max), schedule
        self.schedule = get_schedule(schedule, beta_min=beta_min, beta_max=beta_max) if schedule == "linear" else get_schedule(schedule)
        self.eps, self.T, self.prior_std = float(eps), float(T), 1.0
        self.times: Tensor | None = None
        self._cache: tuple[Tensor, Tensor, Tensor] | None = None  # (times, time mask, cholesky)

    # ----------------------------------------------------------------- saving and binding
    def config(self) -> dict:
        """JSON-serialisable constructor arguments (the bound times are data, not config)."""
        return {"name": "gp_noise", "kernel": self.kernel, "lengthscale": self.lengthscale, "beta_min": self.beta_min,
                "beta_max": self.beta_max, "schedule": self.schedule_name, "jitter": self.jitter, "eps": self.eps, "T": self.T}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "GPNoiseSDE":
        cfg = {k: v for k, v in config.items() if k != "name"}
        return cls(**cfg)

    def at(self, times: Tensor) -> "GPNoiseSDE":
        """A copy bound to observation ``times`` ``(B, T)`` or ``(T,)``; samplers and losses
        then draw noise correlated over those times."""
        if times.dim() not in (1, 2):
            raise ValueError(f"times must be (T,) or (B, T), got shape {tuple(times.shape)}")
        bound = GPNoiseSDE.from_config(self.config())
        bound.times = times
        return bound

    # ----------------------------------------------------------------- VP coefficients
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
        """Scalar ``g(t) = sqrt(beta(t))`` ``(B,)``; the full diffusion matrix is ``g(t) L``."""
        return torch.sqrt(self.schedule.beta(t))

    # ----------------------------------------------------------------- covariance
    def _time_mask(self, like: Tensor, mask: Tensor | None) -> Tensor:
        B, T = like.shape[0], like.shape[-1]
        if mask is None:
            return torch.ones(B, T, dtype=torch.bool, device=like.device)
        return expand_mask(mask, like).reshape(B, -1, T).any(1)

    def _times(self, like: Tensor) -> Tensor:
        B, T = like.shape[0], like.shape[-1]
        if self.times is None:
            return torch.linspace(0.0, 1.0, T, dtype=torch.float64, device=like.device).expand(B, T)
        times = self.times.to(device=like.device, dtype=torch.float64)
        times = times.expand(B, -1) if times.dim() == 1 else times
        if times.shape != (B, T):
            raise ValueError(f"bound times have shape {tuple(self.times.shape)} but the tensor has batch {B} and {T} time points (last axis)")
        return times

    def covariance(self, like: Tensor, mask: Tensor | None = None) -> Tensor:
        """``Sigma`` ``(B, T, T)`` (float64) for the bound times of ``like`` ``(B, *F, T)``;
        padded times have identity rows / columns."""
        times, m = self._times(like), self._time_mask(like, mask)
        K = kernel_matrix(self.kernel, times, self.lengthscale)
        eye = torch.eye(like.shape[-1], dtype=K.dtype, device=K.device)
        K = (K + self.jitter * eye) / (1.0 + self.jitter)
        pair = m.unsqueeze(-1) & m.unsqueeze(-2)
        return torch.where(pair, K, eye.expand_as(K))

    def cholesky(self, like: Tensor, mask: Tensor | None = None) -> Tensor:
        """Lower Cholesky factor ``L`` ``(B, T, T)`` (float64) of :meth:`covariance` (cached for
        the last times / mask)."""
        times, m = self._times(like), self._time_mask(like, mask)
        c = self._cache
        if c is not None and c[0].shape == times.shape and torch.equal(c[0], times) and torch.equal(c[1], m):
            return c[2]
        L = torch.linalg.cholesky(self.covariance(like, mask))
        self._cache = (times, m, L)
        return L

    def _apply(self, M: Tensor, v: Tensor) -> Tensor:
        """``M @ v`` along the last axis: ``M`` ``(B, T, T)``, ``v`` ``(B, *F, T)``."""
        B, T = v.shape[0], v.shape[-1]
        out = torch.matmul(v.reshape(B, -1, T).to(M.dtype), M.transpose(-1, -2))
        return out.reshape(v.shape).to(v.dtype)

    def correlate(self, z: Tensor, mask: Tensor | None = None) -> Tensor:
        """``L z``: white noise ``z`` ``(B, *F, T)`` -> noise with covariance ``Sigma``."""
        return self._apply(self.cholesky(z, mask), apply_mask(z, mask))

    def whiten(self, v: Tensor, mask: Tensor | None = None) -> Tensor:
        """``L^{-1} v`` (the inverse of :meth:`correlate`)."""
        L = self.cholesky(v, mask)
        B, T = v.shape[0], v.shape[-1]
        w = torch.linalg.solve_triangular(L, apply_mask(v, mask).reshape(B, -1, T).to(L.dtype).transpose(-1, -2), upper=False)
        return w.transpose(-1, -2).reshape(v.shape).to(v.dtype)

    def precondition(self, v: Tensor, mask: Tensor | None = None) -> Tensor:
        """``Sigma v`` (maps the plain score to the samplers' preconditioned score)."""
        return apply_mask(self._apply(self.covariance(v, mask), v), mask)

    def solve(self, v: Tensor, mask: Tensor | None = None) -> Tensor:
        """``Sigma^{-1} v`` by two triangular solves with the Cholesky factor."""
        L = self.cholesky(v, mask)
        B, T = v.shape[0], v.shape[-1]
        rhs = apply_mask(v, mask).reshape(B, -1, T).to(L.dtype).transpose(-1, -2)  # (B, T, F)
        out = torch.cholesky_solve(rhs, L, upper=False)
        return apply_mask(out.transpose(-1, -2).reshape(v.shape).to(v.dtype), mask)

    # ----------------------------------------------------------------- noise, prior, score
    def noise(self, like: Tensor, generator: torch.Generator | None = None, mask: Tensor | None = None) -> Tensor:
        """``L z`` with ``z ~ N(0, I)`` shaped like ``like``: a GP draw over the bound times per
        series and feature; 0 where ``mask`` is False."""
        return apply_mask(self.correlate(randn_like(like, generator), mask), mask)

    def prior_logp(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B,)`` log-density of ``x`` under ``N(0, Sigma)`` (per feature), real entries only."""
        L = self.cholesky(x, mask)
        B, T = x.shape[0], x.shape[-1]
        xm = apply_mask(x, mask)
        m = expand_mask(mask, x) if mask is not None else torch.ones_like(x, dtype=torch.bool)
        n_per_feat = m.reshape(B, -1, T).to(L.dtype)  # (B, F, T) real entries
        logdiag = torch.log(torch.diagonal(L, dim1=-2, dim2=-1))  # (B, T); 0 on padding
        logdet = (n_per_feat * logdiag.unsqueeze(1)).sum((1, 2))
        w = self.whiten(xm, mask).reshape(B, -1).to(L.dtype)
        n = n_per_feat.sum((1, 2))
        return (-0.5 * n * math.log(2 * math.pi) - logdet - 0.5 * (w**2).sum(-1)).to(x.dtype)

    def marginal_logp(self, xt: Tensor, x0: Tensor, t: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B,)`` ``log q(x_t | x_0) = log N(x_t; alpha x_0, sigma^2 Sigma)`` over real entries."""
        a, s = bcast(self.alpha(t), x0), bcast(self.sigma(t), x0)
        n = (expand_mask(mask, x0) if mask is not None else torch.ones_like(x0, dtype=torch.bool)).reshape(x0.shape[0], -1).sum(-1)
        return self.prior_logp((xt - a * x0) / s, mask) - n * torch.log(self.sigma(t))

    def score(self, xt: Tensor, x0: Tensor, t: Tensor, mask: Tensor | None = None) -> Tensor:
        """Closed-form ``grad_{x_t} log q(x_t | x_0) = -Sigma^{-1} (x_t - alpha x_0) / sigma^2``
        ``(B, *F, T)`` (0 on padding)."""
        a, s = bcast(self.alpha(t), x0), bcast(self.sigma(t), x0)
        return -self.solve(xt - a * x0, mask) / s**2

    def __repr__(self) -> str:
        return f"GPNoiseSDE(kernel={self.kernel!r}, lengthscale={self.lengthscale}, schedule={self.schedule!r}, eps={self.eps})"
