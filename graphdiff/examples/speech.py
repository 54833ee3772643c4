"""Score-based speech enhancement (SGMSE+, Richter et al. 2023) on the tensor core: the complex
STFT of a waveform, compressed as in SGMSE+ (magnitude exponent 0.5, scale 0.15), a small
y-conditioned conv U-Net, and enhancement as conditional sampling of the OU-VE SDE
(:class:`~graphdiff.processes.OUVESDE`) with the core's predictor-corrector sampler (30 steps,
annealed-Langevin corrector at snr 0.5); also StoRM-style stochastic regeneration (start the
reverse SDE at ``t_start < T`` from the forward-noised one-call posterior mean) and the average of
several samples (:meth:`SpeechEnhancer.enhance`).

State layout: a complex spectrogram ``(B, F, T)`` is stored as a real tensor ``(B, 2, F, T)``
(real and imaginary parts as channels), so the processes and samplers see an ordinary
``(B, ...)`` tensor.

Noise convention: SGMSE+ draws complex normal noise of unit *complex* variance (each of the real
and imaginary parts has variance 1/2); the state here is real, so the speech enhancer's default
process is ``OUVESDE(sigma_min=0.05 / sqrt 2, sigma_max=0.5 / sqrt 2)`` (:func:`sgmse_sde`), which
has exactly SGMSE+'s marginals. (Before this default, each real channel got unit-variance noise:
``sqrt 2`` more noise per entry, a floor of ``sigma(eps) = 0.019`` per entry left in every sample.)

Parametrisation (what the network ``F(x_t, y, t)`` predicts; the score follows from the denoised
estimate ``x0_hat`` through the Gaussian marginal, ``score = -(x_t - a x0_hat - (1 - a) y) /
sigma^2`` with ``a = e^{-theta t}``, Tweedie's formula):

- ``"precond"`` (default): EDM's preconditioning (Karras et al. 2022, Sec. 5 and Table 1) on the
  residual ``d = x_0 - y``. ``r_t = (x_t - y) / a = d + (sigma / a) z`` is ``d`` with noise of std
  ``s = sigma / a``; ``d_hat = c_skip r_t + c_out F(c_in r_t, y / sigma_d, t)`` with
  ``c_skip = sigma_d^2 / (sigma_d^2 + s^2)``, ``c_out = s sigma_d / sqrt(sigma_d^2 + s^2)``,
  ``c_in = 1 / sqrt(sigma_d^2 + s^2)`` and the loss ``||F - (d - c_skip r_t) / c_out||^2``
  (unit-variance target at every ``t``). ``sigma_d = 0.07`` is the RMS of ``d`` measured on the
  synthetic training set. SGMSE's newer code offers the same scalings (its ``c_skip`` /
  ``c_out`` / ``sigma_data`` options).
- ``"x0"``: ``x0_hat = y + F``, unweighted squared error of ``x0_hat``. It weighs the error at
  time ``t`` by ``sigma^2 / a^2`` relative to SGMSE+'s loss, 4 orders of magnitude less at
  ``t = eps`` than at ``T``: the network learned almost no denoising at small ``t`` (its error at
  ``t = 0.03`` was that of doing nothing), which left noise in the samples (the diagnosis in
  benchmarks/results/speech_enhancement.md). Kept for old checkpoints.
- ``"eps"``: SGMSE+'s own loss ``||sigma score + z||^2`` with ``score = -F / sigma``.

The spectrogram transform, the stand-in "speech" for tests and CI, white-noise mixing, SI-SDR and
the classical Wiener baseline live in :mod:`graphdiff.examples.speech_signals` (re-exported here).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from ..processes import OUVESDE
from ..samplers import sample_ode_euler, sample_pc
from ._layers import ResBlock, TimeMLP
from .speech_signals import SpectrogramTransform, add_noise, harmonic_speech, si_sdr, wiener_filter

__all__ = [
    "SpectrogramTransform", "SpeechScoreNet", "SpeechEnhancer", "TrainLog",
    "harmonic_speech", "add_noise", "si_sdr", "wiener_filter", "PARAMETRIZATIONS", "sgmse_sde",
]

PARAMETRIZATIONS = ("precond", "x0", "eps")


def sgmse_sde(**kwargs: float) -> OUVESDE:
    """The OU-VE SDE with SGMSE+'s defaults in the real-channel convention (see the module notes):
    ``theta 1.5``, ``sigma_min 0.05 / sqrt 2``, ``sigma_max 0.5 / sqrt 2``, ``eps 0.03``."""
    return OUVESDE(**{"theta": 1.5, "sigma_min": 0.05 / math.sqrt(2), "sigma_max": 0.5 / math.sqrt(2), **kwargs})


# ----------------------------------------------------------------------------- network
class SpeechScoreNet(nn.Module):
    """A three-level conv U-Net on ``(B, 2, F, T)`` spectrogram states conditioned on the noisy
    observation ``y`` (same shape; concatenated as input channels, as SGMSE+ does):
    ``net(x, t, y=y) -> (B, 2, F, T)``. ``F`` and ``T`` must be divisible by 4."""

    def __init__(self, *, channels: int = 16, dropout: float = 0.0) -> None:
        super().__init__()
        c = int(channels)
        if c < 2 or c % 2:
            raise ValueError(f"channels must be an even number >= 2, got {channels}")
        self.channels = c
        temb = 4 * c
        self.time = TimeMLP(temb)
        self.inp = nn.Conv2d(4, c, 3, padding=1)
        self.down1 = ResBlock(2, c, c, temb, dropout=dropout)
        self.pool1 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1)
        self.down2 = ResBlock(2, 2 * c, 2 * c, temb, dropout=dropout)
        self.pool2 = nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)
        self.mid1 = ResBlock(2, 2 * c, 2 * c, temb, dilation=2, dropout=dropout)
        self.mid2 = ResBlock(2, 2 * c, 2 * c, temb, dilation=4, dropout=dropout)
        self.unpool2 = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * c, 2 * c, 3, padding=1))
        self.up2 = ResBlock(2, 4 * c, 2 * c, temb, dropout=dropout)
        self.unpool1 = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * c, c, 3, padding=1))
        self.up1 = ResBlock(2, 2 * c, c, temb, dropout=dropout)
        self.out = nn.Sequential(nn.GroupNorm(min(8, c // 2), c), nn.SiLU(), nn.Conv2d(c, 2, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def forward(self, x: Tensor, t: Tensor, *, y: Tensor) -> Tensor:
        """``x``, ``y`` ``(B, 2, F, T)``; ``t`` ``(B,)`` or scalar in ``[0, 1]``."""
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 2:
            raise ValueError(f"x and y must both be (B, 2, F, T), got {tuple(x.shape)} and {tuple(y.shape)}")
        if x.shape[2] % 4 or x.shape[3] % 4:
            raise ValueError(f"F and T must be divisible by 4 (pad the frames), got F={x.shape[2]}, T={x.shape[3]}")
        if t.dim() == 0:
            t = t.expand(x.shape[0])
        e = self.time(t.to(x.device))
        h1 = self.down1(self.inp(torch.cat([x, y], 1)), e)
        h2 = self.down2(self.pool1(h1), e)
        h = self.mid2(self.mid1(self.pool2(h2), e), e)
        h = self.up2(torch.cat([self.unpool2(h), h2], 1), e)
        h = self.up1(torch.cat([self.unpool1(h), h1], 1), e)
        return self.out(h)


# ----------------------------------------------------------------------------- enhancer
@dataclass
class TrainLog:
    """What :meth:`SpeechEnhancer.fit` did: steps, wall seconds, the loss every ``log_every`` steps."""

    steps: int
    seconds: float
    losses: list[float]
    stopped_by: str


class SpeechEnhancer:
    """The network, the OU-VE SDE and the spectrogram transform together: :meth:`loss`,
    :meth:`fit`, :meth:`enhance` (conditional sampling), :meth:`save` / :meth:`load`
    (safetensors + JSON card)."""

    def __init__(self, net: SpeechScoreNet | None = None, *, sde: OUVESDE | None = None,
                 transform: SpectrogramTransform | None = None, parametrization: str = "precond",
                 sigma_data: float = 0.07) -> None:
        if parametrization not in PARAMETRIZATIONS:
            raise ValueError(f"unknown parametrization {parametrization!r}; valid choices are {list(PARAMETRIZATIONS)}")
        if not sigma_data > 0:
            raise ValueError(f"sigma_data must be > 0, got {sigma_data}")
        self.net = net if net is not None else SpeechScoreNet()
        self.sde = sde if sde is not None else sgmse_sde()
        self.transform = transform if transform is not None else SpectrogramTransform()
        self.parametrization = parametrization
        self.sigma_data = float(sigma_data)

    # ---------------------------------------------------------------- states
    def states(self, noisy: Tensor, clean: Tensor | None = None) -> tuple[Tensor, Tensor | None, Tensor]:
        """``(y, x0, norm)``: states of ``noisy`` (and ``clean``) ``(B, L)``, both divided by the
        noisy peak ``norm`` ``(B, 1)`` as SGMSE+ does; frames are padded to a multiple of 4."""
        norm = noisy.abs().amax(1, keepdim=True).clamp_min(1e-8)
        y = self._pad(self.transform(noisy / norm))
        x0 = None if clean is None else self._pad(self.transform(clean / norm))
        return y, x0, norm

    @staticmethod
    def _pad(x: Tensor) -> Tensor:
        extra = (-x.shape[-1]) % 4
        return torch.nn.functional.pad(x, (0, extra)) if extra else x

    def _coefs(self, t: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """``(a, sigma, c_skip, c_out, c_in)`` at ``t`` ``(B,)``, each ``(B, 1, 1, 1)``."""
        a = self.sde.alpha(t)[:, None, None, None]
        sig = self.sde.sigma(t)[:, None, None, None]
        s2, d2 = (sig / a) ** 2, self.sigma_data**2
        return a, sig, d2 / (d2 + s2), (s2 * d2 / (d2 + s2)).sqrt(), (d2 + s2).rsqrt()

    def _forward(self, x: Tensor, t: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """``(F, x0_hat)``: the raw network output and the denoised estimate ``E[x_0 | x_t, y]``."""
        a, sig, c_skip, c_out, c_in = self._coefs(t)
        if self.parametrization == "precond":
            r = (x - y) / a
            out = self.net(c_in * r, t, y=y / self.sigma_data)
            return out, y + c_skip * r + c_out * out
        out = self.net(x, t, y=y)
        if self.parametrization == "x0":
            return out, y + out
        return out, (x - (1 - a) * y - sig * out) / a  # eps: score = -F / sigma

    def denoise(self, x: Tensor, t: Tensor, y: Tensor) -> Tensor:
        """The network's posterior mean ``x0_hat = E[x_0 | x_t, y]`` (Tweedie) at ``t`` ``(B,)``."""
        return self._forward(x, t, y)[1]

    def score_fn(self, y: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
        """``score(x, t)`` for the observation state ``y`` (see the module notes)."""
        sde = self.sde

        def score(x: Tensor, t: Tensor) -> Tensor:
            a, sig = sde.alpha(t)[:, None, None, None], sde.sigma(t)[:, None, None, None]
            return -(x - a * self.denoise(x, t, y) - (1 - a) * y) / sig**2

        return score

    # ---------------------------------------------------------------- training
    def loss(self, x0: Tensor, y: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Denoising score matching on states ``x0``, ``y`` ``(B, 2, F, T)``: ``t ~ U(eps, T)``,
        ``x_t`` from the closed-form marginal; the squared error of the network output against
        its target in :attr:`parametrization` (see the module notes)."""
        t = self.sde.sample_time(x0.shape[0], generator=generator, device=x0.device)
        xt, z = self.sde.sample_marginal(x0, t, generator=generator, y=y)
        out, _ = self._forward(xt, t, y)
        if self.parametrization == "precond":
            _, _, c_skip, c_out, _ = self._coefs(t)
            target = (x0 - y - c_skip * (xt - y) / self.sde.alpha(t)[:, None, None, None]) / c_out
        else:
            target = (x0 - y) if self.parametrization == "x0" else z
        return ((out - target) ** 2).mean()

    def fit(self, clean: list[Tensor] | Tensor, noisy: list[Tensor] | Tensor, *, steps: int = 1000, batch_size: int = 8,
            crop_frames: int = 64, lr: float = 1e-3, max_seconds: float | None = None, seed: int = 0,
            ema_decay: float = 0.999, log_every: int = 50, progress: bool = False,
            callback: Callable[[int, float], None] | None = None) -> TrainLog:
        """Train on pairs of waveforms (a list of 1-D tensors or a ``(N, L)`` tensor) with random
        crops of ``crop_frames`` STFT frames; stops after ``steps`` or ``max_seconds``. The network
        ends holding the EMA of its weights (decay ``min(ema_decay, (1 + n) / (10 + n))``, as
        SGMSE+ samples with EMA weights; ``ema_decay=0`` keeps the raw weights).
        ``callback(step, elapsed_seconds)`` runs after each update with the raw weights loaded
        (use :meth:`ema_state_dict` there to save the averaged ones)."""
        if not 0 <= ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        clean_l, noisy_l = _as_list(clean), _as_list(noisy)
        if len(clean_l) != len(noisy_l) or not clean_l:
            raise ValueError(f"need as many clean as noisy signals (> 0), got {len(clean_l)} and {len(noisy_l)}")
        if crop_frames % 4 or crop_frames < 4:
            raise ValueError(f"crop_frames must be a positive multiple of 4, got {crop_frames}")
        crop_len = (crop_frames - 1) * self.transform.hop
        gen = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self._ema = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        self.net.train()
        losses, acc, t0 = [], 0.0, time.perf_counter()
        stopped_by = "steps"
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=steps, desc="train")
        step = 0
        for step in range(1, steps + 1):
            idx = torch.randint(len(clean_l), (batch_size,), generator=gen)
            cb, nb = [], []
            for i in idx.tolist():
                c, n = clean_l[i], noisy_l[i]
                if c.numel() > crop_len:
                    s = int(torch.randint(c.numel() - crop_len + 1, (), generator=gen))
                    c, n = c[s: s + crop_len], n[s: s + crop_len]
                else:
                    c = torch.nn.functional.pad(c, (0, crop_len - c.numel()))
                    n = torch.nn.functional.pad(n, (0, crop_len - n.numel()))
                cb.append(c)
                nb.append(n)
            y, x0, _ = self.states(torch.stack(nb), torch.stack(cb))
            loss = self.loss(x0, y, generator=gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                d = min(ema_decay, (1 + step) / (10 + step))
                for k, v in self.net.state_dict().items():
                    if v.is_floating_point():
                        self._ema[k].mul_(d).add_(v.detach(), alpha=1 - d)
                    else:
                        self._ema[k].copy_(v)
            acc += float(loss.detach())
            if step % log_every == 0:
                losses.append(acc / log_every)
                acc = 0.0
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
            elapsed = time.perf_counter() - t0
            if callback is not None:
                callback(step, elapsed)
            if max_seconds is not None and elapsed >= max_seconds:
                stopped_by = "time"
                break
        if bar is not None:
            bar.close()
        if ema_decay > 0:
            self.net.load_state_dict(self._ema)
        self.net.eval()
        return TrainLog(steps=step, seconds=time.perf_counter() - t0, losses=losses, stopped_by=stopped_by)

    def ema_state_dict(self) -> dict[str, Tensor]:
        """The EMA weights of the running (or last) :meth:`fit` (the raw weights before any fit)."""
        ema = getattr(self, "_ema", None)
        return {k: v.clone() for k, v in (ema if ema is not None else self.net.state_dict()).items()}

    # ---------------------------------------------------------------- enhancement
    @torch.no_grad()
    def enhance(self, noisy: Tensor, *, steps: int = 30, snr: float = 0.5, corrector: str | None = "ald",
                generator: torch.Generator | None = None, denoise_final: bool = False, sampler: str = "pc",
                start: str = "draw", t_start: float | None = None, average: int = 1) -> Tensor:
        """Enhanced waveforms ``(B, L)`` from ``noisy`` ``(B, L)`` (or ``(L,)``): :meth:`sample_states`
        on the observation's state ``y`` (see there for ``steps`` ... ``t_start``), mapped back.
        ``average=K`` returns the mean of ``K`` independent samples in the state domain (a
        Monte-Carlo posterior mean, ``K`` times the calls; the regeneration's predictive call is
        shared), not a sample."""
        if int(average) != average or average < 1:
            raise ValueError(f"average must be an integer >= 1, got {average}")
        self._check_sampling(steps, sampler, start, t_start)  # before the regeneration's network call
        squeeze = noisy.dim() == 1
        noisy = noisy[None] if squeeze else noisy
        self.net.eval()
        y, _, norm = self.states(noisy)
        x0_hat = self._mean_at_T(y) if start == "regenerate" else None
        kw = dict(steps=steps, snr=snr, corrector=corrector, generator=generator, denoise_final=denoise_final,
                  sampler=sampler, start=start, t_start=t_start, x0_hat=x0_hat)
        out = torch.stack([self.sample_states(y, **kw) for _ in range(int(average))]).mean(0)
        return self._wave(out, noisy, norm, squeeze)

    def _check_sampling(self, steps: int, sampler: str, start: str, t_start: float | None,
                        x0_hat: Tensor | None = None) -> None:
        if sampler not in ("pc", "ode") or start not in ("draw", "mean", "regenerate"):
            raise ValueError(f"need sampler in ['pc', 'ode'] and start in ['draw', 'mean', 'regenerate'], got {sampler!r}, {start!r}")
        if int(steps) != steps or steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {steps}")
        if start == "regenerate":
            if t_start is None or not self.sde.eps < t_start <= self.sde.T:
                raise ValueError(f"start='regenerate' needs t_start in ({self.sde.eps}, {self.sde.T}], got {t_start}")
        elif t_start is not None or x0_hat is not None:
            raise ValueError(f"t_start and x0_hat apply to start='regenerate' only (start={start!r})")

    @torch.no_grad()
    def sample_states(self, y: Tensor, *, steps: int = 30, snr: float = 0.5, corrector: str | None = "ald",
                      generator: torch.Generator | None = None, denoise_final: bool = False, sampler: str = "pc",
                      start: str = "draw", t_start: float | None = None, x0_hat: Tensor | None = None) -> Tensor:
        """One conditional sample ``(B, 2, F, T)`` of the clean state given the observation state
        ``y`` on the process bound to ``y`` (``sde.given(y)``), reversed over ``steps`` uniform steps
        from the start time down to ``eps``.

        ``sampler="pc"`` (SGMSE+): each step one corrector step (``corrector``, ``snr``; ``None``:
        no corrector) and one reverse-diffusion predictor step, ``2 steps`` network calls (``steps``
        without corrector). ``sampler="ode"``: the
        probability-flow ODE (Euler, ``steps`` calls). Starts at ``T``:

        - ``"draw"``: ``x_T`` from the prior ``N(y, sigma(T)^2)``. The prior misses ``e^{-theta
          T}(x_0 - y)`` of the true marginal mean; the learned score pulls the state back (see
          :class:`~graphdiff.processes.OUVESDE`).
        - ``"mean"``: ``x_T = y``, the prior's mean (with the ODE a deterministic enhancement, the
          flow of the prior's centre, not a random sample).
        - ``"regenerate"`` (stochastic regeneration, after StoRM, Lemercier et al. 2023): the
          predictive estimate ``x0_hat`` (default: the network's one-call posterior mean
          ``E[x_0 | x_T = y, y]``, one more call) is noised with the forward marginal to
          ``x_s ~ N(a x0_hat + (1 - a) y, sigma(s)^2)``, ``a = e^{-theta s}``, ``s = t_start``
          (``eps < s <= T``, required), and the reverse sampler runs from ``s``. With the exact
          score the reverse SDE draws ``p(x_eps | x_s, y)``, a conditional sample that keeps a
          pull towards ``x0_hat``, the larger the smaller ``s``; the ALD corrector (Langevin on
          the marginal ``p_t(x | y)``) mixes it back towards a full posterior draw (tested in
          tests/examples/test_speech.py). Unlike StoRM the score network is the same one (not
          retrained on predictive outputs). ``t_start = T`` with ``x0_hat = y`` is ``"draw"``.

        ``denoise_final`` replaces the state at ``eps`` by the network's posterior mean there
        (one more call)."""
        self._check_sampling(steps, sampler, start, t_start, x0_hat)
        sde, b = self.sde, y.shape[0]
        self.net.eval()
        proc = sde.given(y)
        t0 = sde.T if t_start is None else float(t_start)
        if start == "regenerate":
            x0_hat = self._mean_at_T(y) if x0_hat is None else x0_hat
            x = proc.sample_marginal(x0_hat, torch.full((b,), t0, dtype=y.dtype, device=y.device), generator=generator)[0]
        else:
            x = proc.prior_sample(y, generator=generator) if start == "draw" else y.clone()
        ts = torch.linspace(t0, sde.eps, steps + 1, dtype=y.dtype, device=y.device)
        if sampler == "pc":
            out = sample_pc(proc, self.score_fn(y), x, ts=ts, snr=snr, n_corrector=0 if corrector is None else 1,
                            corrector=corrector or "ald", generator=generator).samples
        else:
            out = sample_ode_euler(proc.reverse(self.score_fn(y), probability_flow=True).drift, x, ts).samples
        if denoise_final:
            out = self.denoise(out, torch.full((b,), sde.eps), y)
        return out

    @torch.no_grad()
    def posterior_mean(self, noisy: Tensor) -> Tensor:
        """One network call: the posterior mean ``E[x_0 | x_T = y, y]`` at ``t = T`` (the prior's
        mean as ``x_T``), mapped back to waveforms; a point estimate, not a sample."""
        squeeze = noisy.dim() == 1
        noisy = noisy[None] if squeeze else noisy
        self.net.eval()
        y, _, norm = self.states(noisy)
        return self._wave(self._mean_at_T(y), noisy, norm, squeeze)

    def _mean_at_T(self, y: Tensor) -> Tensor:
        """The network's one-call posterior mean ``E[x_0 | x_T = y, y]`` as a state (one call)."""
        return self.denoise(y, torch.full((y.shape[0],), self.sde.T), y)

    def _wave(self, x: Tensor, noisy: Tensor, norm: Tensor, squeeze: bool) -> Tensor:
        frames = noisy.shape[1] // self.transform.hop + 1  # centred STFT frames before padding
        wave = self.transform.inverse(x[..., :frames], noisy.shape[1]) * norm
        return wave[0] if squeeze else wave

    # ---------------------------------------------------------------- persistence
    def card(self) -> dict:
        t = self.transform
        return {"kind": "speech_enhancer", "channels": self.net.channels, "parametrization": self.parametrization, "sigma_data": self.sigma_data,
                "sde": self.sde.config(), "transform": {"n_fft": t.n_fft, "hop": t.hop, "exponent": t.exponent, "scale": t.scale}}

    def save(self, path: str | Path, extra: dict | None = None, state_dict: dict[str, Tensor] | None = None) -> Path:
        """``path/model.safetensors`` + ``path/config.json`` (atomic; no pickle); ``state_dict``
        defaults to the network's current weights."""
        from ..training.checkpoint import save_weights

        sd = state_dict if state_dict is not None else self.net.state_dict()
        return save_weights(path, sd, {**self.card(), **(extra or {})})

    @classmethod
    def load(cls, path: str | Path) -> "SpeechEnhancer":
        from ..errors import CheckpointError
        from ..training.checkpoint import load_weights

        sd, card = load_weights(path)
        if card.get("kind") != "speech_enhancer":
            raise CheckpointError(f"{path} is not a speech-enhancer card (kind={card.get('kind')!r})")
        enh = cls(SpeechScoreNet(channels=card["channels"]), sde=OUVESDE.from_config(card["sde"]),
                  transform=SpectrogramTransform(**card["transform"]), parametrization=card["parametrization"],
                  sigma_data=card.get("sigma_data", 0.07))
        enh.net.load_state_dict(sd)
        enh.net.eval()
        return enh


def _as_list(x: list[Tensor] | Tensor) -> list[Tensor]:
    if isinstance(x, Tensor):
        return list(x.reshape(-1, x.shape[-1]).unbind(0))
    return [torch.as_tensor(v, dtype=torch.float32).reshape(-1) for v in x]
