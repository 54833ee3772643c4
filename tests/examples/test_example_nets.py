"""The example denoisers accept ``(x, t, **cond)``, return x-shaped outputs and depend on t."""

from __future__ import annotations

import pytest
import torch

from graphdiff.examples import (
    Conv1dDenoiser,
    DigitsUNet,
    SinusoidalTimeEmbedding,
    TimeSeriesDenoiser,
    irregular_series,
    synthetic_tones,
)


def _check_time_dependence_and_grad(net: torch.nn.Module, x: torch.Tensor, **cond) -> torch.Tensor:
    t = torch.rand(x.shape[0])
    out = net(x, t, **cond)
    assert out.shape[0] == x.shape[0] and torch.isfinite(out).all()
    out2 = net(x, 1.0 - t, **cond)
    assert not torch.allclose(out, out2)
    out.pow(2).mean().backward()
    assert all(p.grad is not None for p in net.parameters() if p.requires_grad)
    return out


def test_time_embedding() -> None:
    emb = SinusoidalTimeEmbedding(16)
    e = emb(torch.tensor([0.0, 0.5]))
    assert e.shape == (2, 16)
    assert torch.equal(e[0, :8], torch.zeros(8)) and torch.equal(e[0, 8:], torch.ones(8))
    assert torch.allclose(e.pow(2).reshape(2, 2, 8).sum(1), torch.ones(2, 8))  # sin^2 + cos^2
    with pytest.raises(ValueError, match="even"):
        SinusoidalTimeEmbedding(7)(torch.zeros(1))


def test_digits_unet() -> None:
    x = torch.randn(3, 1, 8, 8)
    out = _check_time_dependence_and_grad(DigitsUNet(channels=8), x)
    assert out.shape == x.shape
    cond = DigitsUNet(channels=8, num_classes=10, out_channels=17)
    y = torch.tensor([1, 2, 3])
    logits = cond(x, torch.full((3,), 0.5), y=y)
    assert logits.shape == (3, 17, 8, 8)
    assert not torch.allclose(logits, cond(x, torch.full((3,), 0.5), y=torch.tensor([4, 5, 6])))
    assert cond(x, torch.tensor(0.5)).shape == (3, 17, 8, 8)  # y=None: the "no label" token
    with pytest.raises(ValueError, match="num_classes"):
        DigitsUNet(channels=8)(x, torch.rand(3), y=y)


def test_audio_denoiser() -> None:
    x = synthetic_tones(2, length=256, generator=torch.Generator().manual_seed(0))
    net = Conv1dDenoiser(channels=16, depth=4)
    out = _check_time_dependence_and_grad(net, x)
    assert out.shape == (2, 256)
    multi = Conv1dDenoiser(in_channels=2, channels=16, depth=2)
    assert multi(torch.randn(2, 2, 100), torch.rand(2)).shape == (2, 2, 100)
    with pytest.raises(ValueError, match="conditioning"):
        net(x, torch.rand(2), cond=torch.zeros(2, 1, 256))


def test_timeseries_denoiser_is_masked() -> None:
    s = irregular_series(3, max_len=32, min_len=8, generator=torch.Generator().manual_seed(0))
    net = TimeSeriesDenoiser(channels=16, depth=3)
    out = _check_time_dependence_and_grad(net, s.values, times=s.times, mask=s.mask)
    assert out.shape == (3, 32) and (out[~s.mask] == 0).all()
    # what sits in padded slots of x does not change the output at real positions
    junk = s.values + 5.0 * (~s.mask)
    assert torch.allclose(net(junk, torch.full((3,), 0.3), times=s.times, mask=s.mask),
                          net(s.values, torch.full((3,), 0.3), times=s.times, mask=s.mask))


def test_fit_batches_irregular_series_fieldwise() -> None:
    """An IrregularSeries of N curves is a batched container: fit indexes its fields together."""
    from graphdiff.training import fit

    data = irregular_series(12, max_len=16, min_len=4, generator=torch.Generator().manual_seed(2))
    net = TimeSeriesDenoiser(channels=8, depth=2)

    def loss(m, batch, g):
        assert batch.values.shape == (4, 16)
        assert (batch.times[~batch.mask] == 0).all()  # fields stay aligned row by row
        assert ((batch.values != 0) <= batch.mask).all()
        noisy = batch.values + 0.1 * torch.randn(batch.values.shape, generator=g) * batch.mask
        return (m(noisy, torch.rand(4, generator=g), times=batch.times, mask=batch.mask) - batch.values).pow(2).mean()

    res = fit(net, loss, data, steps=3, batch_size=4, progress=False, ema_decay=None)
    assert len(res.losses) == 3 and all(torch.isfinite(torch.tensor(res.losses)))


def test_digits_null_label_is_the_shared_convention() -> None:
    """An absent label (None, < 0, NaN) is the null condition, so the library's condition dropout
    and classifier-free model apply to the digits U-Net as they do to the graph networks."""
    from graphdiff.guidance import drop_conditions
    from graphdiff.guidance.sde import classifier_free_model

    torch.manual_seed(0)
    net = DigitsUNet(channels=8, num_classes=10)
    x, t = torch.randn(4, 1, 8, 8), torch.rand(4)
    null = net(x, t)
    torch.testing.assert_close(net(x, t, y=torch.full((4,), -1)), null)
    dropped = drop_conditions(torch.tensor([[3.0], [5.0], [7.0], [1.0]]), dropout=0.99999, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(net(x, t, y=dropped[:, 0]), null)
    y = torch.tensor([3, 5, 7, 1])
    guided = classifier_free_model(lambda a, s: net(a, s, y=y), lambda a, s: net(a, s), 2.0)(x, t)
    torch.testing.assert_close(guided, null + 2.0 * (net(x, t, y=y) - null))
