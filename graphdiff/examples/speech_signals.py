"""Signals and metrics of the speech-enhancement example (:mod:`graphdiff.examples.speech`): SGMSE+'s
compressed complex STFT (:class:`SpectrogramTransform`), a stand-in "speech" signal for tests and CI (harmonic tones with a gliding pitch and a syllable
envelope), white-noise mixing at a given SNR, SI-SDR, and a classical Wiener filter
(decision-directed a priori SNR, Scalart & Vieira Filho 1996) as the baseline."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["SpectrogramTransform", "harmonic_speech", "add_noise", "si_sdr", "wiener_filter"]



# ----------------------------------------------------------------------------- spectrograms
@dataclass(frozen=True)
class SpectrogramTransform:
    """Waveform ``(B, L)`` <-> compressed complex STFT state ``(B, 2, F, T)`` (SGMSE+'s transform).

    ``torch.stft`` with a periodic Hann window of ``n_fft`` samples and hop ``hop`` (SGMSE+: 510 /
    128 at 16 kHz, so ``F = 256``), then ``c = scale |X|^exponent e^{i angle X}`` (exponent 0.5,
    scale 0.15). :meth:`inverse` undoes both (``|X| = (|c| / scale)^(1 / exponent)``)."""

    n_fft: int = 510
    hop: int = 128
    exponent: float = 0.5
    scale: float = 0.15

    def __post_init__(self) -> None:
        if self.n_fft < 2 or self.hop < 1 or self.hop > self.n_fft:
            raise ValueError(f"need n_fft >= 2 and 1 <= hop <= n_fft, got n_fft={self.n_fft}, hop={self.hop}")
        if not (self.exponent > 0 and self.scale > 0):
            raise ValueError(f"need exponent > 0 and scale > 0, got {self.exponent}, {self.scale}")

    @property
    def freq_bins(self) -> int:
        return self.n_fft // 2 + 1

    def _window(self, like: Tensor) -> Tensor:
        return torch.hann_window(self.n_fft, periodic=True, dtype=like.dtype, device=like.device)

    def stft(self, wave: Tensor) -> Tensor:
        """Complex STFT ``(B, F, T)`` of ``wave`` ``(B, L)`` (centred frames)."""
        if wave.dim() != 2:
            raise ValueError(f"wave must be (B, L), got shape {tuple(wave.shape)}")
        return torch.stft(wave, self.n_fft, self.hop, window=self._window(wave), center=True, return_complex=True)

    def istft(self, spec: Tensor, length: int) -> Tensor:
        """Waveform ``(B, length)`` from a complex STFT ``(B, F, T)``."""
        win = torch.hann_window(self.n_fft, periodic=True, dtype=spec.real.dtype, device=spec.device)
        return torch.istft(spec, self.n_fft, self.hop, window=win, center=True, length=length)

    def compress(self, spec: Tensor) -> Tensor:
        """``scale |X|^exponent e^{i angle X}`` (complex in, complex out)."""
        return self.scale * spec.abs() ** self.exponent * torch.exp(1j * spec.angle())

    def decompress(self, c: Tensor) -> Tensor:
        """Inverse of :meth:`compress`."""
        return (c.abs() / self.scale) ** (1.0 / self.exponent) * torch.exp(1j * c.angle())

    @staticmethod
    def to_state(c: Tensor) -> Tensor:
        """Complex ``(B, F, T)`` -> real ``(B, 2, F, T)``."""
        return torch.view_as_real(c).permute(0, 3, 1, 2).contiguous()

    @staticmethod
    def from_state(x: Tensor) -> Tensor:
        """Real ``(B, 2, F, T)`` -> complex ``(B, F, T)``."""
        return torch.view_as_complex(x.permute(0, 2, 3, 1).contiguous())

    def __call__(self, wave: Tensor) -> Tensor:
        """Waveform ``(B, L)`` -> state ``(B, 2, F, T)``."""
        return self.to_state(self.compress(self.stft(wave)))

    def inverse(self, x: Tensor, length: int) -> Tensor:
        """State ``(B, 2, F, T)`` -> waveform ``(B, length)``."""
        return self.istft(self.decompress(self.from_state(x)), length)


def harmonic_speech(n: int, *, seconds: float = 1.0, sample_rate: int = 16000, generator: torch.Generator | None = None) -> Tensor:
    """``(n, L)`` stand-in speech for tests and CI (no espeak-ng): a gliding pitch ``f0`` in
    100-220 Hz with 1/k harmonics up to 4 kHz under two formant bumps, switched on and off by a
    3-5 Hz syllable envelope; peak 0.5."""
    L = int(seconds * sample_rate)
    s = torch.arange(L, dtype=torch.float64) / sample_rate
    f0a = 100 + 120 * torch.rand(n, 1, generator=generator, dtype=torch.float64)
    glide = 1 + 0.15 * torch.sin(2 * math.pi * (0.5 + torch.rand(n, 1, generator=generator, dtype=torch.float64)) * s)
    phase = 2 * math.pi * torch.cumsum(f0a * glide, dim=1) / sample_rate
    formants = 300 + 2200 * torch.rand(n, 2, generator=generator, dtype=torch.float64)
    x = torch.zeros(n, L, dtype=torch.float64)
    for k in range(1, 41):
        fk = k * f0a * glide
        env = sum(torch.exp(-((fk - formants[:, j: j + 1]) / 400) ** 2) for j in range(2)) + 0.05
        x = x + torch.where(fk < 4000, env / k, torch.zeros_like(fk)) * torch.sin(k * phase)
    rate = 3 + 2 * torch.rand(n, 1, generator=generator, dtype=torch.float64)
    syll = torch.clamp(torch.sin(2 * math.pi * rate * s + 2 * math.pi * torch.rand(n, 1, generator=generator, dtype=torch.float64)), min=0) ** 0.5
    x = x * syll
    return (0.5 * x / x.abs().amax(1, keepdim=True)).float()


def add_noise(clean: Tensor, snr_db: float | Tensor, *, generator: torch.Generator | None = None) -> Tensor:
    """``clean`` ``(B, L)`` plus white Gaussian noise scaled to ``snr_db`` (scalar or ``(B,)``)."""
    noise = torch.randn(clean.shape, generator=generator, dtype=clean.dtype)
    snr = torch.as_tensor(snr_db, dtype=clean.dtype).reshape(-1, 1)
    p_s = clean.pow(2).mean(1, keepdim=True)
    p_n = noise.pow(2).mean(1, keepdim=True)
    return clean + noise * torch.sqrt(p_s / (p_n * 10 ** (snr / 10)))


def si_sdr(estimate: Tensor, reference: Tensor) -> Tensor:
    """Scale-invariant SDR in dB (Le Roux et al. 2019, Eqs. 1-2), ``(B, L)`` -> ``(B,)`` (means removed)."""
    est = estimate - estimate.mean(-1, keepdim=True)
    ref = reference - reference.mean(-1, keepdim=True)
    alpha = (est * ref).sum(-1, keepdim=True) / ref.pow(2).sum(-1, keepdim=True).clamp_min(1e-12)
    target = alpha * ref
    return 10 * torch.log10(target.pow(2).sum(-1).clamp_min(1e-12) / (est - target).pow(2).sum(-1).clamp_min(1e-12))


def wiener_filter(noisy: Tensor, *, n_fft: int = 512, hop: int = 128, noise_quantile: float = 0.15,
                  dd_alpha: float = 0.98, gain_floor: float = 0.1) -> Tensor:
    """Classical baseline: a Wiener gain ``G = xi / (1 + xi)`` with the decision-directed a priori
    SNR ``xi`` (Ephraim & Malah 1984; Scalart & Vieira Filho 1996) and a noise PSD estimated from
    the ``noise_quantile`` lowest-energy frames of each signal (a simple minimum-statistics
    stand-in; no clean reference is used). ``noisy`` ``(B, L)`` -> ``(B, L)``."""
    win = torch.hann_window(n_fft, periodic=True, dtype=noisy.dtype)
    Y = torch.stft(noisy, n_fft, hop, window=win, center=True, return_complex=True)  # (B, F, T)
    P = Y.abs() ** 2
    energy = P.sum(1)  # (B, T)
    k = max(1, int(noise_quantile * energy.shape[1]))
    idx = energy.argsort(1)[:, :k]
    noise_psd = torch.gather(P, 2, idx[:, None, :].expand(-1, P.shape[1], -1)).mean(2).clamp_min(1e-12)  # (B, F)
    gamma = P / noise_psd[..., None]  # a posteriori SNR
    G = torch.empty_like(P)
    prev = torch.ones_like(noise_psd)  # |S_hat|^2 / noise of the previous frame
    for t in range(P.shape[2]):
        xi = dd_alpha * prev + (1 - dd_alpha) * (gamma[:, :, t] - 1).clamp_min(0)
        g = (xi / (1 + xi)).clamp_min(gain_floor)
        G[:, :, t] = g
        prev = g**2 * gamma[:, :, t]
    return torch.istft(Y * G, n_fft, hop, window=win, center=True, length=noisy.shape[1])
