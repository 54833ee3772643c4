"""Exact scores for Gaussian-mixture data under any Gaussian perturbation process, and two-sample
statistics; the ground truth that sampler, loss and likelihood tests are checked against.

For data ``x_0 ~ sum_k w_k N(mu_k, diag(v_k))`` and ``x_t = alpha x_0 + sigma eps``, the marginal is
``p_t = sum_k w_k N(alpha mu_k, diag(alpha^2 v_k + sigma^2))``, so the score, the posterior mean
``E[x_0 | x_t]`` and the noise prediction ``E[eps | x_t]`` are all closed form (any number of
dimensions; ``x`` of shape ``(B, ...)`` is flattened to ``(B, D)``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..utils import bcast
from .base import Process

__all__ = ["GaussianMixture", "energy_distance", "sliced_wasserstein", "mean_cov_error"]


@dataclass
class _Posterior:
    resp: Tensor  # (B, K) responsibilities
    x0_mean: Tensor  # (B, D)
    score: Tensor  # (B, D)


class GaussianMixture:
    """Mixture of diagonal Gaussians ``sum_k w_k N(mu_k, diag(v_k))`` in ``D`` dims.

    Args:
        means: ``(K, D)``.
        variances: ``(K, D)`` (or ``(K,)`` / scalar, broadcast).
        weights: ``(K,)`` (normalised here); default uniform.
        shape: event shape of one sample (default ``(D,)``), e.g. ``(C, H, W)`` with ``C H W = D``.
    """

    def __init__(self, means: Tensor, variances: Tensor | float = 1.0, weights: Tensor | None = None, shape: tuple[int, ...] | None = None):
        self.means = torch.as_tensor(means, dtype=torch.float64)
        K, D = self.means.shape
        v = torch.as_tensor(variances, dtype=torch.float64)
        if v.dim() == 1 and v.shape[0] == K and D != K:
            v = v[:, None]
        self.variances = v.expand(K, D).clone()
        w = torch.ones(K, dtype=torch.float64) if weights is None else torch.as_tensor(weights, dtype=torch.float64)
        self.weights = w / w.sum()
        self.shape = tuple(shape) if shape is not None else (D,)
        if math.prod(self.shape) != D:
            raise ValueError(f"event shape {self.shape} does not have D={D} entries")

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    def mean(self) -> Tensor:
        """``(D,)`` mixture mean."""
        return (self.weights[:, None] * self.means).sum(0)

    def covariance(self) -> Tensor:
        """``(D, D)`` mixture covariance."""
        m = self.mean()
        second = (self.weights[:, None, None] * (torch.diag_embed(self.variances) + self.means[:, :, None] * self.means[:, None, :])).sum(0)
        return second - m[:, None] * m[None, :]

    def sample(self, n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
        """``(n, *shape)`` samples."""
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        x = self.means[k] + self.variances[k].sqrt() * z
        return x.to(dtype).reshape((n,) + self.shape)

    def _on(self, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
        return self.means.to(device), self.variances.to(device), self.weights.to(device)

    def _comp_logp(self, x: Tensor, alpha: Tensor, sigma: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # x (B, D), alpha/sigma (B, 1) or (B, D)
        means, variances, weights = self._on(x.device)
        mu = alpha[:, None] * means[None]  # (B, K, D)
        var = alpha[:, None] ** 2 * variances[None] + sigma[:, None] ** 2
        diff = x[:, None] - mu
        logp = -0.5 * (diff**2 / var + torch.log(2 * math.pi * var)).sum(-1) + torch.log(weights)[None]
        return logp, diff, var

    def _coefs(self, x: Tensor, alpha: Tensor | float, sigma: Tensor | float) -> tuple[Tensor, Tensor, Tensor]:
        B = x.shape[0]
        xf = x.reshape(B, -1).double()
        a = torch.as_tensor(alpha, dtype=torch.float64, device=x.device)
        s = torch.as_tensor(sigma, dtype=torch.float64, device=x.device)
        a = a.reshape(B, -1) if a.dim() >= 1 else a.expand(B)[:, None]
        s = s.reshape(B, -1) if s.dim() >= 1 else s.expand(B)[:, None]
        return xf, a.expand_as(xf), s.expand_as(xf)

    def log_prob(self, x: Tensor, alpha: Tensor | float = 1.0, sigma: Tensor | float = 0.0) -> Tensor:
        """``(B,)`` log-density of the perturbed marginal ``p_t`` at ``x`` (default: the data)."""
        xf, a, s = self._coefs(x, alpha, sigma)
        logp, _, _ = self._comp_logp(xf, a, s)
        return torch.logsumexp(logp, -1).to(x.dtype)

    def posterior(self, x: Tensor, alpha: Tensor | float, sigma: Tensor | float) -> _Posterior:
        xf, a, s = self._coefs(x, alpha, sigma)
        logp, diff, var = self._comp_logp(xf, a, s)
        resp = torch.softmax(logp, -1)  # (B, K)
        score = -(resp[:, :, None] * diff / var).sum(1)
        # E[x0 | x_t, k] = mu_k + alpha v_k / var (x_t - alpha mu_k)
        means, variances, _ = self._on(x.device)
        x0k = means[None] + a[:, None] * variances[None] / var * diff
        x0 = (resp[:, :, None] * x0k).sum(1)
        return _Posterior(resp, x0, score)

    def score(self, x: Tensor, alpha: Tensor | float, sigma: Tensor | float) -> Tensor:
        """``grad_x log p_t(x)`` with the shape and dtype of ``x``."""
        return self.posterior(x, alpha, sigma).score.to(x.dtype).reshape(x.shape)

    def x0_mean(self, x: Tensor, alpha: Tensor | float, sigma: Tensor | float) -> Tensor:
        """``E[x_0 | x_t = x]`` (finite also at ``alpha = 0``)."""
        return self.posterior(x, alpha, sigma).x0_mean.to(x.dtype).reshape(x.shape)

    # ----------------------------------------------------------------- process-bound callables
    def score_fn(self, process: Process):
        """``(x (B, ...), t (B,)) -> score`` under ``process``'s ``alpha(t), sigma(t)``."""
        def fn(x: Tensor, t: Tensor) -> Tensor:
            return self.score(x, bcast(process.alpha(t), x), bcast(process.sigma(t), x).expand_as(x))
        return fn

    def eps_fn(self, process: Process):
        """``(x, t) -> E[eps | x_t]``."""
        def fn(x: Tensor, t: Tensor) -> Tensor:
            a, s = bcast(process.alpha(t), x), bcast(process.sigma(t), x)
            return (x - a * self.x0_mean(x, a.expand_as(x), s.expand_as(x))) / s
        return fn

    def x0_fn(self, process: Process):
        """``(x, t) -> E[x_0 | x_t]``."""
        def fn(x: Tensor, t: Tensor) -> Tensor:
            a, s = bcast(process.alpha(t), x), bcast(process.sigma(t), x)
            return self.x0_mean(x, a.expand_as(x), s.expand_as(x))
        return fn

    def velocity_fn(self, process: Process):
        """``(x, t) -> E[d alpha/dt x_0 + d sigma/dt eps | x_t]`` for a process with ``d_alpha`` /
        ``d_sigma`` (e.g. :class:`~graphdiff.processes.flow.RectifiedFlow`: ``E[z - x_0 | x_t]``)."""
        def fn(x: Tensor, t: Tensor) -> Tensor:
            a, s = bcast(process.alpha(t), x), bcast(process.sigma(t), x)
            da, ds = bcast(process.d_alpha(t), x), bcast(process.d_sigma(t), x)
            x0 = self.x0_mean(x, a.expand_as(x), s.expand_as(x))
            # E[eps | x_t] = (x - a x0) / s; at s -> 0 (t = 0) use the limit via a tiny floor
            eps = (x - a * x0) / s.clamp_min(1e-12)
            return da * x0 + ds * eps
        return fn


