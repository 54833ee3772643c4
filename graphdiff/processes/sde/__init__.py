"""Linear Itô SDEs, one per file: :class:`VPSDE`, :class:`SubVPSDE`, :class:`VESDE`."""

from .subvp import SubVPSDE
from .ve import VESDE
from .vp import VPSDE

__all__ = ["VPSDE", "SubVPSDE", "VESDE"]
