# Over 450 lines on purpose: the three CTMC samplers share one step loop, read-out, tau-leap, guidance and cost helpers.
"""Samplers for CTMC (discrete jump-process) diffusion, one function per sampler.

Each sampler integrates the reverse-time jump process from ``t = 1`` down to ``t = 0`` on a time
grid (``process.time_grid(steps)`` unless ``times`` is given; ``time_power = p`` warps it to
``t_i^p``, see :func:`warped_time_grid`) and uses only the process
interface (``components``, ``split``/``join``/``split_output``, ``posterior``, ``reverse_rate``,
``forward_rates``), so it works for a single :class:`~graphdiff.processes.ctmc.CTMC` on a long
tensor / :class:`~graphdiff.states.TensorState` and for
:class:`~graphdiff.processes.ctmc.GraphCTMC` on a :class:`~graphdiff.states.GraphState`.

Denoiser contract: ``denoiser(state_t, t)`` with ``t`` ``(B,)`` returns x0 logits: ``(B, ..., K)``
for tensors, ``(node_logits (B, N, Kx), edge_logits (B, N, N, Ke))`` for graphs.

Final step (``final``): on the last interval ``(t_1 -> t_0)`` the clean state is read from the
x0 prediction made consistent with ``x_{t_1}`` (the exact posterior at ``s = 0``:
``p(x0 | x_t)`` with values impossible under ``x_t`` removed): ``"sample"`` draws it,
``"argmax"`` takes its mode, ``"none"`` runs the sampler's own step to the grid's last time.

``temperature = T`` divides every x0 logit by ``T`` before use (``p(x0 | x_t)^(1/T)``,
renormalised): ``T < 1`` makes the predictions more confident, trading diversity for validity.

``target_guidance = omega`` (default 0) adds DeFoG's target-guidance jumps towards the predicted clean
value to every predictor step (:func:`~graphdiff.processes.ctmc.guidance_rate`; Qin et al. 2025,
Sec. 4.2): over a step ``t -> s`` a coordinate moves to ``y`` with the extra probability
``omega (alpha_s - alpha_t) g_t(x, y)`` (tau-leaping: the rate ``omega beta(t) alpha(t) g_t``).
It biases the samples by ``O(omega)`` and is an empirical knob (DeFoG tunes it per dataset);
correctors are left unguided so they still target ``q_s``. (This option was called ``guidance``
before classifier-free guidance arrived; the old name raises an error saying so.)

Classifier-free guidance (``uncond_denoiser``, ``guidance_scale = w``: 0 unconditional, 1
conditional) mixes the conditional and unconditional reverse rates geometrically, and predictor
guidance (``log_tilt``, ``tilt_scale``) reweights them with a property predictor; see
:mod:`graphdiff.guidance.ctmc`. Each costs one extra network call per prediction (counted in ``nfe``).

Inpainting (``known = (values, which)``, both states like ``x``; ``which`` holds booleans): the
coordinates where ``which`` is True are set to ``values`` at the start and after every step, so
every sample contains them (a scaffold's atoms and the bonds / non-bonds among them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import Tensor

from ..errors import unknown_name
from ..guidance.ctmc import CTMCGuide, guided_rates, guided_transition, main_probs
from ..processes.ctmc.base import _categorical, guidance_rate, x0_probs_from_logits
from .registry import CTMC_SAMPLERS, StepCost, register_sampler

__all__ = [
    "CTMCSampleOutput",
    "CTMCStepInfo",
    "sample_ctmc_ancestral",
    "sample_ctmc_tau_leaping",
    "sample_ctmc_predictor_corrector",
    "CTMC_SAMPLERS",
    "warped_time_grid",
    "check_time_power",
]

Denoiser = Callable[[Any, Tensor], Any]
_FINALS = ("sample", "argmax", "none")
_JUMPS = ("poisson", "exponential")


@dataclass
class CTMCSampleOutput:
    """Result of a CTMC sampler (fields as :class:`graphdiff.samplers.types.SampleOutput`): the
    ``samples`` (same type as the input state), the number of denoiser evaluations ``nfe``, if
    requested the ``trajectory`` of states (first entry = the initial state) and the matching ``times``."""

    samples: Any
    nfe: int
    trajectory: list | None = None
    times: list[float] = field(default_factory=list)


@dataclass
class CTMCStepInfo:
    """Passed to ``callback`` after every step: step index ``i``, times ``t -> s``, the new
    ``state`` and the denoiser's x0 probabilities per component (``[(B, D_i, K_i)]``)."""

    i: int
    t: float
    s: float
    state: Any
    x0_probs: list


