"""Checks of training budgets given by users (pipelines' ``fit`` and the config path)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_max_minutes"]


def check_max_minutes(value: Any, name: str = "max_minutes") -> float:
    """``value`` as a float if it is a positive, finite number of minutes (a training budget);
    otherwise a ValueError naming ``name``."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf):
        raise ValueError(f"{name} must be a positive number of minutes, got {value!r}")
    return float(value)
