"""Shared maths of continuous-time Markov chain (CTMC) jump processes on categorical data.

Every coordinate of a long tensor ``x`` ``(B, ...)`` with values in ``{0, ..., S-1}`` jumps
independently (dimension-wise factorised forward process, Campbell et al. 2022, Sec. 4) with the
time-inhomogeneous rate matrix

    Q_t = beta(t) R,        R = 1 pi^T - I   (rows sum to zero; off-diagonal R[x, y] = pi_y),

where ``pi`` is the stationary law of the family (uniform / absorbing / marginal). Rates use the
generator convention: ``P(s -> t) = exp((B(t) - B(s)) R)`` with ``B(t) = int_0^t beta``, rows are
"from", columns are "to". Since ``(1 pi^T)^2 = 1 pi^T`` we have ``R^2 = -R`` and

    exp(c R) = I + R sum_{n>=1} (-1)^{n-1} c^n / n! = I + (1 - e^{-c}) R
             = e^{-c} I + (1 - e^{-c}) 1 pi^T,

so with ``alpha(t) = exp(-B(t))`` the transition from ``s`` to ``t`` is
``P(s -> t) = a I + (1 - a) 1 pi^T`` with ``a = alpha(t) / alpha(s)``: the coordinate is kept with
probability ``a`` and otherwise redrawn from ``pi`` (DiGress's ``Q_bar``, Vignac et al. 2023, eq. 3).

The posterior and the reverse rates below are written with the generic matrices ``P`` and ``Q``
(gathered per coordinate), so a family with another rate matrix only has to override
:meth:`CTMC.transition` and :meth:`CTMC.rate`.

Time ``t`` is a float tensor ``(B,)`` in ``[0, 1]`` (a Python float or 0-d tensor is broadcast).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import Tensor

from ...states import TensorState
from .schedules import CTMCSchedule, get_ctmc_schedule

__all__ = ["CTMC", "reverse_rate", "guidance_rate", "likelihood_ratio", "conditional_from_x0", "x0_probs_from_logits"]

_TINY = 1e-30


def _as_time(t: "float | Tensor", batch: int, device: torch.device | None, dtype: torch.dtype) -> Tensor:
    """``(B,)`` float tensor from a float, 0-d or ``(B,)`` tensor."""
    t = torch.as_tensor(t, device=device)
    t = t.to(dtype if not t.is_floating_point() or dtype == torch.float64 else t.dtype)
    if t.dim() == 0:
        return t.expand(batch)
    if t.shape != (batch,):
        raise ValueError(f"time must be a scalar or a (B,) tensor with B={batch}, got shape {tuple(t.shape)}")
    return t


def _time_dtype(*ts: Any) -> torch.dtype:
    for t in ts:
        if torch.is_tensor(t) and t.dtype == torch.float64:
            return torch.float64
    return torch.get_default_dtype()


def _flat(x: Tensor) -> Tensor:
    """``(B, ...)`` -> ``(B, D)`` with ``D`` the product of the trailing sizes, stated explicitly so
    a component with zero coordinates (``D = 0``, e.g. the edges of single-node graphs) reshapes."""
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))


def _rows(P: Tensor, x: Tensor) -> Tensor:
    """``P[b, x[b, d], :]`` for ``P`` ``(B, S, S)`` and ``x`` ``(B, D)`` long -> ``(B, D, S)``."""
    S = P.shape[-1]
    return torch.gather(P, 1, x[..., None].expand(-1, -1, S))


def _cols(P: Tensor, x: Tensor) -> Tensor:
    """``P[b, :, x[b, d]]`` -> ``(B, D, S)`` (the column of the current state, indexed by the source)."""
    return _rows(P.transpose(1, 2), x)


class CTMC:
    """Base class of the rank-one CTMC families (:class:`UniformCTMC`, :class:`AbsorbingCTMC`,
    :class:`MarginalCTMC`).

    Args:
        num_classes: number of data classes ``K`` (categories a clean ``x0`` may take).
        schedule: a :class:`CTMCSchedule` or its name (``cosine``, ``linear``, ``exponential``).

    ``num_states`` (``S``) is the size of the state space: ``K``, or ``K + 1`` when the family adds
    a mask state. Probabilities over ``x0`` may be given with ``K`` or ``S`` columns.
    """

    name: str = "base"

    def __init__(self, num_classes: int, schedule: "str | CTMCSchedule" = "cosine"):
        if int(num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = int(num_classes)
        self.schedule = get_ctmc_schedule(schedule)

    # ------------------------------------------------------------------ family definition
    @property
    def num_states(self) -> int:
        """Size ``S`` of the state space."""
        return self.num_classes

    def stationary(self, dtype: torch.dtype | None = None, device: torch.device | None = None) -> Tensor:
        """Stationary law ``pi`` ``(S,)`` (the prior at ``t = 1``)."""
        raise NotImplementedError

    def rate_matrix(self, dtype: torch.dtype | None = None, device: torch.device | None = None) -> Tensor:
        """Base rate matrix ``R = 1 pi^T - I`` ``(S, S)``."""
        pi = self.stationary(dtype, device)
        return pi[None, :].expand(pi.numel(), -1) - torch.eye(pi.numel(), dtype=pi.dtype, device=pi.device)

    def config(self) -> dict:
        """JSON-serialisable constructor arguments (with ``name``)."""
        return {"name": self.name, "num_classes": self.num_classes, "schedule": self.schedule.config()}

    @classmethod
    def from_config(cls, config: dict) -> "CTMC":
        """The process a :meth:`config` dict describes (default schedule: cosine)."""
        cfg = {k: v for k, v in config.items() if k not in ("name", "type")}
        sched = dict(cfg.pop("schedule", None) or {"name": "cosine"})
        return cls(**cfg, schedule=get_ctmc_schedule(sched.pop("name"), **sched))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_classes={self.num_classes}, schedule={self.schedule!r})"

    # ------------------------------------------------------------------ rates and transitions
    def rate(self, t: "float | Tensor") -> Tensor:
        """Rate matrix ``Q_t = beta(t) R``: ``(S, S)`` for a scalar ``t``, ``(B, S, S)`` for ``(B,)``."""
        t = torch.as_tensor(t, dtype=_time_dtype(t))
        R = self.rate_matrix(t.dtype, t.device)
        return self.schedule.rate(t)[..., None, None] * R

    def survival(self, s: "float | Tensor", t: "float | Tensor") -> Tensor:
        """``a(s, t) = alpha(t) / alpha(s) = exp(-(B(t) - B(s)))`` (probability of no resampling)."""
        dt = _time_dtype(s, t)
        dev = next((v.device for v in (t, s) if torch.is_tensor(v)), None)
        s = torch.as_tensor(s, dtype=dt, device=dev)
        t = torch.as_tensor(t, dtype=dt, device=dev)
        return self.schedule.alpha(t) / self.schedule.alpha(s)

    def transition(self, s: "float | Tensor", t: "float | Tensor") -> Tensor:
        """Transition matrix ``P(s -> t) = exp((B(t) - B(s)) R) = a I + (1 - a) 1 pi^T`` for
        ``s <= t``: ``(S, S)`` for scalar times, ``(B, S, S)`` for ``(B,)`` times."""
        a = self.survival(s, t)
        pi = self.stationary(a.dtype, a.device)
        eye = torch.eye(pi.numel(), dtype=a.dtype, device=a.device)
        a = a[..., None, None]
        return a * eye + (1 - a) * pi[None, :]

    # ------------------------------------------------------------------ marginals
    def pad_probs(self, probs: Tensor) -> Tensor:
        """Probabilities over ``x0`` ``(..., K)`` or ``(..., S)`` -> ``(..., S)`` (zero mass on extra states)."""
        extra = self.num_states - probs.shape[-1]
        if extra == 0:
            return probs
        if extra < 0 or probs.shape[-1] != self.num_classes:
            raise ValueError(f"expected {self.num_classes} or {self.num_states} classes in the last dim, got {probs.shape[-1]}")
        return torch.cat([probs, probs.new_zeros(probs.shape[:-1] + (extra,))], -1)

    def marginal(self, x0: Tensor, t: "float | Tensor") -> Tensor:
        """``q_t(x | x0)`` ``(B, ..., S)`` for ``x0`` long ``(B, ...)`` (or probabilities ``(B, ..., K|S)``)."""
        B = x0.shape[0]
        dt = _time_dtype(t, x0 if x0.is_floating_point() else None)
        P = self.transition(0.0, _as_time(t, B, x0.device, dt)).to(x0.device)  # (B, S, S)
        if x0.is_floating_point():
            p = self.pad_probs(x0).to(P.dtype)
            shape = p.shape
            return torch.bmm(p.reshape(B, -1, shape[-1]), P).reshape(shape)
        return _rows(P, x0.reshape(B, -1)).reshape(x0.shape + (self.num_states,))

    def sample_marginal(
        self,
        x0: Tensor,
        t: "float | Tensor",
        generator: torch.Generator | None = None,
        mask: Tensor | None = None,
    ) -> Tensor:
        """Draw ``x_t ~ q_t(. | x0)`` (long, shape of ``x0``). Where ``mask`` (bool, shape of ``x0``)
        is False the entry is returned unchanged (padding never moves)."""
        probs = self.marginal(x0, t)
        xt = _categorical(probs, generator)
        return xt if mask is None else torch.where(mask, xt, x0)

    def prior_sample(
        self,
        shape: "Sequence[int] | Tensor",
        generator: torch.Generator | None = None,
        device: torch.device | None = None,
    ) -> Tensor:
        """Long tensor of the given shape (or of the shape of a tensor ``like``) drawn i.i.d. from ``pi``."""
        if torch.is_tensor(shape):
            device = shape.device if device is None else device
            shape = tuple(shape.shape)
        shape = tuple(int(s) for s in shape)
        pi = self.stationary(torch.float32, device)
        n = 1
        for s in shape:
            n *= s
        if n == 0:
            return torch.zeros(shape, dtype=torch.long, device=device)
        gen_dev = generator.device if generator is not None else pi.device
        idx = torch.multinomial(pi.to(gen_dev), n, replacement=True, generator=generator)
        return idx.to(pi.device).reshape(shape)

    def prior_logp(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """``log pi(x)`` summed over all but the batch dim -> ``(B,)`` (masked entries excluded)."""
        lp = torch.log(self.stationary(torch.get_default_dtype(), x.device))[x]
        if mask is not None:
            lp = torch.where(mask, lp, torch.zeros_like(lp))
        return lp.reshape(x.shape[0], -1).sum(-1)

    def time_grid(self, n: int, t_min: float = 0.0, device: torch.device | None = None) -> Tensor:
        """``(n + 1,)`` decreasing times from 1 to ``t_min`` (``n`` sampling steps)."""
        if int(n) < 1:
            raise ValueError(f"need at least one step, got n={n}")
        return torch.linspace(1.0, float(t_min), int(n) + 1, device=device)

    # ------------------------------------------------------------------ reverse process
    def posterior(self, xt: Tensor, x0_probs: Tensor, s: "float | Tensor", t: "float | Tensor") -> Tensor:
        """``p(x_s | x_t) = sum_x0 q(x_s | x_t, x0) p(x0 | x_t)`` ``(B, ..., S)``, ``s <= t``.

        ``q(x_s | x_t, x0) = P(s->t)[x_s, x_t] P(0->s)[x0, x_s] / P(0->t)[x0, x_t]`` (Bayes;
        Austin et al. 2021 eq. 3; Campbell et al. 2022 App. B). ``x0_probs`` ``(B, ..., K|S)``
        (a one-hot gives the exact posterior given ``x0``). Values of ``x0`` impossible under
        ``x_t`` (``P(0->t)[x0, x_t] = 0``, e.g. an unmasked absorbing state) are dropped and the
        result renormalised."""
        B = xt.shape[0]
        p0 = self.pad_probs(x0_probs)
        dt = p0.dtype
        s_ = _as_time(s, B, xt.device, dt).to(dt)
        t_ = _as_time(t, B, xt.device, dt).to(dt)
        x = _flat(xt)
        p0 = p0.reshape(B, x.shape[1], p0.shape[-1])
        P0t = self.transition(torch.zeros_like(t_), t_)
        P0s = self.transition(torch.zeros_like(s_), s_)
        Pst = self.transition(s_, t_)
        lik = _cols(P0t, x)  # q(x_t | x0) over x0
        w = torch.where(lik > 0, p0 / lik.clamp_min(_TINY), torch.zeros_like(p0))
        post = torch.bmm(w, P0s) * _cols(Pst, x)  # over x_s
        post = _normalise_or_stay(post, x)
        return post.reshape(xt.shape + (self.num_states,))

    def forward_rates(self, xt: Tensor, t: "float | Tensor") -> Tensor:
        """Forward jump rates ``Q_t(x, y)`` out of the current state ``(B, ..., S)`` (0 at ``y = x``)."""
        B = xt.shape[0]
        t_ = _as_time(t, B, xt.device, _time_dtype(t))
        x = _flat(xt)
        out = _rows(self.rate(t_), x)
        out = out.scatter(-1, x[..., None], 0.0)
        return out.reshape(xt.shape + (self.num_states,))

    def reverse_rate(self, xt: Tensor, x0_probs: Tensor, t: "float | Tensor") -> Tensor:
        """Model reverse rates, see :func:`reverse_rate`."""
        return reverse_rate(self, xt, x0_probs, t)

    # ------------------------------------------------------------------ component interface
    # Samplers and losses see every process as a list of components, each a long tensor (B, D_i)
    # with a bool mask (B, D_i) and logits (B, D_i, K_i). A single CTMC acting on a tensor (or a
    # TensorState) has one component; GraphCTMC has two (nodes, upper-triangle edges).
    component_names: tuple[str, ...] = ("x",)

    @property
    def components(self) -> list["CTMC"]:
        return [self]

    def split(self, state: "Tensor | TensorState") -> tuple[list[Tensor], list[Tensor]]:
        """``([x (B, D)], [mask (B, D) bool])`` from a long tensor or a :class:`TensorState`."""
        x, mask = (state.x, state.mask) if isinstance(state, TensorState) else (state, None)
        B = x.shape[0]
        m = torch.ones_like(x, dtype=torch.bool) if mask is None else torch.broadcast_to(mask, x.shape)
        return [x.reshape(B, -1)], [m.reshape(B, -1)]

    def join(self, parts: Sequence[Tensor], like: "Tensor | TensorState") -> "Tensor | TensorState":
        """Inverse of :meth:`split` (shape and type of ``like``)."""
        if isinstance(like, TensorState):
            return TensorState(parts[0].reshape(like.x.shape), like.mask)
        return parts[0].reshape(like.shape)

    def split_output(self, output: Tensor) -> list[Tensor]:
        """Denoiser logits ``(B, ..., K)`` -> ``[(B, D, K)]``."""
        if isinstance(output, (tuple, list)):
            if len(output) != 1:
                raise ValueError(f"expected one logits tensor, got {len(output)}")
            output = output[0]
        return [output.reshape(output.shape[0], -1, output.shape[-1])]

    def join_output(self, parts: Sequence[Tensor], like: "Tensor | TensorState") -> Tensor:
        """Inverse of :meth:`split_output`: ``[(B, D, K)]`` -> logits ``(B, ..., K)``."""
        x = like.x if isinstance(like, TensorState) else like
        return parts[0].reshape(x.shape + (parts[0].shape[-1],))


def x0_probs_from_logits(process: CTMC, logits: Tensor) -> Tensor:
    """Softmax over data classes; logits may have ``K`` or ``S`` columns (extra states, e.g. the
    absorbing mask, get probability 0). Returns ``(..., K)``."""
    if logits.shape[-1] == process.num_states and process.num_states > process.num_classes:
        logits = logits[..., : process.num_classes]
    if logits.shape[-1] != process.num_classes:
        raise ValueError(f"logits must have {process.num_classes} classes, got {logits.shape[-1]}")
    return torch.softmax(logits, -1)


def likelihood_ratio(process: CTMC, xt: Tensor, x0_probs: Tensor, t: "float | Tensor") -> Tensor:
    """Per-coordinate ratio estimate ``r(y) = sum_x0 [q_t(y | x0) / q_t(x | x0)] p_theta(x0 | x)``
    ``(B, ..., S)`` (``r(x) = 1`` for a prediction consistent with ``x``): with the exact ``p(x0 | x)`` it equals
    ``p_t(x^d <- y, x^{-d}) / p_t(x)`` (Campbell et al. 2022 eq. 4; the "concrete score" / SDDM ratio,
    Sun et al. 2023 eq. 7). Values of ``x0`` with ``q_t(x | x0) = 0`` are dropped."""
    x, p0, P0t, lik = _x0_and_likelihood(process, xt, x0_probs, t)
    w = torch.where(lik > 0, p0 / lik.clamp_min(_TINY), torch.zeros_like(p0))
    return torch.bmm(w, P0t).reshape(xt.shape + (process.num_states,))


def _x0_and_likelihood(process: CTMC, xt: Tensor, x0_probs: Tensor, t: "float | Tensor") -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Shared set-up of the x0-based rates: ``x`` ``(B, D)``, ``p0`` ``(B, D, S)`` (padded x0
    probabilities), ``P(0 -> t)`` ``(B, S, S)`` and ``lik = q_t(x | x0)`` over ``x0`` ``(B, D, S)``."""
    B = xt.shape[0]
    p0 = process.pad_probs(x0_probs)
    t_ = _as_time(t, B, xt.device, p0.dtype).to(p0.dtype)
    x = _flat(xt)
    p0 = p0.reshape(B, x.shape[1], p0.shape[-1])
    P0t = process.transition(torch.zeros_like(t_), t_)
    return x, p0, P0t, _cols(P0t, x)


