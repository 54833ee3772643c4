"""Shared fixtures for the sampler tests: a 2-D Gaussian mixture with its exact score and the
documented step counts at which each sampler must reproduce it."""

from __future__ import annotations

import torch

from graphdiff.processes import GaussianMixture

GMM = GaussianMixture(
    means=torch.tensor([[-2.0, 0.0], [2.0, 1.0]]),
    variances=torch.tensor([[0.3, 0.2], [0.2, 0.5]]),
    weights=torch.tensor([0.4, 0.6]),
)

# method -> (steps, extra kwargs); NFE follows from these (see each sampler's docstring)
SAMPLER_CASES = {
    "euler_maruyama": (300, {}),
    "pc": (100, {"snr": 0.16, "n_corrector": 1}),
    "ode_euler": (150, {}),
    "ode_heun": (25, {}),
    "rk45": (0, {"rtol": 1e-4, "atol": 1e-4}),
    "dpm_solver": (25, {}),
    "ddim": (80, {}),
    "dpm_solver_sde": (50, {}),
    "ddpm": (100, {}),
}
FLOW_CASES = {
    "flow_euler": (60, {}),
    "flow_heun": (15, {}),
}


