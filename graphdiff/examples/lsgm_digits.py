"""LSGM on the 8x8 digits: a small conv VAE whose prior is a latent score model
(:class:`graphdiff.latent.LatentScoreModel`), a pixel-space bound of the plain diffusion model for
comparison, and a sample-quality score from a digits classifier.

Data are the pixel levels ``0..16`` of :func:`~graphdiff.examples.load_digits`; the decoder is a
categorical distribution over the 17 levels per pixel, so the LSGM bound is a bound on the
*discrete* likelihood. The pixel-space VP model lives on ``x / 8 - 1``; its continuous bound on
uniformly dequantised data plus ``D log 8`` bounds the same discrete likelihood (Theis et al. 2016,
"A note on the evaluation of generative models", Sec. 3.1), so both read in bits per pixel.

The sample score (:class:`DigitsClassifierScore`) is a scikit-learn MLP classifier trained on the
training digits: its accuracy on the held-out digits, and for generated digits the mean top-class
confidence, the entropy of the predicted-class histogram (``ln 10`` = perfectly balanced) and a
Fréchet distance between Gaussians fitted to the classifier's hidden features of generated and
held-out digits (the FID recipe of Heusel et al. 2017 in a digits classifier's feature space).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Independent

from .._optional import require
from ..latent import LatentScoreModel
from ..losses import vdm_elbo
from ..processes import VPSDE, Process
from ..training import fit
from ._layers import ResBlock, TimeMLP
from .digits import PIXEL_LEVELS, load_digits

__all__ = [
    "DigitsEncoder", "DigitsDecoder", "LatentScoreNet", "build_lsgm", "train_lsgm", "decode_levels",
    "pixel_bound_bits", "DigitsClassifierScore", "SampleScore", "count_parameters",
]


def _gn(c: int) -> nn.GroupNorm:
    return nn.GroupNorm(8 if c % 8 == 0 else 1, c)


class DigitsEncoder(nn.Module):
    """``(B, 1, 8, 8)`` levels (long) or ``[-1, 1]`` floats -> ``(mean, log_var)`` each ``(B, C, 4, 4)``."""

    def __init__(self, *, channels: int = 32, latent_channels: int = 2) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), _gn(c), nn.SiLU(), nn.Conv2d(c, c, 3, padding=1), _gn(c), nn.SiLU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), _gn(2 * c), nn.SiLU(), nn.Conv2d(2 * c, 2 * latent_channels, 3, padding=1),
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if not x.is_floating_point():
            x = x.float() / 8.0 - 1.0
        mean, log_var = self.net(x).chunk(2, dim=1)
        return mean, log_var.clamp(-12.0, 4.0)


class DigitsDecoder(nn.Module):
    """``(B, C, 4, 4)`` latents -> a categorical distribution over the 17 levels of each pixel
    (``Independent(Categorical)``, event shape ``(1, 8, 8)``)."""

    def __init__(self, *, channels: int = 32, latent_channels: int = 2) -> None:
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(latent_channels, 2 * c, 3, padding=1), _gn(2 * c), nn.SiLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(2 * c, c, 3, padding=1), _gn(c), nn.SiLU(), nn.Conv2d(c, c, 3, padding=1), _gn(c), nn.SiLU(),
            nn.Conv2d(c, PIXEL_LEVELS, 3, padding=1),
        )

    def forward(self, z: Tensor) -> Independent:
        logits = self.net(z).permute(0, 2, 3, 1).unsqueeze(1)  # (B, 1, 8, 8, 17)
        return Independent(Categorical(logits=logits), 3)


def decode_levels(dist: Independent, mode: str = "mean") -> Tensor:
    """Images ``(B, 1, 8, 8)`` in ``[-1, 1]`` from the decoder: the expected level (``"mean"``) or
    the most likely one (``"mode"``)."""
    probs = dist.base_dist.probs  # (B, 1, 8, 8, 17)
    if mode == "mode":
        level = probs.argmax(-1).float()
    elif mode == "mean":
        level = (probs * torch.arange(PIXEL_LEVELS, dtype=probs.dtype, device=probs.device)).sum(-1)
    else:
        raise ValueError(f"unknown decode mode {mode!r}; valid choices: mean, mode")
    return level / 8.0 - 1.0


class LatentScoreNet(nn.Module):
    """``net(z, t) -> (B, C, 4, 4)``: residual conv blocks at 4x4 with a time embedding."""

    def __init__(self, *, latent_channels: int = 2, channels: int = 64, depth: int = 3) -> None:
        super().__init__()
        temb = 2 * channels
        self.time = TimeMLP(temb)
        self.inp = nn.Conv2d(latent_channels, channels, 3, padding=1)
        self.blocks = nn.ModuleList(ResBlock(2, channels, channels, temb) for _ in range(depth))
        self.out = nn.Sequential(_gn(channels), nn.SiLU(), nn.Conv2d(channels, latent_channels, 3, padding=1))

    def forward(self, z: Tensor, t: Tensor) -> Tensor:
        if t.dim() == 0:
            t = t.expand(z.shape[0])
        e = self.time(t.to(z.device))
        h = self.inp(z)
        for b in self.blocks:
            h = b(h, e)
        return self.out(h)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_lsgm(*, vae_channels: int = 24, score_channels: int = 48, latent_channels: int = 2, depth: int = 3,
               dsm_weight: float = 1.0, seed: int = 0) -> LatentScoreModel:
    """An LSGM for ``(B, 1, 8, 8)`` digit levels with a ``(latent_channels, 4, 4)`` latent."""
    torch.manual_seed(seed)
    return LatentScoreModel(
        DigitsEncoder(channels=vae_channels, latent_channels=latent_channels),
        DigitsDecoder(channels=vae_channels, latent_channels=latent_channels),
        LatentScoreNet(latent_channels=latent_channels, channels=score_channels, depth=depth),
        latent_shape=(latent_channels, 4, 4), data_dims=64, dsm_weight=dsm_weight,
    )


def train_lsgm(model: LatentScoreModel, *, steps: int = 2000, batch_size: int = 128, lr: float = 2e-3, seed: int = 0,
               max_seconds: float | None = None, progress: bool = False, data: Tensor | None = None):
    """Train ``model`` end to end on the training digits (levels) with the LSGM bound; returns the
    :class:`~graphdiff.training.TrainResult` (EMA weights copied in, model in eval mode)."""
    data = load_digits("train", discrete=True) if data is None else data
    result = fit(model, lambda m, batch, g: m(batch, generator=g), data, steps=steps, batch_size=batch_size, lr=lr,
                 warmup_steps=min(100, steps // 10), lr_schedule="cosine", ema_decay=0.999, ema_warmup=True, seed=seed,
                 progress=progress, log_every=0, max_seconds=max_seconds)
    if result.ema is not None:
        result.ema.copy_to(model)
    model.eval()
    return result


@torch.no_grad()
def pixel_bound_bits(model_fn, process: Process, levels: Tensor, *, samples: int = 4, batch_size: int = 256,
                     generator: torch.Generator | None = None) -> Tensor:
    """``(N,)`` bits per pixel bounding ``-log P(levels)`` for a pixel-space eps-model on
    ``x / 8 - 1``: VDM bound of uniformly dequantised data (bin width 1/8) + ``log 8`` per pixel."""
    out = []
    for i in range(0, levels.shape[0], batch_size):
        x = levels[i:i + batch_size].float() / 8.0 - 1.0
        nats = []
        for _ in range(samples):
            u = (torch.rand(x.shape, generator=generator) - 0.5) / 8.0
            nats.append(vdm_elbo(model_fn, process, x + u, parametrization="eps", time_sampling="logsnr", generator=generator).nelbo)
        d = x[0].numel()
        out.append((torch.stack(nats).mean(0) + d * math.log(8.0)) / (d * math.log(2)))
    return torch.cat(out)


@dataclass
class SampleScore:
    """Classifier-based sample quality: ``confidence`` (mean top-class probability),
    ``class_entropy`` (nats of the predicted-class histogram; ``ln 10 = 2.303`` is balanced),
    ``frechet`` (Fréchet distance of hidden features to the held-out digits; lower is better)."""

    confidence: float
    class_entropy: float
    frechet: float


class DigitsClassifierScore:
    """A scikit-learn MLP digits classifier (one hidden ReLU layer) trained on the training split;
    scores images ``(N, 1, 8, 8)`` in ``[-1, 1]`` (rounded to the 17 levels first)."""

    def __init__(self, *, hidden: int = 128, seed: int = 0) -> None:
        nn_mod = require("sklearn.neural_network")
        x, y = load_digits("train", discrete=True, return_labels=True)
        self.clf = nn_mod.MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=600, random_state=seed)
        self.clf.fit(self._flat(x), y.numpy())
        xt, yt = load_digits("test", discrete=True, return_labels=True)
        self.test_accuracy = float(self.clf.score(self._flat(xt), yt.numpy()))
        self._ref = self._features(xt)

    @staticmethod
    def _flat(levels: Tensor):
        return (levels.reshape(levels.shape[0], -1).double() / 16.0).numpy()

    @staticmethod
    def to_levels(images: Tensor) -> Tensor:
        """``[-1, 1]`` floats -> levels ``0..16`` (long)."""
        return ((images.clamp(-1, 1) + 1.0) * 8.0).round().long()

    def _features(self, levels: Tensor):
        import numpy as np
        h = self._flat(levels) @ self.clf.coefs_[0] + self.clf.intercepts_[0]
        return np.maximum(h, 0.0)

    def score(self, images: Tensor, *, levels: bool = False) -> SampleScore:
        import numpy as np
        linalg = require("scipy.linalg")
        lv = images if levels else self.to_levels(images)
        p = self.clf.predict_proba(self._flat(lv))
        hist = np.bincount(p.argmax(1), minlength=10) / len(p)
        ent = float(-(hist[hist > 0] * np.log(hist[hist > 0])).sum())
        f, r = self._features(lv), self._ref
        mu1, mu2 = f.mean(0), r.mean(0)
        c1, c2 = np.cov(f, rowvar=False), np.cov(r, rowvar=False)
        with warnings.catch_warnings():  # dead ReLU units make the covariances singular; sqrtm still converges
            warnings.simplefilter("ignore")
            covmean = linalg.sqrtm(c1 @ c2)
        covmean = covmean.real if np.iscomplexobj(covmean) else covmean
        fd = float(((mu1 - mu2) ** 2).sum() + np.trace(c1 + c2 - 2 * covmean))
        return SampleScore(confidence=float(p.max(1).mean()), class_entropy=ent, frechet=fd)


def pixel_process() -> VPSDE:
    """The pixel-space model's process (the house VP SDE)."""
    return VPSDE()
