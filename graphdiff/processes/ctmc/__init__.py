"""Discrete diffusion as continuous-time Markov jump processes (Campbell et al. 2022), one rate
family per file: :mod:`.uniform`, :mod:`.absorbing`, :mod:`.marginal`; shared maths in
:mod:`.base`; schedules in :mod:`.schedules`; the node/edge product for graphs in :mod:`.graph`."""

from __future__ import annotations

from ..registry import CTMC_FAMILIES, process_from_config
from .uniform import UniformCTMC  # noqa: I001  (import order = registration order)
from .absorbing import AbsorbingCTMC
from .base import CTMC, conditional_from_x0, guidance_rate, likelihood_ratio, reverse_rate, x0_probs_from_logits
from .graph import GraphCTMC
from .marginal import MarginalCTMC
from .schedules import (
    CTMC_SCHEDULES,
    CosineCTMCSchedule,
    CTMCSchedule,
    ExponentialCTMCSchedule,
    LinearCTMCSchedule,
    get_ctmc_schedule,
)

__all__ = [
    "CTMC",
    "UniformCTMC",
    "AbsorbingCTMC",
    "MarginalCTMC",
    "GraphCTMC",
    "reverse_rate",
    "guidance_rate",
    "likelihood_ratio",
    "conditional_from_x0",
    "x0_probs_from_logits",
    "CTMCSchedule",
    "CosineCTMCSchedule",
    "LinearCTMCSchedule",
    "ExponentialCTMCSchedule",
    "get_ctmc_schedule",
    "CTMC_SCHEDULES",
    "CTMC_FAMILIES",
    "make_ctmc",
    "ctmc_from_config",
]



def make_ctmc(name: str, *, num_classes: int | None = None, probs=None, schedule="cosine") -> CTMC:
    """A CTMC by family name (:data:`CTMC_FAMILIES`): ``uniform`` / ``absorbing`` need
    ``num_classes``; ``marginal`` needs ``probs``."""
    cls = CTMC_FAMILIES.get(name)
    if name == "marginal":
        if probs is None:
            raise ValueError("the marginal CTMC needs probs (the data's class frequencies)")
        return MarginalCTMC(probs, schedule=schedule)
    if num_classes is None:
        raise ValueError(f"the {name} CTMC needs num_classes")
    return cls(num_classes, schedule=schedule)


def ctmc_from_config(config: dict) -> "CTMC | GraphCTMC":
    """Rebuild a CTMC (or a :class:`GraphCTMC`) from its :meth:`config` dict (JSON round trip, e.g.
    for checkpoints); the same as :func:`graphdiff.processes.registry.process_from_config`."""
    return process_from_config(config)