def _pairwise_dist(x: Tensor, y: Tensor) -> Tensor:
    return torch.cdist(x.reshape(x.shape[0], -1).double(), y.reshape(y.shape[0], -1).double())


def energy_distance(x: Tensor, y: Tensor) -> float:
    """Energy distance ``2 E|X - Y| - E|X - X'| - E|Y - Y'|`` (Székely & Rizzo 2013), V-statistic;
    0 iff the distributions agree. ``x (n, ...)``, ``y (m, ...)``."""
    return float(2 * _pairwise_dist(x, y).mean() - _pairwise_dist(x, x).mean() - _pairwise_dist(y, y).mean())


def sliced_wasserstein(x: Tensor, y: Tensor, n_projections: int = 256, generator: torch.Generator | None = None) -> float:
    """Sliced 2-Wasserstein distance between equal-size samples ``x, y`` ``(n, ...)``."""
    xf, yf = x.reshape(x.shape[0], -1).double(), y.reshape(y.shape[0], -1).double()
    if xf.shape[0] != yf.shape[0]:
        n = min(xf.shape[0], yf.shape[0])
        xf, yf = xf[:n], yf[:n]
    d = torch.randn(xf.shape[1], n_projections, generator=generator, dtype=torch.float64)
    d = d / d.norm(dim=0, keepdim=True)
    px, _ = torch.sort((d.T @ xf.T).contiguous(), -1)  # (P, n): sort along the contiguous dim
    py, _ = torch.sort((d.T @ yf.T).contiguous(), -1)
    return float(((px - py) ** 2).mean().sqrt())


def mean_cov_error(x: Tensor, mean: Tensor, cov: Tensor) -> tuple[float, float]:
    """``(||mean(x) - mean||_2, ||cov(x) - cov||_F)`` for samples ``x (n, ...)``."""
    xf = x.reshape(x.shape[0], -1).double()
    m = xf.mean(0)
    c = torch.cov(xf.T).reshape(cov.shape)
    return float((m - mean).norm()), float((c - cov).norm())
