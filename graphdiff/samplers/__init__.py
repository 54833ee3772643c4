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

The CTMC samplers live in :mod:`graphdiff.samplers.ctmc`.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ..errors import unknown_name
from ..processes.parametrization import as_fn
from ..processes.base import Process
from .ctmc import CTMC_SAMPLERS, CTMCSampleOutput, sample_ctmc_ancestral, sample_ctmc_predictor_corrector, sample_ctmc_tau_leaping
from .euler_maruyama import sample_euler_maruyama
from .exponential import logsnr_grid, sample_ddim, sample_ddpm, sample_dpm_solver, sample_dpm_solver_sde
from .ode import pf_ode, sample_flow_euler, sample_flow_heun, sample_ode_euler, sample_ode_heun, sample_ode_rk45, sample_pf_ode
from .pc import langevin_step, sample_pc
from .rk45 import ODESolution, odeint_rk45
from .types import Callback, SampleOutput, StepInfo

__all__ = [
    "SampleOutput", "StepInfo", "Callback", "SAMPLERS", "sample",
    "sample_euler_maruyama", "sample_pc", "langevin_step",
    "pf_ode", "sample_pf_ode", "sample_ode_euler", "sample_ode_heun", "sample_ode_rk45",
    "sample_dpm_solver", "sample_ddim", "sample_dpm_solver_sde", "sample_ddpm", "logsnr_grid",
    "sample_flow_euler", "sample_flow_heun", "odeint_rk45", "ODESolution",
    "CTMC_SAMPLERS", "CTMCSampleOutput", "sample_ctmc_ancestral", "sample_ctmc_tau_leaping", "sample_ctmc_predictor_corrector",
]

# name -> (what the sampler consumes: "score" or "velocity")
SAMPLERS = {
    "euler_maruyama": "score",
    "pc": "score",
    "ode_euler": "score",
    "ode_heun": "score",
    "rk45": "score",
    "dpm_solver": "score",
    "ddim": "score",
    "dpm_solver_sde": "score",
    "ddpm": "score",
    "flow_euler": "velocity",
    "flow_heun": "velocity",
}


# the exponential integrators by name: one function, four settings of (order, eta)
_EXPONENTIAL = {"dpm_solver": sample_dpm_solver, "ddim": sample_ddim,
                "dpm_solver_sde": sample_dpm_solver_sde, "ddpm": sample_ddpm}


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
    """Draw a prior sample shaped like ``like`` and run sampler ``method`` (a key of
    :data:`SAMPLERS`) with ``model_fn(x, t)`` predicting ``parametrization`` (``"score"``,
    ``"eps"``, ``"x0"``, ``"v"``, ``"velocity"``). Extra ``kwargs`` go to the sampler
    (``snr``, ``n_corrector``, ``order``, ``rtol``, ``eta``, ``s_noise``, ...). For :class:`ProductProcess`, ``like`` and
    ``mask`` are the packed flat tensors.

    ``temperature`` scales the (zero-mean) prior draw: low-temperature sampling (Kingma & Dhariwal
    2018, Glow, Sec. 5 and Fig. 8). Below 1 it trades diversity for sample fidelity; 1 samples the
    model as trained."""
    if method not in SAMPLERS:
        raise unknown_name("sampler", method, list(SAMPLERS))
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    fn = as_fn(model_fn, process, parametrization, SAMPLERS[method])
    x = process.prior_sample(like, generator=generator, mask=mask)
    if temperature != 1.0:
        x = x * temperature
    common = dict(mask=mask, callback=callback, return_trajectory=return_trajectory)
    if method == "euler_maruyama":
        return sample_euler_maruyama(process, fn, x, steps=steps, generator=generator, **common, **kwargs)
    if method == "pc":
        return sample_pc(process, fn, x, steps=steps, generator=generator, **common, **kwargs)
    if method in ("ode_euler", "ode_heun", "rk45"):
        return sample_pf_ode(process, fn, x, method={"ode_euler": "euler", "ode_heun": "heun", "rk45": "rk45"}[method], steps=steps, **common, **kwargs)
    if method in _EXPONENTIAL:  # each named function holds its own order / eta defaults
        return _EXPONENTIAL[method](process, fn, x, steps=steps, generator=generator, **common, **kwargs)
    if method == "flow_euler":
        return sample_flow_euler(fn, x, steps=steps, process=process, **common, **kwargs)
    return sample_flow_heun(fn, x, steps=steps, process=process, **common, **kwargs)
