"""Building blocks of the example denoisers: a sinusoidal time embedding and residual conv blocks
that take it (Ho et al. 2020, "Denoising Diffusion Probabilistic Models", App. B; the embedding is
the Transformer's, Vaswani et al. 2017, Sec. 3.5)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["SinusoidalTimeEmbedding", "TimeMLP", "ResBlock", "fourier_features"]


def fourier_features(t: Tensor, dim: int, *, scale: float = 1000.0, max_period: float = 10000.0) -> Tensor:
    """``[sin(scale t w_i), cos(scale t w_i)]`` with ``w_i = max_period^(-i / (dim/2))``: ``(..., ) -> (..., dim)``."""
    if dim % 2:
        raise ValueError(f"dim must be even, got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = scale * t.float().unsqueeze(-1) * freqs
    return torch.cat([torch.sin(args), torch.cos(args)], dim=-1)


class SinusoidalTimeEmbedding(nn.Module):
    """``t`` ``(B,)`` in ``[0, 1]`` -> ``(B, dim)`` sinusoidal features (no parameters)."""

    def __init__(self, dim: int, *, scale: float = 1000.0) -> None:
        super().__init__()
        self.dim, self.scale = int(dim), float(scale)

    def forward(self, t: Tensor) -> Tensor:
        return fourier_features(t, self.dim, scale=self.scale)


class TimeMLP(nn.Module):
    """Sinusoidal features of ``t`` ``(B,)`` followed by a 2-layer MLP: ``(B,) -> (B, out_dim)``."""

    def __init__(self, out_dim: int, *, feature_dim: int = 64) -> None:
        super().__init__()
        self.embed = SinusoidalTimeEmbedding(feature_dim)
        self.mlp = nn.Sequential(nn.Linear(feature_dim, out_dim), nn.SiLU(), nn.Linear(out_dim, out_dim))

    def forward(self, t: Tensor) -> Tensor:
        if t.dim() == 0:
            t = t.reshape(1)
        return self.mlp(self.embed(t))


def _groups(c: int) -> int:
    for g in (8, 4, 2, 1):
        if c % g == 0:
            return g
    return 1  # pragma: no cover


class ResBlock(nn.Module):
    """GroupNorm-SiLU-Conv residual block with an additive time embedding; ``dims`` is 1 or 2.

    ``x`` ``(B, cin, *S)``, ``temb`` ``(B, temb_dim)`` -> ``(B, cout, *S)``."""

    def __init__(self, dims: int, cin: int, cout: int, temb_dim: int, *, dilation: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        if dims not in (1, 2):
            raise ValueError(f"dims must be 1 or 2, got {dims}")
        conv = nn.Conv1d if dims == 1 else nn.Conv2d
        self.dims = dims
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = conv(cin, cout, 3, padding=dilation, dilation=dilation)
        self.temb = nn.Linear(temb_dim, cout)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.drop = nn.Dropout(dropout)
        self.conv2 = conv(cout, cout, 3, padding=dilation, dilation=dilation)
        self.skip = conv(cin, cout, 1) if cin != cout else nn.Identity()
        self.act = nn.SiLU()

    def forward(self, x: Tensor, temb: Tensor) -> Tensor:
        h = self.conv1(self.act(self.norm1(x)))
        h = h + self.temb(temb)[(...,) + (None,) * self.dims]
        h = self.conv2(self.drop(self.act(self.norm2(h))))
        return self.skip(x) + h
