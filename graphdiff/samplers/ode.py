"""ODE samplers: the probability-flow ODE of an SDE (Song et al. 2021, Eq. 13) and rectified-flow
velocity fields, integrated with Euler, Heun (2nd order, Karras et al. 2022, Alg. 1) or adaptive
Dormand–Prince RK45 (:mod:`graphdiff.samplers.rk45`).

The generic solvers take any ``ode_fn(x, t) -> dx/dt`` and a decreasing time grid. The ``pf_ode``
helper builds ``ode_fn`` from a process and a score; flow samplers use the velocity directly.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

import torch
from torch import Tensor

from ..processes.base import Process, ScoreFn
from ..utils import apply_mask
from ._common import Recorder, resolve_grid, tvec
from .registry import register_sampler
from .rk45 import odeint_rk45
from .types import Callback, SampleOutput

__all__ = [
    "pf_ode",
    "sample_ode_euler",
    "sample_ode_heun",
    "sample_ode_rk45",
    "sample_pf_ode",
    "sample_flow_euler",
    "sample_flow_heun",
]

OdeFn = Callable[[Tensor, Tensor], Tensor]


def pf_ode(process: Process, score_fn: ScoreFn) -> OdeFn:
    """``(x, t (B,)) -> dx/dt`` of the probability-flow ODE ``f(x, t) - g(t)^2 s(x, t) / 2``."""
    return process.reverse(score_fn, probability_flow=True).drift


@torch.no_grad()
def sample_ode_euler(
    ode_fn: OdeFn,
    x: Tensor,
    ts: Tensor,
    *,
    mask: Tensor | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
) -> SampleOutput:
    """Explicit Euler along ``ts``. NFE = ``len(ts) - 1``."""
    ts = resolve_grid(None, None, ts, x, 0)
    n = ts.numel() - 1
    x = apply_mask(x, mask)
    rec = Recorder(x, ts[0], n, callback, return_trajectory)
    for i in range(n):
        d = ode_fn(x, tvec(ts[i], x))
        rec.nfe += 1
        x = apply_mask(x + (ts[i + 1] - ts[i]) * d, mask)
        rec(i, ts[i + 1], x)
    return SampleOutput(samples=x, nfe=rec.nfe, trajectory=rec.traj, times=rec.times)


@torch.no_grad()
def sample_ode_heun(
    ode_fn: OdeFn,
    x: Tensor,
    ts: Tensor,
    *,
    mask: Tensor | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
) -> SampleOutput:
    """Heun's 2nd-order method (explicit trapezoid) along ``ts``. NFE = ``2 (len(ts) - 1)``."""
    ts = resolve_grid(None, None, ts, x, 0)
    n = ts.numel() - 1
    x = apply_mask(x, mask)
    rec = Recorder(x, ts[0], n, callback, return_trajectory)
    for i in range(n):
        dt = ts[i + 1] - ts[i]
        d1 = ode_fn(x, tvec(ts[i], x))
        x_e = apply_mask(x + dt * d1, mask)
        d2 = ode_fn(x_e, tvec(ts[i + 1], x))
        rec.nfe += 2
        x = apply_mask(x + dt * 0.5 * (d1 + d2), mask)
        rec(i, ts[i + 1], x)
    return SampleOutput(samples=x, nfe=rec.nfe, trajectory=rec.traj, times=rec.times)


@torch.no_grad()
def sample_ode_rk45(
    ode_fn: OdeFn,
    x: Tensor,
    t_start: float,
    t_end: float,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    mask: Tensor | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
    backend: str = "own",
) -> SampleOutput:
    """Adaptive Dormand–Prince from ``t_start`` to ``t_end``; NFE is whatever the tolerance needs."""
    x = apply_mask(x, mask)
    B = x.shape[0]

    def fn(y: Tensor, t: Tensor) -> Tensor:
        return apply_mask(ode_fn(y, t.expand(B)), mask)

    rec = Recorder(x, t_start, -1, callback, return_trajectory)

    def on_step(i: int, t: float, y: Tensor, nfe: int) -> None:
        rec.nfe = nfe
        rec(i, t, y)

    sol = odeint_rk45(fn, x, float(t_start), float(t_end), rtol=rtol, atol=atol, step_callback=on_step, backend=backend)
    return SampleOutput(samples=apply_mask(sol.y, mask), nfe=sol.nfe, trajectory=rec.traj, times=rec.times)


