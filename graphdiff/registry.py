"""One small helper behind every name -> thing table of the package (samplers, processes, CTMC
rate families, pipelines, datasets, ...).

Each concept owns one :class:`Registry`, in the package that owns the concept; an entry is added by
one line, either a decorator on the class or function::

    @PROCESSES.register("vp")
    class VPSDE(LinearSDE): ...

or a call ``SAMPLERS.register("ddim", spec)``. A registry reads like a mapping of its canonical
names (``list(reg)``, ``name in reg``, ``reg[name]``); :meth:`Registry.get` resolves aliases
(``"pc"`` -> ``"predictor_corrector"``) and raises the one standard error for a wrong name,
``unknown <kind> 'x'; valid choices: ...`` (a ``ValueError``, also a ``KeyError`` so the mapping
protocol holds). Entries may carry facts as keyword metadata (``consumes="score"``), read with
:meth:`Registry.meta` and filtered with :meth:`Registry.names`.

A target given as a ``"package.module:attribute"`` string is imported on first use, for tables
whose entries live above the registry's module (the pipelines).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Generic, Iterator, Mapping, TypeVar

from .errors import UnknownNameError

__all__ = ["Registry", "RegistryView", "Entry"]

T = TypeVar("T")
_MISSING: Any = object()


@dataclass
class Entry(Generic[T]):
    """One registered thing: its canonical ``name``, the ``target`` (or a ``"module:attr"`` string
    until first use), its ``aliases`` and free-form ``meta`` facts."""

    name: str
    target: Any
    aliases: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    def load(self) -> T:
        if isinstance(self.target, str) and ":" in self.target:
            mod, attr = self.target.split(":")
            self.target = getattr(importlib.import_module(mod), attr)
        return self.target


class Registry(Mapping[str, T]):
    """Name -> thing, with aliases and the standard unknown-name error (see module docstring).

    Args:
        kind: what the names name, for error messages (``"sampler"``, ``"CTMC family"``).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._aliases: dict[str, str] = {}

    # ------------------------------------------------------------------ registration
    def register(self, name: str, target: Any = _MISSING, *, aliases: tuple[str, ...] | list[str] = (),
                 replace: bool = False, **meta: Any) -> Any:
        """Add ``target`` under ``name`` (and ``aliases``) with ``meta`` facts; without ``target``,
        a decorator that registers what it decorates and returns it unchanged. A name that is
        taken raises ``ValueError`` unless ``replace=True``."""
        if target is _MISSING:
            def deco(obj: Any) -> Any:
                self.register(name, obj, aliases=aliases, replace=replace, **meta)
                return obj

            return deco
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        aliases = tuple(aliases)
        if not replace:
            for n in (name, *aliases):
                if n in self._entries or n in self._aliases:
                    raise ValueError(f"{self.kind} {n!r} is already registered (pass replace=True to override)")
        elif name in self._entries:  # keeps its place in the order
            for a in self._entries[name].aliases:
                self._aliases.pop(a, None)
        self._entries[name] = Entry(name, target, aliases, dict(meta))
        for a in aliases:
            self._aliases[a] = name
        return target

    def unregister(self, name: str) -> None:
        """Remove an entry (by canonical name or alias) and its aliases."""
        entry = self.entry(name)
        del self._entries[entry.name]
        for a in entry.aliases:
            self._aliases.pop(a, None)

    # ------------------------------------------------------------------ lookup
    def canonical(self, name: str) -> str:
        """The canonical name of ``name`` (itself or the name it is an alias of)."""
        if isinstance(name, str):
            if name in self._entries:
                return name
            if name in self._aliases:
                return self._aliases[name]
        raise UnknownNameError(self.kind, name, self.all_names())

    def entry(self, name: str) -> Entry[T]:
        return self._entries[self.canonical(name)]

    def get(self, name: str, default: Any = _MISSING) -> T:  # type: ignore[override]
        """The thing registered under ``name`` or an alias; an unknown name raises the standard
        error unless a ``default`` is given."""
        if default is not _MISSING and name not in self:
            return default
        return self.entry(name).load()

    def meta(self, name: str, key: str | None = None, default: Any = None) -> Any:
        """The ``meta`` dict of an entry, or one fact of it."""
        m = self.entry(name).meta
        return m if key is None else m.get(key, default)

    def names(self, **where: Any) -> list[str]:
        """Canonical names in registration order; ``where`` keeps entries whose meta facts equal
        the given values (``names(consumes="score")``)."""
        return [n for n, e in self._entries.items() if all(e.meta.get(k) == v for k, v in where.items())]

    def all_names(self) -> list[str]:
        """Every accepted name: canonical names, then aliases."""
        return list(self._entries) + list(self._aliases)

    def view(self, label: str, /, **where: Any) -> "RegistryView[T]":
        """A live, read-only view of the entries whose meta facts equal ``where`` (a sub-concept:
        the SDEs among the processes), named ``label`` in error messages."""
        return RegistryView(self, label, where)

    # ------------------------------------------------------------------ mapping protocol
    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._entries or name in self._aliases)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self.all_names())})"


class RegistryView(Registry[T]):
    """The entries of a :class:`Registry` whose meta facts match (see :meth:`Registry.view`);
    registering goes through the parent registry."""

    def __init__(self, parent: Registry[T], kind: str, where: Mapping[str, Any]) -> None:
        self.kind = kind
        self._parent = parent
        self._where = dict(where)

    def _match(self, e: Entry[T]) -> bool:
        return all(e.meta.get(k) == v for k, v in self._where.items())

    @property
    def _entries(self) -> dict[str, Entry[T]]:  # type: ignore[override]
        return {n: e for n, e in self._parent._entries.items() if self._match(e)}

    @property
    def _aliases(self) -> dict[str, str]:  # type: ignore[override]
        entries = self._entries
        return {a: n for a, n in self._parent._aliases.items() if n in entries}

    def register(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"register {self.kind} entries in the parent registry ({self._parent.kind})")
