"""Training objectives for continuous processes: denoising score matching (with weightings),
the VDM continuous-time ELBO, and flow matching. Network outputs in any parametrisation are
converted in one place, :mod:`graphdiff.processes.parametrization`.

The CTMC (discrete-state) losses live in :mod:`graphdiff.losses.ctmc`.
"""

from .ctmc import ctmc_cross_entropy, ctmc_denoising_loss, ctmc_elbo, ctmc_ratio_matching_loss
from .dsm import WEIGHTINGS, dsm_loss
from .flow_matching import flow_matching_loss, reflow_loss
from ..processes.parametrization import PARAMETRIZATIONS, as_fn, as_score_fn, convert, from_x0_eps, to_eps, to_score, to_x0, to_x0_eps
from .types import LossOutput
from .vdm import ELBOOutput, vdm_elbo

__all__ = [
    "dsm_loss", "WEIGHTINGS", "flow_matching_loss", "reflow_loss", "vdm_elbo", "ELBOOutput", "LossOutput",
    "PARAMETRIZATIONS", "convert", "to_x0_eps", "from_x0_eps", "to_score", "to_eps", "to_x0",
    "as_fn", "as_score_fn",
    "ctmc_cross_entropy", "ctmc_denoising_loss", "ctmc_elbo", "ctmc_ratio_matching_loss",
]
