"""Linear Itô SDEs, one per file: :class:`VPSDE`, :class:`SubVPSDE`, :class:`VESDE`, and the
observation-conditioned :class:`OUVESDE` of SGMSE+."""

from .vp import VPSDE  # noqa: I001  (import order = registration order)
from .subvp import SubVPSDE
from .ve import VESDE
from .ouve import OUVESDE, ConditionedOUVESDE

__all__ = ["VPSDE", "SubVPSDE", "VESDE", "OUVESDE", "ConditionedOUVESDE"]
