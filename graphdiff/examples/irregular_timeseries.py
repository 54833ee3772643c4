"""Probabilistic forecasting of irregularly sampled, variable-length series with stochastic-process
noise (CSPD: Biloš et al. 2023): the diffusion noise is white (VP SDE), a Gaussian process (RBF
kernel) or an Ornstein-Uhlenbeck process over each series' own observation times
(:class:`~graphdiff.processes.GPNoiseSDE`).

Data (all made by seeded code, except the real set that sktime ships):

* :func:`cir_series` — Cox-Ingersoll-Ross paths ``dX = kappa (theta - X) ds + xi sqrt(X) dW``,
* :func:`lorenz_series` — the Lorenz-63 system (3 channels) from random points on the attractor,
* :func:`sine_series` — sums of 1-3 sines with random frequencies, amplitudes and phases,
* :func:`japanese_vowels` — sktime's bundled JapaneseVowels (Kudo et al. 1999; 640 utterances,
  12 LPC cepstrum channels, 7-29 frames; loads offline; extra ``timeseries``).

Each synthetic path is simulated on a fine grid over ``s in [0, 1]`` and observed at ``L``
random grid times (``L ~ U{min_len..max_len}``), sorted, padded to a common length with a mask
(real entries first). A :class:`SeriesBatch` holds ``values`` ``(B, C, T)``, ``times`` ``(B, T)``,
``mask`` ``(B, T)`` and a forecast split: the first ``context_fraction`` of each series' observed
points are the context, the rest the ``target``.

The denoiser (:class:`ForecastDenoiser`) sees the noisy target values, the context values, both
masks and Fourier features of the observation times; the diffusion touches target entries only
(the process's mask), so sampling draws the future given the past, at any set of future times.
Scores: CRPS per target entry and the energy score per series (Gneiting & Raftery 2007), both
from samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from .._optional import require
from ..errors import unknown_name
from ..losses import dsm_loss
from ..processes import GPNoiseSDE
from ..samplers import sample
from ..training import fit
from ._layers import fourier_features
from .audio import Conv1dDenoiser

__all__ = [
    "SeriesBatch", "DATASETS", "NOISES", "make_noise_process", "cir_series", "lorenz_series", "sine_series",
    "japanese_vowels", "load_series", "ForecastDenoiser", "train_forecaster", "sample_forecasts", "crps", "energy_score", "with_target",
]

NOISES = ("white", "gp", "ou", "gp_nugget")
DATASETS = ("cir", "lorenz", "sine", "japanese_vowels")


@dataclass
class SeriesBatch:
    """Padded irregular series: ``values`` ``(B, C, T)``, ``times`` ``(B, T)`` in ``[0, 1]``
    (sorted; padding 0), ``mask`` ``(B, T)`` observed, ``target`` ``(B, T)`` the forecast part
    (a subset of ``mask``; the context is ``mask & ~target``)."""

    values: Tensor
    times: Tensor
    mask: Tensor
    target: Tensor

    @property
    def context(self) -> Tensor:
        return self.mask & ~self.target

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __getitem__(self, i) -> "SeriesBatch":
        return SeriesBatch(self.values[i], self.times[i], self.mask[i], self.target[i])

    def repeat(self, k: int) -> "SeriesBatch":
        """Each series ``k`` times in a row (``(B k, ...)``) for drawing ``k`` forecasts."""
        return SeriesBatch(*(v.repeat_interleave(k, 0) for v in (self.values, self.times, self.mask, self.target)))


def _forecast_split(mask: Tensor, context_fraction: float) -> Tensor:
    lengths = mask.sum(1)
    n_ctx = torch.clamp((lengths.float() * context_fraction).ceil().long(), min=1)
    n_ctx = torch.minimum(n_ctx, lengths - 1)
    idx = torch.arange(mask.shape[1])[None]
    return mask & (idx >= n_ctx[:, None])


def _observe(paths: Tensor, n: int, min_len: int, max_len: int, context_fraction: float, g: torch.Generator) -> SeriesBatch:
    """Observe fine-grid paths ``(n, C, G)`` at random sorted grid times; ``(n, C, max_len)``."""
    G = paths.shape[-1]
    if not 2 <= min_len <= max_len <= G:
        raise ValueError(f"need 2 <= min_len <= max_len <= grid, got {min_len}, {max_len}, {G}")
    lengths = torch.randint(min_len, max_len + 1, (n,), generator=g)
    mask = torch.arange(max_len)[None] < lengths[:, None]
    # the first L entries of a random permutation of the grid are a uniform random subset
    chosen = torch.rand(n, G, generator=g).argsort(1)[:, :max_len]
    chosen = torch.where(mask, chosen, torch.full_like(chosen, G)).sort(1).values.clamp_max(G - 1)
    times = torch.where(mask, chosen.float() / (G - 1), torch.zeros(n, max_len))
    values = torch.gather(paths, 2, chosen[:, None, :].expand(-1, paths.shape[1], -1)) * mask[:, None, :]
    return SeriesBatch(values.float(), times, mask, _forecast_split(mask, context_fraction))


def cir_series(n: int, *, min_len: int = 20, max_len: int = 48, context_fraction: float = 0.7, grid: int = 400,
               generator: torch.Generator | None = None) -> SeriesBatch:
    """CIR paths (``kappa ~ U[1, 3]``, ``theta ~ U[0.5, 1.5]``, ``xi = 0.6``, ``X_0 ~ U[0.1, 2]``,
    horizon 3 time units) by full-truncation Euler on ``grid`` steps, centred at 1; 1 channel."""
    g = generator or torch.Generator().manual_seed(0)
    kappa = 1 + 2 * torch.rand(n, 1, generator=g, dtype=torch.float64)
    theta = 0.5 + torch.rand(n, 1, generator=g, dtype=torch.float64)
    x = 0.1 + 1.9 * torch.rand(n, 1, generator=g, dtype=torch.float64)
    dt = 3.0 / (grid - 1)
    out = [x]
    for _ in range(grid - 1):
        xp = x.clamp_min(0)
        x = x + kappa * (theta - xp) * dt + 0.6 * xp.sqrt() * math.sqrt(dt) * torch.randn(n, 1, generator=g, dtype=torch.float64)
        out.append(x)
    paths = (torch.stack(out, -1).clamp_min(0) - 1.0)  # (n, 1, G)
    return _observe(paths, n, min_len, max_len, context_fraction, g)


def lorenz_series(n: int, *, min_len: int = 20, max_len: int = 48, context_fraction: float = 0.7, grid: int = 400,
                  horizon: float = 1.5, generator: torch.Generator | None = None) -> SeriesBatch:
    """Lorenz-63 (``sigma 10, rho 28, beta 8/3``) by RK4 from random starts after a 2-unit burn-in,
    over ``horizon`` time units; channels ``(x, y, z - 25) / 10``."""
    g = generator or torch.Generator().manual_seed(0)

    def f(u: Tensor) -> Tensor:
        x, y, z = u.unbind(1)
        return torch.stack([10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z], 1)

    def rk4(u: Tensor, h: float) -> Tensor:
        k1 = f(u)
        k2 = f(u + h / 2 * k1)
        k3 = f(u + h / 2 * k2)
        k4 = f(u + h * k3)
        return u + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)

    u = torch.randn(n, 3, generator=g, dtype=torch.float64) * torch.tensor([8.0, 8.0, 8.0], dtype=torch.float64) + torch.tensor([0, 0, 25.0], dtype=torch.float64)
    h = 0.005
    for _ in range(int(2.0 / h)):
        u = rk4(u, h)
    fine = horizon / (grid - 1)
    sub = max(1, round(fine / h))
    hh = fine / sub
    out = [u]
    for _ in range(grid - 1):
        for _ in range(sub):
            u = rk4(u, hh)
        out.append(u)
    paths = torch.stack(out, -1)
    paths = (paths - torch.tensor([0, 0, 25.0], dtype=torch.float64)[None, :, None]) / 10.0
    return _observe(paths, n, min_len, max_len, context_fraction, g)


def sine_series(n: int, *, min_len: int = 20, max_len: int = 48, context_fraction: float = 0.7, grid: int = 400,
                noise: float = 0.05, generator: torch.Generator | None = None) -> SeriesBatch:
    """``sum_k a_k sin(2 pi f_k s + phi_k)`` with 1-3 terms, ``f ~ U[1, 4]`` cycles per unit,
    ``a ~ U[0.3, 1]``, plus N(0, noise^2) observation noise; 1 channel."""
    g = generator or torch.Generator().manual_seed(0)
    k = torch.randint(1, 4, (n, 1), generator=g)
    present = (torch.arange(3)[None] < k).double()
    f = 1 + 3 * torch.rand(n, 3, generator=g, dtype=torch.float64)
    a = (0.3 + 0.7 * torch.rand(n, 3, generator=g, dtype=torch.float64)) * present
    phi = 2 * math.pi * torch.rand(n, 3, generator=g, dtype=torch.float64)
    s = torch.linspace(0, 1, grid, dtype=torch.float64)
    paths = (a[..., None] * torch.sin(2 * math.pi * f[..., None] * s + phi[..., None])).sum(1, keepdim=True)
    paths = paths + noise * torch.randn(paths.shape, generator=g, dtype=torch.float64)
    return _observe(paths, n, min_len, max_len, context_fraction, g)


def japanese_vowels(split: str = "train", *, context_fraction: float = 0.7) -> SeriesBatch:
    """sktime's bundled JapaneseVowels (offline): ``(N, 12, 29)`` padded, lengths 7..29, frame
    ``i`` at time ``i / 28``, each channel standardised with the training split's mean / std."""
    if split not in ("train", "test"):
        raise unknown_name("split", split, ("train", "test"))
    datasets = require("sktime.datasets")

    def load(sp: str) -> tuple[Tensor, Tensor]:
        import numpy as np

        cells = datasets.load_japanese_vowels(split=sp, return_X_y=True)[0].to_numpy()  # (n, 12) of Series
        n, C, T = cells.shape[0], cells.shape[1], 29
        vals = torch.zeros(n, C, T, dtype=torch.float64)
        mask = torch.zeros(n, T, dtype=torch.bool)
        for i in range(n):
            row = torch.from_numpy(np.stack([np.asarray(c, dtype="float64") for c in cells[i]]))  # (C, L)
            vals[i, :, : row.shape[1]] = row
            mask[i, : row.shape[1]] = True
        return vals, mask

    tr_v, tr_m = load("train")
    m = tr_m[:, None, :].expand_as(tr_v)
    mean = (tr_v * m).sum((0, 2)) / m.sum((0, 2))
    std = (((tr_v - mean[None, :, None]) ** 2) * m).sum((0, 2)).div(m.sum((0, 2))).sqrt()
    vals, mask = (tr_v, tr_m) if split == "train" else load("test")
    vals = ((vals - mean[None, :, None]) / std[None, :, None]) * mask[:, None, :]
    T = vals.shape[-1]
    times = torch.where(mask, (torch.arange(T, dtype=torch.float32) / (T - 1))[None].expand_as(mask), torch.zeros(mask.shape))
    return SeriesBatch(vals.float(), times, mask, _forecast_split(mask, context_fraction))


