"""The samplers' exact-score cases: a 2-D Gaussian mixture whose score (and velocity) is known in
closed form, and the documented step counts at which each registered sampler must reproduce it.

Every sampler in :data:`graphdiff.samplers.SAMPLERS` has a case in :data:`SAMPLER_CASES` (the
library's tests fail otherwise); a sampler registered by a user gets one with
:func:`add_sampler_case` and is checked with :func:`assert_sampler_reproduces`: mean within 4
standard errors, covariance within 0.3 (Frobenius), energy distance to fresh data below 0.02 (two
independent 2000-sample data sets give ~0.003).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..processes import GaussianMixture, RectifiedFlow, VPSDE, energy_distance, mean_cov_error
from ..processes.base import Process

__all__ = ["GMM", "SAMPLER_CASES", "add_sampler_case", "run_sampler_case", "assert_reproduces", "assert_sampler_reproduces"]

GMM = GaussianMixture(
    means=torch.tensor([[-2.0, 0.0], [2.0, 1.0]]),
    variances=torch.tensor([[0.3, 0.2], [0.2, 0.5]]),
    weights=torch.tensor([0.4, 0.6]),
)

N = 2000
ED_MAX = 0.02
COV_MAX = 0.3

#: sampler name -> (steps, extra options); NFE follows from these (see each sampler's docstring)
SAMPLER_CASES: dict[str, tuple[int, dict[str, Any]]] = {
    "euler_maruyama": (300, {}),
    "pc": (100, {"snr": 0.16, "n_corrector": 1}),
    "ode_euler": (150, {}),
    "ode_heun": (25, {}),
    "rk45": (0, {"rtol": 1e-4, "atol": 1e-4}),
    "dpm_solver": (25, {}),
    "ddim": (80, {}),
    "dpm_solver_sde": (50, {}),
    "ddpm": (100, {}),
    "repaint": (100, {"jumps": 2}),
    "flow_euler": (60, {}),
    "flow_heun": (15, {}),
}


def add_sampler_case(name: str, steps: int, **options: Any) -> None:
    """Record the steps (and options) at which sampler ``name`` reproduces the mixture."""
    SAMPLER_CASES[name] = (int(steps), dict(options))


def data(seed: int = 1, n: int = N) -> torch.Tensor:
    """``n`` draws from the mixture."""
    return GMM.sample(n, torch.Generator().manual_seed(seed))


def run_sampler_case(name: str, process: Process | None = None, seed: int = 5) -> torch.Tensor:
    """Samples of sampler ``name`` at its case's steps, fed the mixture's exact score (VP SDE by
    default) or velocity (rectified flow, for samplers that consume a velocity)."""
    from ..samplers import SAMPLERS, sample

    steps, options = SAMPLER_CASES[name]
    velocity = SAMPLERS.get(name).consumes == "velocity"
    proc = process if process is not None else (RectifiedFlow() if velocity else VPSDE())
    fn = GMM.velocity_fn(proc) if velocity else GMM.score_fn(proc)
    out = sample(proc, fn, data(), method=name, parametrization="velocity" if velocity else "score", steps=steps,
                 generator=torch.Generator().manual_seed(seed), **options)
    assert out.samples.shape == (N, 2)
    return out.samples


def assert_reproduces(x: torch.Tensor, what: str) -> None:
    """Raise ``AssertionError`` unless the samples ``x`` ``(N, 2)`` reproduce the mixture."""
    mean_err, cov_err = mean_cov_error(x, GMM.mean(), GMM.covariance())
    ed = energy_distance(x, data(11))
    se = math.sqrt(float(torch.trace(GMM.covariance())) / x.shape[0])
    assert torch.isfinite(x).all(), what
    assert mean_err < 4 * se, f"{what}: mean error {mean_err:.3f} > {4 * se:.3f}"
    assert cov_err < COV_MAX, f"{what}: covariance error {cov_err:.3f}"
    assert ed < ED_MAX, f"{what}: energy distance {ed:.4f}"


def assert_sampler_reproduces(name: str, process: Process | None = None) -> None:
    """Run sampler ``name``'s case (:func:`run_sampler_case`) and check the samples."""
    assert_reproduces(run_sampler_case(name, process), f"{process!r}/{name}")
