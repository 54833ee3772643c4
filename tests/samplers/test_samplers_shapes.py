"""Shape-agnostic samplers: the same code runs on (B, 2), (B, C, H, W), (B, T) and masked (B, T)
tensors; with the exact score of a diagonal Gaussian every entry gets the right mean and std,
and masked entries stay exactly 0 throughout."""

from __future__ import annotations

import math

import pytest
import torch

from graphdiff.processes import GaussianMixture, RectifiedFlow, VPSDE
from graphdiff.samplers import sample

SHAPES = {"vector": (2,), "image": (2, 3, 3), "sequence": (10,)}
METHODS = {"euler_maruyama": 100, "pc": 40, "ode_heun": 15, "rk45": 0, "dpm_solver": 12, "ddim": 30, "flow_euler": 40, "flow_heun": 12}
B = 600


def _gaussian(shape: tuple[int, ...]) -> GaussianMixture:
    D = math.prod(shape)
    g = torch.Generator().manual_seed(D)
    return GaussianMixture(means=torch.randn(1, D, generator=g), variances=0.2 + torch.rand(1, D, generator=g), shape=shape)


def _run(method: str, gauss: GaussianMixture, like: torch.Tensor, mask=None):
    flow = method.startswith("flow")
    proc = RectifiedFlow() if flow else VPSDE()
    fn = gauss.velocity_fn(proc) if flow else gauss.score_fn(proc)
    traj = []
    out = sample(proc, fn, like, method=method, steps=METHODS[method], parametrization="velocity" if flow else "score",
                 mask=mask, generator=torch.Generator().manual_seed(0), callback=lambda info: traj.append(info.x.clone()), rtol=1e-4, atol=1e-4) if method == "rk45" else \
        sample(proc, fn, like, method=method, steps=METHODS[method], parametrization="velocity" if flow else "score",
               mask=mask, generator=torch.Generator().manual_seed(0), callback=lambda info: traj.append(info.x.clone()))
    return out.samples, traj


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("shape", list(SHAPES))
def test_per_entry_moments(method, shape):
    gauss = _gaussian(SHAPES[shape])
    x, _ = _run(method, gauss, torch.zeros((B,) + SHAPES[shape]))
    assert x.shape == (B,) + SHAPES[shape]
    mean = gauss.means[0].reshape(SHAPES[shape]).float()
    std = gauss.variances[0].sqrt().reshape(SHAPES[shape]).float()
    # 5 standard errors of the sample mean / std
    assert ((x.mean(0) - mean).abs() < 5 * std / math.sqrt(B)).all(), (x.mean(0) - mean).abs().max()
    assert ((x.std(0) / std - 1).abs() < 5 / math.sqrt(2 * B)).all(), (x.std(0) / std - 1).abs().max()


@pytest.mark.parametrize("method", list(METHODS))
def test_masked_sequences_stay_zero(method):
    T = SHAPES["sequence"][0]
    gauss = _gaussian((T,))
    lengths = torch.randint(2, T + 1, (B,), generator=torch.Generator().manual_seed(1))
    mask = torch.arange(T)[None] < lengths[:, None]
    x, traj = _run(method, gauss, torch.zeros(B, T), mask)
    assert (x[~mask] == 0).all()
    assert all((step[~mask] == 0).all() for step in traj)
    # real entries still have the right marginal statistics (entry 0 and 1 are always real)
    for j in (0, 1):
        m, s = float(gauss.means[0, j]), float(gauss.variances[0, j].sqrt())
        assert abs(float(x[:, j].mean()) - m) < 5 * s / math.sqrt(B)
