"""Losses for CTMC (discrete jump-process) diffusion with an x0-predicting denoiser.

* :func:`ctmc_cross_entropy` / :func:`ctmc_denoising_loss` — cross-entropy of the x0 prediction
  at real entries (upper triangle for edges), edges weighted by ``edge_weight`` (DiGress,
  Vignac et al. 2023, eq. 5, lambda = 5).
* :func:`ctmc_elbo` — Monte Carlo estimate of the continuous-time negative ELBO (an upper bound on
  ``-log p_theta(x0)`` in nats; Campbell et al. 2022, Prop. 2), for likelihood reporting.
* :func:`ctmc_ratio_matching_loss` — SDDM's categorical ratio matching (Sun et al. 2023, eq. 13).

All reverse rates come from :func:`graphdiff.processes.ctmc.reverse_rate` (the one place they are
derived). Every function works through the process's component interface, so it accepts a
single CTMC with a long tensor / :class:`~graphdiff.states.TensorState` or a
:class:`~graphdiff.processes.ctmc.GraphCTMC` with a :class:`~graphdiff.states.GraphState`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ..processes.ctmc.base import reverse_rate, x0_probs_from_logits

__all__ = [
    "CTMCLossOutput",
    "CTMCELBOOutput",
    "ctmc_cross_entropy",
    "ctmc_denoising_loss",
    "ctmc_elbo_integrand",
    "ctmc_prior_kl",
    "ctmc_elbo",
    "ctmc_ratio_matching_loss",
    "sample_ctmc_training_pair",
]

Denoiser = Callable[[Any, Tensor], Any]


@dataclass
class CTMCLossOutput:
    """``loss``: scalar to minimise; ``terms``: unweighted mean loss per component (``X``/``A`` or ``x``)."""

    loss: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)


@dataclass
class CTMCELBOOutput:
    """Per-sample negative ELBO in nats ``nelbo`` ``(B,)`` = ``prior`` (KL to the stationary law at
    t = 1) + ``diffusion`` (the time integral, estimated at one random time per sample)."""

    nelbo: Tensor
    prior: Tensor
    diffusion: Tensor


def _weights(process: Any, edge_weight: float) -> list[float]:
    return [edge_weight if name == "A" else 1.0 for name in process.component_names]


def ctmc_cross_entropy(process: Any, output: Any, x0: Any, *, edge_weight: float = 5.0) -> CTMCLossOutput:
    """Cross-entropy of the denoiser logits ``output`` against the clean state ``x0``, averaged
    over real entries of each component (nodes at ``node_mask``, edges on the upper triangle
    between real nodes); ``loss = CE_X + edge_weight * CE_A`` (single tensors: ``CE_x``)."""
    parts, masks = process.split(x0)
    logits = process.split_output(output)
    total = parts[0].new_zeros((), dtype=torch.float32)
    terms: dict[str, Tensor] = {}
    for name, comp, x, m, lg, w in zip(process.component_names, process.components, parts, masks, logits, _weights(process, edge_weight)):
        if lg.shape[-1] == comp.num_states and comp.num_states > comp.num_classes:
            lg = lg[..., : comp.num_classes]
        ce = F.cross_entropy(lg.reshape(-1, lg.shape[-1]).float(), x.reshape(-1), reduction="none").reshape(x.shape)
        n = m.sum()
        term = (ce * m).sum() / n.clamp_min(1)
        terms[name] = term
        total = total + w * term
    return CTMCLossOutput(loss=total, terms=terms)


def sample_ctmc_training_pair(
    process: Any,
    x0: Any,
    *,
    t: Tensor | None = None,
    t_min: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[Any, Tensor]:
    """``(x_t, t)``: ``t ~ U(t_min, 1)`` ``(B,)`` unless given, ``x_t ~ q_t(. | x0)`` (padding unchanged)."""
    parts, masks = process.split(x0)
    B, device = parts[0].shape[0], parts[0].device
    if t is None:
        gen_dev = generator.device if generator is not None else device
        t = (t_min + (1 - t_min) * torch.rand(B, generator=generator, device=gen_dev)).to(device)
    xt = [c.sample_marginal(x, t, generator=generator, mask=m) for c, x, m in zip(process.components, parts, masks)]
    return process.join(xt, x0), t


def ctmc_denoising_loss(
    process: Any,
    denoiser: Denoiser,
    x0: Any,
    *,
    edge_weight: float = 5.0,
    t: Tensor | None = None,
    t_min: float = 0.0,
    generator: torch.Generator | None = None,
) -> CTMCLossOutput:
    """Training loss: noise ``x0`` at ``t ~ U(t_min, 1)``, call ``denoiser(x_t, t)`` and return
    :func:`ctmc_cross_entropy` against ``x0``."""
    xt, t = sample_ctmc_training_pair(process, x0, t=t, t_min=t_min, generator=generator)
    return ctmc_cross_entropy(process, denoiser(xt, t), x0, edge_weight=edge_weight)


def ctmc_elbo_integrand(process: Any, output: Any, x0: Any, xt: Any, t: Tensor) -> Tensor:
    """Integrand of the continuous-time bound at time ``t`` for one ``x_t ~ q_t(. | x0)`` ``(B,)``:

        sum_d sum_{y != x^d} [ R^theta(x, y) - R^q(x, y) + R^q(x, y) log(R^q(x, y) / R^theta(x, y)) ],

    the KL rate between the reverse process conditioned on ``x0`` (rates ``R^q``: :func:`reverse_rate`
    with a one-hot ``x0``) and the model's reverse process (``R^theta``: :func:`reverse_rate` with the
    denoiser's ``p(x0 | x_t)`` from ``output``), summed over real coordinates. Its integral over
    ``t in [0, 1]`` plus :func:`ctmc_prior_kl` bounds ``-log p_theta(x0)`` (Campbell et al. 2022,
    Prop. 2, written with the x0-conditioned reverse rates so that no constant is dropped)."""
    parts0, masks = process.split(x0)
    partst, _ = process.split(xt)
    logits = process.split_output(output)
    total = 0.0
    for comp, a, b, m, lg in zip(process.components, parts0, partst, masks, logits):
        p_model = x0_probs_from_logits(comp, lg.double() if lg.dtype == torch.float64 else lg.float())
        r_th = reverse_rate(comp, b, p_model, t)
        r_q = reverse_rate(comp, b, F.one_hot(a, comp.num_classes).to(p_model.dtype), t)
        log_ratio = torch.log(r_q.clamp_min(1e-30)) - torch.log(r_th.clamp_min(1e-30))
        term = r_th - r_q + torch.where(r_q > 0, r_q * log_ratio, torch.zeros_like(r_q))
        total = total + (term.sum(-1) * m).sum(-1)
    return total


def ctmc_prior_kl(process: Any, x0: Any) -> Tensor:
    """``(B,)``: ``sum_d KL(q_1(. | x0^d) || pi)`` over real coordinates (the prior term of the bound).

    ``+inf`` when ``q_1`` puts mass where ``pi`` has none (the absorbing family with
    ``alpha_min > 0``: use a schedule with ``alpha_min=0`` there for likelihoods)."""
    parts, masks = process.split(x0)
    total = 0.0
    for comp, x, m in zip(process.components, parts, masks):
        q1 = comp.marginal(x, torch.ones(x.shape[0], dtype=torch.float64, device=x.device))
        pi = comp.stationary(torch.float64, x.device)
        kl = torch.where(q1 > 0, q1 * (torch.log(q1.clamp_min(1e-300)) - torch.log(pi)), torch.zeros_like(q1))
        total = total + (kl.sum(-1) * m).sum(-1)
    return total


def ctmc_elbo(
    process: Any,
    denoiser: Denoiser,
    x0: Any,
    *,
    t: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> CTMCELBOOutput:
    """Unbiased one-sample estimate of the negative ELBO (nats, ``(B,)``):
    ``KL(q_1(. | x0) || pi) + integrand(t, x_t)`` with ``t ~ U(0, 1)``, ``x_t ~ q_t(. | x0)``
    (see :func:`ctmc_elbo_integrand`). Average over many draws (or call repeatedly) for a
    likelihood estimate; ``E[nelbo] >= -log p_theta(x0)`` with equality for the exact denoiser."""
    xt, t = sample_ctmc_training_pair(process, x0, t=t, generator=generator)
    with torch.no_grad():
        output = denoiser(xt, t)
    diff = ctmc_elbo_integrand(process, output, x0, xt, t)
    prior = ctmc_prior_kl(process, x0).to(diff.dtype)
    return CTMCELBOOutput(nelbo=prior + diff, prior=prior, diffusion=diff)


def ctmc_ratio_matching_loss(process: Any, cond_logits: Any, x0: Any, xt: Any, t: Tensor) -> CTMCLossOutput:
    """SDDM categorical ratio matching (Sun et al. 2023, eq. 13): cross-entropy between the
    x0-conditioned marginal ``q_t(x^d | x0^d)`` and the model's conditional
    ``p_theta(x^d | x_t^{-d}) = softmax(cond_logits)`` over all ``S`` states, averaged over real
    coordinates. Its minimiser is ``p_t(x^d | x^{-d})`` only when the network cannot see ``x_t^d``
    (a "hollow" network, SDDM Sec. 5); the implied jump rates are
    ``Q_t(y, x) p_theta(y | x^{-d}) / p_theta(x | x^{-d})``. ``cond_logits`` uses the denoiser
    output layout with ``S`` classes per component."""
    parts0, masks = process.split(x0)
    logits = process.split_output(cond_logits)
    terms: dict[str, Tensor] = {}
    total = 0.0
    for name, comp, a, m, lg in zip(process.component_names, process.components, parts0, masks, logits):
        if lg.shape[-1] != comp.num_states:
            raise ValueError(f"ratio matching needs {comp.num_states} logits per coordinate, got {lg.shape[-1]}")
        target = comp.marginal(a, t).to(lg.dtype)
        ce = -(target * torch.log_softmax(lg, -1)).sum(-1)
        term = (ce * m).sum() / m.sum().clamp_min(1)
        terms[name] = term
        total = total + term
    return CTMCLossOutput(loss=total, terms=terms)
