"""Classifier-free guidance for the SDE family: score mixing against the exact scores of a 1-D
two-component Gaussian mixture under the VP SDE (conditional marginals are Gaussian in closed form)."""

from __future__ import annotations

import pytest
import torch

from graphdiff.guidance.sde import classifier_free_model
from graphdiff.processes.sde import VPSDE
from graphdiff.samplers import sample

MEANS, STD = torch.tensor([-2.0, 2.0], dtype=torch.float64), 0.5
SDE = VPSDE()


def _moments(t: torch.Tensor):
    a = SDE.alpha(t).double().reshape(-1, 1)
    s = SDE.sigma(t).double().reshape(-1, 1)
    return a * MEANS, a**2 * STD**2 + s**2  # (B, 2) means, (B, 1) variances of x_t | y


def _log_joint(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    mu, var = _moments(t)
    return -0.5 * (x - mu) ** 2 / var - 0.5 * torch.log(var) + torch.log(torch.tensor(0.5, dtype=torch.float64))


def cond_score(x, t):  # y = 1, the component at +2
    mu, var = _moments(t)
    return -(x - mu[:, 1:]) / var


def uncond_score(x, t):
    mu, var = _moments(t)
    r = torch.softmax(_log_joint(x, t), -1)
    return (r * (-(x - mu) / var)).sum(-1, keepdim=True)


def test_mixed_score_is_the_tilted_score():
    """uncond + w (cond - uncond) = grad log p_t(x) + w grad log p_t(y | x), the latter by autograd."""
    x = torch.linspace(-4, 4, 41, dtype=torch.float64)[:, None].requires_grad_(True)
    t = torch.full((41,), 0.4, dtype=torch.float64)
    log_post = torch.log_softmax(_log_joint(x, t), -1)[:, 1].sum()
    (g,) = torch.autograd.grad(log_post, x)
    for w in (0.0, 1.0, 3.0):
        got = classifier_free_model(cond_score, uncond_score, w)(x.detach(), t)
        torch.testing.assert_close(got, uncond_score(x.detach(), t) + w * g)
    assert classifier_free_model(cond_score, uncond_score, 1.0) is cond_score
    with pytest.raises(ValueError, match="guidance_scale"):
        classifier_free_model(cond_score, uncond_score, -1.0)


@pytest.mark.parametrize("w", [0.0, 1.0, 4.0])
def test_guided_sampling_on_the_mixture(w):
    g = torch.Generator().manual_seed(0)
    like = torch.zeros(3000, 1, dtype=torch.float64)
    out = sample(SDE, classifier_free_model(cond_score, uncond_score, w), like, method="euler_maruyama",
                 parametrization="score", steps=300, generator=g)
    x = out.samples[:, 0]
    pos = (x > 0).double().mean().item()
    if w == 0.0:  # the data law: both modes
        assert abs(pos - 0.5) < 0.05
    elif w == 1.0:  # the conditional law N(2, 0.5^2)
        assert pos > 0.99 and abs(x.mean().item() - 2.0) < 0.05 and abs(x.std().item() - STD) < 0.05
    else:  # guidance beyond 1: all in the target mode, pushed away from the other one
        assert pos > 0.995 and x.mean().item() > 2.0


def test_conditional_graph_sde_model():
    """A small continuous graph model with a label condition: guidance doubles the calls, w = 0 is
    the null condition."""
    import numpy as np

    from graphdiff.guidance import ConditionSpec
    from graphdiff.guidance.training import make_conditional
    from graphdiff.pipelines import load_pretrained

    pipe = load_pretrained("community_small_sde")
    make_conditional(pipe, ConditionSpec.from_data(["communities"], np.array([[0.0], [1.0], [2.0]]), kinds=["label"]))
    torch.manual_seed(0)
    torch.nn.init.normal_(pipe.network.conditioning.cond_mlp.net[-1].weight, std=0.3)
    kw = dict(steps=4, seed=0, num_nodes=[12] * 3)
    a = pipe.sample(3, condition={"communities": 2}, guidance_scale=2.0, **kw)
    assert a.nfe_per_graph == 2 * pipe.sample(3, condition={"communities": 2}, guidance_scale=1.0, **kw).nfe_per_graph
    null = pipe.sample(3, condition={"communities": 2}, guidance_scale=0.0, **kw)
    plain = pipe.sample(3, **kw)
    assert torch.equal(null.state.A, plain.state.A)
    with pytest.raises(ValueError, match=r"integer in \[0, 3\)"):
        pipe.sample(3, condition={"communities": 3}, **kw)
