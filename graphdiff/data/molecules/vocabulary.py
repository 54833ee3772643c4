"""Atom vocabularies: the node types of molecular graphs, as (element, formal charge) pairs.

An entry stores the charge in the node type (``"N+"`` and ``"N"`` differ), so ``X`` stays one
``(B, N)`` long tensor and graph -> molecule is exact with implicit hydrogens (see
:mod:`graphdiff.data.molecules`). ``AtomVocabulary.qm9(charges=False)`` is GDSS's charge-free one.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Iterable, Sequence

import numpy as np

from ..._optional import require
from ...errors import MissingDependencyError, VocabularyError, unknown_name
from ._rdkit import mol_from_smiles as _mol_from_smiles

__all__ = ["AtomVocabulary"]

_TOKEN = re.compile(r"^([A-Z][a-z]?)([+-]\d*)?$")


def _parse_token(tok: str | tuple[str, int]) -> tuple[str, int]:
    if isinstance(tok, tuple):
        if len(tok) != 2 or not isinstance(tok[0], str) or isinstance(tok[1], bool) or not isinstance(tok[1], (int, np.integer)):
            raise VocabularyError(f"an atom type pair must be (element symbol, integer charge); got {tok!r}")
        return tok[0], int(tok[1])
    if not isinstance(tok, str):
        raise VocabularyError(f"an atom type must be a string such as 'C' or 'N+' or a pair ('N', 1); got {tok!r} ({type(tok).__name__})")
    m = _TOKEN.match(tok.strip())
    if m is None:
        raise VocabularyError(f"cannot parse atom type {tok!r}; write an element symbol with an optional charge, e.g. 'C', 'N+', 'O-', 'Fe+2'")
    sym, ch = m.group(1), m.group(2)
    if not ch:
        return sym, 0
    mag = int(ch[1:]) if len(ch) > 1 else 1
    return sym, mag if ch[0] == "+" else -mag


def _is_element(sym: str) -> bool:
    """Whether ``sym`` is an element symbol in RDKit's periodic table (atomic number >= 1); without
    RDKit nothing can be checked here (decoding needs RDKit anyway), so every symbol passes."""
    try:
        Chem = require("rdkit.Chem")
    except MissingDependencyError:
        return True
    from rdkit import rdBase

    try:
        with rdBase.BlockLogs():
            return Chem.GetPeriodicTable().GetAtomicNumber(sym) >= 1
    except RuntimeError:
        return False


def _token(sym: str, charge: int) -> str:
    if charge == 0:
        return sym
    sign = "+" if charge > 0 else "-"
    return f"{sym}{sign}{abs(charge) if abs(charge) != 1 else ''}"


class AtomVocabulary:
    """Node types of molecular graphs: an ordered list of (element, formal charge) pairs.

    Args:
        types: tokens such as ``"C"``, ``"N+"``, ``"O-"`` or pairs ``("N", 1)``; id ``i`` = position ``i``.
        drop_charges: encode every atom as its neutral element (GDSS's charge-free vocabularies);
            the neutral element must be in ``types``.
        name: a label stored with checkpoints.
    """

    def __init__(self, types: Sequence[str | tuple[str, int]], *, drop_charges: bool = False, name: str = "custom"):
        parsed = tuple(_parse_token(t) for t in types)
        if not parsed:
            raise VocabularyError("an AtomVocabulary needs at least one atom type")
        if len(set(parsed)) != len(parsed):
            raise VocabularyError(f"duplicate atom types in {[_token(*p) for p in parsed]}")
        unknown = sorted({s for s, _ in parsed if not _is_element(s)})
        if unknown:
            raise VocabularyError(f"unknown element symbol(s) {unknown}; use symbols from the periodic table, e.g. 'C', 'Cl', 'Fe'")
        self.types: tuple[tuple[str, int], ...] = parsed
        self.drop_charges = bool(drop_charges)
        self.name = name
        self._index = {p: i for i, p in enumerate(parsed)}
        if drop_charges and any(c != 0 for _, c in parsed):
            raise VocabularyError("drop_charges=True needs a vocabulary of neutral elements only")

    # ----------------------------------------------------------------- presets
    @classmethod
    def qm9(cls, charges: bool = True) -> "AtomVocabulary":
        """QM9: C, N, O, F (ids 0-3, GDSS order), plus the charged types found in QM9
        (C-, N+, N-, O-; 1,845 molecules after RDKit sanitization) when ``charges``; else GDSS's 4
        neutral types (with which 1,845 of 133,885 QM9 molecules do not survive encoding + GDSS decoding)."""
        base = ["C", "N", "O", "F"]
        if not charges:
            return cls(base, drop_charges=True, name="qm9_neutral")
        return cls(base + ["C-", "N+", "N-", "O-"], name="qm9")

    @classmethod
    def zinc250k(cls, charges: bool = True) -> "AtomVocabulary":
        """ZINC250k: C, N, O, F, P, S, Cl, Br, I (ids 0-8, GDSS order), plus the charged types found in
        ZINC250k (C-, N+, N-, O+, O-, P+, S+, S-) when ``charges``; else GDSS's 9 neutral types."""
        base = ["C", "N", "O", "F", "P", "S", "Cl", "Br", "I"]
        if not charges:
            return cls(base, drop_charges=True, name="zinc250k_neutral")
        return cls(base + ["C-", "N+", "N-", "O+", "O-", "P+", "S+", "S-"], name="zinc250k")

    @classmethod
    def moses(cls, charges: bool = True) -> "AtomVocabulary":
        """MOSES: C, N, O, F, S, Cl, Br (MOSES excludes charged atoms; ``charges`` is accepted for symmetry)."""
        return cls(["C", "N", "O", "F", "S", "Cl", "Br"], name="moses")

    @classmethod
    def from_name(cls, name: str, charges: bool = True) -> "AtomVocabulary":
        """A preset by name: ``"qm9"``, ``"zinc250k"`` or ``"moses"``."""
        presets = {"qm9": cls.qm9, "zinc250k": cls.zinc250k, "moses": cls.moses}
        if name.lower() not in presets:
            raise unknown_name("atom vocabulary", name, list(presets))
        return presets[name.lower()](charges=charges)

    named = from_name  # alias

    @classmethod
    def from_smiles(cls, smiles: Iterable[str], *, name: str = "custom") -> "AtomVocabulary":
        """The (element, charge) types found in ``smiles`` (invalid SMILES are ignored): neutral
        types first by decreasing count, then charged ones."""
        Chem = require("rdkit.Chem")
        counts: Counter = Counter()
        for s in smiles:
            m = _mol_from_smiles(Chem, s)
            if m is not None:
                counts.update((a.GetSymbol(), a.GetFormalCharge()) for a in m.GetAtoms())
        order = sorted(counts, key=lambda p: (p[1] != 0, -counts[p], p))
        return cls(order, name=name)

    # ----------------------------------------------------------------- queries
    @property
    def num_types(self) -> int:
        return len(self.types)

    def __len__(self) -> int:
        return len(self.types)

    @property
    def tokens(self) -> tuple[str, ...]:
        """``("C", "N", ..., "N+")``: one token per id."""
        return tuple(_token(s, c) for s, c in self.types)

    @property
    def symbols(self) -> tuple[str, ...]:
        """The elements, in order of first appearance."""
        return tuple(dict.fromkeys(s for s, _ in self.types))

    def index(self, symbol: str, charge: int = 0) -> int:
        """Id of (element, charge); :class:`VocabularyError` when absent."""
        key = (symbol, 0 if self.drop_charges else int(charge))
        try:
            return self._index[key]
        except KeyError:
            raise VocabularyError(f"atom type {_token(*key)!r} is not in the {self.name} vocabulary {list(self.tokens)}") from None

    def __contains__(self, item: str | tuple[str, int]) -> bool:
        sym, ch = _parse_token(item)
        return (sym, 0 if self.drop_charges else ch) in self._index

    def atom(self, i: int) -> tuple[str, int]:
        """(element, formal charge) of id ``i``."""
        return self.types[int(i)]

    def to_dict(self) -> dict[str, Any]:
        return {"types": list(self.tokens), "drop_charges": self.drop_charges, "name": self.name}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AtomVocabulary":
        return cls(d["types"], drop_charges=d.get("drop_charges", False), name=d.get("name", "custom"))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AtomVocabulary) and (self.types, self.drop_charges) == (other.types, other.drop_charges)

    def __hash__(self) -> int:
        return hash((self.types, self.drop_charges))

    def __repr__(self) -> str:
        extra = ", drop_charges=True" if self.drop_charges else ""
        return f"AtomVocabulary({list(self.tokens)}{extra}, name={self.name!r})"
