"""Canonical SMILES of generated molecules (the form every molecule metric compares), shared by
:mod:`.molecules` and :mod:`.fcd`."""

from __future__ import annotations

from typing import Any, Iterable

from ._cache import cache_load, cache_save, hash_strings, pack_strings, unpack_strings

__all__ = ["canonical_smiles", "canonicalize_smiles"]


def canonical_smiles(item: Any) -> str | None:
    """Canonical SMILES of a SMILES string or RDKit ``Mol``; ``None`` when invalid.

    Strings: ``MolToSmiles(MolFromSmiles(s))`` (MOSES). Mols: a copy is sanitised and written out,
    then the string is canonicalised the same way (the path GDSS's SMILES take through MOSES).
    ``None``, empty strings, unparsable SMILES, unsanitisable Mols and empty molecules give ``None``."""
    from .._optional import require

    Chem = require("rdkit.Chem")
    if item is None:
        return None
    if isinstance(item, str):
        if not item:
            return None
        mol = Chem.MolFromSmiles(item)
    elif hasattr(item, "GetAtoms"):
        mol = Chem.Mol(item)
        try:
            Chem.SanitizeMol(mol)
        except Exception:  # RDKit raises several types (ValueError, AtomValenceException, ...)
            return None
        smi = Chem.MolToSmiles(mol)
        mol = Chem.MolFromSmiles(smi) if smi else None
    else:
        raise TypeError(f"expected a SMILES string, an RDKit Mol or None, got {type(item).__name__}")
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    smi = Chem.MolToSmiles(mol)
    return smi or None


def canonicalize_smiles(items: Iterable[Any], *, cache: bool = False) -> list[str | None]:
    """:func:`canonical_smiles` of every entry (``None`` for invalid ones), in order.

    With ``cache=True`` (strings only) the result is stored under ``<cache>/canonical/`` keyed by
    a hash of the input list and the RDKit version."""
    from .._optional import require

    items = list(items)
    RDLogger = require("rdkit.RDLogger")
    key = None
    if cache and all(isinstance(s, str) for s in items):
        rdkit = require("rdkit")
        key = hash_strings(items, "canonical", rdkit.__version__)
        hit = cache_load("canonical", key)
        if hit is not None:
            out = unpack_strings(hit["smiles"])
            if len(out) == len(items):
                return [s or None for s in out]
    RDLogger.DisableLog("rdApp.*")
    try:
        out = [canonical_smiles(s) for s in items]
    finally:
        RDLogger.EnableLog("rdApp.*")
    if key is not None:
        cache_save("canonical", key, smiles=pack_strings([s or "" for s in out]))
    return out
