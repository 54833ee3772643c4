"""Public names of a package imported on first use (PEP 562), for the package inits that curate
an API without paying for its imports: ``graphdiff``, ``graphdiff.metrics``, ``graphdiff.guidance``
and ``graphdiff.testing``. Standard library only, so ``import graphdiff`` stays fast.

Usage, in a package's ``__init__``::

    __getattr__, __dir__ = lazy_exports(__name__, {"Name": ".module:Name"}, submodules={"sub"})
"""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Iterable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str], submodules: Iterable[str] = ()
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name of ``exports`` (``name ->
    "module:attribute"``, the module relative to ``package`` when it starts with ``.``) is imported
    when first asked for and then kept in the package's namespace; each name in ``submodules`` is
    the subpackage ``package.name``; any other name raises ``AttributeError``."""
    exports, submodules = dict(exports), frozenset(submodules)
    for name, target in exports.items():
        if target.count(":") != 1:
            raise ValueError(f"lazy export {name!r} of {package}: expected 'module:attribute', got {target!r}")

    def __getattr__(name: str) -> Any:
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = target.split(":")
        value = getattr(importlib.import_module(module, package), attr)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports) | submodules)

    return __getattr__, __dir__