# ---------------------------------------------------------------------------- helpers
def warped_time_grid(times: Tensor, time_power: float) -> Tensor:
    """``times ** time_power`` for a grid on ``[0, 1]``: ``p > 1`` makes the steps finer near the
    data (``t = 0``) and coarser near the prior. ``p = 2`` maps a uniform grid ``t_i = 1 - i/n`` to
    ``t_i^2``, which is DeFoG's "polydec" time distortion ``f(u) = 2u - u^2`` written in our time
    convention (``u = 1 - t``; Qin et al. 2025, Sec. 4.1). ``p = 1`` leaves the grid unchanged."""
    p = check_time_power(time_power)
    times = torch.as_tensor(times)
    if p == 1.0:
        return times
    if times.numel() and (float(times.min()) < 0 or float(times.max()) > 1):
        raise ValueError("time_power needs a time grid inside [0, 1]")
    return times**p


def _positive_finite(name: str, value: float) -> float:
    """``value`` as a float; a clear ``ValueError`` naming ``name`` unless it is positive and finite."""
    v = float(value)
    if not 0 < v < float("inf"):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return v


def check_time_power(time_power: float) -> float:
    """``time_power`` as a float; a clear ``ValueError`` unless it is positive and finite."""
    return _positive_finite("time_power", time_power)


def _grid(process: Any, steps: int | None, times: Tensor | None, device: torch.device, time_power: float = 1.0) -> Tensor:
    if times is None:
        if steps is None:
            raise ValueError("give steps or times")
        times = process.time_grid(steps, device=device)
    times = warped_time_grid(torch.as_tensor(times, dtype=torch.float32, device=device), time_power)
    if times.dim() != 1 or times.numel() < 2 or (times[1:] > times[:-1]).any():
        raise ValueError("times must be a decreasing 1-D tensor with at least two entries")
    return times


def _predict(process: Any, denoiser: Denoiser, state: Any, t: float, B: int, device: torch.device,
             guide: CTMCGuide | None = None) -> list:
    """x0 probabilities per component (plain tensors, or :class:`~graphdiff.guidance.ctmc.GuidedX0`
    when ``guide`` steers them)."""
    tv = torch.full((B,), float(t), device=device)

    def probs(out: Any) -> list[Tensor]:
        return [x0_probs_from_logits(p, lg) for p, lg in zip(process.components, process.split_output(out))]

    p = probs(denoiser(state, tv))
    return p if guide is None else guide.wrap(process, state, tv, p, probs)


def _guide(guidance: float | None, guidance_scale: float, uncond_denoiser: Denoiser | None,
           log_tilt: Callable | None, tilt_scale: float) -> CTMCGuide:
    if guidance is not None:
        raise ValueError("the CTMC sampler option `guidance` (DeFoG's target guidance) is now called "
                         "`target_guidance`; classifier-free guidance is `guidance_scale` (with `uncond_denoiser`)")
    return CTMCGuide(uncond_denoiser, guidance_scale, log_tilt, tilt_scale)


