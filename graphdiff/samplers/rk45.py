"""Adaptive Dormand–Prince RK5(4) ODE integration (Dormand & Prince 1980; Hairer, Nørsett & Wanner,
"Solving ODEs I", Sec. II.5 and II.4 for the step-size control).

Our own implementation: one step size shared by the whole batch, error measured as the RMS of
``err / (atol + rtol max(|y|, |y_new|))`` over all entries, first-same-as-last reuse of the last
stage, initial step from Hairer's heuristic. ``torchdiffeq`` is not needed (it is used only when
``backend="torchdiffeq"`` is requested and installed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from .._optional import require

__all__ = ["ODESolution", "odeint_rk45"]

# Dormand–Prince tableau
_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_B5 = (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0)
_B4 = (5179 / 57600, 0.0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40)
_E = tuple(b5 - b4 for b5, b4 in zip(_B5, _B4))

OdeFn = Callable[[Tensor, Tensor], Tensor]
"""``fn(y (B, ...), t (scalar tensor)) -> dy/dt``."""


@dataclass
class ODESolution:
    """``y``: the state at ``t1``; ``nfe``: function evaluations; ``steps``/``rejected``: step counts;
    ``ts``/``ys``: accepted times and states when ``record`` was set."""

    y: Tensor
    nfe: int
    steps: int
    rejected: int
    ts: list[float]
    ys: list[Tensor]


def _rms(x: Tensor) -> Tensor:
    return x.pow(2).mean().sqrt()


def odeint_rk45(
    fn: OdeFn,
    y0: Tensor,
    t0: float,
    t1: float,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    h0: float | None = None,
    max_steps: int = 10_000,
    record: bool = False,
    step_callback: Callable[[int, float, Tensor, int], None] | None = None,
    backend: str = "own",
) -> ODESolution:
    """Integrate ``dy/dt = fn(y, t)`` from ``t0`` to ``t1`` (either direction) adaptively."""
    if backend == "torchdiffeq":
        tde = require("torchdiffeq")
        count = [0]

        def f(t: Tensor, y: Tensor) -> Tensor:
            count[0] += 1
            return fn(y, t)

        ts = torch.tensor([t0, t1], dtype=y0.dtype, device=y0.device)
        ys = tde.odeint(f, y0, ts, rtol=rtol, atol=atol, method="dopri5")
        return ODESolution(y=ys[-1], nfe=count[0], steps=-1, rejected=-1, ts=[t0, t1], ys=[ys[0], ys[-1]] if record else [])
    if backend != "own":
        raise ValueError(f"unknown ODE backend {backend!r}; valid choices: own, torchdiffeq")
    direction = 1.0 if t1 >= t0 else -1.0
    span = abs(t1 - t0)
    y = y0
    t = float(t0)
    dtype, device = y0.dtype, y0.device

    def call(yy: Tensor, tt: float) -> Tensor:
        return fn(yy, torch.tensor(tt, dtype=dtype, device=device))

    k1 = call(y, t)
    nfe = 1
    if h0 is None:  # Hairer's initial step heuristic
        scale = atol + rtol * y.abs()
        d0, d1 = _rms(y / scale), _rms(k1 / scale)
        h = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else float(0.01 * d0 / d1)
        h = min(h, span)
        y1 = y + direction * h * k1
        k2 = call(y1, t + direction * h)
        nfe += 1
        d2 = float(_rms((k2 - k1) / scale)) / h
        h1 = max(1e-6, h * 1e-3) if max(float(d1), d2) <= 1e-15 else (0.01 / max(float(d1), d2)) ** (1 / 5)
        h = min(100 * h, h1, span)
    else:
        h = min(abs(h0), span)
    steps = rejected = 0
    out_ts, out_ys = ([t], [y]) if record else ([], [])
    while direction * (t1 - t) > 1e-12 * max(1.0, span):
        if steps + rejected >= max_steps:
            raise RuntimeError(f"odeint_rk45: more than {max_steps} steps (t={t:.4g}); loosen rtol/atol")
        h = min(h, abs(t1 - t))
        dt = direction * h
        ks = [k1]
        for i in range(1, 7):
            yi = y + dt * sum(a * k for a, k in zip(_A[i], ks) if a != 0.0)
            ks.append(call(yi, t + _C[i] * dt))
        nfe += 6
        y_new = y + dt * sum(b * k for b, k in zip(_B5, ks) if b != 0.0)  # = yi of stage 7 (FSAL)
        err = dt * sum(e * k for e, k in zip(_E, ks) if e != 0.0)
        scale = atol + rtol * torch.maximum(y.abs(), y_new.abs())
        en = float(_rms(err / scale))
        if en <= 1.0:
            t = t + dt
            y = y_new
            k1 = ks[6]
            steps += 1
            if record:
                out_ts.append(t)
                out_ys.append(y)
            if step_callback is not None:
                step_callback(steps - 1, t, y, nfe)
            factor = 5.0 if en == 0 else min(5.0, 0.9 * en ** (-1 / 5))
        else:
            rejected += 1
            factor = max(0.2, 0.9 * en ** (-1 / 5))
        h = h * factor
    return ODESolution(y=y, nfe=nfe, steps=steps, rejected=rejected, ts=out_ts, ys=out_ys)