def reverse_rate(process: CTMC, xt: Tensor, x0_probs: Tensor, t: "float | Tensor") -> Tensor:
    """Reverse-time jump rates of the model (Campbell et al. 2022, eq. 4, dimension-wise):

        R^theta_t(x, y) = Q_t(y, x) sum_x0 [q_t(y | x0) / q_t(x | x0)] p_theta(x0 | x),   y != x,

    per coordinate, with ``x`` the current value of that coordinate and ``p_theta(x0 | x)`` the
    denoiser's marginal for the coordinate. Returns ``(B, ..., S)`` with 0 at ``y = x`` (total
    outflow = sum over the last dim). Values of ``x0`` with ``q_t(x | x0) = 0`` are dropped.
    With the exact ``p(x0 | x)`` this is the true time reversal ``p_t(y) Q_t(y, x) / p_t(x)``;
    with a one-hot ``x0`` it is the reversal of the forward process conditioned on ``x0``."""
    B = xt.shape[0]
    ratio = likelihood_ratio(process, xt, x0_probs, t)
    x = _flat(xt)
    ratio = ratio.reshape(B, x.shape[1], ratio.shape[-1])
    t_ = _as_time(t, B, xt.device, ratio.dtype).to(ratio.dtype)
    rates = _cols(process.rate(t_), x) * ratio  # Q_t(y, x) over y
    rates = rates.scatter(-1, x[..., None], 0.0)
    return rates.reshape(xt.shape + (process.num_states,))