def _setup(process: Any, denoiser: Denoiser, x: Any, steps: int | None, times: Tensor | None, time_power: float,
           temperature: float, target_guidance: float, guidance: float | None, guidance_scale: float,
           uncond_denoiser: Denoiser | None, log_tilt: Callable | None, tilt_scale: float
           ) -> tuple[Denoiser, CTMCGuide, float, Tensor]:
    """What every sampler does first: check the options, temper the denoiser(s), build the steering
    and the time grid. Returns ``(denoiser, guide, target_guidance, times)``."""
    guide = _guide(guidance, guidance_scale, uncond_denoiser, log_tilt, tilt_scale)
    omega = _check_guidance(target_guidance)
    denoiser = _tempered(denoiser, temperature)
    if guide.cfg:
        guide.uncond_denoiser = _tempered(guide.uncond_denoiser, temperature)
    device = process.split(x)[0][0].device
    return denoiser, guide, omega, _grid(process, steps, times, device, time_power)


def _final(comp: Any, x: Tensor, p0: Any, t: float, final: str, generator: torch.Generator | None) -> Tensor:
    """Clean values from ``p(x0 | x_t)`` made consistent with ``x_t`` (posterior at s = 0)."""
    post = guided_transition(comp, x, p0, 0.0, t)
    return post.argmax(-1) if final == "argmax" else _categorical(post, generator)


def _leap(rates: Tensor, x: Tensor, h: float, jump: str, generator: torch.Generator | None) -> Tensor:
    """One tau-leap of length ``h`` with off-diagonal ``rates`` ``(B, D, S)`` (0 at ``x``), at most one
    jump per coordinate.

    ``poisson`` (Campbell et al. 2022, Sec. 4.1, categorical case): draw Poisson counts
    ``n_y ~ Poisson(h R(x, y))`` for every target; jump to ``y`` if exactly one jump occurred,
    otherwise (no jump, or several — which have no meaning for unordered classes) stay.
    ``exponential``: jump with probability ``1 - exp(-h lambda)``, ``lambda = sum_y R(x, y)``, to
    ``y`` with probability ``R(x, y) / lambda`` (first-jump form; always a valid distribution)."""
    rates = rates.clamp_min(0)
    if jump == "poisson":
        lam = (rates * h).float()
        gen_dev = generator.device if generator is not None else lam.device
        counts = torch.poisson(lam.to(gen_dev), generator=generator).to(lam.device)
        one = counts.sum(-1) == 1
        return torch.where(one, counts.argmax(-1), x)
    lam = rates.sum(-1)
    p_jump = 1 - torch.exp(-h * lam)
    dest = _categorical(rates, generator)
    gen_dev = generator.device if generator is not None else x.device
    u = torch.rand(x.shape, generator=generator, device=gen_dev).to(x.device)
    return torch.where((u < p_jump) & (lam > 0), dest, x)


def _tempered(denoiser: Denoiser, temperature: float) -> Denoiser:
    """``denoiser`` with its x0 logits divided by ``temperature``: ``p(x0 | x_t)^(1/T)``, renormalised.
    ``T < 1`` sharpens every prediction (more confident, typically more valid and less diverse
    samples); ``T = 1`` is the model itself."""
    T = _positive_finite("temperature", temperature)
    if T == 1.0:
        return denoiser

    def tempered(state: Any, t: Tensor) -> Any:
        out = denoiser(state, t)
        return type(out)(o / T for o in out) if isinstance(out, (tuple, list)) else out / T

    return tempered


def _check_guidance(guidance: float) -> float:
    g = float(guidance)
    if not 0 <= g < float("inf"):
        raise ValueError(f"target_guidance must be a finite number >= 0, got {guidance!r}")
    return g


def _alpha(comp: Any, t: float) -> float:
    return float(comp.schedule.alpha(torch.tensor(float(t), dtype=torch.float64)))


