"""The tensor-state diffusion core drives images, audio and masked time series unchanged: short
training runs of :mod:`graphdiff.examples.recipes` learn (the loss falls) and sample with the
right shapes, finite values and masks respected."""

from __future__ import annotations

import pytest
import torch

from graphdiff.examples import irregular_series
from graphdiff.examples.recipes import (
    PROCESSES, diffusion_loss, make_process, sample_digits, sample_series, sample_tones,
    train_digits, train_series, train_tones,
)


def _falls(losses: list[float], k: int = 10) -> bool:
    return sum(losses[-k:]) / k < 0.8 * sum(losses[:k]) / k


@pytest.mark.parametrize("process", PROCESSES)
def test_digits_train_and_sample(process: str) -> None:
    model = train_digits(steps=40, process=process, channels=8, batch_size=32, seed=0)
    assert model.result.final_step == 40 and _falls(model.result.losses)
    assert model.parametrization == {"vp": "eps", "flow": "velocity"}[process]
    x = sample_digits(model, 6, steps=8, seed=1)
    assert x.shape == (6, 1, 8, 8) and torch.isfinite(x).all()
    assert torch.equal(x, sample_digits(model, 6, steps=8, seed=1))  # seeded
    assert not torch.equal(x, sample_digits(model, 6, steps=8, seed=2))


def test_tones_train_and_sample() -> None:
    model = train_tones(steps=40, process="vp", n_clips=128, length=128, channels=16, depth=4, batch_size=32, seed=0)
    assert _falls(model.result.losses)
    for sampler in (None, "euler_maruyama", "ode_heun"):  # default: dpm_solver
        x = sample_tones(model, 5, length=128, steps=8, sampler=sampler, seed=0)
        assert x.shape == (5, 128) and torch.isfinite(x).all()


@pytest.mark.parametrize("process", PROCESSES)
def test_series_train_and_sample_respect_masks(process: str) -> None:
    model = train_series(steps=40, process=process, n_series=128, max_len=32, min_len=8, channels=16,
                         depth=3, batch_size=32, seed=0)
    assert _falls(model.result.losses)
    s = sample_series(model, 7, max_len=32, min_len=8, steps=8, seed=3)
    assert s.values.shape == s.times.shape == s.mask.shape == (7, 32)
    assert torch.isfinite(s.values).all()
    assert (s.values[~s.mask] == 0).all() and (s.values[s.mask] != 0).all()
    assert (s.mask.sum(1) >= 8).all() and (s.mask[:, :-1] >= s.mask[:, 1:]).all()  # real entries first
    # given observation patterns are used as they are
    layout = irregular_series(4, max_len=32, min_len=8, generator=torch.Generator().manual_seed(9))
    s2 = sample_series(model, times=layout.times, mask=layout.mask, steps=8, seed=0)
    assert torch.equal(s2.times, layout.times) and torch.equal(s2.mask, layout.mask)
    assert (s2.values[~layout.mask] == 0).all()


@pytest.mark.parametrize("process", PROCESSES)
def test_series_loss_ignores_padding(process: str) -> None:
    """Whatever sits in padded entries, the masked loss is the same (the net sees times and mask)."""
    from graphdiff.examples import TimeSeriesDenoiser

    torch.manual_seed(0)
    net = TimeSeriesDenoiser(channels=8, depth=2)
    proc, _ = make_process(process)
    b = irregular_series(5, max_len=16, min_len=4, generator=torch.Generator().manual_seed(1))
    junk = b.values + 3.0 * (~b.mask)

    def loss(values: torch.Tensor) -> torch.Tensor:
        fn = lambda x, t: net(x, t, times=b.times, mask=b.mask)  # noqa: E731
        return diffusion_loss(fn, proc, values, generator=torch.Generator().manual_seed(4), mask=b.mask).loss

    assert torch.allclose(loss(b.values), loss(junk))
    assert not torch.allclose(loss(b.values), loss(b.values + 0.5 * b.mask))  # real entries matter


def test_unknown_names_list_choices() -> None:
    with pytest.raises(ValueError, match="flow"):
        make_process("ddpm")
    model = train_digits(steps=1, channels=8, batch_size=8)
    with pytest.raises(ValueError, match="dpm_solver"):
        sample_digits(model, 2, steps=2, sampler="heun")
    with pytest.raises(ValueError, match="times and mask"):
        sample_series(train_series(steps=1, n_series=8, max_len=8, min_len=2, channels=8, depth=2, batch_size=4),
                      times=torch.zeros(2, 8))
