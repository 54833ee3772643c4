"""Latent score-based generative models (LSGM: Vahdat, Kreis & Kautz 2021, "Score-based
generative modeling in latent space").

A VAE whose prior is a score model: an encoder ``q(z_0 | x) = N(mu(x), diag sigma^2(x))``, a
decoder ``p(x | z_0)`` and a diffusion prior ``p(z_0)`` defined by a linear SDE on the latents and
a score network, trained *end to end* on the variational bound (LSGM Eq. 4-6)

``-log p(x) <= E_q[-log p(x | z_0)] - H(q(z_0 | x)) + CE(q(z_0 | x) || p(z_0))``

where the cross entropy is bounded by the latent SDE's denoising score matching term with
likelihood weighting (LSGM Eq. 5-6):
``CE <= E_t [g(t)^2 / 2 E ||grad log q(z_t | z_0) - grad log p(z_t)||^2] + prior KL + D/2 log(2 pi e sigma_0^2)``.
That bound is exactly the VDM bound of :func:`graphdiff.losses.vdm_elbo` applied to the latent
``z_0`` (its Gaussian decoder at ``t0`` gives the ``D/2 log(2 pi e sigma_0^2)`` constant), so the
core's loss is reused; ``t`` is importance-sampled in log-SNR (LSGM Sec. 3.4's variance
reduction for the likelihood weighting). The score network uses LSGM's *mixed* parametrisation
(Sec. 3.2): ``eps_hat = (1 - a) sigma_t z_t + a eps'(z_t, t)`` with a learned per-dimension
``a in (0, 1)``, the first term being the exact noise prediction of a standard-normal latent, so
training starts as a plain VAE. Like LSGM, the score network also gets the unweighted eps loss
(``dsm_weight``; LSGM's "reweighted" objective for the prior) on detached latents.

Sampling draws ``z_T ~ N(0, I)``, integrates the latent reverse SDE / PF ODE with any of the
core's samplers and decodes. Shapes: ``x`` is whatever the encoder takes ``(B, ...)``; latents
are ``(B, *latent_shape)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from .losses import dsm_loss, vdm_elbo
from .processes import VPSDE, LinearSDE
from .samplers import SAMPLERS, sample
from .errors import unknown_name

__all__ = ["LatentScoreModel", "LSGMOutput"]


@dataclass
class LSGMOutput:
    """Per-sample ``(B,)`` terms of the negative bound (nats): ``nelbo = reconstruction +
    neg_entropy + cross_entropy``; ``cross_entropy = diffusion + prior + latent_reconstruction``
    (the latent VDM terms); ``bpd`` is ``nelbo / (D_x ln 2)``; ``loss`` the training objective."""

    nelbo: Tensor
    reconstruction: Tensor
    neg_entropy: Tensor
    cross_entropy: Tensor
    diffusion: Tensor
    prior: Tensor
    latent_reconstruction: Tensor
    bpd: Tensor
    loss: Tensor


class LatentScoreModel(nn.Module):
    """LSGM wrapper around an encoder, a decoder and a latent score network.

    Args:
        encoder: ``encoder(x) -> (mean, log_var)``, each ``(B, *latent_shape)``.
        decoder: ``decoder(z) -> torch.distributions.Distribution`` over ``x`` whose
            ``log_prob(x)`` is ``(B,)`` (sum the event dims, e.g. with ``Independent``).
        score_net: ``score_net(z_t, t) -> (B, *latent_shape)`` (the eps' of the mixed
            parametrisation).
        latent_shape: shape of one latent.
        data_dims: number of data dimensions ``D_x`` (for bits / dim).
        process: the latent SDE (default VP, linear beta 0.1..20).
        mixed: use LSGM's mixed score parametrisation (``a`` initialised at ``sigmoid(mix_init)``).
        dsm_weight: weight of the score network's extra unweighted eps loss (0 = bound only).
    """

    def __init__(
        self, encoder: nn.Module, decoder: nn.Module, score_net: nn.Module, *, latent_shape: tuple[int, ...],
        data_dims: int, process: LinearSDE | None = None, mixed: bool = True, mix_init: float = -2.0,
        dsm_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.encoder, self.decoder, self.score_net = encoder, decoder, score_net
        self.latent_shape = tuple(latent_shape)
        self.data_dims = int(data_dims)
        self.process = process if process is not None else VPSDE()
        self.mixed = bool(mixed)
        self.mix_logit = nn.Parameter(torch.full(self.latent_shape, float(mix_init))) if mixed else None
        if dsm_weight < 0:
            raise ValueError(f"dsm_weight must be >= 0, got {dsm_weight}")
        self.dsm_weight = float(dsm_weight)

    # ----------------------------------------------------------------- pieces
    def eps_fn(self, z: Tensor, t: Tensor) -> Tensor:
        """The latent noise prediction ``(B, *latent_shape)`` (mixed parametrisation if on)."""
        out = self.score_net(z, t)
        if self.mix_logit is None:
            return out
        a = torch.sigmoid(self.mix_logit)
        s = self.process.sigma(t).reshape((-1,) + (1,) * len(self.latent_shape))
        return (1 - a) * s * z + a * out

    def encode(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
        """``(z_0, mean, log_var)``: a reparametrised draw from ``q(z_0 | x)``."""
        mean, log_var = self.encoder(x)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        return mean + torch.exp(0.5 * log_var) * noise, mean, log_var

    # ----------------------------------------------------------------- bound
    def bound(self, x: Tensor, *, generator: torch.Generator | None = None, time_sampling: str = "logsnr") -> LSGMOutput:
        """One-sample estimate of the negative variational bound of ``x`` ``(B, ...)`` (nats)."""
        z0, mean, log_var = self.encode(x, generator)
        reconstruction = -self.decoder(z0).log_prob(x)
        # -H(q) = -sum 1/2 log(2 pi e sigma^2) (analytic)
        neg_entropy = -0.5 * (math.log(2 * math.pi * math.e) + log_var).reshape(x.shape[0], -1).sum(-1)
        ce = vdm_elbo(self.eps_fn, self.process, z0, parametrization="eps", time_sampling=time_sampling, generator=generator)
        nelbo = reconstruction + neg_entropy + ce.nelbo
        loss = nelbo.mean() / self.data_dims
        if self.dsm_weight > 0 and self.training:
            loss = loss + self.dsm_weight * dsm_loss(self.eps_fn, self.process, z0.detach(), parametrization="eps", generator=generator).loss
        return LSGMOutput(nelbo=nelbo, reconstruction=reconstruction, neg_entropy=neg_entropy, cross_entropy=ce.nelbo,
                          diffusion=ce.diffusion, prior=ce.prior, latent_reconstruction=ce.reconstruction,
                          bpd=nelbo / (self.data_dims * math.log(2)), loss=loss)

    def forward(self, x: Tensor, *, generator: torch.Generator | None = None) -> LSGMOutput:
        """:meth:`bound` (so :func:`graphdiff.training.fit` can train the wrapper directly)."""
        return self.bound(x, generator=generator)

    @torch.no_grad()
    def evaluate_bound(self, x: Tensor, *, samples: int = 4, batch_size: int = 256, generator: torch.Generator | None = None) -> Tensor:
        """``(N,)`` negative bound in nats, averaged over ``samples`` draws of ``z_0`` and ``t``."""
        was = self.training
        self.eval()
        out = []
        for i in range(0, x.shape[0], batch_size):
            xb = x[i:i + batch_size]
            out.append(torch.stack([self.bound(xb, generator=generator).nelbo for _ in range(samples)]).mean(0))
        self.train(was)
        return torch.cat(out)

    # ----------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample_latents(self, n: int, *, method: str = "dpm_solver", steps: int = 50, generator: torch.Generator | None = None,
                       temperature: float = 1.0) -> Tensor:
        """``(n, *latent_shape)`` latents from the diffusion prior (any score sampler of the core)."""
        if method not in SAMPLERS or SAMPLERS.get(method).consumes != "score":
            raise unknown_name("latent sampler", method, SAMPLERS.names(consumes="score"))
        like = torch.zeros((n,) + self.latent_shape, device=next(self.parameters()).device)
        return sample(self.process, self.eps_fn, like, method=method, parametrization="eps", steps=steps,
                      generator=generator, temperature=temperature).samples

    @torch.no_grad()
    def sample(self, n: int, *, method: str = "dpm_solver", steps: int = 50, generator: torch.Generator | None = None,
               decode: Callable[[torch.distributions.Distribution], Tensor] | None = None) -> Tensor:
        """``n`` samples in data space: latents decoded with ``decode(p(x | z))`` (default the
        distribution's ``mean``)."""
        z = self.sample_latents(n, method=method, steps=steps, generator=generator)
        dist = self.decoder(z)
        return decode(dist) if decode is not None else dist.mean