def _ancestral_step(comp: Any, x: Tensor, p0: Any, s: float, t: float, guidance: float, generator: torch.Generator | None) -> Tensor:
    """``x_s ~ p(x_s | x_t)`` (exact posterior, or its guided form), plus the target-guidance jumps
    when ``guidance > 0``: their probabilities are added off ``x`` and taken from staying (clamped
    at 0, renormalised)."""
    post = guided_transition(comp, x, p0, s, t)
    if guidance > 0:
        jump = (guidance * (_alpha(comp, s) - _alpha(comp, t))) * guidance_rate(comp, x, main_probs(p0), t).to(post.dtype)
        stay = torch.nn.functional.one_hot(x, post.shape[-1]).to(post.dtype)
        post = (post + jump - stay * jump.sum(-1, keepdim=True)).clamp_min(0)
    return _categorical(post, generator)


def _leap_rates(comp: Any, x: Tensor, p0: Any, t: float, guidance: float) -> Tensor:
    """Model reverse rates at ``t`` (guided when ``p0`` is), plus ``omega beta(t) alpha(t) g_t`` when
    ``guidance > 0``."""
    rates = guided_rates(comp, x, p0, t)
    if guidance > 0:
        tt = torch.tensor(float(t), dtype=torch.float64)
        scale = guidance * float(comp.schedule.rate(tt) * comp.schedule.alpha(tt))
        rates = rates + scale * guidance_rate(comp, x, main_probs(p0), t).to(rates.dtype)
    return rates


def _check(final: str, jump: str | None = None) -> None:
    if final not in _FINALS:
        raise unknown_name("final step", final, _FINALS)
    if jump is not None and jump not in _JUMPS:
        raise unknown_name("jump rule", jump, _JUMPS)


def _run(
    process: Any,
    denoiser: Denoiser,
    x: Any,
    times: Tensor,
    step: Callable[[int, Any, list[Tensor], float, float, list[Tensor], list[Tensor]], tuple[list[Tensor], int]],
    final: str,
    generator: torch.Generator | None,
    callback: Callable[[CTMCStepInfo], None] | None,
    return_trajectory: bool,
    guide: CTMCGuide | None = None,
    known: tuple[Any, Any] | None = None,
) -> CTMCSampleOutput:
    parts, masks = process.split(x)
    B = parts[0].shape[0]
    device = parts[0].device
    clamp = None
    if known is not None:  # inpainting: the known coordinates are held at their values throughout
        values, which = known
        kv, _ = process.split(values)
        km, _ = process.split(which)
        clamp = [(v.to(device).long(), (k.to(device).bool() & m)) for v, k, m in zip(kv, km, masks)]
        parts = [torch.where(k, v, xp) for (v, k), xp in zip(clamp, parts)]
        x = process.join(parts, x)
    state = x
    nfe = 0
    traj = [x] if return_trajectory else None
    n = times.numel() - 1
    for i in range(n):
        t, s = float(times[i]), float(times[i + 1])
        probs = _predict(process, denoiser, state, t, B, device, guide)
        nfe += 1 if guide is None else guide.calls
        if i == n - 1 and final != "none":
            new = [_final(c, xc, pc, t, final, generator) for c, xc, pc in zip(process.components, parts, probs)]
        else:
            new, extra = step(i, state, parts, t, s, probs, masks)
            nfe += extra
        parts = [torch.where(m, xn, xo) for xn, xo, m in zip(new, parts, masks)]
        if clamp is not None:
            parts = [torch.where(k, v, xp) for (v, k), xp in zip(clamp, parts)]
        state = process.join(parts, x)
        if traj is not None:
            traj.append(state)
        if callback is not None:
            callback(CTMCStepInfo(i=i, t=t, s=s, state=state, x0_probs=[main_probs(p) for p in probs]))
    return CTMCSampleOutput(samples=state, nfe=nfe, trajectory=traj, times=times.tolist())