def guidance_rate(process: CTMC, xt: Tensor, x0_probs: Tensor, t: "float | Tensor") -> Tensor:
    """Target-guidance jump rates per unit of ``alpha`` ``(B, ..., S)``, after DeFoG's target
    guidance (Qin et al. 2025, Sec. 4.2), written for our rank-one families:

        g_t(x, y) = p_theta(x0 = y | x) / (Z(y) q_t(x | y)),   y != x,

    with ``q_t(x | y) = alpha_t [x = y] + (1 - alpha_t) pi(x)`` and ``Z(y)`` the number of states
    ``q_t(. | y)`` can reach (``|supp pi| + [pi(y) = 0]``). In DeFoG's flow time (``tau = alpha``) the
    added rate is ``omega g``, so over a step ``t -> s`` it moves a coordinate to ``y`` with probability
    ``omega (alpha_s - alpha_t) g`` and per unit of our time its rate is ``omega beta(t) alpha(t) g``.
    It pushes every coordinate towards the predicted clean value, more strongly near the data
    (``q_t(x | y) -> 0``); it is not part of the time reversal, so ``omega > 0`` biases the samples by
    ``O(omega)`` (DeFoG, Prop. 4.2) in exchange for fewer leftover noisy values at few steps. 0 at
    ``y = x`` and where ``q_t(x | y) = 0`` (a prediction inconsistent with ``x``)."""
    x, p0, _, lik = _x0_and_likelihood(process, xt, x0_probs, t)  # lik = q_t(x | y) over y
    pi = process.stationary(p0.dtype, xt.device)
    Z = (pi > 0).sum().to(p0.dtype) + (pi == 0).to(p0.dtype)  # (S,): states reachable from y
    g = torch.where(lik > 0, p0 / (Z * lik).clamp_min(_TINY), torch.zeros_like(p0))
    g = g.scatter(-1, x[..., None], 0.0)
    return g.reshape(xt.shape + (process.num_states,))


