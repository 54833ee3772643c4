"""Deterministic exponential integrators for the probability-flow ODE, in log-SNR time:
DDIM (Song et al. 2021a; its continuous form is the first-order solver of Lu et al. 2022a,
DPM-Solver, Eq. 3.7) and DPM-Solver++(2M) (Lu et al. 2022b, Alg. 2), a second-order multistep
method in the data-prediction form. Also the deterministic gDDIM of Zhang et al. 2023 for these
(scalar-covariance) processes.

With ``lambda = log(alpha / sigma)`` (half the log-SNR) and ``h_i = lambda_{i+1} - lambda_i``, the
exact solution of the PF ODE with the denoiser held fixed over a step is
``x_{i+1} = (sigma_{i+1} / sigma_i) x_i + alpha_{i+1} (1 - e^{-h_i}) D_i`` with ``D_i = x0_hat``
(order 1 = DDIM) or the multistep extrapolation
``D_i = (1 + 1/(2 r_i)) x0_hat_i - 1/(2 r_i) x0_hat_{i-1}``, ``r_i = h_{i-1} / h_i`` (order 2).
Everything is elementwise in ``(alpha, sigma, lambda)``, so per-entry coefficients of a product
process work unchanged. ``x0_hat = (x + sigma^2 s) / alpha`` (Tweedie) from the score.

With ``eta > 0`` the same integrators solve the reverse *SDE* instead (Lu et al. 2022b, Sec. 4,
SDE-DPM-Solver++; the ``eta``-interpolation of k-diffusion's ``sample_dpmpp_2m_sde``): holding the
denoiser fixed, the exact step of the reverse SDE with its noise scaled by ``eta`` is
``x_{i+1} = (sigma_{i+1} / sigma_i) e^{-eta h} x_i + alpha_{i+1} (1 - e^{-(1 + eta) h}) D_i
+ sigma_{i+1} sqrt(1 - e^{-2 eta h}) z``. ``eta = 0`` is the ODE solver above; ``eta = 1`` at order
1 is DDPM's ancestral step. The second-order correction is the midpoint one,
``alpha_{i+1} (1 - e^{-(1 + eta) h}) (x0_hat_i - x0_hat_{i-1}) / (2 r_i)``. The stochastic steps
re-inject noise, which corrects errors the deterministic solver carries to the end (Karras et al.
2022, Sec. 4); the last step is noise-free.

The default grid is uniform in ``lambda`` (found by bisection on the process's monotone
``log_snr``: no process-specific code).
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..processes.base import Process, ScoreFn
from ..utils import apply_mask, bcast
from ._common import Recorder, tvec
from .registry import StepCost, register_sampler
from .types import Callback, SampleOutput

__all__ = ["logsnr_grid", "sample_dpm_solver", "sample_ddim", "sample_dpm_solver_sde", "sample_ddpm"]


def _scalar_log_snr(process: Process, t: Tensor) -> Tensor:
    lam = process.log_snr(t)
    return lam.reshape(lam.shape[0], -1).mean(-1) if lam.dim() > 1 else lam


def logsnr_grid(process: Process, n: int, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
    """``(n + 1,)`` times from ``T`` to ``eps``, uniformly spaced in log-SNR (the DPM-Solver
    "logSNR" spacing), by bisection of the monotone ``process.log_snr``."""
    if n < 1:
        raise ValueError(f"need n >= 1 steps, got {n}")
    ends = torch.tensor([process.T, process.eps], dtype=torch.float64)
    lam_ends = _scalar_log_snr(process, ends)
    targets = torch.linspace(float(lam_ends[0]), float(lam_ends[1]), n + 1, dtype=torch.float64)
    ts = process.time_at_log_snr(targets)
    ts[0], ts[-1] = process.T, process.eps
    return ts.to(device=device, dtype=dtype)



def exponential_step(x: Tensor, D: Tensor, sigma_from: Tensor, sigma_to: Tensor, alpha_to: Tensor, h: Tensor,
                     eta: float = 0.0, noise: Tensor | None = None) -> Tensor:
    """One first-order exponential-integrator step with the denoiser held at ``D`` (module
    docstring): the reverse ODE's exact step for ``eta = 0``, the reverse SDE's with its noise
    scaled by ``eta`` otherwise (then ``noise``, a standard normal draw like ``x``, is required);
    ``h`` is the half log-SNR increment of the step. Shared by the solvers here and RePaint."""
    if eta == 0.0:
        return (sigma_to / sigma_from) * x - alpha_to * torch.expm1(-h) * D
    return ((sigma_to / sigma_from) * torch.exp(-eta * h) * x - alpha_to * torch.expm1(-(1.0 + eta) * h) * D
            + sigma_to * torch.sqrt(-torch.expm1(-2.0 * eta * h)) * noise)

@torch.no_grad()
def sample_dpm_solver(
    process: Process,
    score_fn: ScoreFn,
    x: Tensor,
    *,
    steps: int = 20,
    order: int = 2,
    ts: Tensor | None = None,
    spacing: str = "logsnr",
    lower_order_final: bool = True,
    eta: float = 0.0,
    s_noise: float = 1.0,
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
) -> SampleOutput:
    """DPM-Solver++ (``order=2``, multistep) or DDIM (``order=1``) from ``x`` at ``ts[0]``.

    ``spacing``: ``"logsnr"`` (default) or ``"uniform"`` in ``t``; ``lower_order_final`` uses a
    first-order last step when ``steps < 15`` (Lu et al. 2022b, App. D). ``eta``: 0 (default) is
    deterministic; ``eta > 0`` adds that fraction of the reverse SDE's noise (module docstring;
    1 = the reverse SDE), drawn with ``generator`` through ``process.noise`` and scaled by
    ``s_noise`` (Karras et al. 2022's ``S_noise``; below 1 a low-temperature variant of the
    stochastic steps, like GDSS's ``scale_eps``). NFE = ``steps``.
    Needs ``alpha(t) > 0`` on the grid (not for rectified flow at ``t = 1``)."""
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must be in [0, 1] (0 = ODE, 1 = reverse SDE), got {eta}")
    if not 0.0 <= s_noise < float("inf"):
        raise ValueError(f"s_noise must be a finite number >= 0, got {s_noise}")
    if s_noise != 1.0 and eta == 0.0:
        raise ValueError("s_noise scales the noise of the SDE solver; with eta = 0 (the ODE solver) there is none: "
                         "use sampler 'dpm_solver_sde' / 'ddpm' or pass eta > 0")
    if ts is None:
        if spacing == "logsnr":
            ts = logsnr_grid(process, steps, device=x.device, dtype=x.dtype)
        elif spacing == "uniform":
            ts = process.time_grid(steps, device=x.device, dtype=x.dtype)
        else:
            raise ValueError(f"unknown spacing {spacing!r}; valid choices: logsnr, uniform")
    n = ts.numel() - 1
    x = apply_mask(x, mask)
    rec = Recorder(x, ts[0], n, callback, return_trajectory)
    d_prev = h_prev = None
    for i in range(n):
        s, t = tvec(ts[i], x), tvec(ts[i + 1], x)
        a_s, s_s = bcast(process.alpha(s), x), bcast(process.sigma(s), x)
        a_t, s_t = bcast(process.alpha(t), x), bcast(process.sigma(t), x)
        lam_s, lam_t = 0.5 * bcast(process.log_snr(s), x), 0.5 * bcast(process.log_snr(t), x)
        h = lam_t - lam_s
        d = apply_mask((x + s_s**2 * score_fn(x, s)) / a_s, mask)
        rec.nfe += 1
        use_first = order == 1 or d_prev is None or (lower_order_final and i == n - 1 and n < 15)
        if use_first:
            D = d
        else:
            r = h_prev / h
            D = (1.0 + 0.5 / r) * d - (0.5 / r) * d_prev
        e = eta if i < n - 1 else 0.0
        noise = None if e == 0.0 else s_noise * process.noise(x, generator, mask)
        x = apply_mask(exponential_step(x, D, s_s, s_t, a_t, h, e, noise), mask)
        d_prev, h_prev = d, h
        rec(i, ts[i + 1], x, denoised=d)
    return SampleOutput(samples=x, nfe=rec.nfe, trajectory=rec.traj, times=rec.times)


def sample_ddim(process: Process, score_fn: ScoreFn, x: Tensor, *, steps: int = 50, **kwargs) -> SampleOutput:
    """Deterministic DDIM (eta = 0) = first-order exponential integrator in log-SNR time."""
    return sample_dpm_solver(process, score_fn, x, steps=steps, order=1, **kwargs)


def sample_dpm_solver_sde(process: Process, score_fn: ScoreFn, x: Tensor, *, steps: int = 50, eta: float = 1.0, order: int = 2, **kwargs) -> SampleOutput:
    """SDE-DPM-Solver++(2M): the second-order multistep solver of the reverse SDE (``eta = 1``; a
    smaller ``eta`` injects less noise). Stochastic: pass ``generator``. NFE = ``steps``."""
    return sample_dpm_solver(process, score_fn, x, steps=steps, order=order, eta=eta, **kwargs)


def sample_ddpm(process: Process, score_fn: ScoreFn, x: Tensor, *, steps: int = 100, eta: float = 1.0, **kwargs) -> SampleOutput:
    """DDPM's ancestral sampler (Ho et al. 2020) in log-SNR time = first-order SDE-DPM-Solver++
    (``eta = 1``; DDIM's ``eta`` otherwise). NFE = ``steps``."""
    return sample_dpm_solver(process, score_fn, x, steps=steps, order=1, eta=eta, **kwargs)


def _exponential_cost(*, order: int = 2, **options: object) -> StepCost:
    """One call per step at either order (the second-order solver is multistep)."""
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    return StepCost(1)


register_sampler("dpm_solver", cost=_exponential_cost)(sample_dpm_solver)
register_sampler("ddim", cost=1)(sample_ddim)
register_sampler("dpm_solver_sde", cost=_exponential_cost)(sample_dpm_solver_sde)
register_sampler("ddpm", cost=1)(sample_ddpm)
