"""Lazy imports of heavy optional dependencies with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

_EXTRA = {
    "rdkit": "mol",
    "fcd": "eval",
    "eden": "eval",
    "orbit_count": "eval",
    "matplotlib": "viz",
    "torchdiffeq": "all",
    "sklearn": "all",
    "sktime": "timeseries",
    "pesq": "speech",
    "pystoi": "speech",
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        top = module.split(".")[0]
        extra = _EXTRA.get(top, "all")
        raise MissingDependencyError(
            f"{module!r} is needed for this feature: pip install 'graphdiff-ml[{extra}]'"
        ) from exc
