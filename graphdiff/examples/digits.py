"""8x8 handwritten digits (scikit-learn's copy of the UCI optical digits test set, 1,797 images,
pixel levels 0..16) as a small image benchmark for the tensor-state diffusion core, and a tiny
conv U-Net denoiser for them (Ronneberger et al. 2015; the DDPM variant of Ho et al. 2020)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .._optional import require
from ..errors import unknown_name
from ._layers import ResBlock, TimeMLP

__all__ = ["load_digits", "digits_to_unit", "DigitsUNet", "PIXEL_LEVELS", "SPLITS"]

PIXEL_LEVELS = 17  # sklearn digits take the integer values 0..16
SPLITS = ("train", "test", "all")
_TEST_FRACTION = 0.2
_SPLIT_SEED = 0


def load_digits(
    split: str = "train", *, discrete: bool = False, return_labels: bool = False, dtype: torch.dtype = torch.float32
) -> "Tensor | tuple[Tensor, Tensor]":
    """The digits as ``(N, 1, 8, 8)`` images.

    Continuous (default): scaled to ``[-1, 1]`` as ``x / 8 - 1``. ``discrete=True``: ``long``
    pixel levels in ``0..16`` (for categorical / CTMC diffusion). ``split`` is ``"train"`` (80 %),
    ``"test"`` (20 %) of a fixed permutation (seed 0), or ``"all"``. With ``return_labels`` also
    returns the digit classes ``(N,)`` (long)."""
    if split not in SPLITS:
        raise unknown_name("split", split, SPLITS)
    datasets = require("sklearn.datasets")
    bunch = datasets.load_digits()
    images = torch.as_tensor(bunch.images).round().long().unsqueeze(1)  # (1797, 1, 8, 8) in 0..16
    labels = torch.as_tensor(bunch.target).long()
    order = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(_SPLIT_SEED))
    n_test = int(round(_TEST_FRACTION * images.shape[0]))
    idx = {"train": order[n_test:], "test": order[:n_test], "all": torch.arange(images.shape[0])}[split]
    x = images[idx] if discrete else (images[idx].to(dtype) / 8.0 - 1.0)
    return (x, labels[idx]) if return_labels else x


def digits_to_unit(x: Tensor) -> Tensor:
    """Map model-space images (``[-1, 1]`` floats or ``0..16`` longs) to ``[0, 1]`` for display."""
    if not x.is_floating_point():
        return x.float() / (PIXEL_LEVELS - 1)
    return ((x.clamp(-1, 1) + 1) / 2).float()


class DigitsUNet(nn.Module):
    """A two-level conv U-Net for ``(B, C, 8, 8)`` images: ``net(x, t, y=None) -> (B, C_out, 8, 8)``.

    Args:
        in_channels / out_channels: image channels (1 for digits; ``out_channels`` may be e.g.
            ``17 * in_channels`` to predict pixel-level logits for discrete diffusion).
        channels: width of the 8x8 level (the 4x4 level has ``2 * channels``).
        num_classes: optional class conditioning; ``y`` ``(B,)`` long, with ``y=None``, ``y < 0`` (or
            NaN, or ``y = num_classes``) meaning "no label": the null condition of classifier-free
            guidance, with the library's shared tools: train with
            :func:`graphdiff.guidance.drop_conditions` on ``y`` and sample with
            :func:`graphdiff.guidance.sde.classifier_free_model`.
    """

    def __init__(
        self, *, in_channels: int = 1, out_channels: int | None = None, channels: int = 32,
        num_classes: int | None = None, dropout: float = 0.0,
    ) -> None:
        super().__init__()
        c, out_channels = channels, out_channels or in_channels
        temb = 4 * c
        self.num_classes = num_classes
        self.time = TimeMLP(temb)
        self.label = nn.Embedding(num_classes + 1, temb) if num_classes else None
        self.inp = nn.Conv2d(in_channels, c, 3, padding=1)
        self.down1 = ResBlock(2, c, c, temb, dropout=dropout)
        self.pool = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)  # 8x8 -> 4x4
        self.down2 = ResBlock(2, 2 * c, 2 * c, temb, dropout=dropout)
        self.mid = ResBlock(2, 2 * c, 2 * c, temb, dropout=dropout)
        self.up2 = ResBlock(2, 4 * c, 2 * c, temb, dropout=dropout)
        self.unpool = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * c, c, 3, padding=1))
        self.up1 = ResBlock(2, 2 * c, c, temb, dropout=dropout)
        self.out = nn.Sequential(nn.GroupNorm(8 if c % 8 == 0 else 1, c), nn.SiLU(), nn.Conv2d(c, out_channels, 3, padding=1))

    def forward(self, x: Tensor, t: Tensor, *, y: Tensor | None = None) -> Tensor:
        """``x`` ``(B, C, 8, 8)``, ``t`` ``(B,)`` (or scalar) in ``[0, 1]``, ``y`` ``(B,)`` -> ``(B, C_out, 8, 8)``."""
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        e = self.time(t.to(x.device))
        if self.label is not None:
            if y is None:
                y = torch.full((x.shape[0],), self.num_classes, dtype=torch.long, device=x.device)
            else:  # the library's convention for an absent label (GlobalConditioning): < 0, or NaN
                y = torch.as_tensor(y, device=x.device)
                if y.is_floating_point():
                    y = torch.nan_to_num(y, nan=-1.0)
                y = y.long()
                y = torch.where(y < 0, torch.full_like(y, self.num_classes), y)
            e = e + self.label(y)
        elif y is not None:
            raise ValueError("this DigitsUNet was built without num_classes; pass y=None")
        h1 = self.down1(self.inp(x), e)
        h2 = self.down2(self.pool(h1), e)
        h = self.mid(h2, e)
        h = self.up2(torch.cat([h, h2], dim=1), e)
        h = self.up1(torch.cat([self.unpool(h), h1], dim=1), e)
        return self.out(h)