def load_series(name: str, split: str = "train", *, n: int | None = None, seed: int = 0) -> SeriesBatch:
    """A dataset of :data:`DATASETS` by name: synthetic ones draw ``n`` series (default 1000
    train / 200 test) with a split-specific seed; JapaneseVowels uses its own split."""
    if name not in DATASETS:
        raise unknown_name("dataset", name, DATASETS)
    if split not in ("train", "test"):
        raise unknown_name("split", split, ("train", "test"))
    if name == "japanese_vowels":
        data = japanese_vowels(split)
        return data if n is None else data[:n]
    n = n if n is not None else (1000 if split == "train" else 200)
    g = torch.Generator().manual_seed(1000 * seed + (0 if split == "train" else 1))
    return {"cir": cir_series, "lorenz": lorenz_series, "sine": sine_series}[name](n, generator=g)


def make_noise_process(noise: str, *, lengthscale: float = 0.1) -> GPNoiseSDE:
    """``"white"`` (the VP SDE), ``"gp"`` (RBF kernel), ``"ou"`` or ``"gp_nugget"`` (RBF plus a
    white-noise nugget: ``Sigma = (K + 0.1 I) / 1.1``) noise over the observation times.

    Why the nugget: a smooth kernel's ``Sigma`` has eigenvalues down to the jitter, so the
    prior ``N(0, Sigma)`` puts almost no noise on rough directions, where the true marginal at
    ``T`` still holds ``alpha(T) x_0``; the reverse process then has to create the data's rough
    part from almost nothing, divided by ``alpha`` — forecasts with outliers. The nugget keeps every
    direction noised."""
    if noise not in NOISES:
        raise unknown_name("noise", noise, NOISES)
    if noise == "gp_nugget":
        return GPNoiseSDE("rbf", lengthscale, jitter=0.1)
    return GPNoiseSDE({"white": "white", "gp": "rbf", "ou": "ou"}[noise], lengthscale)


