"""Train-and-sample recipes for the non-graph examples: 8x8 digits, tone audio and irregular time
series, each driven by the *same* core that drives graphs — a process from
:mod:`graphdiff.processes`, a loss from :mod:`graphdiff.losses`, :func:`graphdiff.training.fit`
and :func:`graphdiff.samplers.sample`. Nothing here is specific to a domain except the data and
the network; the diffusion code is used unchanged on ``(B, 1, 8, 8)``, ``(B, T)`` and masked
``(B, T)`` tensors.

Two processes are offered: ``"vp"`` (VP SDE, Song et al. 2021, Eq. 11; the net predicts ``eps``
and is trained by denoising score matching, Ho et al. 2020, Eq. 14) and ``"flow"`` (rectified
flow, Liu et al. 2022; the net predicts the velocity and is trained by flow matching, Lipman et
al. 2023, Eq. 23). The returned net carries the EMA weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

from ..errors import unknown_name
from ..losses import LossOutput, dsm_loss, flow_matching_loss
from ..processes import Process, RectifiedFlow, VPSDE
from ..samplers import SAMPLERS, sample
from ..training import TrainResult, fit
from .audio import Conv1dDenoiser, synthetic_tones
from .digits import DigitsUNet, load_digits
from .timeseries import IrregularSeries, TimeSeriesDenoiser, irregular_series

__all__ = [
    "PROCESSES", "TrainedModel", "make_process", "diffusion_loss",
    "train_digits", "sample_digits", "train_tones", "sample_tones", "train_series", "sample_series",
]

PROCESSES = ("vp", "flow")
_DEFAULT_SAMPLER = {"vp": "dpm_solver", "flow": "flow_heun"}


@dataclass
class TrainedModel:
    """A trained denoiser: ``net`` (EMA weights, eval mode), its ``process``, what the net predicts
    (``parametrization``: ``"eps"`` or ``"velocity"``) and the :class:`TrainResult` of the run."""

    net: nn.Module
    process: Process
    parametrization: str
    result: TrainResult

    @property
    def process_name(self) -> str:
        return "flow" if isinstance(self.process, RectifiedFlow) else "vp"


def make_process(name: str) -> tuple[Process, str]:
    """``(process, parametrization)`` for ``"vp"`` (VP SDE, eps-prediction) or ``"flow"``
    (rectified flow, velocity prediction)."""
    if name not in PROCESSES:
        raise unknown_name("process", name, PROCESSES)
    return (VPSDE(), "eps") if name == "vp" else (RectifiedFlow(), "velocity")


def diffusion_loss(
    model_fn: Callable[[Tensor, Tensor], Tensor], process: Process, x0: Tensor, *,
    generator: torch.Generator | None = None, mask: Tensor | None = None,
) -> LossOutput:
    """The training loss that matches ``process``: flow matching for :class:`RectifiedFlow`,
    denoising score matching with eps-prediction (``sigma^2`` weighting) otherwise."""
    if isinstance(process, RectifiedFlow):
        return flow_matching_loss(model_fn, process, x0, generator=generator, mask=mask)
    return dsm_loss(model_fn, process, x0, parametrization="eps", weighting="sigma2", generator=generator, mask=mask)


def _train(
    net: nn.Module, process_name: str, data: object, loss_fn: Callable, *, steps: int, batch_size: int,
    lr: float, seed: int, progress: bool,
) -> TrainedModel:
    process, param = make_process(process_name)
    result = fit(
        net, lambda m, batch, g: loss_fn(m, process, batch, g), data, steps=steps, batch_size=batch_size,
        lr=lr, warmup_steps=min(100, steps // 10), lr_schedule="cosine", ema_decay=0.999, ema_warmup=True,
        seed=seed, progress=progress, log_every=0,
    )
    if result.ema is not None:
        result.ema.copy_to(net)
    net.eval()
    return TrainedModel(net, process, param, result)


def _sample(
    model: TrainedModel, like: Tensor, *, steps: int, sampler: str | None, seed: int,
    net_fn: Callable[[Tensor, Tensor], Tensor], mask: Tensor | None = None,
) -> Tensor:
    method = sampler or _DEFAULT_SAMPLER[model.process_name]
    if method not in SAMPLERS:
        raise unknown_name("sampler", method, list(SAMPLERS))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        out = sample(model.process, net_fn, like, method=method, parametrization=model.parametrization,
                     steps=steps, mask=mask, generator=g)
    return out.samples


# ------------------------------------------------------------------------------------- digits
def train_digits(
    *, steps: int = 3000, process: str = "vp", channels: int = 32, batch_size: int = 128, lr: float = 2e-3,
    seed: int = 0, progress: bool = False,
) -> TrainedModel:
    """Train a :class:`DigitsUNet` on the 1,438 training digits ``(N, 1, 8, 8)`` in ``[-1, 1]``."""
    torch.manual_seed(seed)
    net = DigitsUNet(channels=channels)
    data = load_digits("train")

    def loss_fn(m: nn.Module, proc: Process, x0: Tensor, g: torch.Generator) -> LossOutput:
        return diffusion_loss(m, proc, x0, generator=g)

    return _train(net, process, data, loss_fn, steps=steps, batch_size=batch_size, lr=lr, seed=seed, progress=progress)


def sample_digits(model: TrainedModel, n: int, *, steps: int = 50, sampler: str | None = None, seed: int = 0) -> Tensor:
    """``n`` digit images ``(n, 1, 8, 8)`` (model space, roughly ``[-1, 1]``; show with
    :func:`~graphdiff.examples.digits_to_unit`). ``sampler`` defaults to ``"dpm_solver"`` (VP) or
    ``"flow_heun"`` (flow)."""
    return _sample(model, torch.zeros(n, 1, 8, 8), steps=steps, sampler=sampler, seed=seed, net_fn=model.net)


# -------------------------------------------------------------------------------------- audio
def train_tones(
    *, steps: int = 3000, process: str = "vp", n_clips: int = 4096, length: int = 256, max_tones: int = 3,
    channels: int = 64, depth: int = 6, batch_size: int = 64, lr: float = 2e-3, seed: int = 0, progress: bool = False,
) -> TrainedModel:
    """Train a :class:`Conv1dDenoiser` on ``n_clips`` tone mixtures ``(n_clips, length)`` at 8 kHz."""
    torch.manual_seed(seed)
    data = synthetic_tones(n_clips, length=length, max_tones=max_tones, generator=torch.Generator().manual_seed(seed))
    net = Conv1dDenoiser(channels=channels, depth=depth)

    def loss_fn(m: nn.Module, proc: Process, x0: Tensor, g: torch.Generator) -> LossOutput:
        return diffusion_loss(m, proc, x0, generator=g)

    return _train(net, process, data, loss_fn, steps=steps, batch_size=batch_size, lr=lr, seed=seed, progress=progress)


def sample_tones(
    model: TrainedModel, n: int, *, length: int = 256, steps: int = 50, sampler: str | None = None, seed: int = 0,
) -> Tensor:
    """``n`` clips ``(n, length)``."""
    return _sample(model, torch.zeros(n, length), steps=steps, sampler=sampler, seed=seed, net_fn=model.net)


# -------------------------------------------------------------------------- irregular series
def train_series(
    *, steps: int = 3000, process: str = "vp", n_series: int = 4096, max_len: int = 64, min_len: int = 24,
    channels: int = 64, depth: int = 5, batch_size: int = 64, lr: float = 2e-3, seed: int = 0, progress: bool = False,
) -> TrainedModel:
    """Train a :class:`TimeSeriesDenoiser` on irregularly observed curves. Values ``(N, T)`` carry
    the observation ``mask`` ``(N, T)``: the loss counts observed entries only and the noise is 0 on
    padding; the net sees the observation ``times`` and ``mask`` as conditioning."""
    torch.manual_seed(seed)
    data = irregular_series(n_series, max_len=max_len, min_len=min_len, generator=torch.Generator().manual_seed(seed))
    net = TimeSeriesDenoiser(channels=channels, depth=depth)

    def loss_fn(m: nn.Module, proc: Process, b: IrregularSeries, g: torch.Generator) -> LossOutput:
        return diffusion_loss(lambda x, t: m(x, t, times=b.times, mask=b.mask), proc, b.values, generator=g, mask=b.mask)

    return _train(net, process, data, loss_fn, steps=steps, batch_size=batch_size, lr=lr, seed=seed, progress=progress)


def sample_series(
    model: TrainedModel, n: int | None = None, *, times: Tensor | None = None, mask: Tensor | None = None,
    max_len: int = 64, min_len: int = 24, steps: int = 50, sampler: str | None = None, seed: int = 0,
) -> IrregularSeries:
    """Sample values at given observation ``times`` / ``mask`` ``(B, T)``, or — when they are not
    given — at ``n`` fresh random observation patterns (drawn with ``seed``). Padded entries of the
    returned values are exactly 0."""
    if (times is None) != (mask is None):
        raise ValueError("pass both times and mask, or neither")
    if times is None:
        if n is None:
            raise ValueError("pass n, or times and mask")
        layout = irregular_series(n, max_len=max_len, min_len=min_len, generator=torch.Generator().manual_seed(seed + 1))
        times, mask = layout.times, layout.mask
    mask = mask.bool()
    values = _sample(model, torch.zeros(times.shape), steps=steps, sampler=sampler, seed=seed, mask=mask,
                     net_fn=lambda x, t: model.net(x, t, times=times, mask=mask))
    return IrregularSeries(values, times, mask)
