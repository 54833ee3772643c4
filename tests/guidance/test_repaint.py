"""RePaint inpainting against a closed form: a correlated 2-D Gaussian under the VP SDE with its
exact score; the first coordinate is known. Every sample keeps it exactly, and the free
coordinate follows the Gaussian conditional law (mean and variance in closed form) once each
step is resampled; without resampling it is visibly off (the known part's draw does not reach it)."""

from __future__ import annotations

import pytest
import torch

from graphdiff.samplers.repaint import forward_transition, sample_repaint
from graphdiff.processes.sde import VPSDE
from graphdiff.samplers import SAMPLERS, sample
from graphdiff.utils import bcast

MU = torch.tensor([0.5, -1.0], dtype=torch.float64)
SIGMA = torch.tensor([[1.0, 0.9], [0.9, 1.0]], dtype=torch.float64)
SDE = VPSDE()
C = 1.5  # the known value of coordinate 0
COND_MEAN = MU[1] + SIGMA[1, 0] / SIGMA[0, 0] * (C - MU[0])
COND_VAR = SIGMA[1, 1] - SIGMA[1, 0] ** 2 / SIGMA[0, 0]


def score(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    a, s = bcast(SDE.alpha(t), x), bcast(SDE.sigma(t), x)
    cov = a[:, :, None] ** 2 * SIGMA + s[:, :, None] ** 2 * torch.eye(2, dtype=x.dtype)
    return -torch.linalg.solve(cov, (x - a * MU)[..., None])[..., 0]


def _run(jumps: int, n: int = 4000, steps: int = 50):
    like = torch.zeros(n, 2, dtype=torch.float64)
    values = torch.zeros_like(like)
    values[:, 0] = C
    which = torch.tensor([True, False]).expand(n, 2)
    return sample(SDE, score, like, method="repaint", parametrization="score", steps=steps, jumps=jumps,
                  known=(values, which), generator=torch.Generator().manual_seed(0))


def test_known_part_is_exact_and_free_part_is_conditional():
    out = _run(jumps=10)
    x = out.samples
    assert (x[:, 0] == C).all()
    se = (COND_VAR / x.shape[0]).sqrt()
    assert abs(x[:, 1].mean() - COND_MEAN) < 4 * se + 0.02, (x[:, 1].mean(), COND_MEAN)
    assert abs(x[:, 1].var() - COND_VAR) < 0.03, (x[:, 1].var(), COND_VAR)
    assert out.nfe == 10 * 49 + 1
    # without resampling the free coordinate lags behind the known one
    plain = _run(jumps=1).samples
    assert (plain[:, 0] == C).all()
    assert abs(plain[:, 1].mean() - COND_MEAN) > 3 * abs(x[:, 1].mean() - COND_MEAN)


def test_forward_transition_matches_the_marginal():
    """x_s ~ q_s(. | x0) then x_t ~ q(x_t | x_s) gives q_t(. | x0)."""
    g = torch.Generator().manual_seed(1)
    x0 = torch.full((20000, 1), 2.0, dtype=torch.float64)
    s, t = torch.full((20000,), 0.2, dtype=torch.float64), torch.full((20000,), 0.6, dtype=torch.float64)
    xs, _ = SDE.sample_marginal(x0, s, generator=g)
    xt = forward_transition(SDE, xs, s, t, g)
    a, sig = SDE.alpha(t[:1]).item(), SDE.sigma(t[:1]).item()
    assert abs(xt.mean().item() - 2.0 * a) < 0.02 and abs(xt.std().item() - sig) < 0.02


def test_cost_and_errors():
    assert SAMPLERS["repaint"].cost(jumps=5).calls(10) == 5 * 9 + 1
    with pytest.raises(ValueError, match="jumps"):
        sample_repaint(SDE, score, torch.zeros(2, 2), steps=3, jumps=0)
    with pytest.raises(ValueError, match="known values have shape"):
        sample_repaint(SDE, score, torch.zeros(2, 2), steps=3, known=(torch.zeros(3, 2), torch.ones(3, 2)))
