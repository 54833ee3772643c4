"""Irregularly sampled smooth curves: GP-like random functions observed at a different, random set
of times per series, padded to a common length with a mask (real entries first, like graph node
masks), and a masked 1-D conv denoiser that also sees the observation times.

A curve is a random-Fourier-feature draw from a Gaussian process with an RBF kernel of
lengthscale ``l`` (Rahimi & Recht 2007): ``f(s) = sqrt(2/K) sum_k w_k cos(omega_k s + b_k)``,
``w_k ~ N(0, 1)``, ``omega_k ~ N(0, 1/l^2)``, ``b_k ~ U[0, 2 pi]``; its covariance tends to
``exp(-(s - s')^2 / (2 l^2))`` as ``K`` grows."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..states import TensorState
from ._layers import fourier_features
from .audio import Conv1dDenoiser

__all__ = ["IrregularSeries", "irregular_series", "evaluate_functions", "TimeSeriesDenoiser"]


@dataclass
class IrregularSeries:
    """A padded batch: ``values`` ``(B, T)``, observation ``times`` ``(B, T)`` in ``[0, 1]``
    (sorted; padding holds 0), boolean ``mask`` ``(B, T)`` (``True`` = observed, real entries first)."""

    values: Tensor
    times: Tensor
    mask: Tensor

    def to(self, device: torch.device | str) -> "IrregularSeries":
        return IrregularSeries(self.values.to(device), self.times.to(device), self.mask.to(device))

    def as_tensor_state(self) -> TensorState:
        """The values as a :class:`~graphdiff.states.TensorState` with the observation mask."""
        return TensorState(self.values, self.mask)

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __getitem__(self, i: int | slice | Tensor) -> "IrregularSeries":
        return IrregularSeries(self.values[i], self.times[i], self.mask[i])


def irregular_series(
    n: int, *, max_len: int = 64, min_len: int = 24, n_features: int = 16, lengthscale: float = 0.15,
    generator: torch.Generator | None = None, return_functions: bool = False,
) -> "IrregularSeries | tuple[IrregularSeries, tuple[Tensor, Tensor, Tensor]]":
    """``n`` curves, each observed at ``L ~ U{min_len..max_len}`` sorted times ``U[0, 1]``.

    With ``return_functions`` also returns ``(w, omega, b)`` each ``(n, n_features)`` so a curve
    can be evaluated anywhere with :func:`evaluate_functions`."""
    if not 1 <= min_len <= max_len:
        raise ValueError(f"need 1 <= min_len <= max_len, got {min_len}, {max_len}")
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=generator)
    mask = torch.arange(max_len).unsqueeze(0) < lengths.unsqueeze(1)
    raw = torch.rand(n, max_len, generator=generator)
    raw = torch.where(mask, raw, torch.full_like(raw, 2.0))  # padding sorts last
    times = torch.where(mask, raw.sort(dim=1).values, torch.zeros_like(raw))
    w = torch.randn(n, n_features, generator=generator)
    omega = torch.randn(n, n_features, generator=generator) / lengthscale
    b = 2 * math.pi * torch.rand(n, n_features, generator=generator)
    values = evaluate_functions((w, omega, b), times) * mask
    series = IrregularSeries(values, times, mask)
    return (series, (w, omega, b)) if return_functions else series


def evaluate_functions(params: tuple[Tensor, Tensor, Tensor], times: Tensor) -> Tensor:
    """Evaluate the random-feature curves ``(w, omega, b)`` ``(B, K)`` at ``times`` ``(B, T)``: ``(B, T)``."""
    w, omega, b = params
    k = w.shape[-1]
    feats = torch.cos(omega.unsqueeze(1) * times.unsqueeze(-1) + b.unsqueeze(1))  # (B, T, K)
    return math.sqrt(2.0 / k) * (feats * w.unsqueeze(1)).sum(-1)


class TimeSeriesDenoiser(nn.Module):
    """``net(x, t, *, times, mask) -> (B, T)``: a :class:`Conv1dDenoiser` whose input channels are
    the masked values, the mask and ``time_features`` Fourier features of the observation times;
    the output is zero at padded positions."""

    def __init__(self, *, channels: int = 64, depth: int = 5, time_features: int = 8) -> None:
        super().__init__()
        self.time_features = time_features
        self.net = Conv1dDenoiser(in_channels=1, cond_channels=1 + time_features, channels=channels, depth=depth)

    def forward(self, x: Tensor, t: Tensor, *, times: Tensor, mask: Tensor) -> Tensor:
        m = mask.to(x.dtype)
        tf = fourier_features(times, self.time_features, scale=1.0, max_period=1.0 / (2 * math.pi * 16))
        cond = torch.cat([m.unsqueeze(1), (tf * m.unsqueeze(-1)).permute(0, 2, 1)], dim=1)
        return self.net(x * m, t, cond=cond) * m
