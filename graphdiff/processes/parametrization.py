"""The ONE place where a network's output is converted between parametrisations.

With ``x_t = alpha x_0 + sigma eps`` (any Gaussian perturbation process), a network may predict

* ``"eps"``   — the noise ``eps`` (Ho et al. 2020),
* ``"score"`` — ``grad log p_t = -eps / sigma`` (Song et al. 2021),
* ``"x0"``    — the clean data ``x_0``,
* ``"v"``     — ``v = alpha eps - sigma x_0`` (Salimans & Ho 2022, Eq. before App. D; valid for any
  ``alpha, sigma``: ``x_0 = (alpha x_t - sigma v) / (alpha^2 + sigma^2)``),
* ``"velocity"`` — the flow velocity ``dx_t/dt = alpha' x_0 + sigma' eps`` (rectified flow /
  flow matching; ``z - x_0`` for :class:`~graphdiff.processes.flow.RectifiedFlow`).

Every conversion goes through the pair ``(x0, eps)``: :func:`to_x0_eps` solves for it and
:func:`from_x0_eps` maps it to any target. Coefficients broadcast with :func:`graphdiff.utils.bcast`,
so all functions are shape-agnostic and work with per-entry (product-process) coefficients.
"""

from __future__ import annotations

from typing import Callable

from torch import Tensor

from ..errors import unknown_name
from ..utils import bcast
from .base import Process

__all__ = ["PARAMETRIZATIONS", "to_x0_eps", "from_x0_eps", "convert", "to_score", "to_eps", "to_x0", "as_score_fn", "as_fn"]

PARAMETRIZATIONS = ("eps", "score", "x0", "v", "velocity")
ModelFn = Callable[[Tensor, Tensor], Tensor]


def _check(name: str) -> None:
    if name not in PARAMETRIZATIONS:
        raise unknown_name("parametrization", name, PARAMETRIZATIONS)


def to_x0_eps(output: Tensor, x_t: Tensor, t: Tensor, process: Process, parametrization: str) -> tuple[Tensor, Tensor]:
    """``(x0_hat, eps_hat)`` implied by a network ``output`` of the given parametrisation."""
    _check(parametrization)
    a, s = bcast(process.alpha(t), x_t), bcast(process.sigma(t), x_t)
    if parametrization == "eps":
        eps = output
        return (x_t - s * eps) / a, eps
    if parametrization == "score":
        eps = -s * output
        return (x_t - s * eps) / a, eps
    if parametrization == "x0":
        return output, (x_t - a * output) / s
    if parametrization == "v":
        n = a**2 + s**2
        return (a * x_t - s * output) / n, (s * x_t + a * output) / n
    # velocity: [x_t; u] = [[a, s], [a', s']] [x0; eps]
    da, ds = bcast(process.d_alpha(t), x_t), bcast(process.d_sigma(t), x_t)
    det = a * ds - s * da
    return (ds * x_t - s * output) / det, (a * output - da * x_t) / det


def from_x0_eps(x0: Tensor, eps: Tensor, t: Tensor, process: Process, parametrization: str) -> Tensor:
    """Express ``(x0, eps)`` in the given parametrisation (also the regression target)."""
    _check(parametrization)
    if parametrization == "eps":
        return eps
    if parametrization == "x0":
        return x0
    s = bcast(process.sigma(t), eps)
    if parametrization == "score":
        return -eps / s
    a = bcast(process.alpha(t), eps)
    if parametrization == "v":
        return a * eps - s * x0
    da, ds = bcast(process.d_alpha(t), eps), bcast(process.d_sigma(t), eps)
    return da * x0 + ds * eps


def convert(output: Tensor, x_t: Tensor, t: Tensor, process: Process, source: str, target: str) -> Tensor:
    """Convert ``output`` from parametrisation ``source`` to ``target``."""
    _check(target)
    if source == target:
        return output
    if source == "eps" and target == "score":
        return -output / bcast(process.sigma(t), output)
    if source == "score" and target == "eps":
        return -output * bcast(process.sigma(t), output)
    x0, eps = to_x0_eps(output, x_t, t, process, source)
    return from_x0_eps(x0, eps, t, process, target)


def to_score(output: Tensor, x_t: Tensor, t: Tensor, process: Process, parametrization: str) -> Tensor:
    return convert(output, x_t, t, process, parametrization, "score")


def to_eps(output: Tensor, x_t: Tensor, t: Tensor, process: Process, parametrization: str) -> Tensor:
    return convert(output, x_t, t, process, parametrization, "eps")


def to_x0(output: Tensor, x_t: Tensor, t: Tensor, process: Process, parametrization: str) -> Tensor:
    return convert(output, x_t, t, process, parametrization, "x0")


def as_fn(model_fn: ModelFn, process: Process, source: str, target: str) -> ModelFn:
    """Wrap ``model_fn(x, t)`` (predicting ``source``) into a function predicting ``target``."""
    _check(source)
    _check(target)
    if source == target:
        return model_fn

    def fn(x: Tensor, t: Tensor) -> Tensor:
        return convert(model_fn(x, t), x, t, process, source, target)

    return fn


def as_score_fn(model_fn: ModelFn, process: Process, parametrization: str) -> ModelFn:
    """``model_fn`` wrapped into a score function for the SDE / ODE samplers."""
    return as_fn(model_fn, process, parametrization, "score")
