"""Flow matching: the exact (marginal) velocity minimises the loss; coupled noise is used as given."""

from __future__ import annotations

import torch

from graphdiff.losses import flow_matching_loss
from graphdiff.processes import GaussianMixture, RectifiedFlow


def test_exact_velocity_minimises():
    gmm = GaussianMixture(torch.tensor([[-2.0, 0.0], [2.0, 1.0]]), 0.3)
    p = RectifiedFlow()
    x0 = gmm.sample(4000, torch.Generator().manual_seed(0))
    v = gmm.velocity_fn(p)
    base = flow_matching_loss(v, p, x0, generator=torch.Generator().manual_seed(1)).loss
    for scale in (0.9, 1.1):
        other = flow_matching_loss(lambda x, t: scale * v(x, t), p, x0, generator=torch.Generator().manual_seed(1)).loss
        assert base < other


def test_coupled_noise_target():
    p = RectifiedFlow()
    x0, z = torch.randn(16, 3), torch.randn(16, 3)
    t = torch.rand(16)
    seen = {}

    def model(xt, tt):
        seen["xt"] = xt
        return torch.zeros_like(xt)

    out = flow_matching_loss(model, p, x0, z=z, t=t)
    torch.testing.assert_close(seen["xt"], p.interpolate(x0, z, t))
    torch.testing.assert_close(out.loss, ((z - x0) ** 2).mean())
