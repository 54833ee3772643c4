"""LSGM wrapper: the bound's terms, a closed-form case, end-to-end training and sampling."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.distributions import Categorical, Independent

from graphdiff.examples.lsgm_digits import build_lsgm, decode_levels, train_lsgm
from graphdiff.examples import load_digits
from graphdiff.latent import LatentScoreModel

pytest.importorskip("sklearn")


class _StdNormalEncoder(nn.Module):
    """q(z | x) = N(0, I) whatever x is (shape (B, 2, 4, 4))."""

    def forward(self, x):
        z = torch.zeros(x.shape[0], 2, 4, 4)
        return z, z


class _UniformDecoder(nn.Module):
    def forward(self, z):
        return Independent(Categorical(logits=torch.zeros(z.shape[0], 1, 8, 8, 17)), 3)


class _Zero(nn.Module):
    def forward(self, z, t):
        return torch.zeros_like(z)


def test_bound_is_exact_for_a_standard_normal_posterior_and_prior():
    """q(z|x) = N(0, I), decoder uniform over 17 levels, mixed prior with a -> 0 (the exact
    N(0, I) score): reconstruction = 64 ln 17, -H(q) + CE(q || p) -> 0, so the bound is 64 ln 17."""
    m = LatentScoreModel(_StdNormalEncoder(), _UniformDecoder(), _Zero(), latent_shape=(2, 4, 4), data_dims=64, mix_init=-40.0)
    x = torch.zeros(512, 1, 8, 8, dtype=torch.long)
    out = m.bound(x, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out.reconstruction, torch.full((512,), 64 * math.log(17)))
    torch.testing.assert_close(out.neg_entropy, torch.full((512,), -16 * math.log(2 * math.pi * math.e)))
    gap = float((out.neg_entropy + out.cross_entropy).mean().detach())
    assert abs(gap) < 0.05 * 32, gap  # within 0.05 nats per latent dimension
    assert abs(float(out.nelbo.mean().detach()) - 64 * math.log(17)) < 1.6


def test_bound_terms_finite_and_signed():
    m = build_lsgm(vae_channels=8, score_channels=16, depth=1)
    x = load_digits("train", discrete=True)[:32]
    out = m.bound(x, generator=torch.Generator().manual_seed(0))
    for name in ("nelbo", "reconstruction", "neg_entropy", "cross_entropy", "diffusion", "prior", "latent_reconstruction", "bpd"):
        v = getattr(out, name)
        assert v.shape == (32,) and torch.isfinite(v).all(), name
    assert (out.reconstruction > 0).all()  # -log of a discrete probability
    assert (out.diffusion >= 0).all() and (out.prior >= 0).all()  # weighted squares, a KL
    torch.testing.assert_close(out.nelbo, out.reconstruction + out.neg_entropy + out.cross_entropy)
    torch.testing.assert_close(out.cross_entropy, out.diffusion + out.prior + out.latent_reconstruction)
    torch.testing.assert_close(out.bpd, out.nelbo / (64 * math.log(2)))
    # the bound bounds a discrete NLL: positive on average
    assert float(out.nelbo.mean()) > 0
    out.loss.backward()
    grads = [p.grad for p in m.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert float(m.encoder.net[0].weight.grad.abs().sum()) > 0  # end to end: the encoder learns


def test_seconds_long_training_lowers_the_bound_and_samples_decode():
    data = load_digits("train", discrete=True)[:256]
    m = build_lsgm(vae_channels=8, score_channels=16, depth=1, seed=0)
    g = torch.Generator().manual_seed(0)
    before = float(m.evaluate_bound(data, samples=2, generator=g).mean())
    train_lsgm(m, steps=60, batch_size=64, lr=3e-3, data=data)
    after = float(m.evaluate_bound(data, samples=2, generator=torch.Generator().manual_seed(0)).mean())
    assert after < before - 0.1 * 64, (before, after)
    x = m.sample(6, steps=5, generator=torch.Generator().manual_seed(1), decode=decode_levels)
    assert x.shape == (6, 1, 8, 8) and torch.isfinite(x).all() and x.min() >= -1 and x.max() <= 1
    a = m.sample_latents(3, steps=5, generator=torch.Generator().manual_seed(2))
    b = m.sample_latents(3, steps=5, generator=torch.Generator().manual_seed(2))
    assert a.shape == (3, 2, 4, 4) and torch.equal(a, b)
    with pytest.raises(ValueError, match="valid choices"):
        m.sample_latents(2, method="flow_euler")