def sample_pf_ode(
    process: Process,
    score_fn: ScoreFn,
    x: Tensor,
    *,
    method: str = "heun",
    steps: int = 50,
    ts: Tensor | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
) -> SampleOutput:
    """Probability-flow ODE sampling with ``method`` in ``("euler", "heun", "rk45")``; deterministic
    (``generator`` is accepted for a uniform signature and unused)."""
    fn = pf_ode(process, score_fn)
    if method == "rk45":
        return sample_ode_rk45(fn, x, process.T, process.eps, rtol=rtol, atol=atol, mask=mask, callback=callback, return_trajectory=return_trajectory)
    grid = resolve_grid(process, steps, ts, x, 50)
    if method == "euler":
        return sample_ode_euler(fn, x, grid, mask=mask, callback=callback, return_trajectory=return_trajectory)
    if method == "heun":
        return sample_ode_heun(fn, x, grid, mask=mask, callback=callback, return_trajectory=return_trajectory)
    raise ValueError(f"unknown ODE method {method!r}; valid choices: euler, heun, rk45")


def _flow_grid(process: Process | None, steps: int, ts: Tensor | None, x: Tensor) -> Tensor:
    if ts is not None or process is not None:
        return resolve_grid(process, steps, ts, x, steps)
    return torch.linspace(1.0, 0.0, steps + 1, dtype=x.dtype, device=x.device)


def sample_flow_euler(
    velocity_fn: OdeFn,
    x: Tensor,
    *,
    steps: int = 50,
    ts: Tensor | None = None,
    process: Process | None = None,
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
) -> SampleOutput:
    """Rectified-flow sampling: Euler on ``dx/dt = v(x, t)`` from ``t = 1`` (noise) to ``t = 0``
    (Liu et al. 2022, Sec. 2). NFE = ``steps``."""
    return sample_ode_euler(velocity_fn, x, _flow_grid(process, steps, ts, x), mask=mask, callback=callback, return_trajectory=return_trajectory)


def sample_flow_heun(
    velocity_fn: OdeFn,
    x: Tensor,
    *,
    steps: int = 25,
    ts: Tensor | None = None,
    process: Process | None = None,
    mask: Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    return_trajectory: bool = False,
) -> SampleOutput:
    """Rectified-flow sampling with Heun's method. NFE = ``2 steps``."""
    return sample_ode_heun(velocity_fn, x, _flow_grid(process, steps, ts, x), mask=mask, callback=callback, return_trajectory=return_trajectory)


def _flow(sampler: Callable[..., SampleOutput]) -> Callable[..., SampleOutput]:
    """A flow sampler in the registry's ``(process, model_fn, x, **kw)`` signature."""

    def run(process: Process, velocity_fn: OdeFn, x: Tensor, **kwargs: Any) -> SampleOutput:
        return sampler(velocity_fn, x, process=process, **kwargs)

    return run


register_sampler("ode_euler", cost=1)(partial(sample_pf_ode, method="euler"))
register_sampler("ode_heun", cost=2)(partial(sample_pf_ode, method="heun"))
register_sampler("rk45", cost=lambda **options: None)(partial(sample_pf_ode, method="rk45"))  # adaptive
register_sampler("flow_euler", cost=1, consumes="velocity")(_flow(sample_flow_euler))
register_sampler("flow_heun", cost=2, consumes="velocity")(_flow(sample_flow_heun))
