"""Every process class by name, and saving / restoring a process as JSON.

:data:`PROCESSES` holds the continuous processes (SDEs, rectified flow, the product process) and the
CTMCs alike, each with a ``kind`` fact: ``"sde"`` (linear SDEs usable on any tensor), ``"flow"``,
``"product"``, ``"ctmc"`` (CTMC rate families) or another kind for processes that need more than a
tensor (``"observed_sde"``, ``"series_sde"``, ``"graph_ctmc"``). :data:`SDE_TYPES` and
:data:`CTMC_FAMILIES` are views of it by kind. A process is registered by one line on its class::

    @register_process("vp", kind="sde")
    class VPSDE(LinearSDE): ...

and saves itself with ``config()`` (``{"name": ..., **constructor arguments}``), restored by
``cls.from_config(config)`` or, for any registered process, :func:`process_from_config`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..registry import Registry

__all__ = ["PROCESSES", "SDE_TYPES", "CTMC_FAMILIES", "register_process", "process_from_config"]

#: every process class by name (see module docstring)
PROCESSES: Registry[type] = Registry("process")
#: the linear SDEs usable on any tensor (``kind="sde"``), a view of :data:`PROCESSES`
SDE_TYPES = PROCESSES.view("SDE type", kind="sde")
#: the CTMC rate families (``kind="ctmc"``), a view of :data:`PROCESSES`
CTMC_FAMILIES = PROCESSES.view("CTMC family", kind="ctmc")


def register_process(name: str, *, kind: str, aliases: tuple[str, ...] = (), replace: bool = False) -> Callable[[type], type]:
    """Class decorator: register a process class under ``name`` (also its ``name`` attribute,
    the key its :meth:`config` is saved under) with its ``kind``."""

    def deco(cls: type) -> type:
        cls.name = name
        PROCESSES.register(name, cls, aliases=aliases, replace=replace, kind=kind)
        return cls

    return deco


def process_from_config(config: Mapping[str, Any]) -> Any:
    """Rebuild any registered process from its ``config()`` dict. The name is read from ``"name"``
    or, as in the continuous models' cards, ``"type"``."""
    cfg = dict(config)
    name = cfg.pop("name", None)
    if name is None:
        name = cfg.pop("type", None)
    cls = PROCESSES.get(name)
    return cls.from_config({"name": cls.name, **cfg})
