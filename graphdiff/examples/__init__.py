"""Small non-graph datasets and denoisers showing that the tensor-state diffusion core is generic:
8x8 digit images, synthetic tone audio and irregularly sampled time series. Data and networks
only; the diffusion maths comes from :mod:`graphdiff.processes`, :mod:`graphdiff.losses` and
:mod:`graphdiff.samplers`. Every net follows ``net(x, t, **cond) -> x-shaped output``."""

from __future__ import annotations

from ._layers import ResBlock, SinusoidalTimeEmbedding, TimeMLP, fourier_features
from .audio import TONE_FREQUENCIES, Conv1dDenoiser, ToneBatch, dominant_frequencies, synthetic_tones
from .digits import PIXEL_LEVELS, DigitsUNet, digits_to_unit, load_digits
from .timeseries import IrregularSeries, TimeSeriesDenoiser, evaluate_functions, irregular_series

__all__ = [
    "load_digits",
    "digits_to_unit",
    "DigitsUNet",
    "PIXEL_LEVELS",
    "synthetic_tones",
    "dominant_frequencies",
    "ToneBatch",
    "TONE_FREQUENCIES",
    "Conv1dDenoiser",
    "irregular_series",
    "evaluate_functions",
    "IrregularSeries",
    "TimeSeriesDenoiser",
    "SinusoidalTimeEmbedding",
    "TimeMLP",
    "ResBlock",
    "fourier_features",
]