class ForecastDenoiser(nn.Module):
    """``net(x, t, *, batch) -> (B, C, T)``: a dilated 1-D conv net over the observation index whose
    input is the noisy target values ``x`` and, as conditioning, the context values, the context and
    target masks and Fourier features of the observation times. Output 0 off the target."""

    def __init__(self, *, channels_in: int = 1, channels: int = 48, depth: int = 5, time_features: int = 8) -> None:
        super().__init__()
        self.time_features = time_features
        self.net = Conv1dDenoiser(in_channels=channels_in, cond_channels=channels_in + 2 + time_features, channels=channels,
                                  depth=depth, max_dilation=8)

    def forward(self, x: Tensor, t: Tensor, *, batch: SeriesBatch) -> Tensor:
        tgt, ctx = batch.target.to(x.dtype)[:, None], batch.context.to(x.dtype)[:, None]
        tf = fourier_features(batch.times, self.time_features, scale=1.0, max_period=1.0 / (2 * math.pi * 8))
        cond = torch.cat([batch.values * ctx, ctx, tgt, tf.permute(0, 2, 1) * batch.mask.to(x.dtype)[:, None]], 1)
        return self.net(x * tgt, t, cond=cond) * tgt


def train_forecaster(data: SeriesBatch, noise: str, *, steps: int = 1000, batch_size: int = 64, lr: float = 2e-3,
                     channels: int = 48, depth: int = 5, lengthscale: float = 0.1, seed: int = 0,
                     max_seconds: float | None = None, progress: bool = False):
    """Train a :class:`ForecastDenoiser` with eps-prediction DSM under ``noise``; only target
    entries are noised and scored. Returns ``(net, process, TrainResult)`` (EMA weights, eval mode)."""
    torch.manual_seed(seed)
    proc = make_noise_process(noise, lengthscale=lengthscale)
    net = ForecastDenoiser(channels_in=data.values.shape[1], channels=channels, depth=depth)

    def loss_fn(m: nn.Module, b: SeriesBatch, g: torch.Generator):
        p = proc.at(b.times)
        return dsm_loss(lambda x, t: m(x, t, batch=b), p, b.values, parametrization="eps", generator=g, mask=b.target[:, None, :])

    res = fit(net, loss_fn, data, steps=steps, batch_size=batch_size, lr=lr, warmup_steps=min(100, steps // 10),
              lr_schedule="cosine", ema_decay=0.995, ema_warmup=True, seed=seed, progress=progress, log_every=0,
              max_seconds=max_seconds)
    if res.ema is not None:
        res.ema.copy_to(net)
    net.eval()
    return net, proc, res


@torch.no_grad()
def sample_forecasts(net: nn.Module, process: GPNoiseSDE, data: SeriesBatch, *, n_samples: int = 32, steps: int = 50,
                     method: str = "euler_maruyama", seed: int = 0, chunk: int = 2048) -> Tensor:
    """``(n_samples, B, C, T)`` forecasts of the target entries (context entries hold the data,
    padding 0), at whatever target times ``data`` has."""
    rep = data.repeat(n_samples)
    g = torch.Generator().manual_seed(seed)
    outs = []
    for i in range(0, len(rep), chunk):
        b = rep[i:i + chunk]
        p = process.at(b.times)
        out = sample(p, lambda x, t: net(x, t, batch=b), torch.zeros_like(b.values), method=method, parametrization="eps",
                     steps=steps, mask=b.target[:, None, :], generator=g).samples
        outs.append(out + b.values * b.context[:, None].to(out.dtype))
    B = len(data)
    return torch.cat(outs).reshape(B, n_samples, *data.values.shape[1:]).transpose(0, 1)


def crps(samples: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """Sample CRPS ``E|X - y| - 1/2 E|X - X'|`` per entry, averaged over the entries where ``mask``
    ``(B, T)`` is True: ``samples`` ``(S, B, C, T)``, ``y`` ``(B, C, T)`` -> ``(B,)`` (NaN where a
    series has no masked entry). ``E|X - X'|`` uses the sorted-sample identity."""
    S = samples.shape[0]
    term1 = (samples - y[None]).abs().mean(0)
    xs = samples.sort(0).values
    w = (2 * torch.arange(1, S + 1, dtype=xs.dtype) - S - 1).reshape((S,) + (1,) * (xs.dim() - 1))
    term2 = 2 * (w * xs).sum(0) / S**2
    c = term1 - 0.5 * term2  # (B, C, T)
    m = mask[:, None, :].expand_as(c).to(c.dtype)
    return (c * m).sum((1, 2)) / m.sum((1, 2))


def energy_score(samples: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """Sample energy score ``E||X - y|| - 1/2 E||X - X'||`` per series over its masked entries
    (all channels): ``samples`` ``(S, B, C, T)``, ``y`` ``(B, C, T)``, ``mask`` ``(B, T)`` -> ``(B,)``."""
    m = mask[:, None, :].to(samples.dtype)
    xs = (samples * m).permute(1, 0, 2, 3).reshape(samples.shape[1], samples.shape[0], -1)  # (B, S, D)
    yy = (y * m).reshape(y.shape[0], 1, -1)
    t1 = (xs - yy).norm(dim=-1).mean(1)
    t2 = torch.cdist(xs.double(), xs.double()).mean((1, 2)).to(xs.dtype)
    return t1 - 0.5 * t2


def with_target(data: SeriesBatch, target: Tensor) -> SeriesBatch:
    """``data`` with another forecast split (``target`` ``(B, T)`` within ``data.mask``)."""
    if (target & ~data.mask).any():
        raise ValueError("target entries must be observed entries (inside mask)")
    return replace(data, target=target)
