"""Synthetic audio: short 8 kHz clips that are mixtures of a few pure tones from a fixed grid, and
a dilated 1-D conv denoiser (WaveNet-style dilations, van den Oord et al. 2016; used as a
diffusion denoiser by DiffWave, Kong et al. 2021)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ._layers import ResBlock, TimeMLP

__all__ = ["TONE_FREQUENCIES", "ToneBatch", "synthetic_tones", "dominant_frequencies", "Conv1dDenoiser"]

# 16 tones on an evenly spaced, non-harmonic grid 300, 510, ..., 3450 Hz (below the 4 kHz Nyquist
# frequency); neighbours are 210 Hz apart, about 6.7 FFT bins of a 256-sample clip at 8 kHz.
TONE_FREQUENCIES: tuple[float, ...] = tuple(300.0 + 210.0 * k for k in range(16))


@dataclass
class ToneBatch:
    """Clips ``x`` ``(B, T)`` and their components: ``freqs`` / ``amps`` ``(B, K)`` (0 = no tone)."""

    x: Tensor
    freqs: Tensor
    amps: Tensor
    sample_rate: int

    def to(self, device: torch.device | str) -> "ToneBatch":
        return ToneBatch(self.x.to(device), self.freqs.to(device), self.amps.to(device), self.sample_rate)


def synthetic_tones(
    n: int, *, length: int = 256, sample_rate: int = 8000, max_tones: int = 3,
    generator: torch.Generator | None = None, return_components: bool = False,
) -> "Tensor | ToneBatch":
    """``n`` clips ``(n, length)`` in ``[-1, 1]``: each is a sum of ``k ~ U{1..max_tones}`` distinct
    tones from :data:`TONE_FREQUENCIES` with amplitudes ``U[0.3, 1]`` and uniform phases, divided by
    ``max_tones``: ``x[i, s] = sum_j a_j sin(2 pi f_j s / sample_rate + phi_j) / max_tones``."""
    if max_tones < 1 or max_tones > len(TONE_FREQUENCIES):
        raise ValueError(f"max_tones must be in [1, {len(TONE_FREQUENCIES)}], got {max_tones}")
    freqs_all = torch.tensor(TONE_FREQUENCIES, dtype=torch.float64)
    k = torch.randint(1, max_tones + 1, (n,), generator=generator)
    choice = torch.rand(n, len(TONE_FREQUENCIES), generator=generator).argsort(dim=1)[:, :max_tones]
    present = torch.arange(max_tones).unsqueeze(0) < k.unsqueeze(1)  # (n, K)
    freqs = freqs_all[choice] * present
    amps = (0.3 + 0.7 * torch.rand(n, max_tones, generator=generator, dtype=torch.float64)) * present
    phase = 2 * math.pi * torch.rand(n, max_tones, generator=generator, dtype=torch.float64)
    s = torch.arange(length, dtype=torch.float64) / sample_rate  # seconds
    waves = torch.sin(2 * math.pi * freqs.unsqueeze(-1) * s + phase.unsqueeze(-1))  # (n, K, T)
    x = ((amps.unsqueeze(-1) * waves).sum(1) / max_tones).float()
    if return_components:
        return ToneBatch(x, freqs.float(), amps.float(), sample_rate)
    return x


def dominant_frequencies(x: Tensor, *, sample_rate: int = 8000, k: int = 1, n_fft: int = 4096) -> Tensor:
    """The ``k`` strongest spectral peaks (Hz) of each clip ``(B, T)``: ``(B, k)``, strongest first.

    Hann-windowed rFFT zero-padded to ``n_fft`` points (bin width ``sample_rate / n_fft``); a peak
    is a local maximum of the magnitude, so the side lobes of one tone are not counted twice."""
    window = torch.hann_window(x.shape[-1], periodic=False, dtype=x.dtype, device=x.device)
    mag = torch.fft.rfft(x * window, n=max(n_fft, x.shape[-1]), dim=-1).abs()
    peak = torch.zeros_like(mag, dtype=torch.bool)
    peak[..., 1:-1] = (mag[..., 1:-1] >= mag[..., :-2]) & (mag[..., 1:-1] > mag[..., 2:])
    idx = torch.where(peak, mag, torch.zeros_like(mag)).topk(k, dim=-1).indices
    return idx.to(x.dtype) * sample_rate / max(n_fft, x.shape[-1])


class Conv1dDenoiser(nn.Module):
    """Residual dilated 1-D conv net: ``net(x, t, cond=None) -> (B, T)`` (or ``(B, C_out, T)``).

    ``x`` is ``(B, T)`` (one channel) or ``(B, C, T)``; ``cond`` optional extra input channels
    ``(B, C_cond, T)`` concatenated to the input (``cond_channels`` of them); ``t`` ``(B,)`` in
    ``[0, 1]``. Dilations cycle through ``1, 2, 4, ...`` so the receptive field covers the clip."""

    def __init__(
        self, *, in_channels: int = 1, out_channels: int | None = None, cond_channels: int = 0,
        channels: int = 64, depth: int = 6, max_dilation: int = 32,
    ) -> None:
        super().__init__()
        self.in_channels, self.cond_channels = in_channels, cond_channels
        self.out_channels = out_channels or in_channels
        temb = 2 * channels
        self.time = TimeMLP(temb)
        self.inp = nn.Conv1d(in_channels + cond_channels, channels, 3, padding=1)
        dil = [min(2**i, max_dilation) for i in range(depth)]
        self.blocks = nn.ModuleList(ResBlock(1, channels, channels, temb, dilation=d) for d in dil)
        self.out = nn.Sequential(nn.GroupNorm(8 if channels % 8 == 0 else 1, channels), nn.SiLU(),
                                 nn.Conv1d(channels, self.out_channels, 3, padding=1))

    def forward(self, x: Tensor, t: Tensor, *, cond: Tensor | None = None) -> Tensor:
        squeeze = x.dim() == 2
        h = x.unsqueeze(1) if squeeze else x
        if (cond is None) != (self.cond_channels == 0):
            raise ValueError(f"this net expects {self.cond_channels} conditioning channels; got cond={None if cond is None else tuple(cond.shape)}")
        if cond is not None:
            h = torch.cat([h, cond.to(h.dtype)], dim=1)
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        e = self.time(t.to(x.device))
        h = self.inp(h)
        for block in self.blocks:
            h = block(h, e)
        out = self.out(h)
        return out.squeeze(1) if squeeze and self.out_channels == 1 else out
