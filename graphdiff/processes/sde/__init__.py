"""Linear Itô SDEs, one per file: :class:`VPSDE`, :class:`SubVPSDE`, :class:`VESDE`, and the
observation-conditioned :class:`OUVESDE` of SGMSE+."""

from .ouve import OUVESDE, ConditionedOUVESDE
from .subvp import SubVPSDE
from .ve import VESDE
from .vp import VPSDE

__all__ = ["VPSDE", "SubVPSDE", "VESDE", "OUVESDE", "ConditionedOUVESDE"]
