"""The process interface every continuous process implements (maths only, no ``nn.Module``).

A *Gaussian perturbation process* has closed-form marginals ``x_t = alpha(t) x_0 + sigma(t) eps``
with ``eps ~ N(0, I)``. :class:`Process` holds everything that follows from ``alpha`` and
``sigma``; :class:`LinearSDE` adds the Itô SDE ``dx = f(t) x dt + g(t) dW`` (Song et al. 2021,
"Score-based generative modeling through SDEs", Eq. 5) and its reverse (Eq. 6) / probability-flow
ODE (Eq. 13).

Shapes: ``x`` is any ``(B, ...)`` tensor; ``t`` is ``(B,)`` float in ``[0, T]``. Coefficients
(``alpha``, ``sigma``, ``log_snr``, ``diffusion``, ...) are ``(B,)`` for plain processes and
``(B, D)`` for a packed product process; use :func:`graphdiff.utils.bcast` to broadcast them.
Masks are bool tensors broadcastable to ``x`` after appending trailing dims; masked entries are
exactly 0 in every noise draw and sample.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ..utils import apply_mask, bcast, num_real, randn_like, sum_except_batch

__all__ = ["Marginal", "Process", "LinearSDE", "ReverseSDE", "ScoreFn"]

ScoreFn = Callable[[Tensor, Tensor], Tensor]
"""``score_fn(x (B, ...), t (B,)) -> (B, ...)``: an estimate of ``grad_x log p_t(x)``."""


@dataclass
class Marginal:
    """``q(x_t | x_0) = N(mean, std^2 I)``; ``mean`` is ``(B, ...)``, ``std`` broadcasts to it."""

    mean: Tensor
    std: Tensor


class Process:
    """Base class: a Gaussian perturbation process on ``[eps, T]`` with prior ``N(0, prior_std^2)``.

    Subclasses implement :meth:`alpha` and :meth:`sigma`; everything else follows."""

    T: float = 1.0
    eps: float = 1e-3
    prior_std: float = 1.0
    #: the name the class is registered under (:func:`graphdiff.processes.registry.register_process`)
    name: str = ""

    # ----------------------------------------------------------------- saving
    def config(self) -> dict:
        """JSON-serialisable ``{"name": ..., **constructor arguments}``; restored by
        :meth:`from_config` (or :func:`graphdiff.processes.registry.process_from_config`). The
        default reads each ``__init__`` argument back from the attribute of the same name;
        override it when an argument is not stored as given."""
        out: dict = {"name": self.name}
        for p in list(inspect.signature(type(self).__init__).parameters.values())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            if not hasattr(self, p.name):
                raise NotImplementedError(f"{type(self).__name__} does not store its argument {p.name!r}: "
                                          "override config() to save it")
            out[p.name] = getattr(self, p.name)
        return out

    @classmethod
    def from_config(cls, config: dict) -> "Process":
        """The process a :meth:`config` dict describes (its ``name`` / ``type`` key is ignored)."""
        return cls(**{k: v for k, v in config.items() if k not in ("name", "type")})

    # ----------------------------------------------------------------- coefficients
    def alpha(self, t: Tensor) -> Tensor:
        """Signal scale ``alpha(t)`` (``(B,)``)."""
        raise NotImplementedError

    def sigma(self, t: Tensor) -> Tensor:
        """Noise scale ``sigma(t)`` (``(B,)``)."""
        raise NotImplementedError

    def log_snr(self, t: Tensor) -> Tensor:
        """``log(alpha^2 / sigma^2)`` (``(B,)``), decreasing in ``t``."""
        return 2.0 * (torch.log(self.alpha(t)) - torch.log(self.sigma(t)))

    def d_log_snr(self, t: Tensor) -> Tensor:
        """``d log_snr / dt`` (same shape as :meth:`log_snr`); default by autograd, keeping the
        graph when grad mode is on (so a learned schedule can be trained through it)."""
        return _time_derivative(self.log_snr, t)

    def time_at_log_snr(self, lam: Tensor, iters: int = 60) -> Tensor:
        """Inverse of the (monotone decreasing) log-SNR on ``[eps, T]`` by bisection: ``(B,)``
        times with ``log_snr(t) = lam``. Per-entry log-SNRs (product process) are averaged."""
        lo = torch.full_like(lam, self.eps)
        hi = torch.full_like(lam, self.T)
        with torch.no_grad():
            for _ in range(iters):
                mid = 0.5 * (lo + hi)
                ls = self.log_snr(mid)
                ls = ls.reshape(ls.shape[0], -1).mean(-1) if ls.dim() > 1 else ls
                above = ls > lam
                lo = torch.where(above, mid, lo)
                hi = torch.where(above, hi, mid)
        return 0.5 * (lo + hi)

    def d_alpha(self, t: Tensor) -> Tensor:
        """``d alpha / dt``; default by autograd."""
        return _time_derivative(self.alpha, t)

    def d_sigma(self, t: Tensor) -> Tensor:
        """``d sigma / dt``; default by autograd."""
        return _time_derivative(self.sigma, t)

    # ----------------------------------------------------------------- time
    def time_grid(self, n: int, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> Tensor:
        """``(n + 1,)`` uniform grid from ``T`` down to ``eps`` (sampling direction)."""
        if n < 1:
            raise ValueError(f"time_grid needs n >= 1 steps, got {n}")
        return torch.linspace(self.T, self.eps, n + 1, device=device, dtype=dtype or torch.get_default_dtype())

    def sample_time(self, batch_size: int, generator: torch.Generator | None = None, device: torch.device | str | None = None, antithetic: bool = False) -> Tensor:
        """``(B,)`` training times ``U(eps, T)`` (``antithetic``: low-discrepancy, VDM Sec. 5)."""
        dev = generator.device if generator is not None else device
        if antithetic:
            u0 = torch.rand((), generator=generator, device=dev)
            u = (u0 + torch.arange(batch_size, device=dev) / batch_size) % 1.0
        else:
            u = torch.rand(batch_size, generator=generator, device=dev)
        return (self.eps + (self.T - self.eps) * u).to(device if device is not None else dev)

    # ----------------------------------------------------------------- marginals
    def marginal(self, x0: Tensor, t: Tensor) -> Marginal:
        """Closed form ``q(x_t | x_0) = N(alpha(t) x_0, sigma(t)^2 I)``."""
        return Marginal(bcast(self.alpha(t), x0) * x0, bcast(self.sigma(t), x0))

    def noise(self, like: Tensor, generator: torch.Generator | None = None, mask: Tensor | None = None) -> Tensor:
        """Standard Gaussian noise shaped like ``like``; 0 where ``mask`` is False.

        Every Gaussian draw of a sampler goes through this method, so a structured process (see
        :class:`~graphdiff.processes.product.ProductProcess`) can impose symmetry."""
        return apply_mask(randn_like(like, generator), mask)

    def sample_marginal(self, x0: Tensor, t: Tensor, generator: torch.Generator | None = None, mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Draw ``x_t ~ q(x_t | x_0)``; returns ``(x_t, eps)`` with ``x_t = alpha x_0 + sigma eps``."""
        eps = self.noise(x0, generator, mask)
        m = self.marginal(x0, t)
        return apply_mask(m.mean + m.std * eps, mask), eps

    def prior_sample(self, like: Tensor, generator: torch.Generator | None = None, mask: Tensor | None = None) -> Tensor:
        """A draw from the prior ``N(0, prior_std^2 I)`` shaped like ``like``."""
        return self.prior_std * self.noise(like, generator, mask)

    def prior_logp(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``(B,)`` log-density of ``x`` under the prior, summed over real entries."""
        s2 = self.prior_std**2
        n = num_real(x, mask)
        return -0.5 * n * math.log(2 * math.pi * s2) - 0.5 * sum_except_batch(x**2, mask) / s2

    def prior_scale(self, like: Tensor) -> Tensor:
        """Prior std broadcastable to ``like`` (a scalar tensor here; per-entry for a product)."""
        return torch.as_tensor(self.prior_std, dtype=like.dtype, device=like.device)

    def density_weight(self, like: Tensor) -> Tensor | None:
        """Per-entry weight of each coordinate in densities / divergences (``None`` = all 1);
        a product process with symmetric components returns 1/2 on their entries."""
        return None

    def reverse(self, score_fn: ScoreFn, probability_flow: bool = False) -> "ReverseSDE":
        """Reverse-time dynamics; only SDEs have them (see :class:`LinearSDE`)."""
        raise TypeError(
            f"{type(self).__name__} is not an SDE and has no reverse SDE / probability-flow ODE; "
            "sample it with its velocity (sample_flow_euler / sample_flow_heun) or use an SDE process"
        )

    # ----------------------------------------------------------------- conversions
    def score_from_eps(self, eps: Tensor, t: Tensor) -> Tensor:
        return -eps / bcast(self.sigma(t), eps)


def _time_derivative(fn: Callable[[Tensor], Tensor], t: Tensor) -> Tensor:
    """Elementwise ``d fn(t) / dt`` for ``fn`` mapping ``(B,)`` to ``(B,)`` or ``(B, D)`` where
    row ``b`` depends on ``t_b`` only."""
    create = torch.is_grad_enabled()
    with torch.enable_grad():
        tt = t.detach().requires_grad_(True)
        out = fn(tt)
        if not out.requires_grad:  # constant in t
            return torch.zeros_like(out)

        def grad(o: Tensor) -> Tensor:
            (d,) = torch.autograd.grad(o.sum(), tt, create_graph=create, retain_graph=True, allow_unused=True)
            return torch.zeros_like(tt) if d is None else d

        if out.dim() == 1:
            return grad(out)
        return torch.stack([grad(out[:, j]) for j in range(out.shape[1])], 1)


class LinearSDE(Process):
    """An Itô SDE with linear drift ``dx = f(t) x dt + g(t) dW`` (Song et al. 2021, Eq. 5).

    Subclasses implement :meth:`drift_coef` (``f``), :meth:`diffusion` (``g``), :meth:`alpha` and
    :meth:`sigma` consistently: ``d log alpha/dt = f`` and ``d sigma^2/dt = 2 f sigma^2 + g^2``."""

    def drift_coef(self, t: Tensor) -> Tensor:
        """``f(t)`` (``(B,)``)."""
        raise NotImplementedError

    def diffusion(self, t: Tensor) -> Tensor:
        """``g(t)`` (``(B,)``)."""
        raise NotImplementedError

    def drift(self, x: Tensor, t: Tensor) -> Tensor:
        """``f(t) x`` (``(B, ...)``)."""
        return bcast(self.drift_coef(t), x) * x

    def reverse(self, score_fn: ScoreFn, probability_flow: bool = False) -> "ReverseSDE":
        """The reverse-time SDE (Eq. 6) or, with ``probability_flow``, the PF ODE (Eq. 13)."""
        return ReverseSDE(self, score_fn, probability_flow)


class ReverseSDE:
    """Reverse-time dynamics of a :class:`LinearSDE` written in forward-time form.

    ``drift(x, t) = f(x, t) - c g(t)^2 score(x, t)`` with ``c = 1`` (reverse SDE) or ``1/2`` (PF
    ODE); ``diffusion(t) = g(t)`` (0 for the ODE). Integrate with a *negative* ``dt``:
    ``x <- x + drift dt + diffusion sqrt(-dt) z``."""

    def __init__(self, sde: LinearSDE, score_fn: ScoreFn, probability_flow: bool = False):
        self.sde = sde
        self.score_fn = score_fn
        self.probability_flow = probability_flow

    def drift(self, x: Tensor, t: Tensor) -> Tensor:
        g2 = bcast(self.sde.diffusion(t) ** 2, x)
        c = 0.5 if self.probability_flow else 1.0
        return self.sde.drift(x, t) - c * g2 * self.score_fn(x, t)

    def diffusion(self, t: Tensor) -> Tensor:
        g = self.sde.diffusion(t)
        return torch.zeros_like(g) if self.probability_flow else g
