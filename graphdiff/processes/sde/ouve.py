"""Ornstein-Uhlenbeck variance-exploding SDE of SGMSE+ (score-based speech enhancement).

Richter, Welker, Lemercier, Lay & Gerkmann (2023), "Speech enhancement and dereverberation with
diffusion-based generative models", IEEE/ACM TASLP 31 (Sec. III, the OUVE SDE and its
perturbation kernel; first in Welker, Richter & Gerkmann 2022, Interspeech). The forward SDE
pulls the clean signal ``x_0`` towards the observation ``y`` while adding noise::

    dx = theta (y - x) dt + g(t) dW,
    g(t) = sigma_min (sigma_max / sigma_min)^t sqrt(2 L),    L = ln(sigma_max / sigma_min).

**Closed form (derived here, as in the paper).** The residual ``d = x - y`` obeys the linear SDE
``dd = -theta d dt + g(t) dW`` (``y`` is constant in time), so ``d_t = e^{-theta t} d_0 +
int_0^t e^{-theta (t - s)} g(s) dW_s`` and::

    mean(t)  = e^{-theta t} x_0 + (1 - e^{-theta t}) y
    var(t)   = int_0^t e^{-2 theta (t - s)} g(s)^2 ds
             = 2 L sigma_min^2 e^{-2 theta t} int_0^t e^{2 (theta + L) s} ds
             = sigma_min^2 L / (theta + L) * ((sigma_max / sigma_min)^{2t} - e^{-2 theta t}).

In the :class:`~graphdiff.processes.base.LinearSDE` terms the process is a linear SDE on the
residual with ``f = -theta``, ``alpha(t) = e^{-theta t}`` and ``sigma(t) = sqrt(var(t))``
(``d sigma^2/dt = 2 f sigma^2 + g^2`` holds). The variance is 0 at ``t = 0`` (no initial noise),
so training and sampling stop at ``eps = 0.03`` as in SGMSE+.

**The observation.** ``y`` is a whole signal shaped like ``x``. :meth:`OUVESDE.marginal`,
:meth:`~OUVESDE.sample_marginal`, :meth:`~OUVESDE.drift`, :meth:`~OUVESDE.prior_sample`,
:meth:`~OUVESDE.prior_logp` and :meth:`~OUVESDE.reverse` take it as ``y=`` (``None`` means
``y = 0``, which makes the process an ordinary zero-mean linear SDE; that is the form the
process conformance tests check). :meth:`OUVESDE.given` binds one ``y`` and returns a process
with the plain interface, so every sampler of :mod:`graphdiff.samplers` runs on it unchanged.

**The prior mismatch.** The prior is ``N(y, sigma(T)^2 I)`` (as in SGMSE+), but the true marginal
at ``T`` is ``N(y + e^{-theta T} (x_0 - y), sigma(T)^2 I)``: with the defaults a fraction
``e^{-1.5} = 0.22`` of the (unknown) clean-minus-noisy residual is still in the mean. The
sampler does nothing special about it: it starts from the prior draw and runs the reverse SDE.
This works because (i) the score network is trained on true marginals at every ``t <= T``, and
its estimate ``score ~ -(x - mean(t)) / sigma(t)^2`` points from ``y`` towards the residual
mean, so the first reverse steps pull the state towards ``y + e^{-theta t}(x_0 - y)``, and (ii)
the remaining error is small against ``sigma(T)`` when the noise ``y - x_0`` is small. The
mismatch costs quality at low input SNR (Lay et al. 2023, "Reducing the prior mismatch of
stochastic differential equations for diffusion-based speech enhancement", propose a bridge SDE
to remove it); :meth:`OUVESDE.prior_mismatch` returns its size so callers can report it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ...utils import apply_mask, bcast, num_real, sum_except_batch
from ..base import LinearSDE, Marginal, ReverseSDE, ScoreFn
from ..registry import register_process

__all__ = ["OUVESDE", "ConditionedOUVESDE"]


@register_process("ouve", kind="observed_sde")
class OUVESDE(LinearSDE):
    """OUVE SDE ``dx = theta (y - x) dt + g(t) dW`` with the SGMSE+ defaults.

    Args:
        theta: stiffness of the pull towards ``y`` (SGMSE+: 1.5).
        sigma_min: the smallest VE noise level of ``g`` (SGMSE+: 0.05).
        sigma_max: the largest (SGMSE+: 0.5).
        eps: smallest time for training and sampling (SGMSE+: 0.03).
        T: end time (1).

    Shapes: ``x``, ``x0``, ``y`` are ``(B, ...)`` (``y`` broadcastable to ``x``); ``t`` is ``(B,)``.
    """

    def __init__(self, theta: float = 1.5, sigma_min: float = 0.05, sigma_max: float = 0.5, eps: float = 0.03, T: float = 1.0):
        if not theta > 0:
            raise ValueError(f"need theta > 0, got {theta}")
        if not 0 < sigma_min < sigma_max:
            raise ValueError(f"need 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
        if not 0 < eps < T:
            raise ValueError(f"need 0 < eps < T, got eps={eps}, T={T}")
        self.theta = float(theta)
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self.eps, self.T = float(eps), float(T)
        self._log_ratio = math.log(sigma_max / sigma_min)
        self._var_scale = self.sigma_min**2 * self._log_ratio / (self.theta + self._log_ratio)
        self.prior_std = math.sqrt(self._var_scale * (math.exp(2 * self._log_ratio * self.T) - math.exp(-2 * self.theta * self.T)))

    # ------------------------------------------------------------ coefficients (residual x - y)
    def alpha(self, t: Tensor) -> Tensor:
        """``e^{-theta t}``: the weight of ``x_0`` in the marginal mean (``(B,)``)."""
        return torch.exp(-self.theta * t)

    def sigma(self, t: Tensor) -> Tensor:
        """Marginal std ``sqrt(sigma_min^2 L / (theta + L) (r^{2t} - e^{-2 theta t}))`` (``(B,)``)."""
        return torch.sqrt(self._var_scale * (torch.exp(2 * self._log_ratio * t) - torch.exp(-2 * self.theta * t)))

    def d_alpha(self, t: Tensor) -> Tensor:
        return -self.theta * self.alpha(t)

    def d_sigma(self, t: Tensor) -> Tensor:
        d_var = self._var_scale * (2 * self._log_ratio * torch.exp(2 * self._log_ratio * t) + 2 * self.theta * torch.exp(-2 * self.theta * t))
        return d_var / (2 * self.sigma(t))

    def log_snr(self, t: Tensor) -> Tensor:
        return -2 * self.theta * t - torch.log(self._var_scale * (torch.exp(2 * self._log_ratio * t) - torch.exp(-2 * self.theta * t)))

    def d_log_snr(self, t: Tensor) -> Tensor:
        return 2 * (self.d_alpha(t) / self.alpha(t) - self.d_sigma(t) / self.sigma(t))

    def drift_coef(self, t: Tensor) -> Tensor:
        """``f = -theta`` (the drift of the residual ``x - y``)."""
        return torch.full_like(t, -self.theta)

    def diffusion(self, t: Tensor) -> Tensor:
        """``g(t) = sigma_min (sigma_max / sigma_min)^t sqrt(2 L)`` (``(B,)``)."""
        return self.sigma_min * torch.exp(t * self._log_ratio) * math.sqrt(2 * self._log_ratio)

    # ------------------------------------------------------------ y-dependent parts
    @staticmethod
    def _y(y: Tensor | None, like: Tensor) -> Tensor:
        if y is None:
            return torch.zeros((), dtype=like.dtype, device=like.device)
        y = torch.as_tensor(y, dtype=like.dtype, device=like.device)
        try:
            torch.broadcast_shapes(y.shape, like.shape)
        except RuntimeError:
            raise ValueError(f"the observation y {tuple(y.shape)} does not broadcast to the state {tuple(like.shape)}") from None
        return y

    def drift(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        """``theta (y - x)`` (``(B, ...)``)."""
        return self.theta * (self._y(y, x) - x)

    def marginal(self, x0: Tensor, t: Tensor, y: Tensor | None = None) -> Marginal:
        """``q(x_t | x_0, y) = N(e^{-theta t} x_0 + (1 - e^{-theta t}) y, sigma(t)^2 I)``."""
        a = bcast(self.alpha(t), x0)
        yy = self._y(y, x0)
        return Marginal(a * x0 + (1 - a) * yy, bcast(self.sigma(t), x0))

    def sample_marginal(self, x0: Tensor, t: Tensor, generator: torch.Generator | None = None, mask: Tensor | None = None, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(x_t, eps)`` with ``x_t = mean(t) + sigma(t) eps``."""
        eps = self.noise(x0, generator, mask)
        m = self.marginal(x0, t, y=y)
        return apply_mask(m.mean + m.std * eps, mask), eps

    def prior_sample(self, like: Tensor, generator: torch.Generator | None = None, mask: Tensor | None = None, y: Tensor | None = None) -> Tensor:
        """``N(y, sigma(T)^2 I)`` shaped like ``like`` (see the module notes on the mismatch)."""
        return apply_mask(self._y(y, like) + self.prior_std * self.noise(like, generator, mask), mask)

    def prior_logp(self, x: Tensor, mask: Tensor | None = None, y: Tensor | None = None) -> Tensor:
        """``(B,)`` log-density of ``x`` under ``N(y, sigma(T)^2 I)`` over real entries."""
        s2 = self.prior_std**2
        r = x - self._y(y, x)
        return -0.5 * num_real(x, mask) * math.log(2 * math.pi * s2) - 0.5 * sum_except_batch(r**2, mask) / s2

    def prior_mismatch(self, x0: Tensor, y: Tensor) -> Tensor:
        """``(B,)`` RMS of the mean the prior misses at ``T``, ``e^{-theta T} (x_0 - y)``, in units
        of ``sigma(T)`` (0 would mean the prior equals the true marginal)."""
        r = math.exp(-self.theta * self.T) * (x0 - y)
        return (r**2).reshape(r.shape[0], -1).mean(-1).sqrt() / self.prior_std

    def reverse(self, score_fn: ScoreFn, probability_flow: bool = False, y: Tensor | None = None) -> ReverseSDE:
        """Reverse SDE / PF ODE given ``y`` (Song et al. 2021, Eqs. 6 and 13)."""
        return ReverseSDE(self if y is None else self.given(y), score_fn, probability_flow)

    def given(self, y: Tensor) -> "ConditionedOUVESDE":
        """This process with the observation ``y`` (``(B, ...)``) bound: a plain process whose
        ``drift``, ``marginal``, ``prior_sample`` ... use ``y``, for the generic samplers."""
        return ConditionedOUVESDE(self, y)

    # ------------------------------------------------------------ config
    def config(self) -> dict:
        """JSON-serialisable constructor arguments (with ``name``)."""
        return {"name": "ouve", "theta": self.theta, "sigma_min": self.sigma_min, "sigma_max": self.sigma_max, "eps": self.eps, "T": self.T}

    @classmethod
    def from_config(cls, config: dict) -> "OUVESDE":
        """Rebuild from :meth:`config`; unknown keys raise a ``ValueError`` listing the valid ones."""
        cfg = dict(config)
        name = cfg.pop("name", "ouve")
        if name != "ouve":
            raise ValueError(f"not an OUVE config (name={name!r}); expected name 'ouve'")
        valid = ("theta", "sigma_min", "sigma_max", "eps", "T")
        bad = sorted(set(cfg) - set(valid))
        if bad:
            raise ValueError(f"unknown OUVESDE config keys {bad}; valid keys are {list(valid)}")
        return cls(**cfg)

    def __repr__(self) -> str:
        return f"OUVESDE(theta={self.theta}, sigma_min={self.sigma_min}, sigma_max={self.sigma_max}, eps={self.eps})"


