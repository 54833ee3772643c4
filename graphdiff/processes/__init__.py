"""Diffusion processes (maths only): Gaussian perturbation processes and linear SDEs on any
``(B, ...)`` tensor, rectified flow, noise schedules, and a product process for graph states.

The CTMC (discrete-state) processes live in :mod:`graphdiff.processes.ctmc`.
"""

from __future__ import annotations

from .ctmc import CTMC, AbsorbingCTMC, GraphCTMC, MarginalCTMC, UniformCTMC, ctmc_from_config, make_ctmc, reverse_rate
from .analytic import GaussianMixture, energy_distance, mean_cov_error, sliced_wasserstein
from .base import LinearSDE, Marginal, Process, ReverseSDE, ScoreFn
from .gp_noise import GPNoiseSDE
from .flow import RectifiedFlow, ReflowPairs, reflow, straightness
from .product import ProductProcess
from .registry import CTMC_FAMILIES, PROCESSES, SDE_TYPES, process_from_config, register_process
from .schedules import CosineSchedule, LearnedSchedule, LinearSchedule, NoiseSchedule, get_schedule
from .sde import OUVESDE, VESDE, VPSDE, ConditionedOUVESDE, SubVPSDE

__all__ = [
    "Process", "LinearSDE", "ReverseSDE", "Marginal", "ScoreFn",
    "VPSDE", "SubVPSDE", "VESDE", "OUVESDE", "ConditionedOUVESDE", "GPNoiseSDE", "RectifiedFlow", "ProductProcess",
    "NoiseSchedule", "LinearSchedule", "CosineSchedule", "LearnedSchedule", "get_schedule",
    "ReflowPairs", "reflow", "straightness",
    "GaussianMixture", "energy_distance", "sliced_wasserstein", "mean_cov_error",
    "get_process", "PROCESSES", "SDE_TYPES", "CTMC_FAMILIES", "register_process", "process_from_config",
    "CTMC", "UniformCTMC", "AbsorbingCTMC", "MarginalCTMC", "GraphCTMC", "make_ctmc", "ctmc_from_config", "reverse_rate",
]



def get_process(name: str, **kwargs: object) -> Process:
    """A process by its registered name (:data:`PROCESSES`: ``"vp"``, ``"subvp"``, ``"ve"``,
    ``"ouve"``, ``"flow"``, ``"gp_noise"``, ...) with keyword arguments."""
    return PROCESSES.get(name)(**kwargs)
