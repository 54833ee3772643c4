"""Graphs -> molecules: the decoding steps and validity contract of :mod:`graphdiff.data.molecules`
(build, valence check, optional GDSS correction, strict sanitization), batch reports with the
counts metrics need, and the continuous-output helpers (:func:`quantize_bonds`,
:func:`continuous_to_state`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from ..._optional import require
from ...errors import InvalidGraphError, VocabularyError, unknown_name
from ...states import GraphState
from ._rdkit import mol_from_smiles as _mol_from_smiles
from .vocabulary import AtomVocabulary

__all__ = [
    "BOND_CLASSES", "DECODING_PROTOCOLS", "DecodedMolecule", "DecodeReport", "graph_to_mol", "decode_molecules",
    "state_to_mols", "quantize_bonds", "continuous_to_state",
]

#: bond class id -> name (0 = no bond)
BOND_CLASSES: tuple[str, ...] = ("none", "single", "double", "triple")

#: GDSS's default valences used by the +1 charge rule (``utils/mol_utils.py`` ``ATOM_VALENCY``)
_GDSS_VALENCY = {"C": 4, "N": 3, "O": 2, "F": 1, "P": 3, "S": 2, "Cl": 1, "Br": 1, "I": 1}
_GDSS_CHARGEABLE = ("N", "O", "S")

#: named decoding protocols (keyword defaults of :func:`decode_molecules`)
DECODING_PROTOCOLS: dict[str, dict[str, bool]] = {
    "strict": {"gdss_charges": False, "correct": False, "largest_fragment": False},
    "gdss": {"gdss_charges": True, "correct": True, "largest_fragment": True},
}


@dataclass
class DecodedMolecule:
    """One decoded graph.

    Attributes:
        mol: the sanitized RDKit molecule, or ``None`` when invalid.
        smiles: canonical SMILES of ``mol`` (``None`` when invalid).
        valid_without_correction: passed the valence check before any correction (after the GDSS
            +1 charge rule when that step is on).
        corrected: the valency correction changed at least one bond.
        num_fragments: connected fragments before fragment selection (0 when nothing was built).
        error: why it is invalid: ``"empty"``, ``"valence"``, ``"uncorrectable"`` or ``"sanitize"``.
    """

    mol: Any | None
    smiles: str | None
    valid_without_correction: bool
    corrected: bool = False
    num_fragments: int = 0
    error: str | None = None

    @property
    def valid(self) -> bool:
        return self.mol is not None


@dataclass
class DecodeReport:
    """Decoding of a batch: per-molecule results and the counts metrics need.

    Denominators: ``validity`` and ``validity_without_correction`` divide by ``n_total`` (every graph
    handed in, empty ones included). ``gdss_validity_without_correction`` reproduces the number GDSS's
    sampler prints: numerator = molecules that passed the valence check before correction, counted
    before any filtering; denominator = molecules left after filtering (GDSS issue #3). GDSS treats an
    empty graph as a valid empty molecule, so empties are added to both:
    ``(n_valid_without_correction + n_empty) / (n_valid + n_empty)``.
    """

    results: list[DecodedMolecule]
    options: dict[str, Any]

    @property
    def n_total(self) -> int:
        return len(self.results)

    @property
    def n_empty(self) -> int:
        return sum(r.error == "empty" for r in self.results)

    @property
    def n_valid(self) -> int:
        return sum(r.valid for r in self.results)

    @property
    def n_valid_without_correction(self) -> int:
        return sum(r.valid_without_correction for r in self.results)

    @property
    def n_corrected(self) -> int:
        return sum(r.corrected for r in self.results)

    @property
    def n_multi_fragment(self) -> int:
        return sum(r.num_fragments > 1 for r in self.results)

    @property
    def validity(self) -> float:
        return self.n_valid / self.n_total if self.n_total else float("nan")

    @property
    def validity_without_correction(self) -> float:
        return self.n_valid_without_correction / self.n_total if self.n_total else float("nan")

    @property
    def gdss_validity_without_correction(self) -> float:
        den = self.n_valid + self.n_empty
        return (self.n_valid_without_correction + self.n_empty) / den if den else float("nan")

    @property
    def smiles(self) -> list[str]:
        """Canonical SMILES of the valid molecules, in order, duplicates kept."""
        return [r.smiles for r in self.results if r.smiles is not None]

    @property
    def mols(self) -> list[Any]:
        return [r.mol for r in self.results if r.mol is not None]

    def counts(self) -> dict[str, int]:
        return {"n_total": self.n_total, "n_empty": self.n_empty, "n_valid": self.n_valid,
                "n_valid_without_correction": self.n_valid_without_correction,
                "n_corrected": self.n_corrected, "n_multi_fragment": self.n_multi_fragment}

    def to_dict(self) -> dict[str, Any]:
        return {**self.counts(), "validity": self.validity, "validity_without_correction": self.validity_without_correction,
                "gdss_validity_without_correction": self.gdss_validity_without_correction, "options": dict(self.options)}


_BOND_TYPES: dict[int, Any] = {}


def _bond_type(Chem: Any, k: int) -> Any:
    if not _BOND_TYPES:
        _BOND_TYPES.update({1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE})
    return _BOND_TYPES[k]


def _first_valence_violation(Chem: Any, mol: Any) -> tuple[int, int] | None:
    """``(atom index, explicit valence)`` of the first atom (index order) that RDKit's valence
    check rejects, or ``None`` when the molecule passes (GDSS ``check_valency``)."""
    failed = Chem.SanitizeMol(mol, sanitizeOps=Chem.SanitizeFlags.SANITIZE_PROPERTIES, catchErrors=True)
    if failed == Chem.SanitizeFlags.SANITIZE_NONE:
        return None
    for atom in mol.GetAtoms():
        try:
            atom.UpdatePropertyCache(strict=True)
        except Exception:  # RDKit raises AtomValenceException
            v = int(round(sum(b.GetBondTypeAsDouble() for b in atom.GetBonds()))) + atom.GetNumExplicitHs()
            return atom.GetIdx(), v
    return -1, -1  # a non-atom failure (not expected for SANITIZE_PROPERTIES)


def _largest_fragment(Chem: Any, smiles: str, fragment_size: str) -> str:
    frags = smiles.split(".")
    if fragment_size == "smiles_length":
        return max(frags, key=len)  # first of the longest, as GDSS's stable sort
    sizes = []
    for f in frags:
        m = _mol_from_smiles(Chem, f)
        sizes.append(-1 if m is None else m.GetNumAtoms())
    return frags[int(np.argmax(sizes))]


def _integer_array(values: Tensor | Sequence[int] | np.ndarray, what: str, error: type[Exception]) -> np.ndarray:
    """``values`` as an int64 array; raise ``error`` for non-integer entries (e.g. ``0.7``) instead of truncating."""
    raw = np.asarray(values.detach().cpu().numpy() if isinstance(values, Tensor) else values)
    if raw.dtype == np.bool_ or np.issubdtype(raw.dtype, np.integer):
        return raw.astype(np.int64)
    try:
        f = raw.astype(np.float64)
    except (TypeError, ValueError) as e:
        raise error(f"{what} must be integers; got dtype {raw.dtype}") from e
    if not np.all(np.isfinite(f)) or not np.all(f == np.round(f)):
        bad = sorted({float(v) for v in f.ravel() if not (np.isfinite(v) and v == round(v))})[:5]
        raise error(f"{what} must be integers; got non-integer values {bad}")
    return f.astype(np.int64)


def graph_to_mol(
    atom_ids: Tensor | Sequence[int],
    bonds: Tensor | np.ndarray,
    vocabulary: AtomVocabulary,
    *,
    gdss_charges: bool = False,
    correct: bool = False,
    largest_fragment: bool = False,
    fragment_size: str = "smiles_length",
) -> DecodedMolecule:
    """Decode one graph into a molecule, following the steps in the module docstring.

    Args:
        atom_ids: ``(n,)`` atom-type ids of the real atoms.
        bonds: ``(n, n)`` bond classes 0-3 (only the lower triangle ``i > j`` is read, as GDSS).
        vocabulary: the node types.
        gdss_charges: step 1, GDSS's +1 formal charge for N/O/S exceeding valence by one.
        correct: step 3, GDSS's valency correction.
        largest_fragment: keep only the largest fragment (step 4).
        fragment_size: ``"smiles_length"`` (GDSS) or ``"atoms"``.
    """
    if fragment_size not in ("smiles_length", "atoms"):
        raise unknown_name("fragment_size", fragment_size, ["smiles_length", "atoms"])
    Chem = require("rdkit.Chem")
    from rdkit import rdBase

    ids = _integer_array(atom_ids, "atom_ids", VocabularyError).reshape(-1)
    adj = _integer_array(bonds, "bonds", InvalidGraphError)
    n = len(ids)
    if n == 0 and adj.size == 0:
        adj = adj.reshape(0, 0)
    if adj.shape != (n, n):
        raise InvalidGraphError(f"bonds must be ({n}, {n}) for {n} atoms, got {adj.shape}")
    if n == 0:
        return DecodedMolecule(None, None, False, error="empty")
    if ids.min() < 0 or ids.max() >= vocabulary.num_types:
        raise VocabularyError(f"atom ids must lie in 0..{vocabulary.num_types - 1} for {vocabulary!r}; got {sorted(set(ids.tolist()))}")
    if adj.min() < 0 or adj.max() > 3:
        raise InvalidGraphError(f"bond classes must lie in 0..3 ({', '.join(BOND_CLASSES)}); got {sorted(set(adj.ravel().tolist()))}")
    with rdBase.BlockLogs():
        mol = Chem.RWMol()
        for k in ids:
            sym, ch = vocabulary.types[int(k)]
            a = Chem.Atom(sym)
            a.SetFormalCharge(ch)
            mol.AddAtom(a)
        for i in range(n):
            for j in range(i):
                k = int(adj[i, j])
                if k == 0:
                    continue
                mol.AddBond(i, j, _bond_type(Chem, k))
                if gdss_charges:
                    bad = _first_valence_violation(Chem, mol)
                    if bad is not None and bad[0] >= 0:
                        atom = mol.GetAtomWithIdx(bad[0])
                        sym = atom.GetSymbol()
                        if sym in _GDSS_CHARGEABLE and bad[1] - _GDSS_VALENCY[sym] == 1:
                            atom.SetFormalCharge(1)
        bad = _first_valence_violation(Chem, mol)
        valid_wo = bad is None
        corrected = False
        if not valid_wo:
            if not correct:
                return DecodedMolecule(None, None, False, error="valence")
            while bad is not None:
                if bad[0] < 0:
                    return DecodedMolecule(None, None, False, corrected, error="uncorrectable")
                atom = mol.GetAtomWithIdx(bad[0])
                queue = [(int(b.GetBondTypeAsDouble()), b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in atom.GetBonds()]
                if not queue:
                    return DecodedMolecule(None, None, False, corrected, error="uncorrectable")
                order, s, e = max(queue, key=lambda q: q[0])  # first of the highest order
                mol.RemoveBond(s, e)
                if order - 1 >= 1:
                    mol.AddBond(s, e, _bond_type(Chem, order - 1))
                corrected = True
                bad = _first_valence_violation(Chem, mol)
        smi = Chem.MolToSmiles(mol, isomericSmiles=True)
        n_frag = smi.count(".") + 1
        if largest_fragment and n_frag > 1:
            smi = _largest_fragment(Chem, smi, fragment_size)
        final = Chem.MolFromSmiles(smi)
    if final is None:
        return DecodedMolecule(None, None, valid_wo, corrected, n_frag, error="sanitize")
    return DecodedMolecule(final, Chem.MolToSmiles(final), valid_wo, corrected, n_frag)


def decode_molecules(
    state: GraphState,
    vocabulary: AtomVocabulary,
    *,
    protocol: str = "strict",
    gdss_charges: bool | None = None,
    correct: bool | None = None,
    largest_fragment: bool | None = None,
    fragment_size: str = "smiles_length",
) -> DecodeReport:
    """Decode a categorical :class:`GraphState` (``X`` ``(B, N)`` ids, ``A`` ``(B, N, N)`` classes)
    into molecules with :func:`graph_to_mol`.

    ``protocol`` picks the defaults of the three steps from :data:`DECODING_PROTOCOLS`
    (``"strict"``: none; ``"gdss"``: +1 charge rule, correction, largest fragment); explicit
    keyword arguments override it."""
    if protocol not in DECODING_PROTOCOLS:
        raise unknown_name("decoding protocol", protocol, list(DECODING_PROTOCOLS))
    opts = dict(DECODING_PROTOCOLS[protocol])
    for k, v in (("gdss_charges", gdss_charges), ("correct", correct), ("largest_fragment", largest_fragment)):
        if v is not None:
            opts[k] = bool(v)
    if state.X.dim() != 2 or state.X.is_floating_point():
        raise InvalidGraphError("decode_molecules needs categorical atom ids X (B, N); use continuous_to_state first for continuous outputs")
    if state.A.dim() != 3 or state.A.is_floating_point():
        raise InvalidGraphError("decode_molecules needs bond classes A (B, N, N) long; use quantize_bonds first for continuous outputs")
    X, A, M = state.X.cpu(), state.A.cpu(), state.node_mask.cpu()
    results = []
    for b in range(state.batch_size):
        idx = M[b].nonzero(as_tuple=True)[0]
        results.append(graph_to_mol(X[b, idx], A[b][idx][:, idx], vocabulary, fragment_size=fragment_size, **opts))
    return DecodeReport(results, {**opts, "protocol": protocol, "fragment_size": fragment_size})


#: alias: ``state_to_mols(state, vocabulary, protocol="gdss")``
state_to_mols = decode_molecules


def quantize_bonds(A: Tensor, thresholds: tuple[float, float, float] = (0.5, 1.5, 2.5)) -> Tensor:
    """Continuous bond values ``(B, N, N)`` -> long bond classes (GDSS ``quantize_mol``):
    ``< 0.5`` -> 0, ``[0.5, 1.5)`` -> 1, ``[1.5, 2.5)`` -> 2, ``>= 2.5`` -> 3; NaN -> 0. The lower
    triangle (``i > j``, which GDSS reads) is mirrored so the result is symmetric with zero diagonal."""
    if A.dim() != 3 or A.shape[1] != A.shape[2]:
        raise InvalidGraphError(f"A must be (B, N, N); got shape {tuple(A.shape)}")
    t0, t1, t2 = thresholds
    A = torch.nan_to_num(A.detach().float(), nan=0.0)
    q = (A >= t0).long() + (A >= t1).long() + (A >= t2).long()
    low = torch.tril(q, diagonal=-1)
    return low + low.transpose(-1, -2)


def continuous_to_state(X: Tensor, A: Tensor, node_mask: Tensor | None = None, *, threshold: float = 0.5) -> GraphState:
    """Continuous model output -> categorical :class:`GraphState` (GDSS sampler rule).

    ``X`` ``(B, N, K)``: an atom exists when some channel is ``> threshold`` (and ``node_mask``
    allows it); its type is the first such channel. ``A`` ``(B, N, N)`` is quantized with
    :func:`quantize_bonds`. Non-existent atoms are removed with their bonds and the remaining atoms
    moved to the front (order kept), so the returned ``node_mask`` lists real nodes first."""
    if X.dim() != 3:
        raise InvalidGraphError(f"X must be (B, N, K); got shape {tuple(X.shape)}")
    B, N, _ = X.shape
    if tuple(A.shape) != (B, N, N):
        raise InvalidGraphError(f"A must be (B, N, N) = {(B, N, N)} to match X {tuple(X.shape)}; got {tuple(A.shape)}")
    if node_mask is not None and tuple(node_mask.shape) != (B, N):
        raise InvalidGraphError(f"node_mask must be (B, N) = {(B, N)}; got {tuple(node_mask.shape)}")
    on = X.detach() > threshold
    exists = on.any(-1)
    if node_mask is not None:
        exists &= node_mask.bool()
    types = on.long().argmax(-1)
    q = quantize_bonds(A)
    Xo = torch.zeros(B, N, dtype=torch.long)
    Ao = torch.zeros(B, N, N, dtype=torch.long)
    Mo = torch.zeros(B, N, dtype=torch.bool)
    for b in range(B):
        idx = exists[b].nonzero(as_tuple=True)[0]
        n = len(idx)
        Xo[b, :n] = types[b, idx]
        Ao[b, :n, :n] = q[b][idx][:, idx]
        Mo[b, :n] = True
    return GraphState(Xo, Ao, Mo)
