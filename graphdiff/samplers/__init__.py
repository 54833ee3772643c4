"""Samplers: plain functions (after k-diffusion) that use only the process interface, work on any
``(B, ...)`` tensor with an optional mask, take ``generator=`` and ``callback=`` and return a
:class:`SampleOutput`.

* :func:`sample_euler_maruyama` — reverse SDE, Euler–Maruyama.
* :func:`sample_pc` — reverse-diffusion predictor + Langevin corrector.
* :func:`sample_pf_ode` — probability-flow ODE with Euler / Heun / adaptive RK45; the generic
  :func:`sample_ode_euler`, :func:`sample_ode_heun`, :func:`sample_ode_rk45` take any ``ode_fn``.
* :func:`sample_dpm_solver`, :func:`sample_ddim` — exponential integrators in log-SNR time;
  :func:`sample_dpm_solver_sde`, :func:`sample_ddpm` — the same for the reverse SDE (``eta``).
* :func:`sample_flow_euler`, :func:`sample_flow_heun` — rectified flow.
* :func:`sample` — one entry point by name: draws the prior and converts the model's
  parametrisation.

Every sampler is registered by name, with the network calls its steps make, in
:mod:`graphdiff.samplers.registry` (:data:`SAMPLERS`; :data:`CTMC_SAMPLERS` for categorical states).

The CTMC samplers live in :mod:`graphdiff.samplers.ctmc`; RePaint inpainting (``"repaint"``) in
:mod:`graphdiff.samplers.repaint`.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..processes.parametrization import as_fn
from ..processes.base import Process
from .ctmc import CTMCSampleOutput, sample_ctmc_ancestral, sample_ctmc_predictor_corrector, sample_ctmc_tau_leaping
from .euler_maruyama import sample_euler_maruyama
from .exponential import logsnr_grid, sample_ddim, sample_ddpm, sample_dpm_solver, sample_dpm_solver_sde
from .ode import pf_ode, sample_flow_euler, sample_flow_heun, sample_ode_euler, sample_ode_heun, sample_ode_rk45, sample_pf_ode
from .pc import langevin_step, sample_pc
from .repaint import forward_transition, sample_repaint
from .registry import CTMC_SAMPLERS, SAMPLERS, SamplerSpec, StepCost, register_sampler, steps_for_nfe
from .rk45 import ODESolution, odeint_rk45
from .types import Callback, SampleOutput, StepInfo

__all__ = [
    "SampleOutput", "StepInfo", "Callback", "SAMPLERS", "sample",
    "SamplerSpec", "StepCost", "register_sampler", "steps_for_nfe",
    "sample_euler_maruyama", "sample_pc", "langevin_step",
    "pf_ode", "sample_pf_ode", "sample_ode_euler", "sample_ode_heun", "sample_ode_rk45",
    "sample_dpm_solver", "sample_ddim", "sample_dpm_solver_sde", "sample_ddpm", "logsnr_grid",
    "sample_repaint", "forward_transition",
    "sample_flow_euler", "sample_flow_heun", "odeint_rk45", "ODESolution",
    "CTMC_SAMPLERS", "CTMCSampleOutput", "sample_ctmc_ancestral", "sample_ctmc_tau_leaping", "sample_ctmc_predictor_corrector",
]


def sample(
    process: Process,
    model_fn: Callable[[Tensor, Tensor], Tensor],
    like: Tensor,
    *,
    method: str = "euler_maruyama",
    parametrization: str = "score",
    steps: int = 100,
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
    temperature: float = 1.0,
    **kwargs,
) -> SampleOutput:
    """Draw a prior sample shaped like ``like`` and run sampler ``method`` (a name in
    :data:`SAMPLERS`) with ``model_fn(x, t)`` predicting ``parametrization`` (``"score"``,
    ``"eps"``, ``"x0"``, ``"v"``, ``"velocity"``). Extra ``kwargs`` go to the sampler
    (``snr``, ``n_corrector``, ``order``, ``rtol``, ``eta``, ``s_noise``, ...). For :class:`ProductProcess`, ``like`` and
    ``mask`` are the packed flat tensors.

    ``temperature`` scales the (zero-mean) prior draw: low-temperature sampling (Kingma & Dhariwal
    2018, Glow, Sec. 5 and Fig. 8). Below 1 it trades diversity for sample fidelity; 1 samples the
    model as trained."""
    spec = SAMPLERS.get(method)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    fn = as_fn(model_fn, process, parametrization, spec.consumes)
    x = process.prior_sample(like, generator=generator, mask=mask)
    if temperature != 1.0:
        x = x * temperature
    return spec.run(process, fn, x, steps=steps, generator=generator, mask=mask, callback=callback,
                    return_trajectory=return_trajectory, **kwargs)
