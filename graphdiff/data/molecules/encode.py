"""Molecules -> graphs: RDKit molecules / SMILES -> :class:`MolGraph` and padded :class:`GraphState`
batches (hydrogen-suppressed, kekulized; bond classes 0 none, 1 single, 2 double, 3 triple), with
counted skips for unparsable SMILES, unknown atoms and oversized molecules."""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from ..._optional import require
from ...errors import InvalidGraphError, VocabularyError, unknown_name
from ...states import GraphState
from ._rdkit import mol_from_smiles as _mol_from_smiles
from .vocabulary import AtomVocabulary, _token

__all__ = ["MolGraph", "EncodedMolecules", "mol_to_graph", "smiles_to_graph", "graphs_to_state", "smiles_to_state", "canonical_smiles"]


@dataclass
class MolGraph:
    """One molecular graph: ``x`` ``(n,)`` long atom-type ids, ``adj`` ``(n, n)`` long bond classes."""

    x: Tensor
    adj: Tensor

    @property
    def num_atoms(self) -> int:
        return int(self.x.shape[0])

    def to_state(self, max_atoms: int | None = None) -> GraphState:
        """A batch of one: :class:`GraphState` with ``X`` ``(1, N)`` and ``A`` ``(1, N, N)``."""
        return graphs_to_state([self], max_atoms=max_atoms)


def _encode_arrays(mol: Any, vocabulary: AtomVocabulary) -> tuple[np.ndarray, np.ndarray]:
    Chem = require("rdkit.Chem")
    m = Chem.Mol(mol)
    if any(a.GetAtomicNum() == 1 for a in m.GetAtoms()):
        m = Chem.RemoveHs(m)
    unknown = [
        (a.GetSymbol(), 0 if vocabulary.drop_charges else a.GetFormalCharge())
        for a in m.GetAtoms()
        if (a.GetSymbol(), 0 if vocabulary.drop_charges else a.GetFormalCharge()) not in vocabulary._index
    ]
    if unknown:
        names = sorted({_token(*u) for u in unknown})
        raise VocabularyError(f"atoms {names} are not in the {vocabulary.name} vocabulary {list(vocabulary.tokens)}")
    Chem.Kekulize(m, clearAromaticFlags=True)
    n = m.GetNumAtoms()
    x = np.fromiter((vocabulary._index[(a.GetSymbol(), 0 if vocabulary.drop_charges else a.GetFormalCharge())] for a in m.GetAtoms()), dtype=np.int64, count=n)
    adj = np.zeros((n, n), dtype=np.int64)
    for b in m.GetBonds():
        order = b.GetBondTypeAsDouble()
        if order not in (1.0, 2.0, 3.0):
            raise InvalidGraphError(f"bond {b.GetIdx()} has type {b.GetBondType()}; only single, double and triple bonds are supported")
        i, j = b.GetBeginAtomIdx(), b.GetEndAtomIdx()
        adj[i, j] = adj[j, i] = int(order)
    return x, adj


def mol_to_graph(mol: Any, vocabulary: AtomVocabulary) -> MolGraph:
    """RDKit molecule -> :class:`MolGraph` (kekulized; explicit H atoms are removed first).

    Raises :class:`VocabularyError` naming atoms outside ``vocabulary`` and
    :class:`InvalidGraphError` for bonds that are not single/double/triple after kekulization."""
    x, adj = _encode_arrays(mol, vocabulary)
    return MolGraph(torch.from_numpy(x), torch.from_numpy(adj))


def smiles_to_graph(smiles: str, vocabulary: AtomVocabulary) -> MolGraph:
    """SMILES -> :class:`MolGraph`; :class:`InvalidGraphError` when RDKit cannot parse it."""
    Chem = require("rdkit.Chem")
    m = _mol_from_smiles(Chem, smiles)
    if m is None:
        raise InvalidGraphError(f"invalid SMILES {smiles!r}")
    return mol_to_graph(m, vocabulary)


def graphs_to_state(graphs: Sequence[MolGraph], max_atoms: int | None = None) -> GraphState:
    """Pad a list of :class:`MolGraph` into a :class:`GraphState`: ``X`` ``(B, N)`` long ids,
    ``A`` ``(B, N, N)`` long bond classes, ``node_mask`` ``(B, N)``; ``N = max_atoms`` or the largest size."""
    sizes = [g.num_atoms for g in graphs]
    N = max(sizes, default=0)
    if max_atoms is not None:
        if N > max_atoms:
            i = int(np.argmax(sizes))
            raise InvalidGraphError(f"molecule {i} has {N} atoms, more than max_atoms={max_atoms}")
        N = max_atoms
    B = len(graphs)
    X = torch.zeros(B, N, dtype=torch.long)
    A = torch.zeros(B, N, N, dtype=torch.long)
    mask = torch.zeros(B, N, dtype=torch.bool)
    for b, g in enumerate(graphs):
        n = g.num_atoms
        X[b, :n] = g.x
        A[b, :n, :n] = g.adj
        mask[b, :n] = True
    return GraphState(X, A, mask)