# ---------------------------------------------------------------------------- samplers
@torch.no_grad()
def sample_ctmc_ancestral(
    process: Any,
    denoiser: Denoiser,
    x: Any,
    *,
    steps: int | None = None,
    times: Tensor | None = None,
    time_power: float = 1.0,
    temperature: float = 1.0,
    target_guidance: float = 0.0,
    guidance_scale: float = 1.0,
    uncond_denoiser: Denoiser | None = None,
    log_tilt: Callable[[Any, Tensor], list[Tensor]] | None = None,
    tilt_scale: float = 0.0,
    known: tuple[Any, Any] | None = None,
    guidance: float | None = None,
    final: str = "sample",
    generator: torch.Generator | None = None,
    callback: Callable[[CTMCStepInfo], None] | None = None,
    return_trajectory: bool = False,
) -> CTMCSampleOutput:
    """Exact-posterior (ancestral) sampler: ``x_s ~ sum_x0 q(x_s | x_t, x0) p_theta(x0 | x_t)``
    per coordinate with the closed-form transitions (Austin et al. 2021; DiGress, Vignac et al.
    2023, eq. 4; Campbell et al. 2022 App. B). ``x`` is the starting state (a prior sample);
    one denoiser call per step. Exact for any step count when coordinates are independent given
    ``x_t`` under the data (the factorised posterior is then exact)."""
    _check(final)
    denoiser, guide, omega, times = _setup(process, denoiser, x, steps, times, time_power, temperature, target_guidance,
                                           guidance, guidance_scale, uncond_denoiser, log_tilt, tilt_scale)

    def step(i, state, parts, t, s, probs, masks):
        out = [_ancestral_step(c, xc, pc, s, t, omega, generator) for c, xc, pc in zip(process.components, parts, probs)]
        return out, 0

    return _run(process, denoiser, x, times, step, final, generator, callback, return_trajectory, guide, known)


@torch.no_grad()
def sample_ctmc_tau_leaping(
    process: Any,
    denoiser: Denoiser,
    x: Any,
    *,
    steps: int | None = None,
    times: Tensor | None = None,
    time_power: float = 1.0,
    temperature: float = 1.0,
    target_guidance: float = 0.0,
    guidance_scale: float = 1.0,
    uncond_denoiser: Denoiser | None = None,
    log_tilt: Callable[[Any, Tensor], list[Tensor]] | None = None,
    tilt_scale: float = 0.0,
    known: tuple[Any, Any] | None = None,
    guidance: float | None = None,
    jump: str = "poisson",
    final: str = "sample",
    generator: torch.Generator | None = None,
    callback: Callable[[CTMCStepInfo], None] | None = None,
    return_trajectory: bool = False,
) -> CTMCSampleOutput:
    """Tau-leaping (Campbell et al. 2022, Sec. 4.1): hold the reverse rates
    :func:`~graphdiff.processes.ctmc.reverse_rate` fixed over ``[s, t]`` and apply all jumps in
    parallel, at most one per coordinate (``jump="poisson"`` rejects multiple Poisson jumps;
    ``"exponential"`` uses the first-jump form, see :func:`_leap`)."""
    _check(final, jump)
    denoiser, guide, omega, times = _setup(process, denoiser, x, steps, times, time_power, temperature, target_guidance,
                                           guidance, guidance_scale, uncond_denoiser, log_tilt, tilt_scale)

    def step(i, state, parts, t, s, probs, masks):
        out = [_leap(_leap_rates(c, xc, pc, t, omega), xc, t - s, jump, generator) for c, xc, pc in zip(process.components, parts, probs)]
        return out, 0

    return _run(process, denoiser, x, times, step, final, generator, callback, return_trajectory, guide, known)