def conditional_from_x0(process: CTMC, xt: Tensor, x0_probs: Tensor, t: "float | Tensor") -> Tensor:
    """Conditional marginals ``p_t(x^d = y | x^{-d})`` ``(B, ..., S)`` implied by an x0 prediction:
    the normalised :func:`likelihood_ratio` (exact for the exact ``p(x0 | x_t)``). These are the
    quantities SDDM's categorical ratio matching learns (Sun et al. 2023, Sec. 4)."""
    r = likelihood_ratio(process, xt, x0_probs, t)
    return r / r.sum(-1, keepdim=True).clamp_min(_TINY)


def _normalise_or_stay(p: Tensor, x: Tensor) -> Tensor:
    """Normalise ``p`` ``(B, D, S)`` over the last dim; rows with no mass stay at ``x``."""
    tot = p.sum(-1, keepdim=True)
    stay = torch.nn.functional.one_hot(x, p.shape[-1]).to(p.dtype)
    return torch.where(tot > 0, p / tot.clamp_min(_TINY), stay)


def _categorical(probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Sample indices from ``probs`` ``(..., S)`` (need not be normalised) -> long ``(...)``."""
    S = probs.shape[-1]
    flat = probs.reshape(-1, S).float().clamp_min(0)
    if flat.shape[0] == 0:
        return torch.zeros(probs.shape[:-1], dtype=torch.long, device=probs.device)
    # inverse-CDF sampling: one uniform per row, works with any generator device
    # u in (0, 1] so a class of probability 0 is never drawn
    u = 1.0 - torch.rand(flat.shape[0], 1, generator=generator, device=generator.device if generator is not None else flat.device)
    u = u.to(flat.device)
    cdf = flat.cumsum(-1)
    cdf = cdf / cdf[:, -1:].clamp_min(_TINY)
    idx = (u > cdf).sum(-1).clamp_max(S - 1)
    return idx.reshape(probs.shape[:-1])
