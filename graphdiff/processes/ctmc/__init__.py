"""Discrete diffusion as continuous-time Markov jump processes (Campbell et al. 2022), one rate
family per file: :mod:`.uniform`, :mod:`.absorbing`, :mod:`.marginal`; shared maths in
:mod:`.base`; schedules in :mod:`.schedules`; the node/edge product for graphs in :mod:`.graph`."""

from __future__ import annotations

from ...errors import unknown_name
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
from .uniform import UniformCTMC

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

CTMC_FAMILIES = {"uniform": UniformCTMC, "absorbing": AbsorbingCTMC, "marginal": MarginalCTMC}


def make_ctmc(name: str, *, num_classes: int | None = None, probs=None, schedule="cosine") -> CTMC:
    """A CTMC by family name: ``uniform`` / ``absorbing`` need ``num_classes``; ``marginal`` needs ``probs``."""
    if name not in CTMC_FAMILIES:
        raise unknown_name("CTMC family", name, list(CTMC_FAMILIES))
    if name == "marginal":
        if probs is None:
            raise ValueError("the marginal CTMC needs probs (the data's class frequencies)")
        return MarginalCTMC(probs, schedule=schedule)
    if num_classes is None:
        raise ValueError(f"the {name} CTMC needs num_classes")
    return CTMC_FAMILIES[name](num_classes, schedule=schedule)


def ctmc_from_config(config: dict) -> "CTMC | GraphCTMC":
    """Rebuild a process from its :meth:`config` dict (JSON round trip, e.g. for checkpoints)."""
    name = config.get("name")
    if name == "graph":
        return GraphCTMC(ctmc_from_config(config["node_process"]), ctmc_from_config(config["edge_process"]))
    if name not in CTMC_FAMILIES:
        raise unknown_name("CTMC family", name, list(CTMC_FAMILIES) + ["graph"])
    sched = dict(config.get("schedule", {"name": "cosine"}))
    schedule = get_ctmc_schedule(sched.pop("name"), **sched)
    if name == "marginal":
        return MarginalCTMC(config["probs"], schedule=schedule)
    return CTMC_FAMILIES[name](config["num_classes"], schedule=schedule)
