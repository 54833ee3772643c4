"""Internal helpers of the sampler loops."""

from __future__ import annotations

import torch
from torch import Tensor

from ..processes.base import Process
from ..utils import as_time
from .types import Callback, StepInfo

__all__ = ["resolve_grid", "Recorder"]


def resolve_grid(process: Process | None, steps: int | None, ts: Tensor | None, like: Tensor, default_steps: int) -> Tensor:
    """The time grid: ``ts`` if given, else ``process.time_grid(steps)`` (on ``like``'s device/dtype)."""
    if ts is not None:
        ts = torch.as_tensor(ts, dtype=like.dtype, device=like.device)
        if ts.dim() != 1 or ts.numel() < 2:
            raise ValueError(f"ts must be a 1-D grid with at least 2 times, got shape {tuple(ts.shape)}")
        return ts
    if process is None:
        raise ValueError("pass ts (a time grid) or a process to build one")
    return process.time_grid(steps or default_steps, device=like.device, dtype=like.dtype)


class Recorder:
    """Keeps the optional trajectory and calls the callback."""

    def __init__(self, x: Tensor, t0: float, n: int, callback: Callback | None, trajectory: bool):
        self.callback = callback
        self.n = n
        self.traj = [x.detach().clone()] if trajectory else None
        self.times = [float(t0)]
        self.nfe = 0

    def __call__(self, i: int, t: float, x: Tensor, denoised: Tensor | None = None) -> None:
        self.times.append(float(t))
        if self.traj is not None:
            self.traj.append(x.detach().clone())
        if self.callback is not None:
            self.callback(StepInfo(step=i, num_steps=self.n, t=float(t), x=x, nfe=self.nfe, denoised=denoised))


def tvec(t: Tensor, x: Tensor) -> Tensor:
    """A scalar grid time as a ``(B,)`` tensor for ``x``."""
    return as_time(t, x.shape[0], x)
