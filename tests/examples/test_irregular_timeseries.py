"""CSPD example: irregular variable-length data sets, forecast masks, scores and a short training."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.examples.irregular_timeseries import (
    DATASETS, crps, energy_score, load_series, make_noise_process, sample_forecasts, train_forecaster, with_target,
)


@pytest.mark.parametrize("name,channels", [("cir", 1), ("lorenz", 3), ("sine", 1)])
def test_synthetic_sets_are_irregular_variable_length_and_seeded(name, channels):
    d = load_series(name, "train", n=50)
    assert d.values.shape == (50, channels, 48) and d.times.shape == d.mask.shape == (50, 48)
    lengths = d.mask.sum(1)
    assert lengths.min() >= 20 and lengths.max() <= 48 and len(set(lengths.tolist())) > 5
    assert (d.mask[:, :-1] >= d.mask[:, 1:]).all()  # real entries first
    real_pairs = d.mask[:, 1:]
    assert (d.times[:, 1:][real_pairs] > d.times[:, :-1][real_pairs]).all()  # strictly increasing times
    assert not torch.equal(d.times[0], d.times[1])  # each series has its own times
    assert (d.values.transpose(1, 2)[~d.mask] == 0).all() and (d.times[~d.mask] == 0).all()
    assert (d.target & ~d.mask).sum() == 0 and (d.target.sum(1) >= 1).all() and (d.context.sum(1) >= 1).all()
    # the target is the tail of the observed points
    last_ctx = (d.context * torch.arange(48)).max(1).values
    first_tgt = torch.where(d.target, torch.arange(48), torch.full((50, 48), 99)).min(1).values
    assert (last_ctx < first_tgt).all()
    again = load_series(name, "train", n=50)
    assert torch.equal(again.values, d.values)
    assert not torch.equal(load_series(name, "test", n=50).values, d.values)


def test_unknown_names_list_choices():
    with pytest.raises(ValueError, match="valid choices: cir, japanese_vowels, lorenz, sine"):
        load_series("ecg")
    with pytest.raises(ValueError, match="valid choices: gp, gp_nugget, ou, white"):
        make_noise_process("pink")
    d = load_series("sine", n=4)
    with pytest.raises(ValueError, match="inside mask"):
        with_target(d, torch.ones_like(d.mask))


def test_crps_matches_gaussian_closed_form_and_pairwise_definition():
    g = torch.Generator().manual_seed(0)
    mu, sigma, y = 0.3, 0.7, 1.1
    s = mu + sigma * torch.randn(4000, 1, 1, 1, generator=g, dtype=torch.float64)
    z = (y - mu) / sigma
    phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    Phi = 0.5 * (1 + math.erf(z / math.sqrt(2)))
    exact = sigma * (z * (2 * Phi - 1) + 2 * phi - 1 / math.sqrt(math.pi))
    got = float(crps(s, torch.full((1, 1, 1), y, dtype=torch.float64), torch.ones(1, 1, dtype=torch.bool)))
    assert abs(got - exact) < 0.02
    # the sorted-sample identity equals the O(S^2) definition
    x = torch.randn(9, 3, 2, 5, generator=g, dtype=torch.float64)
    yy = torch.randn(3, 2, 5, generator=g, dtype=torch.float64)
    m = torch.rand(3, 5, generator=g) > 0.3
    m[:, 0] = True
    brute = (x - yy).abs().mean(0) - 0.5 * (x[:, None] - x[None]).abs().mean((0, 1))
    mm = m[:, None].expand_as(brute).double()
    torch.testing.assert_close(crps(x, yy, m), (brute * mm).sum((1, 2)) / mm.sum((1, 2)))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), S=st.integers(1, 6))
def test_energy_score_definition_and_point_mass(seed, S):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(S, 2, 3, 4, generator=g, dtype=torch.float64)
    y = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    m = torch.tensor([[True, True, False, False], [True, True, True, True]])
    es = energy_score(x, y, m)
    for b in range(2):
        xs = x[:, b][:, :, m[b]].reshape(S, -1)
        yb = y[b][:, m[b]].reshape(-1)
        ref = (xs - yb).norm(dim=1).mean() - 0.5 * torch.cdist(xs, xs).mean()
        torch.testing.assert_close(es[b], ref)
    point = energy_score(y[None].expand(3, -1, -1, -1), y + 1.0, m)  # all samples equal
    torch.testing.assert_close(point, torch.sqrt(3 * m.sum(1).double()))


@pytest.mark.parametrize("noise", ["white", "gp"])
def test_short_training_and_forecast_shapes(noise):
    data = load_series("sine", "train", n=64)
    net, proc, res = train_forecaster(data, noise, steps=15, batch_size=32, channels=16, depth=2)
    assert len(res.losses) == 15 and all(math.isfinite(v) for v in res.losses)
    test = load_series("sine", "test", n=5)
    s = sample_forecasts(net, proc, test, n_samples=3, steps=4, seed=0)
    assert s.shape == (3, 5, 1, 48)
    ctx = test.context[None, :, None].expand_as(s)
    assert torch.equal(s[ctx], test.values[None].expand_as(s)[ctx])  # the context is kept
    pad = ~test.mask[None, :, None].expand_as(s)
    assert (s[pad] == 0).all() and torch.isfinite(s).all()
    tgt = test.target[None, :, None].expand_as(s)
    assert s[tgt].std() > 0
    again = sample_forecasts(net, proc, test, n_samples=3, steps=4, seed=0)
    assert torch.equal(s, again)


@pytest.mark.slow  # importing sktime takes ~10-20 s on the shared cores
def test_japanese_vowels_loads_offline():
    pytest.importorskip("sktime", reason="the JapaneseVowels loader needs the 'timeseries' extra (sktime)")
    d = load_series("japanese_vowels", "train")
    assert d.values.shape == (270, 12, 29)
    lengths = d.mask.sum(1)
    assert int(lengths.min()) == 7 and int(lengths.max()) <= 29 and len(set(lengths.tolist())) > 5
    real = d.values.transpose(1, 2)[d.mask]  # (n_real, 12)
    torch.testing.assert_close(real.mean(0), torch.zeros(12), atol=1e-4, rtol=0)
    torch.testing.assert_close(real.std(0), torch.ones(12), atol=1e-2, rtol=0)
    assert "japanese_vowels" in DATASETS
