"""Self-distillation of a CTMC sampler through time: a student whose ONE ancestral step per grid
interval matches what the teacher's sampler does over the same interval (e.g. a predictor-corrector
step, two network calls), so a ``k``-step ancestral student replaces a ``2k - 1``-call teacher.

Marginal matching on a fixed time grid ``1 = t_0 > t_1 > ... > t_n = 0``:

* ``x_{t_i}``: the forward process's marginal of a training graph (the prior at ``t_0 = 1``, as
  the samplers start);
* ``x_{t_{i+1}}``: one draw of the teacher's sampler step from ``x_{t_i}`` to ``t_{i+1}``
  (:func:`teacher_step`: the ``pc`` sampler run on the two-point grid, so exactly what that sampler
  does there, including its ``final`` read-out on the last interval);
* loss: the negative log-likelihood of the teacher's ``x_{t_{i+1}}`` under the student's ancestral
  transition ``p_theta(x_s^d | x_t) = sum_x0 q(x_s^d | x_t^d, x0) p_theta(x0^d | x_t)`` per node and
  upper-triangle edge (:func:`ctmc_transition_nll`; the same closed form the ancestral sampler draws
  from, :meth:`~graphdiff.processes.ctmc.CTMC.posterior`), averaged over real entries, edges
  weighted by ``edge_weight`` as in the denoising loss.

Its expectation is the cross-entropy between the teacher's one-step marginals and the student's,
so it is minimised when the student's per-coordinate transition equals the teacher's per-coordinate
marginal (where the student's transition family can represent it; with a corrector-free teacher,
by the teacher's own ``p(x0 | x_t)``). Joint correlations created by the teacher's corrector within
one step are not representable by a factorised step and are not matched.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from ..processes.ctmc.base import reverse_rate, x0_probs_from_logits
from ..samplers.ctmc import sample_ctmc_ancestral, sample_ctmc_predictor_corrector
from ..states import GraphState
from .ctmc import CTMCLossOutput, _weights, sample_ctmc_training_pair

__all__ = ["ctmc_transition_nll", "teacher_step", "teacher_targets", "leap_probs", "noisy_at", "rollout_states",
           "ctmc_distill_loss"]

Denoiser = Callable[[Any, Tensor], Any]
_EPS = 1e-12


def ctmc_transition_nll(process: Any, output: Any, xt: Any, xs: Any, s: "float | Tensor", t: "float | Tensor", *,
                        edge_weight: float = 5.0, target_probs: Sequence[Tensor] | None = None) -> CTMCLossOutput:
    """``-log p_theta(x_s | x_t)`` of the student's ancestral step, per real coordinate.

    ``output``: the student's x0 logits at ``(x_t, t)``; ``xt``, ``xs``: states (``xs`` the targets,
    e.g. :func:`teacher_step` draws); ``s < t``: floats or ``(B,)`` tensors (one interval per
    sample). ``target_probs`` (one ``(B, D_i, S_i)`` tensor per component) replaces the drawn ``xs``
    by a distribution: the loss is then ``KL(target || p_theta(. | x_t))`` (the cross-entropy less the
    target's entropy: same gradient, 0 at a perfect match; ``xs`` is ignored). Averaged over each
    component's real entries (nodes, upper-triangle edges between real nodes);
    ``loss = NLL_X + edge_weight * NLL_A``."""
    parts_t, masks = process.split(xt)
    parts_s = process.split(xs)[0] if target_probs is None else [None] * len(parts_t)
    logits = process.split_output(output)
    total = parts_t[0].new_zeros((), dtype=torch.float32)
    terms: dict[str, Tensor] = {}
    for k, (name, comp, a, b, m, lg, w) in enumerate(zip(process.component_names, process.components, parts_t, parts_s,
                                                         masks, logits, _weights(process, edge_weight))):
        p0 = x0_probs_from_logits(comp, lg.float())
        post = comp.posterior(a, p0, s, t)
        logp = torch.log(post.clamp_min(_EPS))
        if target_probs is None:
            nll = -logp.gather(-1, b[..., None]).squeeze(-1)
        else:
            q = target_probs[k].to(logp.dtype)  # KL(q || p_theta): the cross-entropy less q's entropy
            nll = (q * (torch.log(q.clamp_min(_EPS)) - logp)).sum(-1)
        term = (nll * m).sum() / m.sum().clamp_min(1)
        terms[name] = term
        total = total + w * term
    return CTMCLossOutput(loss=total, terms=terms)


@torch.no_grad()
def teacher_step(process: Any, teacher: Denoiser, xt: Any, t: float, s: float, *, predictor: str = "ancestral",
                 corrector_steps: int = 1, final: str = "sample", generator: torch.Generator | None = None,
                 **options: Any) -> Any:
    """One step of the teacher's ``pc`` sampler from ``x_t`` at ``t`` to ``s`` (the sampler itself, run
    on the grid ``[t, s]``): a predictor step plus ``corrector_steps`` corrector leaps at ``s``; on the
    last interval (``s == 0``) the sampler's ``final`` read-out instead (no corrector there, as in the
    sampler). ``corrector_steps=0`` is the plain ancestral step."""
    times = torch.tensor([float(t), float(s)], dtype=torch.float32)
    out = sample_ctmc_predictor_corrector(process, teacher, xt, times=times, predictor=predictor,
                                          corrector_steps=int(corrector_steps), final=final if s == 0 else "none",
                                          generator=generator, **options)
    return out.samples


def leap_probs(rates: Tensor, x: Tensor, h: float, jump: str = "poisson") -> Tensor:
    """Distribution ``(B, D, S)`` of one tau-leap of length ``h`` from ``x`` with off-diagonal ``rates``
    (the sampler's ``_leap``, in closed form): ``poisson`` jumps to ``y`` when exactly its count is 1,
    ``h R(x, y) exp(-h lambda)``; ``exponential`` with ``(1 - exp(-h lambda)) R(x, y) / lambda``; the rest stays."""
    rates = rates.clamp_min(0).double()
    lam = rates.sum(-1, keepdim=True)
    if jump == "poisson":
        off = h * rates * torch.exp(-h * lam)
    elif jump == "exponential":
        off = torch.where(lam > 0, (1 - torch.exp(-h * lam)) * rates / lam.clamp_min(1e-300), torch.zeros_like(rates))
    else:
        raise ValueError(f"unknown jump rule {jump!r}; valid: poisson, exponential")
    stay = torch.nn.functional.one_hot(x, rates.shape[-1]).to(torch.bool)
    off = torch.where(stay, torch.zeros_like(off), off)
    return torch.where(stay, 1 - off.sum(-1, keepdim=True), off).float()


@torch.no_grad()
def teacher_targets(process: Any, teacher: Denoiser, xt: Any, t: float, s: float, *, corrector_steps: int = 1,
                    corrector_step_size: float = 1.0, jump: str = "poisson",
                    generator: torch.Generator | None = None) -> list[Tensor]:
    """Per-coordinate distributions ``[(B, D_i, S_i)]`` of the teacher's ``pc`` step (ancestral
    predictor) from ``x_t``, with the LAST corrector leap integrated out (Rao-Blackwellised): the
    predictor (and any earlier correctors) are drawn with the sampler, then the teacher's corrector
    rates ``R^theta_s + Q_s`` at that draw give the leap's distribution in closed form
    (:func:`leap_probs`). On the last interval (``s == 0``) the sampler's ``final="sample"`` read-out,
    ``p(x0 | x_t)`` made consistent with ``x_t``, exactly. Same law per coordinate as
    :func:`teacher_step`, lower variance as a target."""
    comps = process.components
    B = process.split(xt)[0][0].shape[0]
    if s == 0 or corrector_steps == 0:
        y, tt = xt, t
    else:
        y = teacher_step(process, teacher, xt, t, s, corrector_steps=corrector_steps - 1,
                         corrector_step_size=corrector_step_size, jump=jump, generator=generator)
        tt = s
    parts, _ = process.split(y)
    device = parts[0].device
    probs = [x0_probs_from_logits(c, lg.float())
             for c, lg in zip(comps, process.split_output(teacher(y, torch.full((B,), float(tt), device=device))))]
    if s == 0 or corrector_steps == 0:
        return [c.posterior(x, p, s, t) for c, x, p in zip(comps, parts, probs)]
    h = corrector_step_size * (t - s)
    return [leap_probs(reverse_rate(c, x, p, s) + c.forward_rates(x, s), x, h, jump) for c, x, p in zip(comps, parts, probs)]


def noisy_at(process: Any, x0: Any, t: float, generator: torch.Generator | None = None) -> Any:
    """``x_t``: a prior draw at ``t = 1`` (where the samplers start), else the forward marginal of ``x0``."""
    if float(t) >= 1.0:
        return process.prior_sample(x0.node_mask, generator=generator) if hasattr(process, "node_process") else \
            process.join([c.prior_sample(x, generator=generator) for c, x in zip(process.components, process.split(x0)[0])], x0)
    return sample_ctmc_training_pair(process, x0, t=float(t), generator=generator)[0]


@torch.no_grad()
def rollout_states(process: Any, denoiser: Denoiser, node_mask_or_like: Any, times: Tensor,
                   generator: torch.Generator | None = None) -> list[Any]:
    """The states ``[x_{t_0}, ..., x_{t_{n-1}}]`` one ancestral rollout of ``denoiser`` (e.g. the
    student itself: on-policy states) visits on the grid ``times``, from a prior draw shaped like
    ``node_mask_or_like`` (a graph batch or a tensor state): the states the student's own sampler
    meets, which forward noising of data does not reach."""
    x = noisy_at(process, node_mask_or_like, 1.0, generator)
    times = torch.as_tensor(times, dtype=torch.float32)
    out = sample_ctmc_ancestral(process, denoiser, x, times=times[:-1] if times.numel() > 2 else times,
                                final="none", generator=generator, return_trajectory=True)
    return out.trajectory[: times.numel() - 1]


def _cat(states: list[Any]) -> Any:
    return torch.cat(states) if torch.is_tensor(states[0]) else GraphState.cat(states)


def ctmc_distill_loss(process: Any, student: Denoiser, teacher: Denoiser, x0: Any, times: Tensor, *,
                      chunks: int = 4, index: Sequence[int] | None = None, edge_weight: float = 5.0,
                      rao_blackwell: bool = True, states: Sequence[Any] | None = None,
                      generator: torch.Generator | None = None, **teacher_options: Any) -> CTMCLossOutput:
    """Distillation loss on a batch of clean states ``x0`` (categorical).

    ``times``: the student's decreasing grid (``t_0 = 1`` ... ``t_n = 0``). The batch is cut into
    ``chunks`` parts, each at one grid interval ``i`` (``index``, default drawn uniformly):
    ``x_{t_i}`` from :func:`noisy_at`, the target from :func:`teacher_targets` (``rao_blackwell``,
    the default: the teacher's step law with its last corrector leap integrated out;
    ``teacher_options``: ``corrector_steps``, ``corrector_step_size``, ``jump``) or one draw of
    :func:`teacher_step` (``predictor``, ``corrector_steps``, ``final``, ...); then one student call
    on the whole batch (per-sample times) and :func:`ctmc_transition_nll`. ``states``: optional
    ``x_{t_i}`` per chunk (each shaped like its slice of ``x0``, e.g. from :func:`rollout_states`)
    in place of the forward marginal."""
    times = torch.as_tensor(times, dtype=torch.float32)
    n = times.numel() - 1
    B = process.split(x0)[0][0].shape[0]
    chunks = max(1, min(int(chunks), B))
    if index is None:
        gen_dev = generator.device if generator is not None else torch.device("cpu")
        index = torch.randint(0, n, (chunks,), generator=generator, device=gen_dev).tolist()
    if len(index) != chunks:
        raise ValueError(f"index needs one grid interval per chunk ({chunks}), got {len(index)}")
    bounds = [round(k * B / chunks) for k in range(chunks + 1)]
    xts, xss, ts, ss = [], [], [], []
    for k, i in enumerate(index):
        if not 0 <= int(i) < n:
            raise ValueError(f"grid interval {i} outside 0..{n - 1}")
        sl = slice(bounds[k], bounds[k + 1])
        t, s = float(times[i]), float(times[i + 1])
        xt = noisy_at(process, x0[sl], t, generator) if states is None or states[k] is None else states[k]
        xts.append(xt)
        if rao_blackwell:
            xss.append(teacher_targets(process, teacher, xt, t, s, generator=generator, **teacher_options))
        else:
            xss.append(teacher_step(process, teacher, xt, t, s, generator=generator, **teacher_options))
        m = bounds[k + 1] - bounds[k]
        ts.append(torch.full((m,), t))
        ss.append(torch.full((m,), s))
    xt = _cat(xts)
    device = process.split(xt)[0][0].device
    t_b, s_b = torch.cat(ts).to(device), torch.cat(ss).to(device)
    if rao_blackwell:
        target = [torch.cat([p[k] for p in xss]) for k in range(len(xss[0]))]
        return ctmc_transition_nll(process, student(xt, t_b), xt, None, s_b, t_b, edge_weight=edge_weight, target_probs=target)
    return ctmc_transition_nll(process, student(xt, t_b), xt, _cat(xss), s_b, t_b, edge_weight=edge_weight)
