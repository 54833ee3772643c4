"""Diffusion processes (maths only): Gaussian perturbation processes and linear SDEs on any
``(B, ...)`` tensor, rectified flow, noise schedules, and a product process for graph states.

The CTMC (discrete-state) processes live in :mod:`graphdiff.processes.ctmc`.
"""

from __future__ import annotations

from ..errors import unknown_name
from .ctmc import CTMC, AbsorbingCTMC, GraphCTMC, MarginalCTMC, UniformCTMC, ctmc_from_config, make_ctmc, reverse_rate
from .analytic import GaussianMixture, energy_distance, mean_cov_error, sliced_wasserstein
from .base import LinearSDE, Marginal, Process, ReverseSDE, ScoreFn
from .gp_noise import GPNoiseSDE
from .flow import RectifiedFlow, ReflowPairs, reflow, straightness
from .product import ProductProcess
from .schedules import CosineSchedule, LearnedSchedule, LinearSchedule, NoiseSchedule, get_schedule
from .sde import OUVESDE, VESDE, VPSDE, ConditionedOUVESDE, SubVPSDE

__all__ = [
    "Process", "LinearSDE", "ReverseSDE", "Marginal", "ScoreFn",
    "VPSDE", "SubVPSDE", "VESDE", "OUVESDE", "ConditionedOUVESDE", "GPNoiseSDE", "RectifiedFlow", "ProductProcess",
    "NoiseSchedule", "LinearSchedule", "CosineSchedule", "LearnedSchedule", "get_schedule",
    "ReflowPairs", "reflow", "straightness",
    "GaussianMixture", "energy_distance", "sliced_wasserstein", "mean_cov_error",
    "get_process",
    "CTMC", "UniformCTMC", "AbsorbingCTMC", "MarginalCTMC", "GraphCTMC", "make_ctmc", "ctmc_from_config", "reverse_rate",
]

_PROCESSES = {"vp": VPSDE, "subvp": SubVPSDE, "ve": VESDE, "ouve": OUVESDE, "flow": RectifiedFlow, "gp_noise": GPNoiseSDE}


def get_process(name: str, **kwargs: object) -> Process:
    """A process by name (``"vp"``, ``"subvp"``, ``"ve"``, ``"ouve"``, ``"flow"``, ``"gp_noise"``) with keyword arguments."""
    if name not in _PROCESSES:
        raise unknown_name("process", name, list(_PROCESSES))
    return _PROCESSES[name](**kwargs)
