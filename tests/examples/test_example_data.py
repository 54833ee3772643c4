"""The non-graph demo datasets: shapes, ranges, masks, determinism and exact generative formulas."""

from __future__ import annotations

import math

import pytest
import torch

from graphdiff.examples import (
    PIXEL_LEVELS,
    TONE_FREQUENCIES,
    digits_to_unit,
    dominant_frequencies,
    evaluate_functions,
    irregular_series,
    load_digits,
    synthetic_tones,
)
from graphdiff.states import TensorState


def test_digits_splits_scaling_and_discrete_levels() -> None:
    train, y_train = load_digits("train", return_labels=True)
    test = load_digits("test")
    full = load_digits("all", discrete=True)
    assert train.shape == (1438, 1, 8, 8) and test.shape == (359, 1, 8, 8) and full.shape == (1797, 1, 8, 8)
    assert train.dtype == torch.float32 and full.dtype == torch.long
    assert float(train.min()) == -1.0 and float(train.max()) == 1.0
    assert int(full.min()) == 0 and int(full.max()) == PIXEL_LEVELS - 1
    # the continuous images are exactly level / 8 - 1 and the splits are disjoint and cover "all"
    levels = torch.round((torch.cat([train, test]) + 1) * 8).long()
    assert torch.equal((levels.float() / 8 - 1), torch.cat([train, test]))
    rows = {tuple(r.tolist()) for r in full.flatten(1)}
    assert {tuple(r.tolist()) for r in levels.flatten(1)} <= rows
    assert sorted(torch.bincount(y_train, minlength=10).tolist())[0] > 120  # every class present
    assert torch.equal(load_digits("train"), train)  # fixed split
    assert torch.equal(digits_to_unit(torch.tensor([-1.0, 0.0, 1.0])), torch.tensor([0.0, 0.5, 1.0]))
    assert torch.equal(digits_to_unit(torch.tensor([0, 16])), torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="all, test, train"):
        load_digits("val")


def test_tones_follow_their_formula_and_spectrum() -> None:
    g = torch.Generator().manual_seed(3)
    batch = synthetic_tones(64, length=256, max_tones=3, generator=g, return_components=True)
    assert batch.x.shape == (64, 256) and batch.x.dtype == torch.float32
    assert batch.x.abs().max() <= 1.0
    present = batch.freqs > 0
    assert present.sum(1).min() >= 1 and present.sum(1).max() <= 3
    assert set(batch.freqs[present].tolist()) <= set(TONE_FREQUENCIES)
    # distinct tones in a clip, amplitudes in [0.3, 1] where present and 0 elsewhere
    for f in batch.freqs:
        nz = f[f > 0]
        assert len(set(nz.tolist())) == len(nz)
    assert batch.amps[present].min() >= 0.3 and batch.amps[present].max() <= 1.0 and (batch.amps[~present] == 0).all()
    # single-tone clips: the spectral peak is the tone (bin width 8000 / 4096 Hz)
    single = present.sum(1) == 1
    peak = dominant_frequencies(batch.x[single], k=1)[:, 0]
    assert (peak - batch.freqs[single].max(1).values).abs().max() <= 8000 / 4096
    # the same generator seed gives the same clips
    again = synthetic_tones(64, length=256, max_tones=3, generator=torch.Generator().manual_seed(3))
    assert torch.equal(again, batch.x)
    # energy: a tone of amplitude a has mean square a^2 / 2 (over whole periods, approximately)
    one = synthetic_tones(200, length=2048, max_tones=1, generator=g, return_components=True)
    ms = one.x.double().pow(2).mean(1)
    assert torch.allclose(ms, one.amps[:, 0].double() ** 2 / 2, rtol=0.02)


def test_irregular_series_masks_times_and_values() -> None:
    g = torch.Generator().manual_seed(0)
    s, fns = irregular_series(32, max_len=40, min_len=10, generator=g, return_functions=True)
    assert s.values.shape == s.times.shape == s.mask.shape == (32, 40) and s.mask.dtype == torch.bool
    lengths = s.mask.sum(1)
    assert lengths.min() >= 10 and lengths.max() <= 40
    # real entries first, sorted times in [0, 1], padding is exactly zero
    assert torch.equal(s.mask, torch.arange(40).unsqueeze(0) < lengths.unsqueeze(1))
    for i in range(32):
        t = s.times[i, : lengths[i]]
        assert (t[1:] >= t[:-1]).all() and t.min() >= 0 and t.max() <= 1
    assert (s.values[~s.mask] == 0).all() and (s.times[~s.mask] == 0).all()
    # the observed values are the random-feature curves evaluated at the observation times
    assert torch.allclose(evaluate_functions(fns, s.times)[s.mask], s.values[s.mask])
    state = s.as_tensor_state()
    assert isinstance(state, TensorState) and state.mask is s.mask
    sub = s[torch.tensor([0, 2])]
    assert len(sub) == 2 and torch.equal(sub.values[1], s.values[2])


def test_irregular_series_covariance_is_rbf() -> None:
    """Random Fourier features: Cov(f(a), f(b)) -> exp(-(a-b)^2 / (2 l^2)) (Rahimi & Recht 2007)."""
    g = torch.Generator().manual_seed(1)
    _, fns = irregular_series(4000, max_len=2, min_len=2, n_features=64, lengthscale=0.2, generator=g, return_functions=True)
    grid = torch.tensor([0.0, 0.1, 0.2, 0.4]).expand(4000, 4)
    f = evaluate_functions(fns, grid)
    cov = (f[:, :1] * f).mean(0)
    expected = torch.exp(-(grid[0] ** 2) / (2 * 0.2**2))
    assert torch.allclose(cov, expected, atol=0.08), (cov, expected)
    assert math.isclose(float(f[:, 0].var()), 1.0, abs_tol=0.08)