@dataclass
class EncodedMolecules:
    """Result of :func:`smiles_to_state`.

    Attributes:
        state: the encoded molecules (``X`` ``(B, N)``, ``A`` ``(B, N, N)`` long).
        indices: for each row of ``state``, its position in the input list.
        n_input: number of input SMILES.
        n_invalid_smiles: rows RDKit could not parse (skipped).
        n_unknown_atoms: molecules skipped for atoms outside the vocabulary (``on_unknown="skip"``).
        n_too_large: molecules skipped for having more than ``max_atoms`` atoms (``on_too_large="skip"``).
        unknown_atoms: count of molecules per unknown atom token.
    """

    state: GraphState
    indices: list[int]
    n_input: int
    n_invalid_smiles: int = 0
    n_unknown_atoms: int = 0
    n_too_large: int = 0
    unknown_atoms: dict[str, int] = field(default_factory=dict)

    @property
    def n_skipped(self) -> int:
        return self.n_invalid_smiles + self.n_unknown_atoms + self.n_too_large


_SKIP_RAISE = ("skip", "raise")


def smiles_to_state(
    smiles: Sequence[str],
    vocabulary: AtomVocabulary,
    *,
    max_atoms: int | None = None,
    on_invalid: str = "skip",
    on_unknown: str = "raise",
    on_too_large: str = "raise",
    warn: bool = True,
) -> EncodedMolecules:
    """Encode SMILES into one padded :class:`GraphState`.

    Args:
        smiles: SMILES strings.
        vocabulary: node types.
        max_atoms: pad to this many nodes (default: the largest molecule).
        on_invalid: ``"skip"`` (count, warn) or ``"raise"`` (:class:`InvalidGraphError`) for unparsable SMILES.
        on_unknown: ``"raise"`` (:class:`VocabularyError` naming the atoms) or ``"skip"`` (drop the
            molecule, count it) for atoms outside the vocabulary.
        on_too_large: ``"raise"`` (:class:`InvalidGraphError` naming the size) or ``"skip"`` for
            molecules with more than ``max_atoms`` atoms.
        warn: emit a ``UserWarning`` with the counts when anything was skipped.
    """
    if isinstance(smiles, (str, bytes)):
        raise TypeError("smiles_to_state expects a sequence of SMILES strings, not one string; wrap it in a list: [smiles]")
    for opt, val in (("on_invalid", on_invalid), ("on_unknown", on_unknown), ("on_too_large", on_too_large)):
        if val not in _SKIP_RAISE:
            raise unknown_name(opt, val, _SKIP_RAISE)
    Chem = require("rdkit.Chem")
    graphs: list[MolGraph] = []
    indices: list[int] = []
    n_bad = n_unk = n_big = 0
    unk: Counter = Counter()
    for i, s in enumerate(smiles):
        m = _mol_from_smiles(Chem, s)
        if m is None:
            if on_invalid == "raise":
                raise InvalidGraphError(f"row {i}: invalid SMILES {s!r}")
            n_bad += 1
            continue
        try:
            x, adj = _encode_arrays(m, vocabulary)
        except VocabularyError as exc:
            if on_unknown == "raise":
                raise VocabularyError(f"row {i} ({s!r}): {exc}") from None
            n_unk += 1
            unk.update({_token(a.GetSymbol(), 0 if vocabulary.drop_charges else a.GetFormalCharge())
                        for a in m.GetAtoms()} - set(vocabulary.tokens))
            continue
        if max_atoms is not None and len(x) > max_atoms:
            if on_too_large == "raise":
                raise InvalidGraphError(f"row {i} ({s!r}) has {len(x)} atoms, more than max_atoms={max_atoms}")
            n_big += 1
            continue
        graphs.append(MolGraph(torch.from_numpy(x), torch.from_numpy(adj)))
        indices.append(i)
    out = EncodedMolecules(graphs_to_state(graphs, max_atoms=max_atoms), indices, len(smiles), n_bad, n_unk, n_big, dict(unk))
    if warn and out.n_skipped:
        warnings.warn(
            f"smiles_to_state skipped {out.n_skipped} of {out.n_input} molecules: {n_bad} invalid SMILES, "
            f"{n_unk} with atoms outside the vocabulary {dict(unk) or ''}, {n_big} larger than max_atoms={max_atoms}",
            stacklevel=2,
        )
    return out


def canonical_smiles(smiles: str, *, isomeric: bool = True) -> str | None:
    """RDKit canonical SMILES (``None`` when unparsable); ``isomeric=False`` drops stereo."""
    Chem = require("rdkit.Chem")
    m = _mol_from_smiles(Chem, smiles)
    return None if m is None else Chem.MolToSmiles(m, isomericSmiles=isomeric)