class ConditionedOUVESDE(OUVESDE):
    """An :class:`OUVESDE` with the observation ``y`` bound (from :meth:`OUVESDE.given`): the plain
    process interface (``drift(x, t)``, ``marginal(x0, t)``, ``prior_sample(like)``, ...) with
    ``y`` filled in, so samplers that know nothing of observations can run it."""

    def __init__(self, base: OUVESDE, y: Tensor):
        super().__init__(theta=base.theta, sigma_min=base.sigma_min, sigma_max=base.sigma_max, eps=base.eps, T=base.T)
        self.y = y

    def drift(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        return super().drift(x, t, y=self.y if y is None else y)

    def marginal(self, x0: Tensor, t: Tensor, y: Tensor | None = None) -> Marginal:
        return super().marginal(x0, t, y=self.y if y is None else y)

    def sample_marginal(self, x0: Tensor, t: Tensor, generator: torch.Generator | None = None, mask: Tensor | None = None, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return super().sample_marginal(x0, t, generator, mask, y=self.y if y is None else y)

    def prior_sample(self, like: Tensor, generator: torch.Generator | None = None, mask: Tensor | None = None, y: Tensor | None = None) -> Tensor:
        return super().prior_sample(like, generator, mask, y=self.y if y is None else y)

    def prior_logp(self, x: Tensor, mask: Tensor | None = None, y: Tensor | None = None) -> Tensor:
        return super().prior_logp(x, mask, y=self.y if y is None else y)

    def reverse(self, score_fn: ScoreFn, probability_flow: bool = False, y: Tensor | None = None) -> ReverseSDE:
        return ReverseSDE(self if y is None else OUVESDE.given(self, y), score_fn, probability_flow)

    def given(self, y: Tensor) -> "ConditionedOUVESDE":
        return ConditionedOUVESDE(self, y)

    def __repr__(self) -> str:
        return f"{super().__repr__()}.given(y {tuple(self.y.shape)})"