@torch.no_grad()
def sample_ctmc_predictor_corrector(
    process: Any,
    denoiser: Denoiser,
    x: Any,
    *,
    steps: int | None = None,
    times: Tensor | None = None,
    time_power: float = 1.0,
    temperature: float = 1.0,
    target_guidance: float = 0.0,
    guidance_scale: float = 1.0,
    uncond_denoiser: Denoiser | None = None,
    log_tilt: Callable[[Any, Tensor], list[Tensor]] | None = None,
    tilt_scale: float = 0.0,
    known: tuple[Any, Any] | None = None,
    guidance: float | None = None,
    predictor: str = "tau_leaping",
    corrector_steps: int = 1,
    corrector_step_size: float = 1.0,
    jump: str = "poisson",
    final: str = "sample",
    generator: torch.Generator | None = None,
    callback: Callable[[CTMCStepInfo], None] | None = None,
    return_trajectory: bool = False,
) -> CTMCSampleOutput:
    """Predictor-corrector (Campbell et al. 2022, Sec. 4.2): after each predictor step to ``s``
    (``tau_leaping`` or ``ancestral``), ``corrector_steps`` tau-leaps at the fixed time ``s`` with
    the corrector rates ``R^c_s = Q_s + R^theta_s`` (forward plus reverse rates; ``q_s`` is their
    stationary law), each of length ``corrector_step_size * (t - s)``. Each corrector step costs
    one extra denoiser call."""
    _check(final, jump)
    if predictor not in ("tau_leaping", "ancestral"):
        raise unknown_name("predictor", predictor, ["tau_leaping", "ancestral"])
    denoiser, guide, omega, times = _setup(process, denoiser, x, steps, times, time_power, temperature, target_guidance,
                                           guidance, guidance_scale, uncond_denoiser, log_tilt, tilt_scale)
    B, device = process.split(x)[0][0].shape[0], times.device

    def step(i, state, parts, t, s, probs, masks):
        comps = process.components
        if predictor == "ancestral":
            new = [_ancestral_step(c, xc, pc, s, t, omega, generator) for c, xc, pc in zip(comps, parts, probs)]
        else:
            new = [_leap(_leap_rates(c, xc, pc, t, omega), xc, t - s, jump, generator) for c, xc, pc in zip(comps, parts, probs)]
        new = [torch.where(m, xn, xo) for xn, xo, m in zip(new, parts, masks)]
        extra = 0
        h = corrector_step_size * (t - s)
        for _ in range(corrector_steps):
            cur = process.join(new, state)
            p_s = _predict(process, denoiser, cur, s, B, device, guide)
            extra += guide.calls
            new = [
                torch.where(m, _leap(guided_rates(c, xc, pc, s) + c.forward_rates(xc, s), xc, h, jump, generator), xc)
                for c, xc, pc, m in zip(comps, new, p_s, masks)
            ]
        return new, extra

    return _run(process, denoiser, x, times, step, final, generator, callback, return_trajectory, guide, known)


def _prediction_calls(*, guidance: float | None = None, guidance_scale: float = 1.0, uncond_denoiser: Denoiser | None = None,
                      log_tilt: Callable | None = None, tilt_scale: float = 0.0, **options: Any) -> int:
    """Network calls of one x0 prediction: 1, plus the unconditional pass of classifier-free
    guidance, plus the predictor of predictor guidance."""
    return _guide(guidance, guidance_scale, uncond_denoiser, log_tilt, tilt_scale).calls


def _step_cost(**options: Any) -> StepCost:
    """One prediction per step."""
    _check(options.get("final", "sample"))
    return StepCost(_prediction_calls(**options))


def _pc_cost(*, corrector_steps: int = 1, final: str = "sample", **options: Any) -> StepCost:
    """One predictor prediction plus ``corrector_steps`` corrector predictions per step; with a
    ``final`` read-out the last step runs no correctors."""
    _check(final)
    if int(corrector_steps) < 0:
        raise ValueError(f"corrector_steps must be >= 0, got {corrector_steps}")
    c, k = _prediction_calls(**options), int(corrector_steps)
    return StepCost(c * (1 + k), -c * k if final != "none" else 0)


register_sampler("ancestral", cost=_step_cost, consumes="x0_logits")(sample_ctmc_ancestral)
register_sampler("tau_leaping", cost=_step_cost, consumes="x0_logits")(sample_ctmc_tau_leaping)
register_sampler("predictor_corrector", cost=_pc_cost, consumes="x0_logits", aliases=("pc",))(sample_ctmc_predictor_corrector)
