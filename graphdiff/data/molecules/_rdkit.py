"""Quiet SMILES parsing shared by the vocabulary, encoder and decoder (RDKit passed in, imported lazily)."""

from __future__ import annotations

from typing import Any


def mol_from_smiles(Chem: Any, s: Any) -> Any:
    """``Chem.MolFromSmiles`` of the stripped string with RDKit's log silenced; ``None`` for
    unparsable, empty or non-string input."""
    if not isinstance(s, str) or not s.strip():
        return None
    from rdkit import rdBase

    with rdBase.BlockLogs():
        return Chem.MolFromSmiles(s.strip())
